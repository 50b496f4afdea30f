#!/usr/bin/env bats
# router.bats - `wharf router` end to end: a private router and busybox httpd backends on
# ephemeral loopback ports; routing by Host, keep-alive, X-Forwarded-For, health-checked
# swaps, 502s, the persisted table across a restart, and DELETE.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

# Starts busybox httpd serving DIR on PORT; records its pid in $RT/NAME.pid.
start_backend() {
	local name=$1 port=$2 dir=$RT/$1
	mkdir -p "$dir/cgi-bin"
	echo "backend $name" >"$dir/index.html"
	cat >"$dir/cgi-bin/env" <<'EOF'
#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "xff=$HTTP_X_FORWARDED_FOR"
EOF
	chmod +x "$dir/cgi-bin/env"
	busybox httpd -f -p "127.0.0.1:$port" -h "$dir" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$RT/$name.pid"
	http_wait "$port" && return 0
	echo "backend $name did not start" >&2
	return 1
}

ctl() {
	curl -s -m 60 --unix-socket "$RT/router.sock" "$@"
}

# get HOST PATH [curl args...]: a request through the router.
get() {
	local host=$1 path=$2
	shift 2
	curl -s -m 10 -H "Host: $host" "$@" "http://127.0.0.1:$(cat "$RT/router.port")$path"
}

setup_file() {
	export RT
	RT=$(mktemp -d /tmp/wharf-router-e2e.XXXXXX)
	export P1 P2 PDEAD
	P1=$(free_port)
	P2=$(free_port)
	PDEAD=$(free_port)      # nothing listens here
	start_backend one "$P1"
	start_backend two "$P2"
	router_start router
}

teardown_file() {
	router_stop router || true
	local f
	for f in "$RT"/one.pid "$RT"/two.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$RT"
}

@test "router: prints its real port and serves 404 for an unknown host" {
	run cat "$RT/router.log"
	assert_output --regexp 'listening on 127\.0\.0\.1:[1-9][0-9]*, control socket .*router\.sock, 0 apps restored'
	run get nobody.example.com / -o /dev/null -w '%{http_code}'
	assert_output 404
}

@test "router: PUT /apps/web then a request with its Host reaches the backend" {
	run ctl -X PUT http://x/apps/web \
		-d "{\"domains\": [\"web.example.com\"], \"targets\": [\"127.0.0.1:$P1\"]}"
	assert_output "{\"app\":\"web\",\"domains\":[\"web.example.com\"],\"targets\":[\"127.0.0.1:$P1\"]}"
	run get web.example.com /
	assert_output "backend one"
	run get WEB.example.com:80 /
	assert_output "backend one"
	run ctl http://x/apps
	assert_output --partial '"app":"web"'
	run ctl http://x/apps/web
	assert_output --partial "127.0.0.1:$P1"
	run ctl -o /dev/null -w '%{http_code}' http://x/apps/nope
	assert_output 404
}

@test "router: invalid routes are refused with 400 and a JSON error" {
	run ctl -w ' %{http_code}' -X PUT http://x/apps/web -d '{"domains": ["a b"], "targets": []}'
	assert_output --regexp '^\{"error":"invalid domain.* 400$'
	run ctl -w ' %{http_code}' -X PUT http://x/apps/web -d '{"domains": [], "targets": ["localhost:80"]}'
	assert_output --regexp '^\{"error":"invalid target.* 400$'
	run ctl -w ' %{http_code}' -X PUT http://x/apps/Web -d '{"domains": [], "targets": []}'
	assert_output --regexp ' 400$'
	run get web.example.com /
	assert_output "backend one"
}

@test "router: keeps the client connection alive across requests" {
	run curl -sv -m 10 -H 'Host: web.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/" "http://127.0.0.1:$(cat "$RT/router.port")/index.html"
	assert_success
	assert_output --regexp '[Rr]e-?using existing'
	[ "$(grep -c '^backend one$' <<<"$output")" -eq 2 ]
}

@test "router: X-Forwarded-For reaches the backend" {
	run get web.example.com /cgi-bin/env
	assert_output "xff=127.0.0.1"
	run get web.example.com /cgi-bin/env -H 'X-Forwarded-For: 203.0.113.9'
	assert_output "xff=203.0.113.9, 127.0.0.1"
}

@test "router: a health-checked PUT swaps to the new backend without failed requests" {
	local port bad=0
	port=$(cat "$RT/router.port")
	# Requests run all through the swap; each must be answered by one or two.
	(
		for _ in $(seq 1 150); do
			curl -s -m 5 -H 'Host: web.example.com' "http://127.0.0.1:$port/"
		done >"$RT/during.txt" 2>&1
	) 3>&- &
	local loader=$!
	run ctl -w '%{http_code}' -X PUT http://x/apps/web -d "{\"domains\": [\"web.example.com\"],
		\"targets\": [\"127.0.0.1:$P2\"], \"health\": {\"path\": \"/\", \"interval_ms\": 100,
		\"timeout_ms\": 1000, \"deadline_ms\": 5000}, \"drain_timeout_ms\": 5000}"
	assert_line --index 0 "{\"app\":\"web\",\"domains\":[\"web.example.com\"],\"targets\":[\"127.0.0.1:$P2\"]}"
	assert_line --index 1 200
	run get web.example.com /
	assert_output "backend two"
	for _ in $(seq 1 200); do
		kill -0 "$loader" 2>/dev/null || break
		sleep 0.1
	done
	bad=$(grep -cvE '^backend (one|two)$' "$RT/during.txt" || true)
	[ "$(wc -l <"$RT/during.txt")" -eq 150 ]
	[ "$bad" -eq 0 ]
}

@test "router: a failing health check answers 409 and keeps the old target" {
	run ctl -w '%{http_code}' -X PUT http://x/apps/web -d "{\"domains\": [\"web.example.com\"],
		\"targets\": [\"127.0.0.1:$PDEAD\"], \"health\": {\"path\": \"/\", \"interval_ms\": 100,
		\"timeout_ms\": 500, \"deadline_ms\": 1000}}"
	assert_line --index 0 "{\"error\":\"health check failed for 127.0.0.1:$PDEAD: connection refused\"}"
	assert_line --index 1 409
	run get web.example.com /
	assert_output "backend two"
	run ctl http://x/apps/web
	assert_output --partial "127.0.0.1:$P2"
}

@test "router: 502 when the only target is down" {
	run ctl -w ' %{http_code}' -X PUT http://x/apps/down \
		-d "{\"domains\": [\"down.example.com\"], \"targets\": [\"127.0.0.1:$PDEAD\"]}"
	assert_output --regexp ' 200$'
	run get down.example.com / -o /dev/null -w '%{http_code}'
	assert_output 502
}

@test "router: /metrics counts requests per app and status class" {
	run ctl http://x/metrics
	assert_output --regexp 'wharf_router_requests_total\{app="web",code="2xx"\} [1-9]'
	assert_output --regexp 'wharf_router_requests_total\{app="down",code="5xx"\} [1-9]'
	assert_output --partial 'wharf_router_client_connections'
}

@test "router: SIGTERM stops it cleanly and a restart restores the table" {
	router_stop router
	run cat "$RT/router.rc"
	assert_output 0
	[ ! -e "$RT/router.sock" ]
	router_start router
	run cat "$RT/router.log"
	assert_output --partial "2 apps restored"
	run get web.example.com /
	assert_output "backend two"
}

@test "router: DELETE removes an app" {
	run ctl -w ' %{http_code}' -X DELETE http://x/apps/web
	assert_output --regexp ' 200$'
	run get web.example.com / -o /dev/null -w '%{http_code}'
	assert_output 404
	run ctl -o /dev/null -w '%{http_code}' -X DELETE http://x/apps/web
	assert_output 404
	run ctl http://x/apps
	refute_output --partial '"web"'
}
