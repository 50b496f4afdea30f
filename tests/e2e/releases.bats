#!/usr/bin/env bats
# tests/e2e/releases.bats - releases, rollback, checks, the deploy queue, crash restarts,
# retention and interrupted deploys: deploys that cannot hurt a running app.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# An app whose page names its PORT and GREETING, so tests can tell containers apart.
make_port_app() {
	local dir=$1
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh","-c","echo \"port=$PORT greeting=$GREETING\" > /www/index.html; exec busybox httpd -f -p $PORT -h /www"]
	EOF
	h_git_commit "$dir" "port app"
}

release_versions() {
	jq -r '[.releases[].version] | join(",")' "$WHARF_ROOT/apps/$1/releases.json"
}

@test "rollback restores the previous answer and config; releases lists what happened" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "page one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set "$app" GREETING=first
	assert_success
	app_change "$TEST_TMP/app" "page two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set "$app" GREETING=second
	assert_success
	run app_url_get "$app"
	assert_output "page two"
	# v1 push, v2 config, v3 push, v4 config: the default rollback goes to v3 (page two, first).
	run wharf_ssh releases:rollback "$app"
	assert_success
	assert_output --partial "Rolling back $app"
	assert_output --partial "Application deployed: v5"
	run wharf_ssh config:get "$app" GREETING
	assert_output "first"
	run app_url_get "$app"
	assert_output "page two"
	run wharf_ssh releases:rollback "$app" 1
	assert_success
	run app_url_get "$app"
	assert_output "page one"
	run wharf_ssh config:get "$app" GREETING
	assert_failure
	run wharf_ssh releases "$app"
	assert_success
	assert_line --index 0 "=====> $app releases"
	assert_line --index 1 --regexp '^       v6 +rollback to v1 +alice .*\(current\)$'
	assert_line --index 2 --regexp '^       v5 +rollback to v3 +alice '
	assert_line --index 3 --regexp '^       v4 +config set +alice '
	assert_line --index 6 --regexp '^       v1 +deploy [0-9a-f]{7} +alice '
	run wharf_ssh releases:info "$app" 1 --format json
	assert_success
	[ "$(echo "$output" | jq -r .git_rev)" = "$(git -C "$TEST_TMP/app" rev-parse HEAD~1)" ]
	run wharf_ssh releases:rollback "$app" 99
	assert_failure
	assert_output --partial "no release v99"
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]
}

@test "a failing check keeps the old version with zero failed requests" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "steady"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	printf 'ATTEMPTS=2\nTIMEOUT=2\n/health.html all good\n' >"$TEST_TMP/app/CHECKS"
	printf 'not quite\n' >"$TEST_TMP/app/health.html"
	sed -i 's|COPY index.html /www/index.html|COPY index.html health.html /www/|' "$TEST_TMP/app/Dockerfile"
	app_change "$TEST_TMP/app" "never served"
	# A bounded load loop (at most 3000 requests or 120 s) while the failing deploy runs.
	(
		end=$((SECONDS + 120)) n=0 bad=0
		while [ ! -e "$TEST_TMP/stop" ] && [ $n -lt 3000 ] && [ $SECONDS -lt $end ]; do
			body=$(curl -sS --max-time 5 -H "Host: $app.$WHARF_TEST_DOMAIN" \
				"http://127.0.0.1:$ROUTER_PORT/" 2>&1) || body="error: $body"
			[ "$body" = "steady" ] || { bad=$((bad + 1)); echo "$body" >>"$TEST_TMP/bad"; }
			n=$((n + 1))
		done
		echo "$n $bad" >"$TEST_TMP/load"
	) &
	loader=$!
	run git_push_app "$TEST_TMP/app" "$app"
	touch "$TEST_TMP/stop"
	wait "$loader"
	assert_failure
	assert_output --partial "check /health.html: attempt 2/2 failed: status 200, expected content missing"
	assert_output --partial "last lines of the new container's log"
	assert_output --partial "previous release keeps serving"
	read -r total bad <"$TEST_TMP/load"
	echo "requests during the failed deploy: $total, failed: $bad" >&3
	[ "$total" -gt 0 ]
	[ "$bad" -eq 0 ]
	run app_url_get "$app"
	assert_output "steady"
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]
}

@test "a check that passes gates the deploy; a crashing container fails it" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "v1"
	printf 'WAIT=0\nATTEMPTS=3\n/ v1\n' >"$TEST_TMP/app/CHECKS"
	h_git_commit "$TEST_TMP/app" "checks"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Using 1 startup check from the app"
	assert_output --partial "check /: 200, expected content found"
	sed -i 's|^CMD .*|CMD ["/bin/sh","-c","echo crashing on purpose; exit 3"]|' "$TEST_TMP/app/Dockerfile"
	app_change "$TEST_TMP/app" "v2"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "exited (code 3)"
	assert_output --partial "crashing on purpose"
	run app_url_get "$app"
	assert_output "v1"
}

@test "two pushes at once both deploy, in arrival order" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "base"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	git clone -q "$TEST_TMP/app" "$TEST_TMP/a" && git clone -q "$TEST_TMP/app" "$TEST_TMP/b"
	for c in a b; do
		git -C "$TEST_TMP/$c" config user.email t@example.com
		git -C "$TEST_TMP/$c" config user.name t
		app_change "$TEST_TMP/$c" "from $c"
	done
	export GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice"
	url="ssh://wharf@127.0.0.1:$SSH_PORT/$app"
	timeout 300 git -C "$TEST_TMP/a" push "$url" +main:main >"$TEST_TMP/a.out" 2>&1 &
	pa=$!
	eventually 60 grep -q "Deploying $app" "$TEST_TMP/a.out"
	timeout 300 git -C "$TEST_TMP/b" push "$url" +main:main >"$TEST_TMP/b.out" 2>&1 &
	pb=$!
	wait "$pa" || { cat "$TEST_TMP/a.out" >&2; false; }
	wait "$pb" || { cat "$TEST_TMP/b.out" >&2; false; }
	grep -q "Application deployed: v2" "$TEST_TMP/a.out"
	grep -q "Waiting for another deploy or change of '$app' to finish" "$TEST_TMP/b.out"
	grep -q "Application deployed: v3" "$TEST_TMP/b.out"
	run app_url_get "$app"
	assert_output "from b"
	run release_versions "$app"
	assert_output "1,2,3"
}

@test "a crashed web container is restarted on its port and the app keeps answering" {
	app=$(new_app_name)
	make_port_app "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	before=$output
	id=$(app_containers "$app")
	init=$(docker inspect -f '{{.State.Pid}}' "$id")
	child=$(awk '{print $1}' "/proc/$init/task/$init/children")
	[ -n "$child" ]
	kill -9 "$child"      # the app process itself: tini exits non-zero, Docker restarts it
	restarted() { [ "$(docker inspect -f '{{.RestartCount}}' "$id")" -ge 1 ] && [ "$(app_url_get "$app")" = "$before" ]; }
	if ! eventually 60 restarted; then
		docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' "$id" >&2
		docker logs "$id" >&2
		app_url_get "$app" >&2
	fi
	run app_url_get "$app"
	assert_output "$before"
}

@test "ps:scale web=2 serves from two containers; ps:restore brings stopped ones back" {
	app=$(new_app_name)
	make_port_app "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh ps:scale "$app" web=2
	assert_success
	[ "$(app_containers "$app" | wc -l)" -eq 2 ]
	for _ in $(seq 1 10); do app_url_get "$app"; echo; done | sort -u >"$TEST_TMP/seen"
	[ "$(grep -c '^port=' "$TEST_TMP/seen")" -eq 2 ]
	run wharf_ssh ps:scale "$app" web=x
	assert_failure
	run wharf_ssh ps:scale "$app" worker=1
	assert_failure
	assert_output --partial "no process type 'worker'"
	# Containers stopped behind wharf's back (a reboot) come back with ps:restore.
	for c in $(app_containers "$app"); do docker stop -t 1 "$c" >/dev/null; done
	run wharf ps:restore "$app"
	assert_success
	run app_url_get "$app"
	assert_success
	assert_output --regexp '^port=[0-9]+ greeting=$'
}

@test "images beyond retention are removed and cannot be rolled back to" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "r1"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh releases:set "$app" retain 2
	assert_success
	first=$(jq -r '.releases[0].image' "$WHARF_ROOT/apps/$app/releases.json")
	docker image inspect "$first" >/dev/null
	for n in 2 3; do
		app_change "$TEST_TMP/app" "r$n"
		run git_push_app "$TEST_TMP/app" "$app"
		assert_success
	done
	assert_output --partial "Removed 1 old image (keeping the last 2 releases)"
	run docker image inspect "$first"
	assert_failure
	run wharf_ssh releases "$app"
	assert_output --regexp 'v1 .*\(image removed\)'
	run wharf_ssh releases:rollback "$app" 1
	assert_failure
	assert_output --partial "was removed"
	run wharf_ssh releases:rollback "$app" 2
	assert_success
	run app_url_get "$app"
	assert_output "r2"
}

@test "an interrupted deploy leaves the current release serving; the next deploy cleans up" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "current"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	# v2 takes 60 s to listen: long enough to kill its deploy in the middle.
	sed -i 's|^CMD .*|CMD ["/bin/sh","-c","sleep 60; exec busybox httpd -f -p $PORT -h /www"]|' "$TEST_TMP/app/Dockerfile"
	app_change "$TEST_TMP/app" "slow"
	git_push_app "$TEST_TMP/app" "$app" >"$TEST_TMP/push.out" 2>&1 &
	pusher=$!
	eventually 120 grep -q "Starting web container" "$TEST_TMP/push.out"
	# Bash builtins only: forking two processes per pid made this scan outlast the 60 s
	# on a loaded machine.
	local p args
	hook=
	for p in /proc/[0-9]*; do
		mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
		if [ "${args[1]:-}" = git-hook ] && [ "${args[2]:-}" = "$app" ]; then
			hook=${p#/proc/}
			break
		fi
	done
	[ -n "$hook" ]
	kill -9 "$hook"       # the deploying process dies, as with a lost ssh session
	# Only the push: a bare `wait` would also wait for bats's own timeout watchdog.
	wait "$pusher" || true
	run app_url_get "$app"
	assert_output "current"
	[ "$(app_containers "$app" | wc -l)" -eq 2 ]
	sed -i 's|^CMD .*|CMD ["/bin/sh","-c","exec busybox httpd -f -p $PORT -h /www"]|' "$TEST_TMP/app/Dockerfile"
	app_change "$TEST_TMP/app" "next"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "left by an interrupted deploy"
	run app_url_get "$app"
	assert_output "next"
	one() { [ "$(app_containers "$app" | wc -l)" -eq 1 ]; }
	eventually 30 one
	run release_versions "$app"
	assert_output "1,2"
}

@test "a release command that outlives WHARF_RELEASE_TIMEOUT is killed and the old release keeps serving" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "before the slow release"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set --no-restart "$app" WHARF_RELEASE_TIMEOUT=2
	assert_success
	printf 'web: exec busybox httpd -f -p "$PORT" -h /www\nrelease: echo "release starts"; sleep 60\n' \
		>"$TEST_TMP/app/Procfile"
	app_change "$TEST_TMP/app" "after the slow release"
	SECONDS=0
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "release starts"
	assert_output --partial "the release command did not finish within 2 s (WHARF_RELEASE_TIMEOUT) and was killed"
	refute_output --partial "=====> Application deployed:"
	# Killed at the limit, not after the command's own 60 s.
	assert [ "$SECONDS" -lt 50 ]
	run app_url_get "$app"
	assert_output "before the slow release"
	# No release container is left behind.
	run docker ps -aq --filter "label=wharf.app=$app" --filter label=wharf.process=release
	assert_output ""
	run wharf_ssh config:set --no-restart "$app" WHARF_RELEASE_TIMEOUT=soon
	assert_success
	sed -i 's/sleep 60/true/' "$TEST_TMP/app/Procfile"
	h_git_commit "$TEST_TMP/app" "quick release"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "WHARF_RELEASE_TIMEOUT=soon is not a number of seconds"
	run app_url_get "$app"
	assert_output "after the slow release"
}

@test "--trace shows each step and Docker API call with a timestamp" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "traced"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh -- --trace ps:restart "$app"
	assert_success
	assert_output --regexp ' trace  [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}  step: Starting web container for release 2'
	assert_output --regexp ' trace  [0-9:.]+  /[^ ]+ POST /v1\.[0-9]+/containers/create\?name=[^ ]+: 201 in [0-9]+ ms'
	assert_output --regexp ' trace  [0-9:.]+  /[^ ]+ PUT /apps/'"$app"': 200 in [0-9]+ ms'
	run wharf_ssh ps:restart "$app"
	assert_success
	refute_output --partial " trace "
}
