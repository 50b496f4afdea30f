#!/usr/bin/env bats
# tests/e2e/cmd_ports.bats - the ports family over ssh: list, add, set, remove, clear, report;
# a map leaves zero-downtime deploys of $PORT apps alone; a fixed-port app deploys with
# checks:disable web (no overlap); the refusals (host ports the router does not serve,
# container ports below 1024, bad maps, bad names).

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

@test "ports:add, set, remove, clear, list and report" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh ports:list "$app"
	assert_success
	assert_output "-----> No port mappings configured for app $app
       served on the router's http:80 (and https:443 with a certificate); the web container gets a fresh \$PORT"
	run wharf_ssh ports:add "$app" http:80:5000 https:443:5000 http:80:5000
	assert_success
	assert_output "-----> Setting port mappings of $app
       container port 5000 is used only without overlap (checks:disable $app web); zero-downtime deploys give each container a fresh \$PORT
       applies from the next deploy"
	run wharf_ssh ports:list "$app"
	assert_success
	assert_output "-----> Port mappings for $app
    -----> scheme             host port                 container port
    http                      80                        5000
    https                     443                       5000"
	run wharf_ssh ports:report "$app"
	assert_success
	assert_line --index 0 "=====> $app ports information"
	assert_line --index 1 "$(row 'Ports map' 'http:80:5000 https:443:5000')"
	assert_line --index 2 "$(row 'Ports computed web port' 'fresh per container')"
	run wharf_ssh ports:remove "$app" 443
	assert_success
	run wharf_ssh ports:report "$app" --ports-map
	assert_output "http:80:5000"
	run wharf_ssh ports:remove "$app" 443
	assert_failure 1
	assert_output " !     $app has no port mapping 443"
	run wharf_ssh ports:set "$app" http:80:6000 https:443:6000
	assert_success
	run wharf_ssh ports:remove "$app" https:443:6000
	assert_success
	run wharf_ssh ports:report "$app" --format json
	[ "$(jq -r '."ports-map"' <<<"$output")" = "http:80:6000" ]
	run wharf_ssh ports:report --format json
	[ "$(jq -r --arg a "$app" '.[$a]."ports-map"' <<<"$output")" = "http:80:6000" ]
	run wharf_ssh ports:clear "$app"
	assert_success
	assert_line --index 0 "-----> Cleared port mappings of $app"
	run wharf_ssh ports:report "$app" --ports-map
	assert_output ""
}

@test "a ports map leaves zero-downtime deploys of a \$PORT app alone" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "port one"
	run wharf_ssh apps:create "$app"
	run wharf_ssh ports:set "$app" http:80:5000
	assert_success
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "port one"
	app_change "$TEST_TMP/app" "port two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	refute_output --partial "Stopping old"
	assert_output --regexp "Starting web container for release 2 on port [0-9]+"
	refute_output --partial "on port 5000"
	run app_url_get "$app"
	assert_output "port two"
}

@test "a fixed-port app deploys with ports:set and checks:disable web, and not with overlap" {
	app=$(new_app_name)
	port=$(free_port)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-EOF
		FROM wharf/debian:bookworm
		COPY index.html /www/index.html
		CMD ["busybox", "httpd", "-f", "-p", "$port", "-h", "/www"]
	EOF
	echo "fixed one" >"$TEST_TMP/app/index.html"
	h_git_commit "$TEST_TMP/app" "fixed port app"
	run wharf_ssh apps:create "$app"
	run wharf_ssh ports:set "$app" "http:80:$port"
	run wharf_ssh checks:disable "$app" web
	run wharf_ssh ports:report "$app" --ports-computed-web-port
	assert_output "$port"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Starting web container for release 1 on port $port"
	run app_url_get "$app"
	assert_output "fixed one"
	app_change "$TEST_TMP/app" "fixed two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Stopping old web container"
	assert_output --partial "Starting web container for release 2 on port $port"
	run app_url_get "$app"
	assert_output "fixed two"
	# With overlap the app gets a fresh PORT it ignores: it listens on its fixed port in
	# its own network namespace, never on PORT, and the deploy fails after
	# WHARF_LISTEN_TIMEOUT (60 s by default); v2 serves on.
	run wharf_ssh checks:enable "$app"
	run wharf_ssh config:set --no-restart "$app" WHARF_LISTEN_TIMEOUT=4
	assert_success
	app_change "$TEST_TMP/app" "fixed three"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --regexp "the new container did not listen on PORT [0-9]+ within 4 s \(WHARF_LISTEN_TIMEOUT"
	run app_url_get "$app"
	assert_output "fixed two"
}

@test "ports commands refuse bad maps, host ports the router does not serve, bad names" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh ports:add "$app" http:8080:5000
	assert_failure 1
	assert_output " !     invalid port mapping 'http:8080:5000': the router serves http on host port 80 only (wharf opens no other host port; apps are told apart by domain)"
	run wharf_ssh ports:add "$app" https:80:5000
	assert_failure 1
	assert_output " !     invalid port mapping 'https:80:5000': the router serves https on host port 443 only (wharf opens no other host port; apps are told apart by domain)"
	run wharf_ssh ports:add "$app" http:80:80
	assert_failure 1
	assert_output " !     invalid port mapping 'http:80:80': the container port must be 1024-65535 (containers use the host's network)"
	for bad in http:80:0 http:80:65536 http:80:05000 http:80:-1 'http:80: 5000' http:80:5e3; do
		run wharf_ssh "ports:add $app '$bad'"
		assert_failure 1
		assert_output " !     invalid port mapping '$bad': ports are numbers from 1 to 65535"
	done
	for bad in tcp:80:5000 HTTP:80:5000 '$(id):80:5000' '`id`:80:5000'; do
		run wharf_ssh "ports:add $app '$bad'"
		assert_failure 1
		assert_output " !     invalid port mapping '$bad': the scheme must be http or https"
	done
	for bad in 80:5000 http:80:5000:1 http 5000; do
		run wharf_ssh ports:set "$app" "$bad"
		assert_failure 1
		assert_output " !     invalid port mapping '$bad': use SCHEME:HOST-PORT:CONTAINER-PORT (http:80:5000)"
	done
	# One bad map among good ones changes nothing.
	run wharf_ssh ports:set "$app" http:80:5000 http:81:5000
	assert_failure 1
	run wharf_ssh ports:report "$app" --ports-map
	assert_output ""
	run wharf_ssh "ports:remove $app 'x;id'"
	assert_failure 1
	assert_output " !     'x;id' is neither a host port nor a port mapping"
	for bad in TestApp test_app 'test;id' 'test$cmd' test/app; do
		run wharf_ssh "ports:list '$bad'"
		assert_failure 1
		assert_output " !     invalid app name '$bad': use lowercase letters, digits, '.' and '-', starting with a letter or digit"
	done
	run wharf_ssh ports:add "$app"
	assert_failure 1
	assert_output " !     usage: wharf ports:add <app> SCHEME:HOST-PORT:CONTAINER-PORT ..."
	run wharf_ssh ports:clear "$app" http:80:5000
	assert_failure 1
	assert_output " !     usage: wharf ports:clear <app>"
	run wharf_ssh ports:report "$app" --ports-nope
	assert_failure 1
	assert_output " !     unknown flag '--ports-nope'"
	run wharf_ssh ports:list "$app" --all
	assert_failure 1
	assert_output " !     unknown flag '--all' for ports:list; see \`wharf ports:list --help\`"
}
