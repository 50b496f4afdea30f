#!/usr/bin/env bats
# tests/e2e/cmd_builder.bats - the builder family over ssh: builder:set selected forces the
# builder of pushes (dockerfile without a Dockerfile fails clearly, buildpacks ignores a
# Dockerfile, image refuses pushes), unset detects again; builder:report; the refusals.

load lib/harness

# The buildpacks case needs the stack image (imported from the cached tarball, as in
# buildpacks.bats).
setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	h_stack_image || return 1
}

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

row() {
	printf '       %-31s%s' "$1:" "$2"
}

@test "builder:set selected buildpacks ignores a Dockerfile; unset detects it again" {
	app=$(new_app_name)
	# A static site with a Dockerfile whose page differs: which one serves tells the builder.
	make_app_repo "$TEST_TMP/app" "from the buildpack"
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo "from the Dockerfile" > /www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF2
	h_git_commit "$TEST_TMP/app" "Dockerfile and index.html"
	run wharf_ssh apps:create "$app"
	run wharf_ssh builder:set "$app" selected buildpacks
	assert_success
	assert_output "-----> Setting selected to buildpacks"
	run wharf_ssh builder:report "$app"
	assert_success
	assert_line --index 0 "=====> $app builder information"
	assert_line --index 1 "$(row 'Builder selected' 'buildpacks')"
	assert_line --index 2 "$(row 'Builder computed selected' 'buildpacks')"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "buildpacks app detected"
	run app_url_get "$app"
	assert_output "from the buildpack"
	run wharf_ssh builder:set "$app" selected
	assert_success
	assert_output "-----> Unsetting selected"
	run wharf_ssh builder:report "$app" --builder-computed-selected
	assert_output "detected on each push"
	run wharf_ssh ps:rebuild "$app"
	assert_success
	assert_output --partial "dockerfile app detected"
	run app_url_get "$app"
	assert_output "from the Dockerfile"
}

@test "builder:set selected dockerfile without a Dockerfile, and image, refuse pushes clearly" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	echo "static" >"$TEST_TMP/app/index.html"
	h_git_commit "$TEST_TMP/app" "no Dockerfile"
	run wharf_ssh apps:create "$app"
	run wharf_ssh builder:set "$app" selected dockerfile
	assert_success
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "the dockerfile builder is selected (builder:set), but the pushed tree has no Dockerfile at its root"
	run wharf_ssh builder:set "$app" selected image
	assert_success
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "this app deploys images (builder:set selected image): use \`git:from-image <app> IMAGE\`"
	run wharf_ssh builder:report --format json
	[ "$(jq -r --arg a "$app" '.[$a]."builder-selected"' <<<"$output")" = image ]
	[ -z "$(app_containers "$app")" ]
}

@test "builder commands refuse unknown builders, properties, names and flags" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	for bad in herokuish Dockerfile 'image;id' '$(id)' '`id`'; do
		run wharf_ssh "builder:set $app selected '$bad'"
		assert_failure 1
		assert_output " !     invalid builder '$bad': use dockerfile, buildpacks or image"
	done
	run wharf_ssh builder:set "$app" build-dir sub
	assert_failure 1
	assert_output " !     unknown builder property 'build-dir': only selected"
	run wharf_ssh builder:set "$app"
	assert_failure 1
	assert_output " !     usage: wharf builder:set <app> selected [dockerfile|buildpacks|image]"
	run wharf_ssh builder:set "$app" selected dockerfile extra
	assert_failure 1
	for bad in TestApp test_app 'test;id' 'test$cmd' test/app; do
		run wharf_ssh "builder:set '$bad' selected dockerfile"
		assert_failure 1
		assert_output " !     invalid app name '$bad': use lowercase letters, digits, '.' and '-', starting with a letter or digit"
	done
	run wharf_ssh builder:report "$app" --builder-nope
	assert_failure 1
	assert_output " !     unknown flag '--builder-nope'"
	run wharf_ssh builder:report "$app" --builder-selected
	assert_success
	assert_output ""
}
