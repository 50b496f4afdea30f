#!/usr/bin/env bats
# tests/e2e/deploy-scripts.bats - app.json's scripts.dokku.predeploy and postdeploy around a
# real push: predeploy runs in the new image before any container of the release (a failure
# rejects the push and the old release keeps serving), the Procfile's release phase next,
# postdeploy after the router serves the new release (a failure is reported, the deploy stands).

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# make_scripts_app DIR BODY PREDEPLOY POSTDEPLOY: a Dockerfile app serving BODY, with a Procfile
# (web and a release phase) and app.json's deploy scripts.
make_scripts_app() {
	local dir=$1 body=$2 pre=$3 post=$4
	[ -d "$dir/.git" ] || h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		COPY index.html /www/index.html
	EOF
	printf '%s\n' "$body" >"$dir/index.html"
	cat >"$dir/Procfile" <<-'EOF'
		web: exec busybox httpd -f -p "$PORT" -h /www
		release: echo "release phase of $WHARF_APP"
	EOF
	jq -n --arg pre "$pre" --arg post "$post" \
		'{name: "scripts", scripts: {dokku: {predeploy: $pre, postdeploy: $post}}}' \
		>"$dir/app.json"
	h_git_commit "$dir" "scripts app: $body"
}

release_count() {
	jq '.releases | length' "$WHARF_ROOT/apps/$1/releases.json"
}

# line_of TEXT: the number of the first line of $output that contains TEXT.
line_of() {
	grep -n -F -- "$1" <<<"$output" | head -1 | cut -d: -f1
}

@test "predeploy, the release phase and postdeploy run in that order around the swap" {
	app=$(new_app_name)
	make_scripts_app "$TEST_TMP/app" "v1" 'echo "predeploy in $WHARF_PROCESS of $(cat /www/index.html)"' \
		'echo "postdeploy ran for $WHARF_APP"'
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_success
	assert_output --partial "-----> Running predeploy: echo"
	assert_output --partial "predeploy in predeploy of v1"
	assert_output --partial "release phase of $app"
	assert_output --partial "postdeploy ran for $app"
	pre=$(line_of "predeploy in predeploy")
	rel=$(line_of "release phase of")
	web=$(line_of "Starting web container")
	deployed=$(line_of "=====> Application deployed: v1")
	post=$(line_of "postdeploy ran for")
	[ "$pre" -lt "$rel" ] && [ "$rel" -lt "$web" ] && [ "$web" -lt "$deployed" ] &&
		[ "$deployed" -lt "$post" ]
	run app_url_get "$app"
	assert_output "v1"
	# The scripts are kept with the release.
	run jq -r '.releases[-1].scripts.predeploy' \
		"$WHARF_ROOT/apps/$app/releases.json"
	assert_output --partial 'predeploy in $WHARF_PROCESS'
	# A config change redeploys the image: no deploy script runs again.
	run wharf_ssh config:set "$app" GREETING=hi
	assert_success
	refute_output --partial "predeploy"
	refute_output --partial "postdeploy"
}

@test "a failing predeploy rejects the push before any container starts; the old release serves" {
	app=$(new_app_name)
	make_scripts_app "$TEST_TMP/app" "v1" 'echo predeploy ok' 'true'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "v1"
	before=$(app_containers "$app" | sort)

	make_scripts_app "$TEST_TMP/app" "v2" 'echo "migration failed" >&2; exit 3' 'echo never'
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_failure
	assert_output --partial "migration failed"
	assert_output --partial "the predeploy command failed (exit code 3)"
	assert_output --partial "the previous release keeps serving"
	refute_output --partial "release phase of"
	refute_output --partial "Starting web container"
	refute_output --partial "never"
	run app_url_get "$app"
	assert_output "v1"
	run release_count "$app"
	assert_output "1"
	# No container of the failed release was made, and the predeploy one is gone.
	assert_equal "$(app_containers "$app" | sort)" "$before"
}

@test "a failing postdeploy is reported but the deploy stands" {
	app=$(new_app_name)
	make_scripts_app "$TEST_TMP/app" "v1" 'true' 'echo "notify failed"; exit 5'
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_success
	assert_output --partial "=====> Application deployed: v1"
	assert_output --partial "notify failed"
	assert_output --partial "the postdeploy command failed (exit code 5); the deploy stands"
	run app_url_get "$app"
	assert_output "v1"
	run release_count "$app"
	assert_output "1"
}

@test "a bad scripts.dokku entry fails the push with its name" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	make_app_repo "$TEST_TMP/app" "v1"
	echo '{"scripts": {"dokku": {"predeploy": ["not", "a", "string"]}}}' >"$TEST_TMP/app/app.json"
	h_git_commit "$TEST_TMP/app" "bad app.json"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "app.json scripts.dokku.predeploy must be a string"
}
