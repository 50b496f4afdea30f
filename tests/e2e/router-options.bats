#!/usr/bin/env bats
# router-options.bats - per-app router options and the fixes around them, end to end
# against a python backend on loopback: router:set/report (max-body-size -> 413,
# redirect-https -> 301/308 once the app has a certificate), certs:generate, options kept
# across a deploy's PUT and a restart; HTTP/1.0 clients get no chunked encoding and no 1xx;
# a body sent while the upstream connect is slow is held, not reset; a domain taken while a
# PUT checks is a 409 at the swap; a PUT applied before a stop is answered 200.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

# The backend (lib/backend.py --continue --trailer): one thread per connection, keep-alive.
# GET /p/<x> -> "<x>\n"; POST /echo -> "<bytes> <md5>\n" of the body (100 Continue first
# when asked, whatever the request's version); GET /chunked?n=N -> N bytes of 'x', chunked,
# whatever the request's version; GET /slow -> "slow\n" after 3 s. With --slow-accept READY
# it fills its accept queue (listen backlog 0) with dummy connections, touches READY, and
# only starts accepting 1.5 s later: connects to it hang meanwhile.

# start_backend PORT [args]: starts it and waits until it answers (or, slow, is ready).
start_backend() {
	local port=$1
	shift
	if [ "${1:-}" = --slow-accept ]; then
		backend --continue --trailer --accept-after 1.5 --ready "$2" "$port" >>"$RT/backend.log" 2>&1
		echo $! >>"$RT/backend.pids"
		return 0
	fi
	backend --continue --trailer "$port" >>"$RT/backend.log" 2>&1
	echo $! >>"$RT/backend.pids"
	http_wait "$port" /p/x
}

ctl() {
	curl -s -m 30 --unix-socket "$WHARF_ROUTER_SOCKET" "$@"
}

url() {
	echo "http://127.0.0.1:$(cat "$RT/router.port")$1"
}

put_app() {     # put_app APP DOMAIN PORT
	ctl -X PUT "http://x/apps/$1" -d "{\"domains\": [\"$2\"], \"targets\": [\"127.0.0.1:$3\"]}"
}

# raw10 REQUEST: sends REQUEST (printf escapes) on one connection, prints what comes back
# until the router closes it, as "<status line>|te=<yes|no>|100=<yes|no>|<body bytes>|<body>".
raw10() {
	python3 - "$(cat "$RT/router.port")" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
interim = data.startswith(b"HTTP/1.1 100")
if interim:
    data = data.split(b"\r\n\r\n", 1)[1]
head, body = data.split(b"\r\n\r\n", 1)
te = b"transfer-encoding" in head.lower()
short = body if len(body) <= 64 else body[:8] + b"..."
print("%s|te=%s|100=%s|%d|%s" % (head.split(b"\r\n")[0].decode(), "yes" if te else "no",
      "yes" if interim else "no", len(body), short.decode().strip()))
EOF
}

setup_file() {
	export RT PB WHARF_ROOT WHARF_ROUTER_SOCKET
	RT=$(mktemp -d /tmp/wharf-router-options.XXXXXX)
	WHARF_ROOT=$RT/root
	WHARF_ROUTER_SOCKET=$RT/router.sock
	mkdir -p "$WHARF_ROOT"
	PB=$(free_port)
	start_backend "$PB"
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	# router:set and certs:* need an app wharf knows (apps:create needs no Docker).
	"$WHARF_BIN" apps:create opt >/dev/null
	"$WHARF_BIN" apps:create nodomains >/dev/null
	put_app opt opt.example.com "$PB" >/dev/null
}

teardown_file() {
	router_stop router || true
	local pid
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$RT/backend.pids"
	rm -rf "$RT"
}

@test "router-options: router:set and router:report; options survive a deploy's PUT and a restart" {
	run "$WHARF_BIN" router:report opt --router-max-body-size
	assert_success
	assert_output 1073741824
	run "$WHARF_BIN" router:set opt max-body-size 10m
	assert_success
	assert_output "-----> Setting max-body-size to 10m for opt"
	run "$WHARF_BIN" router:set opt redirect-https on
	assert_success
	put_app opt opt.example.com "$PB" >/dev/null        # what a deploy sends
	router_stop router
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	run "$WHARF_BIN" router:report opt
	assert_success
	assert_output "=====> opt router information
       Router domains:                opt.example.com
       Router targets:                127.0.0.1:$PB
       Router max body size:          10485760
       Router redirect https:         true
       Router paused:                 false
       Router maintenance:            false"
	run "$WHARF_BIN" router:report opt --format json
	assert_output --partial '"router-max-body-size":"10485760"'
	run "$WHARF_BIN" router:set opt max-body-size
	assert_output "-----> Unsetting max-body-size for opt"
	run "$WHARF_BIN" router:set opt redirect-https
	run ctl http://x/apps/opt/options
	assert_output '{"app":"opt","options":{"max_body_bytes":1073741824,"redirect_https":false}}'
	run bash -c 'python3 "$1" table "$2" | grep -c max_body_bytes' _ \
		"${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router_table.py" "$WHARF_ROOT/router/table.json"
	assert_output 0
}

@test "router-options: router:set refuses bad input; the control API too" {
	run "$WHARF_BIN" router:set opt max-body-size 10x
	assert_failure
	assert_output --partial " !     invalid size '10x'"
	run "$WHARF_BIN" router:set opt redirect-https maybe
	assert_failure
	assert_output --partial " !     invalid value 'maybe': give on or off"
	run "$WHARF_BIN" router:set opt colour blue
	assert_failure
	assert_output --partial "unknown router property 'colour'"
	run "$WHARF_BIN" router:set Bad max-body-size 1
	assert_failure
	run ctl -X PUT http://x/apps/opt/options -d '{"max_body_bytes": "1m"}'
	assert_output --partial '"error":"'"'"'max_body_bytes'"'"' must be an integer'
	run ctl -X PUT http://x/apps/opt/options -d '{"colour": 1}'
	assert_output '{"error":"unknown key '"'"'colour'"'"'"}'
	run ctl -X POST http://x/apps/opt/options -d '{}'
	assert_output '{"error":"use GET or PUT"}'
}

@test "router-options: options set before the first deploy are kept by it" {
	run ctl -X PUT http://x/apps/early/options -d '{"max_body_bytes": 4}'
	assert_output '{"app":"early","options":{"max_body_bytes":4,"redirect_https":false}}'
	put_app early early.example.com "$PB" >/dev/null
	run curl -s -m 10 -H 'Host: early.example.com' --data-binary 12345 "$(url /echo)"
	assert_output "the request body is larger than the app accepts"
	run curl -s -m 10 -H 'Host: early.example.com' --data-binary 1234 "$(url /echo)"
	assert_output "4 $(printf 1234 | md5sum | cut -d' ' -f1)"
	ctl -X DELETE http://x/apps/early >/dev/null
}

@test "router-options: options and certificate live in app.json and come back with wharf's next route PUT" {
	"$WHARF_BIN" apps:create keep >/dev/null
	run "$WHARF_BIN" router:set keep max-body-size 4
	assert_success
	run "$WHARF_BIN" router:set keep redirect-https on
	assert_success
	run jq -c .router "$WHARF_ROOT/apps/keep/app.json"
	assert_output '{"max_body_bytes":4,"redirect_https":true}'
	run "$WHARF_BIN" certs:generate keep keep2.example.com
	assert_success
	[ "$(stat -c %a "$WHARF_ROOT/apps/keep/cert.json")" = 600 ]
	# The router loses the route and the certificate (as a new router would); the report
	# shows app.json's options meanwhile.
	ctl -X DELETE http://x/apps/keep >/dev/null
	ctl -X DELETE http://x/apps/keep/cert >/dev/null
	run "$WHARF_BIN" router:report keep
	assert_success
	assert_output "=====> keep router information
       Router domains:                
       Router targets:                
       Router max body size:          4
       Router redirect https:         true
       Router paused:                 false
       Router maintenance:            false"
	# A bare PUT (not wharf's) gives the route only: defaults.
	put_app keep keep.example.com "$PB" >/dev/null
	run curl -s -m 10 -H 'Host: keep.example.com' --data-binary 12345 "$(url /echo)"
	assert_output "5 $(printf 12345 | md5sum | cut -d' ' -f1)"
	# wharf's route PUT (a domains change keeps the router's targets) brings both back.
	run "$WHARF_BIN" domains:set keep keep2.example.com
	assert_success
	run ctl http://x/apps/keep
	assert_output --partial '"max_body_bytes":4,'
	assert_output --partial '"redirect_https":true'
	run curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: keep2.example.com' "$(url /p/x)"
	assert_output 301
	local sport
	sport=$(cat "$RT/router.sport")
	jq -j .cert "$WHARF_ROOT/apps/keep/cert.json" >"$RT/keep.crt"
	run curl -s -m 10 --resolve "keep2.example.com:$sport:127.0.0.1" --cacert "$RT/keep.crt" \
		--data-binary 12345 "https://keep2.example.com:$sport/echo"
	assert_output "the request body is larger than the app accepts"
	run curl -s -m 10 --resolve "keep2.example.com:$sport:127.0.0.1" --cacert "$RT/keep.crt" \
		"https://keep2.example.com:$sport/p/tls"
	assert_output "tls"
	# Unset in app.json is the default in the router, whatever the router was told meanwhile.
	"$WHARF_BIN" router:set keep max-body-size >/dev/null
	"$WHARF_BIN" router:set keep redirect-https >/dev/null
	ctl -X PUT http://x/apps/keep/options -d '{"max_body_bytes": 4, "redirect_https": true}' >/dev/null
	run "$WHARF_BIN" domains:set keep keep2.example.com keep3.example.com
	assert_success
	run ctl http://x/apps/keep/options
	assert_output '{"app":"keep","options":{"max_body_bytes":1073741824,"redirect_https":false}}'
	run bash -c 'python3 "$1" table "$2" | grep -c max_body_bytes' _ \
		"${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router_table.py" "$WHARF_ROOT/router/table.json"
	assert_output 0
	ctl -X DELETE http://x/apps/keep >/dev/null
}

@test "router-options: router:*, certs:* refuse an app wharf does not know and change nothing" {
	local cmd
	for cmd in "router:set ghost max-body-size 1k" "router:set ghost redirect-https on" \
		"router:set ghost max-body-size" "router:report ghost" \
		"certs:generate ghost ghost.example.com" "certs:remove ghost" "certs:report ghost" \
		"certs:add ghost $BACKEND_PY $BACKEND_PY"; do
		# shellcheck disable=SC2086 # cmd is words
		run "$WHARF_BIN" $cmd
		assert_failure 1
		assert_output " !     app 'ghost' does not exist"
	done
	run ctl http://x/apps/ghost
	assert_output '{"error":"no such app"}'
	run ctl http://x/apps/ghost/cert
	assert_output '{"error":"no certificate for this app"}'
	[ ! -e "$WHARF_ROOT/apps/ghost" ]
	[ ! -e "$WHARF_ROOT/router/certs/ghost.crt" ]
}

@test "router-options: max-body-size answers 413 by Content-Length, and when a chunked body grows past it" {
	"$WHARF_BIN" router:set opt max-body-size 1k >/dev/null
	run curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: opt.example.com' \
		--data-binary "$(head -c 1024 /dev/zero | tr '\0' a)" "$(url /echo)"
	assert_output 200
	head -c 3000000 /dev/urandom >"$RT/big.bin"
	# No Expect: the whole body is on its way when the 413 goes out; the router reads
	# and drops it for a moment so the client sees the answer, not a reset.
	run curl -s -m 10 -w ' %{http_code}' -H 'Host: opt.example.com' -H 'Expect:' \
		--data-binary @"$RT/big.bin" "$(url /echo)"
	assert_output "the request body is larger than the app accepts
 413"
	run curl -s -m 10 -w ' %{http_code}' -H 'Host: opt.example.com' \
		-H 'Transfer-Encoding: chunked' --data-binary @"$RT/big.bin" "$(url /echo)"
	assert_output --partial " 413"
	run curl -s -m 10 -H 'Host: opt.example.com' "$(url /p/still-serving)"
	assert_output "still-serving"
	"$WHARF_BIN" router:set opt max-body-size 0 >/dev/null
	run curl -s -m 10 -H 'Host: opt.example.com' --data-binary @"$RT/big.bin" "$(url /echo)"
	assert_output "3000000 $(md5sum <"$RT/big.bin" | cut -d' ' -f1)"
	"$WHARF_BIN" router:set opt max-body-size >/dev/null
}

@test "router-options: certs:generate makes a self-signed certificate for the app's domains" {
	run "$WHARF_BIN" certs:generate opt
	assert_success
	assert_line --index 0 "-----> Generating a self-signed certificate for opt"
	assert_output --partial "Ssl hostnames:               opt.example.com"
	assert_output --partial "Ssl subject:                 /CN=opt.example.com"
	local sport
	sport=$(cat "$RT/router.sport")
	run curl -s -m 10 --resolve "opt.example.com:$sport:127.0.0.1" \
		--cacert "$WHARF_ROOT/router/certs/opt.crt" "https://opt.example.com:$sport/p/tls"
	assert_output "tls"
	run "$WHARF_BIN" certs:generate opt a.example.org '*.b.example.org'
	assert_success
	assert_output --partial "Ssl hostnames:               a.example.org *.b.example.org"
	run "$WHARF_BIN" certs:generate opt 'bad domain'
	assert_failure
	run "$WHARF_BIN" certs:generate nodomains
	assert_failure
	assert_output " !     the router serves nodomains on no domain: give them, as in \`certs:generate nodomains nodomains.example.com\`"
	run "$WHARF_BIN" certs:generate opt
	assert_success
}

@test "router-options: redirect-https sends 301 (GET) and 308 (POST) once the app has a certificate" {
	"$WHARF_BIN" certs:remove opt >/dev/null 2>&1 || true
	"$WHARF_BIN" router:set opt redirect-https on >/dev/null
	run curl -s -m 10 -H 'Host: opt.example.com' "$(url /p/plain)"
	assert_output "plain"                    # no certificate: nothing to redirect to
	"$WHARF_BIN" certs:generate opt >/dev/null
	local sport
	sport=$(cat "$RT/router.sport")
	run curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
		-H 'Host: OPT.example.com:80' "$(url '/p/x?y=1')"
	assert_output "301 https://opt.example.com:$sport/p/x?y=1"
	run curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
		-H 'Host: opt.example.com' --data-binary abc "$(url /echo)"
	assert_output "308 https://opt.example.com:$sport/echo"
	run curl -s -m 10 -L --resolve "opt.example.com:$sport:127.0.0.1" \
		--cacert "$WHARF_ROOT/router/certs/opt.crt" -H 'Host: opt.example.com' "$(url /p/followed)"
	assert_output "followed"
	"$WHARF_BIN" router:set opt redirect-https off >/dev/null
	run curl -s -m 10 -H 'Host: opt.example.com' "$(url /p/plain)"
	assert_output "plain"
}

@test "router-options: an HTTP/1.0 client gets a chunked response decoded and close-delimited" {
	run raw10 'GET /chunked?n=300000 HTTP/1.0\r\nHost: opt.example.com\r\n\r\n'
	assert_output "HTTP/1.1 200 OK|te=no|100=no|300000|xxxxxxxx..."
	run raw10 'GET /chunked?n=5 HTTP/1.1\r\nHost: opt.example.com\r\nConnection: close\r\n\r\n'
	assert_output --partial "|te=yes|100=no|"
}

@test "router-options: an HTTP/1.0 client never sees a 100 Continue" {
	run raw10 'POST /echo HTTP/1.0\r\nHost: opt.example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello'
	assert_output "HTTP/1.1 200 OK|te=no|100=no|35|5 $(printf hello | md5sum | cut -d' ' -f1)"
	run raw10 'POST /echo HTTP/1.1\r\nHost: opt.example.com\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'
	assert_output --partial "|100=yes|"
}

@test "router-options: a body sent while the upstream connect hangs is held, not reset" {
	local ps
	ps=$(free_port)
	start_backend "$ps" --slow-accept "$RT/slow.ready"
	for _ in $(seq 1 50); do
		[ -f "$RT/slow.ready" ] && break
		sleep 0.1
	done
	put_app slowc slowc.example.com "$ps" >/dev/null
	head -c 1000000 /dev/urandom >"$RT/one.bin"
	run curl -s -m 20 -H 'Host: slowc.example.com' -H 'Expect:' \
		--data-binary @"$RT/one.bin" "$(url /echo)"
	assert_output "1000000 $(md5sum <"$RT/one.bin" | cut -d' ' -f1)"
	ctl -X DELETE http://x/apps/slowc >/dev/null
}

@test "router-options: a domain taken while a PUT checks its targets is a 409 at the swap" {
	local px out
	px=$(free_port)
	out=$RT/race1.out
	ctl -o "$out" -w '%{http_code}' -X PUT http://x/apps/race1 -d "{\"domains\": [\"race.example.com\"],
		\"targets\": [\"127.0.0.1:$px\"], \"health\": {\"interval_ms\": 100, \"timeout_ms\": 500,
		\"deadline_ms\": 20000}}" >"$RT/race1.code" 3>&- &
	local pid=$!
	sleep 0.3
	run put_app race2 race.example.com "$PB"
	assert_output --partial '"app":"race2"'
	start_backend "$px"
	wait "$pid"
	assert_equal "$(cat "$RT/race1.code")" 409
	assert_equal "$(cat "$out")" '{"error":"domain '"'"'race.example.com'"'"' is already served by app '"'"'race2'"'"'"}'
	run ctl -o /dev/null -w '%{http_code}' http://x/apps/race1
	assert_output 404
	run curl -s -m 10 -H 'Host: race.example.com' "$(url /p/race2)"
	assert_output "race2"
	ctl -X DELETE http://x/apps/race2 >/dev/null
}

@test "router-options: a PUT already swapped when the router stops is answered 200, not 503" {
	local p2
	p2=$(free_port)
	start_backend "$p2"
	put_app drain drain.example.com "$PB" >/dev/null
	curl -s -m 20 -H 'Host: drain.example.com' "$(url /slow)" >"$RT/slow.out" 3>&- &
	local slow=$!
	sleep 0.5
	ctl -o "$RT/drain.out" -w '%{http_code}' -X PUT http://x/apps/drain \
		-d "{\"domains\": [\"drain.example.com\"], \"targets\": [\"127.0.0.1:$p2\"]}" \
		>"$RT/drain.code" 3>&- &
	local put=$!
	for _ in $(seq 1 50); do
		grep -q "127.0.0.1:$p2" "$WHARF_ROOT/router/table.json"{,.journal} 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
	kill -TERM "$(cat "$RT/router.pid")"
	wait "$put"
	wait "$slow"
	assert_equal "$(cat "$RT/drain.code")" 200
	assert_equal "$(cat "$RT/drain.out")" "{\"app\":\"drain\",\"domains\":[\"drain.example.com\"],\"drained\":false,\"targets\":[\"127.0.0.1:$p2\"]}"
	assert_equal "$(cat "$RT/slow.out")" "slow"
	router_stop router
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	run curl -s -m 10 -H 'Host: drain.example.com' "$(url /p/new)"
	assert_output "new"
}

@test "router-options: bin/wharf-router serves like \`wharf router\` without libgit2, libcurl or libarchive" {
	local bin port rss
	bin=$(dirname "$WHARF_BIN")/wharf-router
	[ -x "$bin" ] || skip "no $bin beside WHARF_BIN"
	run ldd "$bin"
	assert_success
	refute_output --partial libcurl
	refute_output --partial libgit2
	refute_output --partial libarchive
	mkdir -p "$RT/r2"
	ROUTER_BIN=$bin ROUTER_ROOT=$RT/r2 ROUTER_SOCKET=$RT/r2.sock router_start r2
	port=$(router_port r2)
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$(cat "$RT/r2.pid")/status")
	curl -s -m 10 --unix-socket "$RT/r2.sock" -X PUT http://x/apps/r2 \
		-d "{\"domains\": [\"r2.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	run curl -s -m 10 -H 'Host: r2.example.com' "http://127.0.0.1:$port/p/small"
	router_stop r2
	assert_output "small"
	assert_equal "$(cat "$RT/r2.rc")" 0
	# The issue's budget for an idle router; `wharf router` took 11 MiB. A sanitizer build
	# (the asan stage runs this file against one) carries its shadow memory: not measured.
	ldd "$bin" | grep -q libasan || [ "$rss" -le 8192 ]
}

@test "router-options: under systemd (NOTIFY_SOCKET) a router says READY=1, and a takeover hands MAINPID to the successor" {
	local b port
	python3 - "$RT/notify.sock" "$RT/notify.log" </dev/null >/dev/null 2>&1 3>&- <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    m = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write(m.replace("\n", " ").strip() + "\n")
PYEOF
	local npid=$!
	for _ in $(seq 1 50); do
		[ -S "$RT/notify.sock" ] && break
		sleep 0.1
	done
	mkdir -p "$RT/r3"
	NOTIFY_SOCKET=$RT/notify.sock ROUTER_ROOT=$RT/r3 ROUTER_SOCKET=$RT/r3.sock router_start r3a
	for _ in $(seq 1 100); do
		grep -q 'READY=1' "$RT/notify.log" 2>/dev/null && break
		sleep 0.1
	done
	run cat "$RT/notify.log"
	assert_output "READY=1"
	NOTIFY_SOCKET=$RT/notify.sock ROUTER_ROOT=$RT/r3 ROUTER_SOCKET=$RT/r3.sock \
		router_start r3b --takeover
	b=$(cat "$RT/r3b.pid")
	for _ in $(seq 1 100); do
		[ "$(grep -c 'READY=1' "$RT/notify.log")" -ge 2 ] && break
		sleep 0.1
	done
	router_wait_exit r3a
	port=$(router_port r3a)
	run curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/"
	router_stop r3b || true
	kill "$npid" 2>/dev/null || true
	assert_output 404                               # served by the successor
	run cat "$RT/notify.log"
	assert_output "READY=1
MAINPID=$b
READY=1"
}
