#!/usr/bin/env bats
# router-takeover.bats - upgrading the router itself without failing a request: a second
# `wharf router --takeover` receives the listening socket from the running one (which then
# stops gracefully), while wrk keeps 8 keep-alive connections busy; wrk must see no error.
# (8, not more: the busybox backend listens with a backlog of 9, and an overflowing backlog
# turns into 1 s and 3 s SYN retransmits that wrk counts as timeouts on a loaded machine).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

setup_file() {
	export RT PB WHARF_ROOT WHARF_ROUTER_SOCKET
	RT=$(mktemp -d /tmp/wharf-router-tko.XXXXXX)
	WHARF_ROOT=$RT/root
	WHARF_ROUTER_SOCKET=$RT/router.sock
	mkdir -p "$WHARF_ROOT" "$RT/www"
	echo ok >"$RT/www/index.html"
	PB=$(free_port)
	busybox httpd -f -p "127.0.0.1:$PB" -h "$RT/www" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$RT/backend.pid"
	http_wait "$PB" || true
}

teardown_file() {
	local f
	for f in "$RT"/*.pid; do
		kill "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$RT"
}

@test "router-takeover: a new router takes the socket over under load without a failed request" {
	router_start old --listen 127.0.0.1:0
	local port
	port=$(router_port old)
	curl -s -m 10 --unix-socket "$WHARF_ROUTER_SOCKET" -X PUT http://x/apps/tko \
		-d "{\"domains\": [\"tko.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	wrk -t1 -c8 -d4s -H 'Host: tko.example.com' "http://127.0.0.1:$port/" >"$RT/wrk.txt" 2>&1 3>&- &
	local wrk_pid=$!
	sleep 1
	router_start new --takeover
	router_wait_exit old
	run cat "$RT/old.rc"
	assert_output 0
	wait "$wrk_pid"
	run cat "$RT/wrk.txt"
	assert_output --regexp '[1-9][0-9]* requests in'
	refute_output --partial 'Socket errors'
	refute_output --partial 'Non-2xx'
	run cat "$RT/new.log"
	assert_output --partial "listening on 127.0.0.1:$port, control socket $WHARF_ROUTER_SOCKET, 1 app restored"
	run curl -s -m 5 -H 'Host: tko.example.com' "http://127.0.0.1:$port/"
	assert_output ok
	run curl -s -m 5 --unix-socket "$WHARF_ROUTER_SOCKET" http://x/apps
	assert_output --partial '"app":"tko"'
	router_stop new
	run cat "$RT/new.rc"
	assert_output 0
}

@test "router-takeover: --takeover with no running router fails with a message" {
	rm -f "$RT/lone.rc"
	run env WHARF_ROUTER_SOCKET="$RT/none.sock" "$WHARF_BIN" router --takeover
	assert_failure
	assert_output --partial "takeover failed: no router to take over"
}
