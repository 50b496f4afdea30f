#!/usr/bin/env bats
# tests/e2e/cmd_apps.bats - the apps family over ssh: report, list --format json, lock,
# unlock, locked (a locked app refuses pushes), rename, clone; refusals; family help, the
# generated docs/commands.md and bash completion.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

router_code() {
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT/"
}

@test "apps:report, apps:list --format json and the deploy lock of a new app" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh apps:report "$app"
	assert_success
	assert_line --index 0 "=====> $app apps information"
	assert_line --index 1 --regexp '^       Apps created at:               [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
	assert_line --index 2 "       Apps current release:          "
	assert_line --index 5 "       Apps dir:                      $WHARF_ROOT/apps/$app"
	assert_line --index 6 "       Apps locked:                   false"
	run wharf_ssh apps:report "$app" --apps-locked
	assert_success
	assert_output "false"
	run wharf_ssh apps:report "$app" --format json
	assert_success
	[ "$(jq -r '."apps-locked" + " " + ."apps-dir"' <<<"$output")" = "false $WHARF_ROOT/apps/$app" ]
	run wharf_ssh apps:report --format json
	[ "$(jq -r --arg a "$app" '.[$a]."apps-locked"' <<<"$output")" = false ]
	run wharf_ssh apps:list --format json
	assert_success
	jq -e --arg a "$app" 'index($a) != null' <<<"$output"

	run wharf_ssh apps:locked "$app"
	assert_failure 1
	assert_output " !     Deploy lock does not exist"
	run wharf_ssh apps:lock "$app"
	assert_success
	assert_output "-----> Deploy lock created"
	run wharf_ssh apps:locked "$app"
	assert_success
	assert_output "-----> Deploy lock exists"
	run wharf_ssh apps:report "$app" --apps-locked
	assert_output "true"
	run wharf_ssh apps:unlock "$app"
	assert_success
	assert_output "-----> Deploy lock removed"
	run wharf_ssh apps:locked "$app"
	assert_failure 1
}

@test "apps commands refuse unknown flags, missing arguments and bad names" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh apps:report "$app" --bogus
	assert_failure 1
	assert_output " !     unknown flag '--bogus' for apps:report; see \`wharf apps:report --help\`"
	run wharf_ssh apps:report "$app" --apps-nope
	assert_failure 1
	assert_output " !     unknown flag '--apps-nope'"
	run wharf_ssh apps:report "$app" --format yaml
	assert_failure 1
	assert_output " !     unknown format 'yaml': use stdout or json"
	run wharf_ssh apps:list --format
	assert_failure 1
	assert_output " !     --format needs a value"
	run wharf_ssh apps:lock
	assert_failure 1
	assert_output " !     usage: wharf apps:lock <app>"
	run wharf_ssh apps:rename "$app"
	assert_failure 1
	assert_output " !     usage: wharf apps:rename <old-app> <new-app> [--skip-deploy]"
	run wharf_ssh apps:lock "$app" extra
	assert_failure 1
	run wharf_ssh apps:lock "nosuch-$app"
	assert_failure 1
	assert_output " !     app 'nosuch-$app' does not exist"
	for bad in TestApp test_app test/app; do
		run wharf_ssh apps:create "$bad"
		assert_failure 1
		assert_output --regexp "^ !     invalid app name '$bad'"
		run wharf_ssh apps:rename "$app" "$bad"
		assert_failure 1
		assert_output --partial "invalid app name"
	done
	# The ssh word splitter refuses these before any command runs.
	run wharf_ssh "apps:create 'test;id'"
	assert_failure 1
	assert_output --partial "invalid app name"
	# shellcheck disable=SC2016 # a literal $: the splitter must refuse it
	run wharf_ssh 'apps:create test$cmd'
	assert_failure 1
	assert_output --regexp '^ !     '
	run wharf_ssh apps:clone "$app" "$app"
	assert_failure 1
	assert_output " !     the new name is the old one"
	run wharf_ssh apps:report "$app" --apps-locked
	assert_output "false"
}

@test "a locked app refuses pushes and keeps serving; unlocked, the push deploys" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "before lock"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh apps:lock "$app"
	assert_success
	app_change "$TEST_TMP/app" "while locked"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "remote:  !     $app is locked: apps:unlock $app to deploy"
	run app_url_get "$app"
	assert_output "before lock"
	run wharf_ssh apps:unlock "$app"
	assert_success
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "while locked"
}

@test "apps:rename moves state, repository, domains and the route; the old name is gone" {
	app=$(new_app_name)
	new=$(new_app_name renamed)
	make_app_repo "$TEST_TMP/app" "rename me"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh domains:add "$app" "www.$app.example"
	assert_success
	run wharf_ssh apps:rename "$app" "$new"
	assert_success
	assert_line --index 0 "-----> Renaming $app to $new"
	assert_output --partial "Application deployed: v2"
	run wharf_ssh apps:exists "$app"
	assert_failure
	run wharf_ssh apps:exists "$new"
	assert_success
	[ -z "$(app_containers "$app")" ]
	[ -n "$(app_containers "$new")" ]
	run app_url_get "$new"
	assert_output "rename me"
	run router_code "$app.$WHARF_TEST_DOMAIN"
	assert_output 404
	run curl -sS --max-time 10 -H "Host: www.$app.example" "http://127.0.0.1:$ROUTER_PORT/"
	assert_output "rename me"
	# The repository's hook now deploys the new name.
	grep -q "git-hook '$new'" "$WHARF_ROOT/apps/$new/repo.git/hooks/pre-receive"
	app_change "$TEST_TMP/app" "renamed and pushed"
	run git_push_app "$TEST_TMP/app" "$new"
	assert_success
	run app_url_get "$new"
	assert_output "renamed and pushed"
	run wharf_ssh apps:rename "$new" "$new-x" extra
	assert_failure 1
	run wharf_ssh apps:destroy "$new" --force
	assert_success
}

@test "apps:clone runs the current image under the new name with a copy of the config" {
	app=$(new_app_name)
	new=$(new_app_name clone)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh config:set "$app" GREETING=original
	assert_success
	image=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$app/releases.json")
	run wharf_ssh apps:clone "$app" "$new"
	assert_success
	assert_line --index 0 "-----> Cloning $app to $new"
	assert_output --partial "Application deployed: v1"
	run app_url_get "$new"
	assert_output "greeting=original"
	run app_url_get "$app"
	assert_output "greeting=original"
	# One release, the same image, no rebuild.
	run jq -r '[.releases[] | "\(.version) \(.image)"] | join(",")' "$WHARF_ROOT/apps/$new/releases.json"
	assert_output "1 $image"
	run wharf_ssh config:set "$new" GREETING=changed
	assert_success
	run app_url_get "$new"
	assert_output "greeting=changed"
	run app_url_get "$app"
	assert_output "greeting=original"
	run wharf_ssh apps:clone "$app" "$new"
	assert_failure 1
	assert_output " !     app '$new' already exists"
	# The clone has the repository: a push to it deploys.
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice" \
		run timeout 60 git clone -q "ssh://wharf@127.0.0.1:$SSH_PORT/$new" "$TEST_TMP/c"
	assert_success
	[ "$(git -C "$TEST_TMP/c" rev-parse HEAD)" = "$(git -C "$TEST_TMP/app" rev-parse HEAD)" ]
	run wharf_ssh apps:destroy "$new" --force
	assert_success
	run app_url_get "$app"
	assert_output "greeting=original"
}

@test "rename and clone of an app never deployed; clone --skip-deploy deploys on ps:restart" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh config:set --no-restart "$app" GREETING=kept
	run wharf_ssh domains:add "$app" "own.$app.example"
	run wharf_ssh apps:rename "$app" "$app-b"
	assert_success
	assert_output "-----> Renaming $app to $app-b
       $app-b has no release yet: the change applies on the first deploy"
	run wharf_ssh config:get "$app-b" GREETING
	assert_output "kept"
	run wharf_ssh apps:clone "$app-b" "$app-c"
	assert_success
	assert_output "-----> Cloning $app-b to $app-c
       $app-b has no release yet: push to $app-c to deploy it"
	run wharf_ssh config:get "$app-c" GREETING
	assert_output "kept"
	# Custom domains stay with the original: one host, one app.
	run wharf_ssh domains:report "$app-c" --domains-app-vhosts
	assert_output "$app-c.$WHARF_TEST_DOMAIN"
	run wharf_ssh domains:report "$app-b" --domains-app-vhosts
	assert_output "$app-b.$WHARF_TEST_DOMAIN own.$app.example"

	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app-b"
	assert_success
	run wharf_ssh apps:clone "$app-b" "$app-d" --skip-deploy
	assert_success
	assert_output "-----> Cloning $app-b to $app-d
       not deployed: \`ps:restart $app-d\` deploys $app-b's image"
	[ -z "$(app_containers "$app-d")" ]
	run wharf_ssh ps:restart "$app-d"
	assert_success
	assert_output --partial "Application deployed: v1"
	run app_url_get "$app-d"
	assert_output "greeting=kept"
	run jq -r '[.releases[] | "v\(.version) \(.description)"] | join(",")' "$WHARF_ROOT/apps/$app-d/releases.json"
	assert_output "v0 cloned from $app-b v1,v1 restart"
	run wharf_ssh apps:rename "$app-d" "$app-e" --now
	assert_failure 1
	assert_output " !     unknown flag '--now' for apps:rename; see \`wharf apps:rename --help\`"
	for a in "$app-b" "$app-c" "$app-d"; do
		run wharf_ssh apps:destroy "$a" --force
		assert_success
	done
}

@test "family help in Dokku's style, docs/commands.md is generated, bash completion" {
	run wharf_ssh apps:help
	assert_success
	assert_line --index 0 "Usage: wharf apps[:COMMAND]"
	assert_line --index 1 "Manage apps"
	assert_line --index 2 "Additional commands:"
	assert_line --regexp '^    apps:rename <old-app> <new-app> \[--skip-deploy\] +Rename an app and deploy it under the new name$'
	refute_output --partial "config:set"
	run wharf help git
	assert_line --index 0 "Usage: wharf git[:COMMAND]"
	run wharf apps
	assert_line --index 0 "Usage: wharf apps[:COMMAND]"
	run wharf apps:report --help
	assert_line --index 0 "Usage: wharf apps:report [<app>] [--format json] [--apps-KEY]"
	run wharf nosuchfamily
	assert_failure 1
	assert_output " !     \`nosuchfamily\` is not a wharf command; see \`wharf help\`"
	run wharf help --commands
	assert_line "apps:clone"
	refute_line "git-hook"
	# The doc is the table: regenerate with `bin/wharf help --markdown > docs/commands.md`.
	run diff <(wharf help --markdown) "$WHARF_REPO/docs/commands.md"
	assert_success
	# Completion: commands, then app names.
	app=$(new_app_name)
	run wharf apps:create "$app"
	# shellcheck disable=SC1091
	. "$WHARF_REPO/contrib/wharf-completion.bash"
	PATH=$WHARF_REPO/bin:$PATH
	COMP_WORDS=(wharf apps:re)
	COMP_CWORD=1
	_wharf
	[ "${COMPREPLY[*]}" = "apps:rename apps:report" ]
	COMP_WORDS=(wharf --quiet config:get "${app:0:5}")
	COMP_CWORD=3
	_wharf
	printf '%s\n' "${COMPREPLY[@]}" | grep -qx "$app"
}
