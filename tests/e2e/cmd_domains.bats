#!/usr/bin/env bats
# tests/e2e/cmd_domains.bats - the domains family over ssh: set, clear, reset, enable,
# disable (routes follow through the router), report in every form, global domains, and
# the refusals.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	# A test that changed the global domains puts the suite's back, even when it failed.
	[ -z "${RESTORE_GLOBAL:-}" ] || wharf domains:set-global "$WHARF_TEST_DOMAIN" >/dev/null 2>&1
	harness_test_teardown
}

code() {
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT/"
}

row() {
	printf '       %-31s%s' "$1:" "$2"
}

@test "domains:set, clear, disable, enable and reset re-point the router" {
	app=$(new_app_name)
	def=$app.$WHARF_TEST_DOMAIN
	make_app_repo "$TEST_TMP/app" "domains page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh domains:set "$app" "a.$app.example" "b.$app.example"
	assert_success
	assert_output "-----> Added a.$app.example to $app
-----> Added b.$app.example to $app"
	[ "$(code "a.$app.example")" = 200 ] && [ "$(code "b.$app.example")" = 200 ] && [ "$(code "$def")" = 200 ]
	run wharf_ssh domains:set "$app" "c.$app.example"
	assert_success
	[ "$(code "a.$app.example")" = 404 ] && [ "$(code "c.$app.example")" = 200 ]
	run wharf_ssh domains:disable "$app"
	assert_success
	assert_output "-----> Disabled the default domain of $app"
	[ "$(code "$def")" = 404 ] && [ "$(code "c.$app.example")" = 200 ]
	run wharf_ssh urls "$app"
	assert_output "http://c.$app.example"
	run wharf_ssh domains:report "$app" --domains-app-enabled
	assert_output "false"
	run wharf_ssh domains:enable "$app"
	assert_output "-----> Enabled the default domain of $app"
	[ "$(code "$def")" = 200 ]
	run wharf_ssh domains:clear "$app"
	assert_success
	assert_output "-----> Cleared domains in $app"
	[ "$(code "c.$app.example")" = 404 ] && [ "$(code "$def")" = 200 ]
	run wharf_ssh domains:report "$app" --domains-app-vhosts
	assert_output "$def"
	run wharf_ssh domains:add "$app" "d.$app.example"
	run wharf_ssh domains:disable "$app"
	[ "$(code "$def")" = 404 ]
	run wharf_ssh domains:reset "$app"
	assert_success
	assert_output "-----> Reset domains in $app"
	[ "$(code "$def")" = 200 ] && [ "$(code "d.$app.example")" = 404 ]
	run wharf_ssh urls "$app"
	assert_output "http://$def"
}

@test "domains:report prints stdout, JSON, single flags and the global view" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh domains:add "$app" "www.$app.example"
	assert_success
	assert_output "-----> Added www.$app.example to $app"
	run wharf_ssh domains:report "$app"
	assert_success
	assert_output "=====> $app domains information
$(row 'Domains app enabled' true)
$(row 'Domains app vhosts' "$app.$WHARF_TEST_DOMAIN www.$app.example")
$(row 'Domains global enabled' true)
$(row 'Domains global vhosts' "$WHARF_TEST_DOMAIN")"
	run wharf_ssh domains:report "$app" --format json
	assert_output "{\"domains-app-enabled\":\"true\",\"domains-app-vhosts\":\"$app.$WHARF_TEST_DOMAIN www.$app.example\",\"domains-global-enabled\":\"true\",\"domains-global-vhosts\":\"$WHARF_TEST_DOMAIN\"}"
	run wharf_ssh domains:report --global
	assert_output "=====> Global domains information
$(row 'Domains global enabled' true)
$(row 'Domains global vhosts' "$WHARF_TEST_DOMAIN")"
	run wharf_ssh domains:report --global --domains-global-vhosts
	assert_output "$WHARF_TEST_DOMAIN"
	run wharf_ssh domains:report --format json
	[ "$(jq -r --arg a "$app" '.[$a]."domains-app-vhosts"' <<<"$output")" = "$app.$WHARF_TEST_DOMAIN www.$app.example" ]
	run wharf_ssh domains:report "$app" --domains-nope
	assert_failure 1
	assert_output " !     unknown flag '--domains-nope'"
	run wharf_ssh domains:report "$app" --format xml
	assert_failure 1
	assert_output " !     unknown format 'xml': use stdout or json"
	run wharf_ssh domains:report --domains-app-vhosts
	assert_failure 1
	assert_output " !     --domains-app-vhosts needs an app or --global"
	run wharf_ssh domains:report "$app" --global
	assert_failure 1
}

@test "global domains: add, remove, set and clear change every app's default domains" {
	app=$(new_app_name)
	extra=extra-$$.test
	make_app_repo "$TEST_TMP/app" "global page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	RESTORE_GLOBAL=1
	run wharf_ssh domains:add-global "$extra"
	assert_success
	assert_line --index 0 "-----> Added global domains: $extra"
	[ "$(code "$app.$extra")" = 200 ] && [ "$(code "$app.$WHARF_TEST_DOMAIN")" = 200 ]
	run wharf_ssh domains:report --global --domains-global-vhosts
	assert_output "$WHARF_TEST_DOMAIN $extra"
	run wharf_ssh urls "$app"
	assert_output "http://$app.$WHARF_TEST_DOMAIN
http://$app.$extra"
	run wharf_ssh domains:remove-global "$extra"
	assert_success
	assert_line --index 0 "-----> Removed global domains: $extra"
	[ "$(code "$app.$extra")" = 404 ]
	run wharf_ssh domains:set-global "$extra"
	assert_line --index 0 "-----> Set global domains: $extra"
	[ "$(code "$app.$extra")" = 200 ] && [ "$(code "$app.$WHARF_TEST_DOMAIN")" = 404 ]
	run wharf_ssh domains:clear-global
	assert_success
	assert_line --index 0 "-----> Cleared global domains"
	run wharf_ssh domains:report --global
	assert_output "=====> Global domains information
$(row 'Domains global enabled' false)
$(row 'Domains global vhosts' '')"
	run wharf_ssh domains:set-global "$WHARF_TEST_DOMAIN"
	assert_success
	[ "$(code "$app.$WHARF_TEST_DOMAIN")" = 200 ] && [ "$(code "$app.$extra")" = 404 ]
}

@test "domains commands refuse invalid domains, unknown flags and missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	for bad in "http://x" "a..b" "x.com:80" "a-.com" "a/b" "a_b.com"; do
		for cmd in domains:add domains:set; do
			run wharf_ssh "$cmd" "$app" "$bad"
			assert_failure 1
			assert_output " !     invalid domain '$bad': give a host name such as app.example.com (no scheme, port, path or spaces)"
		done
		run wharf_ssh domains:add-global "$bad"
		assert_failure 1
		assert_output --partial "invalid domain"
	done
	# A word starting with '-' is a flag, and no domain starts with one.
	run wharf_ssh domains:add "$app" -a.com
	assert_failure 1
	assert_output " !     unknown flag '-a.com' for domains:add; see \`wharf domains:add --help\`"
	run wharf_ssh "domains:set $app 'a b'"
	assert_failure 1
	assert_output --partial "invalid domain 'a b'"
	run wharf_ssh domains:set "$app"
	assert_failure 1
	assert_output " !     usage: wharf domains:set <app> DOMAIN [DOMAIN ...]"
	run wharf_ssh domains:add-global
	assert_failure 1
	assert_output " !     usage: wharf domains:add-global DOMAIN [DOMAIN ...]"
	run wharf_ssh domains:clear-global extra
	assert_failure 1
	run wharf_ssh domains:disable "$app" --now
	assert_failure 1
	assert_output " !     unknown flag '--now' for domains:disable; see \`wharf domains:disable --help\`"
	run wharf_ssh domains:enable
	assert_failure 1
	assert_output " !     usage: wharf domains:enable <app>"
	run wharf_ssh domains:clear "nosuch-$app"
	assert_failure 1
	assert_output " !     app 'nosuch-$app' does not exist"
	run wharf_ssh domains:report "$app" --domains-app-vhosts
	assert_output "$app.$WHARF_TEST_DOMAIN"
	run wharf_ssh domains:report --global --domains-global-vhosts
	assert_output "$WHARF_TEST_DOMAIN"
}
