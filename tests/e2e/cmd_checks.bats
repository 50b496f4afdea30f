#!/usr/bin/env bats
# tests/e2e/cmd_checks.bats - the checks family over ssh: checks:skip deploys an app whose
# CHECKS fail (still with overlap), checks:enable checks again, checks:run runs the current
# release's checks now, checks:disable stops the old container before the new one starts
# (and starts it again when the deploy fails), checks:report; the refusals.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

row() {
	printf '       %-31s%s' "$1:" "$2"
}

# make_checked_app DIR BODY: a busybox httpd app on $PORT whose CHECKS want /missing,
# which answers 404: every checked deploy fails, after one attempt.
make_checked_app() {
	make_app_repo "$1" "$2"
	printf 'ATTEMPTS=1\nTIMEOUT=2\n/missing never there\n' >"$1/CHECKS"
	h_git_commit "$1" "CHECKS that fail"
}

@test "checks:skip deploys an app whose CHECKS fail, with overlap; checks:run fails with the attempt" {
	app=$(new_app_name)
	make_checked_app "$TEST_TMP/app" "checked one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "check /missing: attempt 1/1 failed: status 404"
	run wharf_ssh checks:skip "$app"
	assert_success
	assert_output "-----> Skipping zero downtime for app's ($app) proctypes (_all_)
       applies from the next deploy"
	run wharf_ssh checks:report "$app" --checks-skipped-list
	assert_output "_all_"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "checks skipped (checks:skip)"
	refute_output --partial "Stopping old"
	run app_url_get "$app"
	assert_output "checked one"
	# Skip keeps the overlap: the new container starts while the old one serves.
	app_change "$TEST_TMP/app" "checked two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	refute_output --partial "Stopping old"
	run app_url_get "$app"
	assert_output "checked two"
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]

	run wharf_ssh checks:run "$app"
	assert_failure 1
	assert_line --index 0 "-----> Running checks of $app v2"
	assert_line --regexp "^       web container [0-9a-f]{12} on port [0-9]+$"
	assert_line "       check /missing: attempt 1/1 failed: status 404"
	assert_line " !     check /missing failed 1 times"

	run wharf_ssh checks:enable "$app"
	assert_success
	assert_output "-----> Enabling zero downtime for app's ($app) proctypes (_all_)
       applies from the next deploy"
	app_change "$TEST_TMP/app" "checked three"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "check /missing: attempt 1/1 failed: status 404"
	run app_url_get "$app"
	assert_output "checked two"
}

@test "checks:run passes on an app whose checks pass, and needs a release" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh checks:run "$app"
	assert_failure 1
	assert_output " !     $app has no release yet: push it first"
	make_app_repo "$TEST_TMP/app" "fine"
	printf '/ fine\n' >"$TEST_TMP/app/CHECKS"
	h_git_commit "$TEST_TMP/app" "CHECKS that pass"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh checks:run "$app"
	assert_success
	assert_line --index 0 "-----> Running checks of $app v1"
	assert_line "       check /: 200, expected content found (attempt 1)"
	assert_line "-----> All checks passed"
}

@test "checks:disable stops the old container before the new one starts; a failure starts it again" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "disabled one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	old=$(app_containers "$app")
	run wharf_ssh checks:disable "$app" web
	assert_success
	assert_output "-----> Disabling zero downtime for app's ($app) proctypes (web)
       the old containers of those types stop before the new ones start: deploys cause downtime
       applies from the next deploy"
	run wharf_ssh checks:report "$app"
	assert_success
	assert_line --index 0 "=====> $app checks information"
	assert_line --index 1 "$(row 'Checks disabled list' 'web')"
	assert_line --index 2 "$(row 'Checks skipped list' 'none')"
	assert_line --index 3 "$(row 'Checks computed web' 'disabled')"
	assert_line --index 4 "$(row 'Checks current count' '0')"
	app_change "$TEST_TMP/app" "disabled two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Stopping old web container ${old:0:12} first (checks:disable web)"
	assert_output --partial "checks skipped (checks:disable)"
	run app_url_get "$app"
	assert_output "disabled two"
	serving=$(app_containers "$app")
	[ "$(wc -l <<<"$serving")" -eq 1 ]

	# A new container that dies: the old one, stopped first, serves again.
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		CMD ["/bin/sh", "-c", "echo dying; exit 3"]
	EOF2
	h_git_commit "$TEST_TMP/app" "broken"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "Stopping old web container ${serving:0:12} first"
	assert_output --partial "Starting old container ${serving:0:12} again"
	run app_url_get "$app"
	assert_output "disabled two"
	[ "$(app_containers "$app")" = "$serving" ]

	run wharf_ssh checks:report --format json
	assert_success
	[ "$(jq -r --arg a "$app" '.[$a]."checks-disabled-list"' <<<"$output")" = web ]
}

@test "checks commands: type lists, all-type lists and the refusals" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh checks:skip "$app" web,worker,web
	assert_success
	assert_output --partial "proctypes (web,worker)"
	run wharf_ssh checks:disable "$app" worker
	assert_success
	run wharf_ssh checks:report "$app" --format json
	[ "$(jq -r '."checks-skipped-list" + " " + ."checks-disabled-list"' <<<"$output")" = "web worker" ]
	run wharf_ssh checks:disable "$app"
	run wharf_ssh checks:enable "$app" web
	assert_failure 1
	assert_output " !     checks are disabled for all process types: change them all (no type list) first"
	run wharf_ssh checks:enable "$app"
	assert_success
	run wharf_ssh checks:report "$app" --checks-computed-web
	assert_output "enabled"

	for bad in TestApp test_app 'test;id' 'test$cmd' test/app; do
		run wharf_ssh "checks:skip '$bad'"
		assert_failure 1
		assert_output " !     invalid app name '$bad': use lowercase letters, digits, '.' and '-', starting with a letter or digit"
	done
	for bad in 'web;id' 'web,' ',web' 'we b' '$(id)' '`id`' 'web,,worker'; do
		run wharf_ssh "checks:disable $app '$bad'"
		assert_failure 1
		assert_output " !     invalid process type list '$bad': use TYPE[,TYPE...] with letters, digits, '-' and '_'"
	done
	run wharf_ssh checks:disable "$app" '$(id)'
	assert_failure 1
	refute_output --partial "uid="
	run wharf_ssh checks:report "$app" --format json
	[ "$(jq -r '."checks-disabled-list"' <<<"$output")" = none ]
	run wharf_ssh checks:skip
	assert_failure 1
	assert_output " !     usage: wharf checks:skip <app> [TYPE,...]"
	run wharf_ssh checks:skip "$app" web worker
	assert_failure 1
	assert_output " !     usage: wharf checks:skip <app> [TYPE,...]"
	run wharf_ssh checks:run
	assert_failure 1
	assert_output " !     usage: wharf checks:run <app>"
	run wharf_ssh checks:skip nosuchapp-x
	assert_failure 1
	assert_output " !     app 'nosuchapp-x' does not exist"
	run wharf_ssh checks:report "$app" --checks-nope
	assert_failure 1
	assert_output " !     unknown flag '--checks-nope'"
	run wharf_ssh checks:enable "$app" --now
	assert_failure 1
	assert_output " !     unknown flag '--now' for checks:enable; see \`wharf checks:enable --help\`"
	run wharf_ssh checks:run --help
	assert_success
	assert_line --index 0 "Usage: wharf checks:run <app>"
}
