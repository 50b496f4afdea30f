#!/usr/bin/env bats
# tests/e2e/cmd_router.bats - an app's router options (router:set) and certificate (certs:*)
# live in its state and come back with every route the router is given: through ps:stop and
# ps:start, a release without a web process, a route the router lost, apps:rename (which
# carries them, the certificate included, to the new name); apps:destroy drops them. Checked
# through the suite's real router: a body over max-body-size gets its 413, and the router's
# control API shows the options and the certificate it holds.

load lib/harness

setup() {
	harness_test_setup
	head -c 2048 /dev/zero | tr '\0' a >"$TEST_TMP/2k"
	head -c 512 /dev/zero | tr '\0' a >"$TEST_TMP/half-k"
}

teardown() {
	harness_test_teardown
}

# body_code APP FILE: the status of a GET through the router carrying FILE as its body.
body_code() {
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X GET --data-binary @"$2" \
		-H "Host: $1.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/"
}

# ctl ARGS...: the router's control API.
ctl() {
	curl -sS --max-time 30 --unix-socket "$WHARF_ROUTER_SOCKET" "$@"
}

# route_opts APP: "<max_body_bytes> <redirect_https>" as the router holds them, or its error.
route_opts() {
	ctl "http://x/apps/$1" | jq -r 'if .error then .error else "\(.max_body_bytes) \(.redirect_https)" end'
}

@test "router options survive ps:stop/ps:start, a release without web and a lost route" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "options"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh router:set "$app" max-body-size 1k
	assert_success
	assert_output "-----> Setting max-body-size to 1k for $app"
	run body_code "$app" "$TEST_TMP/2k"
	assert_output 413
	run body_code "$app" "$TEST_TMP/half-k"
	assert_output 200
	run jq -c .router "$WHARF_ROOT/apps/$app/app.json"
	assert_output '{"max_body_bytes":1024}'

	# ps:stop deletes the route; the report still shows the app's options; ps:start routes
	# the app again with them.
	run wharf_ssh ps:stop "$app"
	assert_success
	run route_opts "$app"
	assert_output "no such app"
	run wharf_ssh router:report "$app"
	assert_success
	assert_output "=====> $app router information
       Router domains:                
       Router targets:                
       Router max body size:          1024
       Router redirect https:         false
       Router paused:                 false
       Router maintenance:            false"
	run wharf_ssh ps:start "$app"
	assert_success
	run route_opts "$app"
	assert_output "1024 false"
	run body_code "$app" "$TEST_TMP/2k"
	assert_output 413

	# A release without a web process takes the route away; the next with web brings it
	# back with the options.
	printf 'worker: /bin/sh -c "exec sleep 3600"\n' >"$TEST_TMP/app/Procfile"
	h_git_commit "$TEST_TMP/app" "worker only"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run route_opts "$app"
	assert_output "no such app"
	git -C "$TEST_TMP/app" rm -q Procfile
	h_git_commit "$TEST_TMP/app" "web again"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run route_opts "$app"
	assert_output "1024 false"
	run body_code "$app" "$TEST_TMP/2k"
	assert_output 413

	# A router that lost the route (a new router host, a wiped table) gets the options
	# with the next route; and app.json wins over what the router was told behind wharf's back.
	run ctl -X DELETE "http://x/apps/$app"
	assert_success
	run wharf_ssh ps:restart "$app"
	assert_success
	run route_opts "$app"
	assert_output "1024 false"
	run wharf_ssh router:set "$app" max-body-size
	assert_success
	assert_output "-----> Unsetting max-body-size for $app"
	run ctl -X PUT "http://x/apps/$app/options" -d '{"max_body_bytes": 100, "redirect_https": true}'
	assert_success
	run wharf_ssh ps:restart "$app"
	assert_success
	run route_opts "$app"
	assert_output "1073741824 false"
	run body_code "$app" "$TEST_TMP/2k"
	assert_output 200
	run wharf_ssh apps:destroy "$app" --force
	assert_success
}

@test "apps:rename carries the router options and the certificate; apps:destroy drops them" {
	app=$(new_app_name)
	new=$(new_app_name renamed)
	make_app_repo "$TEST_TMP/app" "renamed options"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh certs:generate "$app"
	assert_success
	assert_output --partial "Ssl hostnames:               $app.$WHARF_TEST_DOMAIN"
	[ "$(stat -c %a "$WHARF_ROOT/apps/$app/cert.json")" = 600 ]
	run wharf_ssh router:set "$app" redirect-https on
	assert_success
	run wharf_ssh router:set "$app" max-body-size 1k
	assert_success
	run wharf_ssh apps:rename "$app" "$new"
	assert_success
	assert_output --partial "Application deployed: v2"
	# The old name is gone from the router: no route, no certificate.
	run route_opts "$app"
	assert_output "no such app"
	run ctl "http://x/apps/$app/cert"
	assert_output '{"error":"no certificate for this app"}'
	[ ! -e "$WHARF_ROOT/router/certs/$app.crt" ]
	# The new name has both.
	run route_opts "$new"
	assert_output "1024 true"
	run wharf_ssh router:report "$new" --router-redirect-https
	assert_output true
	run wharf_ssh certs:report "$new"
	assert_success
	assert_line --index 0 "=====> $new ssl information"
	assert_line --index 1 "       Ssl enabled:                 true"
	assert_line --index 2 "       Ssl hostnames:               $app.$WHARF_TEST_DOMAIN"
	cmp "$WHARF_ROOT/router/certs/$new.crt" <(jq -j .cert "$WHARF_ROOT/apps/$new/cert.json")
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X GET --data-binary @"$TEST_TMP/2k" \
		-H "Host: $app.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/"
	assert_output 404                       # the default domain followed the name
	run body_code "$new" "$TEST_TMP/2k"
	assert_output 413
	# A rename without a deploy gives the router the certificate at once, too.
	run wharf_ssh apps:rename "$new" "$app" --skip-deploy
	assert_success
	run wharf_ssh certs:report "$app"
	assert_line --index 2 "       Ssl hostnames:               $app.$WHARF_TEST_DOMAIN"
	run ctl "http://x/apps/$new/cert"
	assert_output '{"error":"no certificate for this app"}'
	run wharf_ssh ps:restart "$app"
	assert_success
	run route_opts "$app"
	assert_output "1024 true"
	# certs:remove (not over ssh: as certs:add) takes it from the router and the app's state.
	run wharf certs:remove "$app"
	assert_success
	assert_output "-----> Removed the certificate of $app"
	[ ! -e "$WHARF_ROOT/apps/$app/cert.json" ]
	run wharf certs:remove "$app"
	assert_failure 1
	assert_output " !     no certificate for this app"
	run wharf_ssh certs:generate "$app"
	assert_success
	run wharf_ssh apps:destroy "$app" --force
	assert_success
	run ctl "http://x/apps/$app/cert"
	assert_output '{"error":"no certificate for this app"}'
	[ ! -e "$WHARF_ROOT/router/certs/$app.crt" ]
	# An app made again under that name starts with no options and no certificate.
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh certs:report "$app"
	assert_output "=====> $app ssl information
       Ssl enabled:                 false"
	run wharf_ssh router:report "$app" --router-max-body-size
	assert_output 1073741824
	run wharf_ssh apps:destroy "$app" --force
	assert_success
}
