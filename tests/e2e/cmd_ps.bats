#!/usr/bin/env bats
# tests/e2e/cmd_ps.bats - ps:stop (the app stays stopped through pushes and ps:restore),
# ps:start, ps:report (stdout, JSON, one key), ps:set restart-policy applied after the checks
# on the next deploy, logs -p; refusals.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

running_count() {
	docker ps -q --filter "label=wharf.app=$1" --filter "label=wharf.root=$WHARF_ROOT" | wc -l
}

@test "ps:stop keeps an app stopped through a push and ps:restore until ps:start" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "first"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")

	run wharf_ssh ps:report "$app"
	assert_success
	assert_line --index 0 "=====> $app ps information"
	assert_line --index 1 "       Deployed:                      true"
	assert_line --index 2 "       Processes:                     1"
	assert_line --index 3 "       Ps restart policy:             on-failure"
	assert_line --index 4 "       Restore:                       true"
	assert_line --index 5 "       Running:                       true"
	assert_line --index 6 "       Status web 1:                  running (CID: ${id:0:12})"
	run wharf_ssh ps:report "$app" --ps-running
	assert_success
	assert_output "true"
	run wharf_ssh ps:report "$app" --ps-status-web-1
	assert_output "running (CID: ${id:0:12})"
	run wharf_ssh ps:report "$app" --format json
	assert_success
	[ "$(jq -r '.running + " " + .restore + " " + ."ps-restart-policy"' <<<"$output")" = "true true on-failure" ]

	run wharf_ssh ps:stop "$app"
	assert_success
	assert_output "-----> Stopping $app
       1 container stopped; \`ps:start $app\` starts it again"
	[ "$(running_count "$app")" = 0 ]
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$id")" = no ]
	run app_url_get "$app"
	refute_output "first"
	run wharf_ssh ps:report "$app"
	assert_line --index 4 "       Restore:                       false"
	assert_line --index 5 "       Running:                       false"
	assert_line --index 6 "       Status web 1:                  exited (CID: ${id:0:12})"

	# A push while stopped records the release and starts nothing.
	app_change "$TEST_TMP/app" "second"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "remote: -----> $app is stopped: v2 is recorded but not started; \`ps:start $app\` runs it"
	refute_output --partial "Application deployed"
	[ "$(running_count "$app")" = 0 ]
	run wharf_ssh ps:restore "$app"
	assert_success
	assert_output "-----> $app is stopped (ps:stop): not restored"
	[ "$(running_count "$app")" = 0 ]

	run wharf_ssh ps:start "$app"
	assert_success
	assert_line --index 0 "-----> Starting $app"
	assert_line --index 1 "       removed 1 stopped container"
	refute_output --partial "interrupted deploy"
	assert_output --partial "=====> Application deployed: v3"
	[ "$(running_count "$app")" = 1 ]
	[ "$(app_containers "$app" | wc -l)" = 1 ]
	run app_url_get "$app"
	assert_output "second"
	run wharf_ssh ps:report "$app" --ps-restore
	assert_output "true"
}

@test "ps:set restart-policy is applied after the checks of the next deploy" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "policy"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}/{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$id")" = on-failure/0 ]

	run wharf_ssh ps:set "$app" restart-policy always
	assert_success
	assert_output "-----> Setting restart-policy to always
       applies from the next deploy (ps:restart $app)"
	run wharf_ssh ps:report "$app" --ps-restart-policy
	assert_output "always"
	run wharf_ssh ps:restart "$app"
	assert_success
	id=$(app_containers "$app")
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$id")" = always ]

	run wharf_ssh ps:set "$app" restart-policy on-failure:5
	assert_success
	run wharf_ssh ps:restart "$app"
	assert_success
	id=$(app_containers "$app")
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}/{{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$id")" = on-failure/5 ]

	run wharf_ssh ps:set "$app" restart-policy
	assert_success
	assert_line --index 0 "-----> Unsetting restart-policy (default: on-failure)"
	run wharf_ssh ps:report "$app" --ps-restart-policy
	assert_output "on-failure"

	for bad in sometimes on-failure:0 on-failure:x "on-failure:1001" Always; do
		run wharf_ssh ps:set "$app" restart-policy "$bad"
		assert_failure 1
		assert_output " !     invalid restart policy '$bad': use no, always, unless-stopped, on-failure or on-failure:N (N from 1 to 1000)"
	done
	run wharf_ssh ps:set "$app" restart-policy always extra
	assert_failure 1
	assert_output " !     usage: wharf ps:set <app> restart-policy [always|unless-stopped|on-failure[:N]|no]"
	run wharf_ssh ps:set "$app" colour blue
	assert_failure 1
	assert_output " !     unknown ps property 'colour': only restart-policy"
	run wharf_ssh ps:report "$app" --ps-restart-policy
	assert_output "on-failure"
}

@test "logs -p shows one process type" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo logs > /www/index.html
		CMD ["/bin/sh", "-c", "echo web says hi; exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF2
	printf 'web: /bin/sh -c "echo web says hi; exec busybox httpd -f -p $PORT -h /www"\nworker: /bin/sh -c "echo worker says hi; exec sleep 3600"\n' >"$TEST_TMP/app/Procfile"
	h_git_commit "$TEST_TMP/app" "two processes"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh ps:scale "$app" worker=1
	assert_success
	worker_said() { wharf_ssh logs "$app" -p worker | grep -q "worker says hi"; }
	eventually 30 worker_said
	run wharf_ssh logs "$app" -p worker
	assert_success
	assert_output "worker says hi"
	run wharf_ssh logs "$app" -p web -n 5
	assert_success
	assert_output "web says hi"
	run wharf_ssh logs "$app" -p clock
	assert_failure 1
	assert_output " !     $app has no running clock containers"
	run wharf_ssh logs "$app" -p 'a.b'
	assert_failure 1
	assert_output " !     invalid process type 'a.b'"
	run wharf_ssh logs "$app" -p
	assert_failure 1
	assert_output " !     usage: wharf logs <app> [-t] [-n N] [-p PROCESS] [--since WHEN]"
	run wharf_ssh logs "$app" -n x
	assert_failure 1
	run wharf_ssh ps:report "$app"
	assert_line --index 2 "       Processes:                     2"
	assert_output --partial "       Status worker 1:               running (CID: "
}

@test "ps commands refuse bad app names and missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh ps:report "$app"
	assert_success
	assert_line --index 1 "       Deployed:                      false"
	assert_line --index 5 "       Running:                       false"
	run wharf_ssh ps:report "$app" --ps-nope
	assert_failure 1
	assert_output " !     unknown flag '--ps-nope'"
	run wharf_ssh ps:report --ps-running
	assert_failure 1
	assert_output " !     --ps-running needs an app"
	for cmd in ps:stop ps:start; do
		run wharf_ssh "$cmd"
		assert_failure 1
		assert_output " !     usage: wharf $cmd <app>"
		run wharf_ssh "$cmd" "nosuch-$app"
		assert_failure 1
		assert_output " !     app 'nosuch-$app' does not exist"
		for bad in TestApp test_app test/app; do
			run wharf_ssh "$cmd" "$bad"
			assert_failure 1
			assert_output --regexp "^ !     (invalid app name|app name)"
		done
		run wharf_ssh "$cmd 'test;id'"
		assert_failure 1
		refute_output --partial "uid="
		run wharf_ssh "$cmd"' test$cmd'
		assert_failure 1
		assert_output --partial "refused: shell syntax"
	done
	run wharf_ssh ps:set "$app"
	assert_failure 1
	assert_output " !     usage: wharf ps:set <app> restart-policy [always|unless-stopped|on-failure[:N]|no]"
	run wharf_ssh ps:set TestApp restart-policy always
	assert_failure 1
	# Starting an app that never deployed waits for its first push.
	run wharf_ssh ps:start "$app"
	assert_success
	assert_output "-----> Starting $app
       $app has no release yet: the change applies on the first deploy"
}
