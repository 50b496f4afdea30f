#!/usr/bin/env bats
# tests/e2e/spine.bats - the spine of wharf: git push over ssh builds a Dockerfile app, the
# router serves it, redeploys replace it, failures keep the old release serving.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# deploy_ok DIR APP BODY: push DIR as APP and check the page is BODY.
deploy_ok() {
	run git_push_app "$1" "$2"
	assert_success
	assert_output --partial "=====> Application deployed:"
	run app_url_get "$2"
	assert_success
	assert_output "$3"
}

@test "push a Dockerfile app over ssh; the router serves its page" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "hello from $app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "-----> "
	assert_output --partial "=====> Application deployed:"
	assert_output --partial "http://$app.$WHARF_TEST_DOMAIN"
	run app_url_get "$app"
	assert_success
	assert_output "hello from $app"
	run docker ps -q --filter "label=wharf.app=$app" --filter label=wharf.process=web \
		--filter "label=wharf.root=$WHARF_ROOT"
	assert_success
	[ -n "$output" ]
}

@test "pushing a change serves the new page and leaves one container" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "version one"
	deploy_ok "$TEST_TMP/app" "$app" "version one"
	app_change "$TEST_TMP/app" "version two"
	deploy_ok "$TEST_TMP/app" "$app" "version two"
	# Old containers are retired after the swap, possibly after a grace period.
	one_container() { [ "$(app_containers "$app" | wc -l)" -eq 1 ]; }
	if ! eventually 60 one_container; then
		docker ps -a --filter "label=wharf.app=$app" >&2
		false
	fi
}

@test "a failing build is rejected and the previous release keeps serving" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "good page"
	deploy_ok "$TEST_TMP/app" "$app" "good page"
	cat >"$TEST_TMP/app/Dockerfile" <<-'DOCKERFILE'
		FROM wharf/debian:bookworm
		RUN false
		COPY index.html /www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	DOCKERFILE
	app_change "$TEST_TMP/app" "broken page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "returned a non-zero code"
	refute_output --partial "=====> Application deployed:"
	run app_url_get "$app"
	assert_success
	assert_output "good page"
}

@test "config:set over ssh redeploys with the new environment" {
	app=$(new_app_name)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "greeting="
	run wharf_ssh config:set "$app" GREETING=hello
	assert_success
	run app_url_get "$app"
	assert_success
	assert_output "greeting=hello"
	run wharf_ssh config:get "$app" GREETING
	assert_success
	assert_output "hello"
}

@test "a repo without a Dockerfile is refused, naming the dockerfile builder" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	echo "no build instructions here" >"$TEST_TMP/app/README"
	h_git_commit "$TEST_TMP/app" "no Dockerfile"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --regexp '[Dd]ockerfile'
	refute_output --partial "=====> Application deployed:"
}

@test "pushing another branch does not deploy" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "main page"
	deploy_ok "$TEST_TMP/app" "$app" "main page"
	git -C "$TEST_TMP/app" checkout -q -b feature
	app_change "$TEST_TMP/app" "feature page"
	run git_push_app "$TEST_TMP/app" "$app" feature
	assert_success
	assert_output --regexp '[Nn]ot deploy|[Dd]eploy did not|[Ii]gnor|[Ss]kip'
	refute_output --partial "=====> Application deployed:"
	run app_url_get "$app"
	assert_output "main page"
}

@test "an empty push is harmless" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "steady page"
	deploy_ok "$TEST_TMP/app" "$app" "steady page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "up-to-date"
	run app_url_get "$app"
	assert_success
	assert_output "steady page"
}

@test "invalid app names in the remote path are refused" {
	make_app_repo "$TEST_TMP/app" "should never deploy"
	for name in Hello a_b ../x; do
		run git_push_app "$TEST_TMP/app" "$name"
		assert_failure
		assert_output --partial ' !     '
		refute_output --partial "=====> Application deployed:"
	done
	[ ! -e "$WHARF_ROOT/apps/Hello" ]
	[ ! -e "$WHARF_ROOT/apps/a_b" ]
	[ ! -e "$WHARF_ROOT/x" ]
	[ ! -e "$WHARF_T/x" ]
}
