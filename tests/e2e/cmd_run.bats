#!/usr/bin/env bats
# tests/e2e/cmd_run.bats - run and enter over ssh: one-off containers of the current release
# with the app's config, output streamed, exit codes passed back, the container removed
# afterwards; a TTY with ssh -t; enter in a running container; refusals.

load lib/harness

bats_require_minimum_version 1.5.0      # run -127

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# run_containers APP: the one-off containers of APP (they carry wharf.run, not wharf.app).
run_containers() {
	docker ps -aq --filter "label=wharf.run=$1" --filter "label=wharf.root=$WHARF_ROOT"
}

@test "run: output, config, exit codes and cleanup over plain ssh" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "run app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set --no-restart "$app" GREETING=hello
	assert_success

	run wharf_ssh run "$app" echo hi
	assert_success
	assert_output "hi"
	run wharf_ssh run "$app" sh -c "'exit 3'"
	assert_failure 3
	assert_output ""
	# stdout and stderr stay apart (ssh carries them on two channels, so their order
	# relative to each other is not kept).
	run --separate-stderr wharf_ssh run "$app" sh -c "'echo \$GREETING \$WHARF_APP \$WHARF_PROCESS; echo oops >&2; exit 42'"
	assert_failure 42
	assert_output "hello $app run"
	# shellcheck disable=SC2154 # set by `run --separate-stderr`
	[ "$stderr" = "oops" ]
	# stdin reaches the command without a TTY.
	run bash -c "printf 'line one\nline two\n' | timeout 60 ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice -p $SSH_PORT wharf@127.0.0.1 run $app wc -l"
	assert_success
	assert_output "2"
	# Not a terminal without ssh -t.
	run wharf_ssh run "$app" tty
	assert_failure 1
	assert_output "not a tty"
	# Nothing is left behind, and the app's own container was not touched.
	[ -z "$(run_containers "$app")" ]
	[ "$(app_containers "$app" | wc -l)" = 1 ]
	run app_url_get "$app"
	assert_output "run app"
}

@test "run with ssh -t gets a terminal; a command that does not exist fails clearly" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "tty app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run timeout 60 ssh -tt "${SSH_OPTS[@]}" -i "$WHARF_KEYS/alice" -p "$SSH_PORT" wharf@127.0.0.1 run "$app" tty
	assert_success
	assert_output --regexp '^/dev/pts/[0-9]+'$'\r''?$'
	# Keys typed on the terminal reach an interactive shell; its exit code comes back.
	run bash -c "{ sleep 2; printf 'echo typed-\$((6*7))\r'; sleep 1; printf 'exit 7\r'; sleep 5; } |
		timeout 60 ssh -tt ${SSH_OPTS[*]} -i $WHARF_KEYS/alice -p $SSH_PORT wharf@127.0.0.1 run $app sh"
	assert_failure 7
	assert_output --partial "typed-42"
	run timeout 60 ssh -tt "${SSH_OPTS[@]}" -i "$WHARF_KEYS/alice" -p "$SSH_PORT" wharf@127.0.0.1 enter "$app" web tty
	assert_success
	assert_output --regexp '^/dev/pts/[0-9]+'$'\r''?$'
	# docker-init (Init: true) reports a command it cannot exec with 127, as a shell would.
	run -127 wharf_ssh run "$app" no-such-command-here
	assert_output --partial "no-such-command-here"
	[ -z "$(run_containers "$app")" ]
}

@test "run: a one-off container is removed when the ssh client goes away" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "drop app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	timeout 60 ssh "${SSH_OPTS[@]}" -i "$WHARF_KEYS/alice" -p "$SSH_PORT" wharf@127.0.0.1 \
		run "$app" sh -c "'echo started; sleep 300'" >"$TEST_TMP/out" 2>&1 </dev/null &
	pid=$!
	started() { grep -q started "$TEST_TMP/out"; }
	eventually 30 started
	[ -n "$(run_containers "$app")" ]
	kill "$pid"
	wait "$pid" || true
	gone() { [ -z "$(run_containers "$app")" ]; }
	eventually 30 gone
}

@test "enter: a command in the running web container, its exit code, refusals" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "enter app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh enter "$app" web cat /www/index.html
	assert_success
	assert_output "enter app"
	run wharf_ssh enter "$app" web sh -c "'echo \$WHARF_PROCESS; exit 5'"
	assert_failure 5
	assert_output "web"
	run wharf_ssh enter "$app" worker true
	assert_failure 1
	assert_output " !     $app has no running worker container"
	run wharf_ssh enter "$app" 'bad;type'
	assert_failure 1
	run wharf_ssh enter "$app" bad.type
	assert_failure 1
	assert_output " !     invalid process type 'bad.type'"
}

@test "run and enter refuse bad app names, missing arguments and undeployed apps" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh run "$app" echo hi
	assert_failure 1
	assert_output " !     $app has no release yet: push first"
	run wharf_ssh enter "$app"
	assert_failure 1
	assert_output " !     $app has no running container"
	run wharf_ssh run "$app"
	assert_failure 1
	assert_output " !     usage: wharf run <app> CMD [ARG ...]"
	run wharf_ssh run
	assert_failure 1
	assert_output " !     usage: wharf run <app> CMD [ARG ...]"
	run wharf_ssh enter
	assert_failure 1
	assert_output " !     usage: wharf enter <app> [PROCESS] [CMD ...]"
	run wharf_ssh run "nosuch-$app" echo hi
	assert_failure 1
	assert_output " !     app 'nosuch-$app' does not exist"
	for bad in TestApp test_app test/app; do
		run wharf_ssh run "$bad" echo hi
		assert_failure 1
		assert_output --partial " !     "
		refute_output --partial "hi"
	done
	run wharf_ssh "run 'test;id' echo hi"
	assert_failure 1
	assert_output --partial " !     "
	refute_output --partial "uid="
	run wharf_ssh 'run test$cmd echo hi'
	assert_failure 1
	assert_output " !     refused: shell syntax '\$' is not accepted; wharf runs no shell (quote the value if it is data)"
	run wharf_ssh run --help
	assert_success
	assert_line --index 0 "Usage: wharf run <app> CMD [ARG ...]"
}
