#!/usr/bin/env bats
# tests/e2e/cmd_git.bats - the git family over ssh: git:set deploy-branch (only that branch
# deploys), git:report, GIT_REV in the app's environment, and the refusals.

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

# An app whose page shows the GIT_REV it was started with.
make_rev_app() {
	local dir=$1
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh","-c","echo \"rev=$GIT_REV\" > /www/index.html; exec busybox httpd -f -p $PORT -h /www"]
	EOF2
	h_git_commit "$dir" "rev app"
}

@test "git:set deploy-branch: only that branch deploys; unset, main deploys again" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "main one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh git:set "$app" deploy-branch release
	assert_success
	assert_output "-----> Setting deploy-branch to release"
	run wharf_ssh git:report "$app" --git-deploy-branch
	assert_output "release"
	app_change "$TEST_TMP/app" "main two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Not deploying refs/heads/main: only the deploy branch deploys (release)"
	run app_url_get "$app"
	assert_output "main one"
	git -C "$TEST_TMP/app" branch release
	run git_push_app "$TEST_TMP/app" "$app" release
	assert_success
	assert_output --partial "Application deployed: v2"
	run app_url_get "$app"
	assert_output "main two"
	run wharf_ssh git:set "$app" deploy-branch
	assert_success
	assert_output "-----> Unsetting deploy-branch"
	run wharf_ssh git:report "$app" --git-computed-deploy-branch
	assert_output "main master"
	app_change "$TEST_TMP/app" "main three"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "main three"
}

@test "GIT_REV is the deployed commit; git:report shows it in every form" {
	app=$(new_app_name)
	make_rev_app "$TEST_TMP/app"
	rev=$(git -C "$TEST_TMP/app" rev-parse HEAD)
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "rev=$rev"
	run wharf_ssh git:report "$app"
	assert_success
	assert_line --index 0 "=====> $app git information"
	assert_line --index 1 "$(row 'Git deploy branch' '')"
	assert_line --index 2 "$(row 'Git computed deploy branch' 'main master')"
	assert_line --index 3 "$(row 'Git rev' "$rev")"
	assert_line --index 4 --regexp '^       Git last updated at:           [0-9]{4}-[0-9]{2}-[0-9]{2}T'
	run wharf_ssh git:report "$app" --git-rev
	assert_output "$rev"
	run wharf_ssh git:report "$app" --format json
	[ "$(jq -r '."git-rev"' <<<"$output")" = "$rev" ]
	run wharf_ssh git:report --format json
	[ "$(jq -r --arg a "$app" '.[$a]."git-rev"' <<<"$output")" = "$rev" ]
}

@test "git commands refuse bad branch names, unknown properties and flags, missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	for bad in .. a..b x.lock /a a/ a//b 'a b' 'a~1' 'a^' 'a:b' 'a@{1}' '.hidden' 'a/.b'; do
		run wharf_ssh "git:set $app deploy-branch '$bad'"
		assert_failure 1
		assert_output " !     invalid branch name '$bad'"
	done
	run wharf_ssh git:set "$app" deploy-branch -x
	assert_failure 1
	assert_output " !     unknown flag '-x' for git:set; see \`wharf git:set --help\`"
	run wharf_ssh git:set "$app" keep-git-dir true
	assert_failure 1
	assert_output " !     unknown git property 'keep-git-dir': only deploy-branch"
	run wharf_ssh git:set "$app"
	assert_failure 1
	assert_output " !     usage: wharf git:set <app> deploy-branch [BRANCH]"
	run wharf_ssh git:set
	assert_failure 1
	run wharf_ssh git:set "$app" deploy-branch a b
	assert_failure 1
	run wharf_ssh git:set Bad_App deploy-branch main
	assert_failure 1
	assert_output --partial "invalid app name 'Bad_App'"
	run wharf_ssh git:report "$app" --git-nope
	assert_failure 1
	assert_output " !     unknown flag '--git-nope'"
	run wharf_ssh git:report "$app" --verbose
	assert_failure 1
	assert_output " !     unknown flag '--verbose' for git:report; see \`wharf git:report --help\`"
	run wharf_ssh git:report "$app" --git-deploy-branch
	assert_success
	assert_output ""
	run wharf_ssh git:set "$app" deploy-branch feature/x-1.2_b
	assert_success
	run wharf_ssh git:report "$app" --git-deploy-branch
	assert_output "feature/x-1.2_b"
}

@test "GIT_REV stays the deployed commit through a redeploy (config:set)" {
	app=$(new_app_name)
	make_rev_app "$TEST_TMP/app"
	rev=$(git -C "$TEST_TMP/app" rev-parse HEAD)
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set "$app" OTHER=1
	assert_success
	assert_output --partial "Application deployed: v2"
	run app_url_get "$app"
	assert_output "rev=$rev"
}

@test "git:from-image deploys a local image as a release with zero downtime; a missing one is never pulled" {
	src=$(new_app_name src)
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/src" "image one"
	run git_push_app "$TEST_TMP/src" "$src"
	assert_success
	docker tag "wharf/$src:1" "e2e-$app/img:v1"
	run wharf_ssh apps:create "$app"
	run wharf_ssh git:from-image "$app" "e2e-$app/img:v1"
	assert_success
	assert_line --index 0 --regexp "^-----> Deploying image e2e-$app/img:v1 \\(sha256:[0-9a-f]{12}\\) to $app$"
	assert_output --partial "=====> Application deployed: v1"
	run app_url_get "$app"
	assert_output "image one"
	run wharf_ssh git:report "$app" --git-source-image
	assert_output "e2e-$app/img:v1"
	run wharf_ssh git:report "$app" --git-rev
	assert_output ""
	docker image inspect "wharf/$app:1" >/dev/null
	old=$(app_containers "$app")

	app_change "$TEST_TMP/src" "image two"
	run git_push_app "$TEST_TMP/src" "$src"
	assert_success
	docker tag "wharf/$src:2" "e2e-$app/img:v2"
	run wharf_ssh git:from-image "$app" "e2e-$app/img:v2"
	assert_success
	assert_output --partial "Switching the router to"
	assert_output --partial "=====> Application deployed: v2"
	run app_url_get "$app"
	assert_output "image two"
	[ "$(app_containers "$app")" != "$old" ]
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]
	run wharf_ssh releases:info "$app" 2 --format json
	[ "$(jq -r '.source_image' <<<"$output")" = "e2e-$app/img:v2" ]
	# A config change redeploys the image release.
	run wharf_ssh config:set "$app" X=1
	assert_success
	run app_url_get "$app"
	assert_output "image two"

	run wharf_ssh git:from-image "$app" nope/missing:1
	assert_failure 1
	assert_output " !     image 'nope/missing:1' does not exist in the local Docker (wharf never pulls: build or \`docker load\` it on this host first)"
	[ -z "$(docker image ls -q nope/missing)" ]
	run app_url_get "$app"
	assert_output "image two"
}

@test "git:from-image refuses bad references, names and missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	# shellcheck disable=SC2016 # literal $ and backquotes: the point of the test
	for bad in '$(id)' '`id`' 'img;id' 'img name' '-img' 'a/../b' 'img?x=1' '#img'; do
		run wharf_ssh "git:from-image $app '$bad'"
		assert_failure 1
		refute_output --partial "uid="
		[ "$bad" = -img ] || assert_output " !     invalid image reference '$bad'"
	done
	run wharf_ssh git:from-image "$app"
	assert_failure 1
	assert_output " !     usage: wharf git:from-image <app> IMAGE"
	run wharf_ssh git:from-image "$app" a b
	assert_failure 1
	for bad in TestApp test_app 'test;id' 'test$cmd' test/app; do
		run wharf_ssh "git:from-image '$bad' img:1"
		assert_failure 1
		assert_output --partial "invalid app name '$bad'"
	done
	run wharf_ssh git:from-image nosuchapp-y img:1
	assert_failure 1
	assert_output " !     app 'nosuchapp-y' does not exist"
}
