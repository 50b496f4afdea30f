#!/usr/bin/env bats
# router-proto.bats - the router's HTTP/1.1 data plane end to end against a small python
# backend on an ephemeral loopback port: WebSocket-style Upgrade tunnelled both ways until
# a side closes, Expect: 100-continue, pipelined requests answered in order, chunked and
# large bodies in both directions.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

# The backend (lib/backend.py --continue): one thread per connection, keep-alive, a few paths:
#   GET /p/<x>        -> "<x>\n"
#   POST /echo        -> "<bytes> <md5>\n" of the body (Content-Length or chunked; answers
#                        100 Continue first when asked to)
#   GET /big?n=N      -> N bytes of 'x' (Content-Length), /chunked?n=N the same chunked
#   GET /headers      -> the request head as received
#   GET /ws + Upgrade -> 101, "welcome\n", then echoes raw bytes; on EOF or "quit\n" sends
#                        "bye\n" and closes

ctl() {
	curl -s -m 60 --unix-socket "$RT/router.sock" "$@"
}

url() {
	echo "http://127.0.0.1:$(cat "$RT/router.port")$1"
}

setup_file() {
	export RT PB
	RT=$(mktemp -d /tmp/wharf-router-proto.XXXXXX)
	PB=$(free_port)
	backend --continue "$PB" >"$RT/backend.log" 2>&1
	echo $! >"$RT/backend.pid"
	http_wait "$PB" /p/x || true
	router_start router --listen 127.0.0.1:0 --access-log "$RT/access.log"
	ctl -X PUT http://x/apps/proto \
		-d "{\"domains\": [\"proto.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
}

teardown_file() {
	router_stop router || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

@test "router-proto: an Upgrade is tunnelled both ways until the client closes" {
	run timeout 20 python3 - "$(cat "$RT/router.port")" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: proto.example.com\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
got = b""
while b"welcome\n" not in got:
    got += s.recv(4096)
head = got.split(b"\r\n\r\n")[0].decode()
print(head.splitlines()[0])
print("upgrade:", "Upgrade: websocket" in head, "connection:", "Connection: upgrade" in head)
for msg in (b"ping1\n", b"x" * 200000 + b"\n", b"ping3\n"):
    s.sendall(msg)
    echo = b""
    while len(echo) < len(msg):
        echo += s.recv(65536)
    print("echo ok" if echo == msg else "echo BAD %r" % echo[:40])
s.shutdown(socket.SHUT_WR)
rest = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    rest += d
print("after close:", rest.decode().strip())
EOF
	assert_success
	assert_line --index 0 "HTTP/1.1 101 Switching Protocols"
	assert_line --index 1 "upgrade: True connection: True"
	assert_line --index 2 "echo ok"
	assert_line --index 3 "echo ok"
	assert_line --index 4 "echo ok"
	assert_line --index 5 "after close: bye"
}

@test "router-proto: a tunnel ends when the app closes it; early bytes reach the app; /metrics counts the 101" {
	run timeout 20 python3 - "$(cat "$RT/router.port")" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
# Bytes sent right behind the head (before the 101) must reach the app too.
s.sendall(b"GET /ws HTTP/1.1\r\nHost: proto.example.com\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\n\r\nearly\n")
got = b""
while b"early\n" not in got:
    got += s.recv(4096)
print("early echoed")
s.sendall(b"quit\n")
rest = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    rest += d
print("app closed after:", rest.decode().strip())
EOF
	assert_success
	assert_line --index 0 "early echoed"
	assert_line --index 1 "app closed after: bye"
	run ctl http://x/metrics
	assert_output --regexp 'wharf_router_requests_total\{app="proto",code="1xx"\} [1-9]'
}

@test "router-proto: Upgrade to an app that answers 200 is a plain response" {
	run curl -s -m 5 -H 'Host: proto.example.com' -H 'Upgrade: foo' -H 'Connection: upgrade' \
		"$(url /p/plain)"
	assert_output "plain"
}

@test "router-proto: pipelined requests are answered in order on one connection" {
	run timeout 20 python3 - "$(cat "$RT/router.port")" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
h = b"Host: proto.example.com\r\n"
s.sendall(b"GET /p/one HTTP/1.1\r\n" + h + b"\r\n" +
          b"POST /echo HTTP/1.1\r\n" + h + b"Content-Length: 5\r\n\r\nhello" +
          b"GET /p/three HTTP/1.1\r\n" + h + b"\r\n" +
          b"GET /p/four HTTP/1.1\r\n" + h + b"Connection: close\r\n\r\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
for part in out.split(b"HTTP/1.1 ")[1:]:
    print(part.split(b"\r\n", 1)[0].decode(), part.split(b"\r\n\r\n", 1)[1].decode().strip())
EOF
	assert_success
	assert_line --index 0 "200 OK one"
	assert_line --index 1 "200 OK 5 5d41402abc4b2a76b9719d911017c592"
	assert_line --index 2 "200 OK three"
	assert_line --index 3 "200 OK four"
	[ "${#lines[@]}" -eq 4 ]
}

@test "router-proto: Expect: 100-continue passes the app's 100 on without a client stall" {
	head -c 300000 /dev/urandom >"$RT/up.bin"
	local want start end
	want="300000 $(md5sum <"$RT/up.bin" | cut -d' ' -f1)"
	start=$(date +%s%N)
	run curl -sv -m 10 -H 'Host: proto.example.com' -H 'Expect: 100-continue' \
		--expect100-timeout 5 --data-binary @"$RT/up.bin" "$(url /echo)"
	end=$(date +%s%N)
	assert_success
	assert_output --partial "HTTP/1.1 100 Continue"
	assert_output --partial "$want"
	# curl waits --expect100-timeout (5 s) when no 100 comes.
	[ $(((end - start) / 1000000)) -lt 4000 ]
}

@test "router-proto: chunked and large bodies pass both ways intact" {
	head -c 5000000 /dev/urandom >"$RT/up5m.bin"
	run curl -s -m 30 -H 'Host: proto.example.com' -H 'Transfer-Encoding: chunked' \
		--data-binary @"$RT/up5m.bin" "$(url /echo)"
	assert_output "5000000 $(md5sum <"$RT/up5m.bin" | cut -d' ' -f1)"
	run bash -c "curl -s -m 60 -H 'Host: proto.example.com' '$(url /big?n=200000000)' | wc -c"
	assert_output 200000000
	run bash -c "curl -s -m 30 -H 'Host: proto.example.com' '$(url /chunked?n=3000000)' | wc -c"
	assert_output 3000000
}

@test "router-proto: pause holds new requests until resume, which releases them" {
	run ctl -X POST http://x/apps/proto/pause
	assert_output '{"app":"proto","max_ms":30000,"paused":true}'
	curl -s -m 20 -H 'Host: proto.example.com' "$(url /p/held)" >"$RT/held.out" 2>&1 3>&- &
	local pid=$!
	sleep 0.7
	kill -0 "$pid"          # still waiting
	run ctl http://x/apps/proto
	assert_output --partial '"paused":true'
	run ctl -X POST http://x/apps/proto/resume
	assert_output '{"app":"proto","paused":false,"released":1}'
	wait "$pid"
	run cat "$RT/held.out"
	assert_output "held"
	run curl -s -m 5 -H 'Host: proto.example.com' "$(url /p/after)"
	assert_output "after"
}

@test "router-proto: a held request gets 503 after max_ms" {
	run ctl -X POST http://x/apps/proto/pause -d '{"max_ms": 300}'
	assert_output '{"app":"proto","max_ms":300,"paused":true}'
	run curl -s -m 5 -w '%{http_code}' -H 'Host: proto.example.com' "$(url /p/x)"
	assert_output "$(printf '%s\n503' "the app is paused; try again later")"
	run ctl -w '%{http_code}' -X POST http://x/apps/proto/pause -d '{"max_ms": -1}'
	assert_output --regexp '"error":"max_ms must be.*400$'
	run ctl -X POST http://x/apps/proto/resume
	assert_output '{"app":"proto","paused":false,"released":0}'
	run ctl -w '%{http_code}' -X POST http://x/apps/nope/pause
	assert_line --index 0 '{"error":"no such app"}'
	assert_line --index 1 404
	run ctl -w '%{http_code}' http://x/apps/proto/pause
	assert_line --index 0 '{"error":"use POST"}'
	assert_line --index 1 405
}

@test "router-proto: maintenance answers 503 with a page until turned off" {
	run ctl -X POST http://x/apps/proto/maintenance
	assert_output '{"app":"proto","maintenance":true}'
	run curl -s -m 5 -w '%{http_code}' -H 'Host: proto.example.com' "$(url /p/x)"
	assert_output "$(printf '%s\n503' "proto is down for maintenance")"
	run ctl -X POST http://x/apps/proto/maintenance -d '{"message": "back at 5 pm"}'
	run curl -s -m 5 -w '%{http_code}' -H 'Host: proto.example.com' "$(url /p/x)"
	assert_output "$(printf '%s\n503' "back at 5 pm")"
	run ctl http://x/apps/proto
	assert_output --partial '"maintenance":true'
	run ctl -X DELETE http://x/apps/proto/maintenance
	assert_output '{"app":"proto","maintenance":false}'
	run curl -s -m 5 -H 'Host: proto.example.com' "$(url /p/up)"
	assert_output "up"
	run ctl -X POST http://x/apps/proto/maintenance -d '{"enabled": true}'
	run ctl -X POST http://x/apps/proto/maintenance -d '{"enabled": false}'
	assert_output '{"app":"proto","maintenance":false}'
	run curl -s -m 5 -H 'Host: proto.example.com' "$(url /p/up2)"
	assert_output "up2"
	run ctl -w '%{http_code}' -X POST http://x/apps/proto/maintenance -d '{"enabled": 1}'
	assert_line --index 0 '{"error":"enabled must be true or false"}'
	assert_line --index 1 400
	run ctl -w '%{http_code}' -X POST http://x/apps/proto/maintenance -d '{"x": 1}'
	assert_line --index 0 "{\"error\":\"unknown key 'x'\"}"
	assert_line --index 1 400
}

@test "router-proto: X-Request-Id (generated or kept), X-Request-Start and X-Forwarded-Port reach the app" {
	local port
	port=$(cat "$RT/router.port")
	run curl -s -m 5 -H 'Host: proto.example.com' -H 'X-Forwarded-Port: 1' "$(url /headers)"
	assert_output --regexp $'\nX-Request-Id: [0-9a-f]{32}\n'
	assert_output --regexp $'\nX-Request-Start: t=[0-9]{13}'
	assert_output --partial $'\nX-Forwarded-Port: '"$port"$'\n'
	refute_output --partial 'X-Forwarded-Port: 1'$'\n'
	run curl -s -m 5 -H 'Host: proto.example.com' -H 'X-Request-Id: my-id.42' "$(url /headers)"
	assert_output --partial $'\nX-Request-Id: my-id.42\n'
	[ "$(grep -c X-Request-Id <<<"$output")" -eq 1 ]
	run curl -s -m 5 -H 'Host: proto.example.com' -H 'X-Request-Id: bad id"' "$(url /headers)"
	refute_output --partial 'bad id'
	assert_output --regexp $'\nX-Request-Id: [0-9a-f]{32}\n'
}

@test "router-proto: --access-log writes one line per request" {
	curl -s -m 5 -o /dev/null -H 'Host: proto.example.com' -H 'X-Request-Id: log-me-1' \
		"$(url '/p/logged?a=1')"
	curl -s -m 5 -o /dev/null -H 'Host: nobody.example.com' "$(url /x)"
	sleep 1.5               # the log is flushed every second
	run grep 'request_id=log-me-1' "$RT/access.log"
	assert_output --regexp '^20[0-9-]{8}T[0-9:.]{12}Z app=proto status=200 method=GET proto=HTTP/1\.1 scheme=http path="/p/logged\?a=1" bytes=[0-9]+ duration_ms=[0-9.]+ upstream_ms=[0-9.]+ target=127\.0\.0\.1:[0-9]+ client=127\.0\.0\.1 request_id=log-me-1$'
	run grep 'app=- status=404' "$RT/access.log"
	assert_success
}

@test "router-proto: /metrics has a request duration histogram per app" {
	run ctl http://x/metrics
	assert_output --partial '# TYPE wharf_router_request_duration_seconds histogram'
	assert_output --regexp 'wharf_router_request_duration_seconds_bucket\{app="proto",le="0.005"\} [0-9]+'
	assert_output --regexp 'wharf_router_request_duration_seconds_bucket\{app="proto",le="\+Inf"\} [1-9][0-9]*'
	assert_output --regexp 'wharf_router_request_duration_seconds_count\{app="proto"\} [1-9][0-9]*'
	assert_output --regexp 'wharf_router_request_duration_seconds_sum\{app="proto"\} [0-9.]+'
}

@test "router-proto: an unknown host after a served request on the same connection gets a 404 page" {
	run timeout 20 python3 - "$(cat "$RT/router.port")" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /p/first HTTP/1.1\r\nHost: proto.example.com\r\n\r\n")
got = b""
while not got.endswith(b"first\n"):
    got += s.recv(4096)
s.sendall(b"GET / HTTP/1.1\r\nHost: nobody.example.com\r\n\r\n")
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
print(out.split(b"\r\n")[0].decode())
PYEOF
	assert_output "HTTP/1.1 404 Not Found"
}
