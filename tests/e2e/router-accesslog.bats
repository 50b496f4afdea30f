#!/usr/bin/env bats
# router-accesslog.bats - `wharf router --access-log-dir`: one access log per app beside the
# single one, rotated past --access-log-max-size keeping --access-log-max-files; unrouted
# requests and odd names never become files.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

ctl() {
	curl -s -m 30 --unix-socket "$RT/router.sock" "$@"
}

get() {
	curl -s -m 10 --path-as-is -o /dev/null -w '%{http_code}\n' -H "Host: $1" "http://127.0.0.1:$(cat "$RT/router.port")$2"
}

setup() {
	RT=$(mktemp -d /tmp/wharf-router-alog.XXXXXX)
	BP=$(free_port)
	backend "$BP" >"$RT/backend.log" 2>&1
	echo $! >"$RT/backend.pid"
	http_wait "$BP"
	router_start router --listen 127.0.0.1:0 --access-log "$RT/all.log" \
		--access-log-dir "$RT/logs" --access-log-max-size 4k --access-log-max-files 2
}

teardown() {
	router_stop router || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

@test "router-accesslog: per-app files beside the single log, rotated at the max size" {
	local i
	for a in alog blog; do
		run ctl -X PUT "http://x/apps/$a" -d "{\"domains\": [\"$a.example.com\"], \"targets\": [\"127.0.0.1:$BP\"]}"
		assert_success
	done
	for i in $(seq 1 60); do get alog.example.com "/p/a$i" >/dev/null; done
	get blog.example.com /p/only-b
	get nobody.example.com /p/unrouted
	get alog.example.com "/p/app=../../x%20y"
	sleep 1.5 # the router flushes its access log every second

	# The current file is under the max; one rotated file; nothing beyond --access-log-max-files.
	[ -f "$RT/logs/alog.log" ] && [ -f "$RT/logs/alog.log.1" ] && [ ! -e "$RT/logs/alog.log.2" ]
	[ "$(stat -c %s "$RT/logs/alog.log")" -le 4096 ]
	[ "$(stat -c %s "$RT/logs/alog.log.1")" -le 4096 ]
	grep -q "path=\"/p/a60\"" "$RT/logs/alog.log" "$RT/logs/alog.log.1"
	grep -q 'path="/p/app=../../x%20y"' "$RT/logs/alog.log"
	run ! grep -q app=blog "$RT/logs/alog.log" "$RT/logs/alog.log.1"
	run cat "$RT/logs/blog.log"
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z app=blog status=200 method=GET proto=HTTP/1\.1 scheme=http path="/p/only-b"'
	# Unrouted requests stay in the single log; no file is named after a path.
	run ls "$RT/logs"
	assert_output "alog.log
alog.log.1
blog.log"
	[ "$(grep -c 'app=alog ' "$RT/all.log")" = 61 ]
	grep -q 'app=- status=' "$RT/all.log"
}
