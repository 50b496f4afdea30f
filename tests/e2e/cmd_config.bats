#!/usr/bin/env bats
# tests/e2e/cmd_config.bats - the config family over ssh: values that round-trip exactly
# through every export format and import, keys, clear, --global, --merged, --encoded,
# --quoted, redeploys, and the refusals (bad keys, injection attempts, unknown flags).

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	# Global values reach every app's next deploy: never leave one behind.
	[ -z "${CLEAR_GLOBAL:-}" ] || wharf config:clear --global >/dev/null 2>&1
	harness_test_teardown
}

b64() {
	printf '%s' "$1" | base64 -w0
}

@test "config values with spaces, quotes, = and newlines round-trip through every format" {
	app=$(new_app_name)
	other=$(new_app_name copy)
	run wharf_ssh apps:create "$app"
	run wharf_ssh apps:create "$other"
	tricky=$'it\'s "quoted" a=b\nsecond  line $(id) `id` \\n \\'
	run wharf_ssh config:set --no-restart "$app" --encoded "TRICKY=$(b64 "$tricky")" "EMPTY=" \
		"PLAIN=$(b64 'hello world')"
	assert_success
	assert_line --index 0 "-----> Setting config vars"
	assert_line --index 1 "       EMPTY:   "
	assert_line --index 2 "       PLAIN:   hello world"
	run wharf_ssh config:get "$app" TRICKY
	assert_success
	[ "$output" = "$tricky" ]
	run wharf_ssh config:get "$app" PLAIN --quoted
	assert_output "'hello world'"
	run wharf_ssh config:keys "$app"
	assert_output $'EMPTY\nPLAIN\nTRICKY'
	run wharf_ssh config:export "$app" --format shell
	assert_output "EMPTY='' PLAIN='hello world' TRICKY='it'\\''s \"quoted\" a=b
second  line \$(id) \`id\` \\n \\'"
	# The shell formats are real shell: eval gives the value back.
	eval "$(wharf_ssh config:export "$app" --format exports)"
	# shellcheck disable=SC2153 # TRICKY comes from the eval
	[ "$TRICKY" = "$tricky" ]
	run wharf_ssh config:export "$app" --format envfile
	assert_line --index 0 'EMPTY=""'
	assert_line --index 1 'PLAIN="hello world"'
	run wharf_ssh config:export "$app" --format json-list
	assert_output --partial '[{"name":"EMPTY","value":""},{"name":"PLAIN","value":"hello world"},'
	want=$(wharf_ssh config:export "$app" --format json)
	[ "$(jq -r .TRICKY <<<"$want")" = "$tricky" ]
	for f in shell exports envfile docker-args json json-list; do
		wharf_ssh config:export "$app" --format "$f" >"$TEST_TMP/vars.$f"
		[ "$f" = json-list ] && continue   # an export for tools; import reads the others
		run wharf_ssh config:import --replace --no-restart "$other" - <"$TEST_TMP/vars.$f"
		assert_success
		assert_line --index 0 "-----> Importing 3 config vars (replacing all others)"
		run wharf_ssh config:export "$other" --format json
		[ "$output" = "$want" ] || { echo "format $f: $output"; false; }
	done
	run wharf_ssh config:export "$app" --format yaml
	assert_failure 1
	assert_output " !     unknown format 'yaml': use shell, exports, envfile, docker-args, json or json-list"
}

@test "config:clear, config:unset, --global values and the --merged view" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh config:set --no-restart "$app" A=app B=2
	CLEAR_GLOBAL=1
	run wharf_ssh config:set --global A=global G=shared
	assert_success
	assert_output "-----> Setting config vars
       A:  global
       G:  shared
       global config applies to each app on its next deploy or restart"
	run wharf_ssh config:get --global G
	assert_output "shared"
	run wharf_ssh config:show --global
	assert_output "=====> global env vars
       A:  global
       G:  shared"
	run wharf_ssh config:show "$app" --merged
	assert_output "=====> $app env vars
       A:  app
       B:  2
       G:  shared"
	run wharf_ssh config:keys "$app"
	assert_output $'A\nB'
	run wharf_ssh config:keys "$app" --merged
	assert_output $'A\nB\nG'
	run wharf_ssh config:get "$app" G
	assert_failure 1
	assert_output ""
	run wharf_ssh config:get "$app" G --merged
	assert_output "shared"
	run wharf_ssh config:export --global --format json
	assert_output '{"A":"global","G":"shared"}'
	run wharf_ssh config:unset --global A
	assert_output "-----> Unsetting config vars
       A
       global config applies to each app on its next deploy or restart"
	run wharf_ssh config:export "$app" --merged --format shell
	assert_output "A='app' B='2' G='shared'"
	run wharf_ssh config:clear --global
	assert_success
	run wharf_ssh config:clear "$app" --no-restart
	assert_success
	assert_output "-----> Clearing config vars"
	run wharf_ssh config:keys "$app" --merged
	assert_output ""
	run wharf_ssh config:unset --no-restart "$app" NOPE
	assert_success
	assert_output "-----> Unsetting config vars
 !     NOPE is not set"
}

@test "config refuses bad keys, injection attempts, unknown flags and missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh config:set --no-restart "$app" SAFE=1
	# shellcheck disable=SC2016 # literal $ and backquotes: the point of the test
	for key in '$(id)' '`id`' '1BAD' 'A-B' 'A B'; do
		run wharf_ssh "config:set --no-restart $app '$key=x'"
		assert_failure 1
		assert_output --partial "invalid config key"
	done
	# Outside single quotes the ssh splitter refuses $ and backquotes outright.
	# shellcheck disable=SC2016
	run wharf_ssh 'config:set '"$app"' A=$(id)'
	assert_failure 1
	assert_output --partial "refused"
	run wharf_ssh config:import --no-restart "$app" - <<<'{"A\nB":"x"}'
	assert_failure 1
	assert_output --partial "invalid config key"
	run wharf_ssh config:import --no-restart "$app" - <<<'{"A":1}'
	assert_failure 1
	assert_output " !     the value of A is not a string"
	run wharf_ssh config:import --no-restart "$app" - <<<$'OK=1\n$(id)=2'
	assert_failure 1
	assert_output --partial "invalid config key '\$(id)'"
	run wharf_ssh config:import --no-restart "$app" - <<<"A='unterminated"
	assert_failure 1
	assert_output " !     line 1: unterminated single quote"
	run wharf_ssh config:import "$app" /etc/passwd
	assert_failure 1
	assert_output " !     over ssh, config:import reads stdin only: ssh wharf@HOST config:import APP - < FILE"
	run wharf_ssh config:set --no-restart "$app" --encoded 'A=not*base64'
	assert_failure 1
	assert_output " !     invalid base64 value"
	run wharf_ssh config:set "$app" NOEQUALS
	assert_failure 1
	assert_output " !     'NOEQUALS' is not KEY=VALUE"
	run wharf_ssh config:set "$app" --bogus A=1
	assert_failure 1
	assert_output " !     unknown flag '--bogus' for config:set; see \`wharf config:set --help\`"
	run wharf_ssh config:get "$app"
	assert_failure 1
	assert_output " !     usage: wharf config:get [--global|<app>] [--quoted] [--merged] KEY"
	run wharf_ssh config:set "$app"
	assert_failure 1
	run wharf_ssh config:keys
	assert_failure 1
	assert_output " !     usage: wharf config:keys [--global|<app>] [--merged]"
	run wharf_ssh config:show TestApp
	assert_failure 1
	assert_output --partial "invalid app name 'TestApp'"
	# Nothing above changed anything.
	run wharf_ssh config:export "$app" --format json
	assert_output '{"SAFE":"1"}'
}

@test "config:import and config:clear redeploy the app, --no-restart waits" {
	app=$(new_app_name)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	printf 'GREETING="imported value"\n' >"$TEST_TMP/env"
	run wharf_ssh config:import "$app" <"$TEST_TMP/env"
	assert_success
	assert_output --partial "Application deployed: v2"
	run app_url_get "$app"
	assert_output "greeting=imported value"
	run wharf_ssh config:import --no-restart "$app" - <<<'{"GREETING":"not yet"}'
	assert_success
	run app_url_get "$app"
	assert_output "greeting=imported value"
	run wharf_ssh config:clear "$app"
	assert_success
	assert_output --partial "Application deployed: v3"
	run app_url_get "$app"
	assert_output "greeting="
}

@test "global config reaches every app's containers on its next deploy, under the app's own" {
	app=$(new_app_name)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	CLEAR_GLOBAL=1
	run wharf_ssh config:set --global GREETING=from-global
	assert_success
	run app_url_get "$app"
	assert_output "greeting="
	run wharf_ssh ps:restart "$app"
	assert_success
	run app_url_get "$app"
	assert_output "greeting=from-global"
	run wharf_ssh config:set "$app" GREETING=own
	assert_success
	run app_url_get "$app"
	assert_output "greeting=own"
	run wharf_ssh config:get "$app" GREETING --merged
	assert_output "own"
	run wharf_ssh config:unset --global GREETING
	assert_success
}
