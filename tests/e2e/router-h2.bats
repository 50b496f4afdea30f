#!/usr/bin/env bats
# router-h2.bats - HTTP/2 over TLS end to end: a router with --listen-https and a certificate
# per app, curl --http2, nghttp and h2load (nghttp2-client) as clients, lib/backend.py behind.
# ALPN and the HTTP/1.1 fallback, many streams on one connection, the body limit, a route
# swap under h2 load, the attacks HTTP/2 allows (lib/h2raw.py sends the frames by hand), and
# TLS session resumption across a takeover.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"
H2RAW="${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/h2raw.py"

ctl() {
	curl -s -m 30 --unix-socket "$WHARF_ROUTER_SOCKET" "$@"
}

# h2 PATH [curl args]: https://one.example.com PATH over HTTP/2 (prior knowledge not needed:
# ALPN), trusting one's certificate.
h2() {
	local path=$1 sport
	shift
	sport=$(router_sport router)
	curl -s -m 20 --http2 --resolve "one.example.com:$sport:127.0.0.1" --cacert "$RT/one.crt" \
		"$@" "https://one.example.com:$sport$path"
}

# raw SCENARIO [ARG]: lib/h2raw.py against the router; prints what the router did.
raw() {
	timeout 60 python3 "$H2RAW" "$(router_sport router)" one.example.com "$RT/one.crt" "$@"
}

# nghttp_one ARGS...: nghttp with one.example.com resolving to 127.0.0.1 (nghttp has no
# --resolve): a private mount namespace whose /etc/hosts says so; the machine's is untouched.
nghttp_one() {
	unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec nghttp "$@"' nghttp \
		"$RT/hosts" "$@"
}

# put APP PORT...: routes APP (domain APP.example.com) to the backends on PORTs.
put() {
	local app=$1 targets="" p
	shift
	for p in "$@"; do
		targets+="${targets:+, }\"127.0.0.1:$p\""
	done
	ctl -X PUT "http://x/apps/$app" -d "{\"domains\": [\"$app.example.com\"],
		\"targets\": [$targets], \"health\": {\"path\": \"/h/ok\", \"interval_ms\": 50,
		\"timeout_ms\": 2000, \"deadline_ms\": 10000}}"
}

setup_file() {
	export RT WHARF_ROOT WHARF_ROUTER_SOCKET PA PB
	RT=$(mktemp -d /tmp/wharf-router-h2.XXXXXX)
	WHARF_ROOT=$RT/root
	WHARF_ROUTER_SOCKET=$RT/router.sock
	mkdir -p "$WHARF_ROOT"
	echo "127.0.0.1 one.example.com" >"$RT/hosts"
	read -r PA PB <<<"$(free_ports 2)"
	backend --say-name "A:$PA" "B:$PB" >"$RT/backend.log" 2>&1
	echo $! >"$RT/backend.pid"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$RT/one.key" \
		-out "$RT/one.crt" -subj "/CN=one.example.com" \
		-addext "subjectAltName=DNS:one.example.com" 2>/dev/null
	http_wait "$PA" || true
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0 --access-log "$RT/access.log"
	put one "$PA" >/dev/null
	jq -n --rawfile c "$RT/one.crt" --rawfile k "$RT/one.key" '{cert: $c, key: $k}' |
		ctl -X PUT http://x/apps/one/cert -d @- >/dev/null
}

teardown_file() {
	router_stop router || true
	router_stop new || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

@test "router-h2: ALPN picks h2; the request reaches the app as HTTP/1.1 with X-Forwarded-*" {
	run h2 /headers -v -H 'Cookie: a=1' -H 'Cookie: b=2'
	assert_success
	assert_output --partial "ALPN: server accepted h2"
	assert_output --partial "< HTTP/2 200"
	assert_line "GET /headers HTTP/1.1"
	assert_line --partial "X-Forwarded-Proto: https"
	assert_line --regexp "^X-Request-Id: [0-9a-f]{32}$"
	assert_line "Cookie: a=1; b=2"
	# The response is the app's, minus what HTTP/2 cannot carry.
	run h2 /chunked?n=100000 -o "$RT/chunked.out" -w '%{http_version} %{http_code} %{size_download}'
	assert_output "2 200 100000"
	run h2 /p/hello
	assert_output "hello"
	run nghttp_one -v "https://one.example.com:$(router_sport router)/p/from-nghttp"
	assert_success
	assert_output --partial "The negotiated protocol: h2"
	assert_line "from-nghttp"
	# Counted as every other request, and logged with its protocol.
	run ctl http://x/metrics
	assert_output --regexp 'wharf_router_requests_total\{app="one",code="2xx"\} [1-9]'
	eventually_grep 'path="/p/from-nghttp"' "$RT/access.log"
	run grep 'path="/p/from-nghttp"' "$RT/access.log"
	assert_output --regexp ' app=one status=200 method=GET proto=HTTP/2 scheme=https path='
}

# eventually_grep PATTERN FILE: up to 5 s for the access log's next flush (every second).
eventually_grep() {
	local _
	for _ in $(seq 1 50); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

@test "router-h2: a client offering only http/1.1 is served HTTP/1.1 on the same listener" {
	run h2 /p/one --http1.1 -w ' %{http_version}'
	assert_output "one
 1.1"
	run bash -c "echo | openssl s_client -connect 127.0.0.1:$(router_sport router) \
		-servername one.example.com -alpn http/1.1 2>/dev/null | grep '^ALPN'"
	assert_output "ALPN protocol: http/1.1"
	# No ALPN at all: HTTP/1.1 too.
	run bash -c "printf 'GET /p/noalpn HTTP/1.1\r\nHost: one.example.com\r\nConnection: close\r\n\r\n' |
		openssl s_client -quiet -connect 127.0.0.1:$(router_sport router) \
		-servername one.example.com 2>/dev/null | tail -1"
	assert_output "noalpn"
}

@test "router-h2: 1000 requests as 100 concurrent streams on one connection; the stream cap holds" {
	run h2load -n 1000 -c 1 -m 100 --connect-to="127.0.0.1:$(router_sport router)" \
		"https://one.example.com/p/x"
	assert_success
	assert_line --partial "requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed"
	assert_line --partial "status codes: 1000 2xx"
	# Beyond SETTINGS_MAX_CONCURRENT_STREAMS (128) before the client acknowledged it:
	# refused streams (the client may retry them), the others served.
	run raw streams 200
	assert_output "ok 128 refused 72"
}

@test "router-h2: a body over the app's limit gets 413, with content-length or without" {
	run ctl -X PUT http://x/apps/one/options -d '{"max_body_bytes": 1000}'
	assert_success
	head -c 5000 /dev/zero >"$RT/big.bin"
	run h2 /echo -X POST --data-binary @"$RT/big.bin" -w '%{http_version} %{http_code}'
	assert_output --partial "2 413"
	# No content-length: the body is counted as it comes (chunked to the app).
	run bash -c "cat '$RT/big.bin' | curl -s -m 20 --http2 \
		--resolve one.example.com:$(router_sport router):127.0.0.1 --cacert '$RT/one.crt' \
		-T - -X POST -w '%{http_code}' https://one.example.com:$(router_sport router)/echo"
	assert_output --partial "413"
	# Under the limit: the app gets the whole body.
	head -c 900 /dev/urandom >"$RT/small.bin"
	run h2 /echo -X POST --data-binary @"$RT/small.bin"
	assert_output "900 $(md5sum <"$RT/small.bin" | cut -d' ' -f1)"
	run ctl -X PUT http://x/apps/one/options -d '{"max_body_bytes": null}'
	assert_success
}

@test "router-h2: route swaps under h2 load lose no request; in-flight streams finish on the old target" {
	local load i p
	h2load -n 4000 -c 2 -m 20 --connect-to="127.0.0.1:$(router_sport router)" \
		"https://one.example.com/p/x" >"$RT/h2load.out" 2>&1 3>&- &
	load=$!
	# A slow request on the old target, in flight across the swap.
	h2 /slow -o "$RT/slow.out" -w '%{http_code}' >"$RT/slow.code" 3>&- &
	slow=$!
	sleep 0.3
	# Bounded: at most 12 swaps, while the load runs.
	for i in $(seq 1 12); do
		kill -0 "$load" 2>/dev/null || break
		if [ $((i % 2)) -eq 1 ]; then p=$PB; else p=$PA; fi
		run put one "$p"
		assert_output --partial "\"targets\":[\"127.0.0.1:$p\"]"
	done
	[ "$i" -ge 2 ]
	wait "$load"
	run cat "$RT/h2load.out"
	assert_line --partial "requests: 4000 total, 4000 started, 4000 done, 4000 succeeded, 0 failed, 0 errored, 0 timeout"
	assert_line --partial "status codes: 4000 2xx"
	wait "$slow" # this one only: bats' own timeout watchdog is a child of the test too
	assert_equal "$(cat "$RT/slow.code")" 200
	assert_equal "$(cat "$RT/slow.out")" "slow A"
	put one "$PA" >/dev/null
}

@test "router-h2: maintenance and the app's pages answer over h2 as over HTTP/1.1" {
	run ctl -X POST http://x/apps/one/maintenance -d '{"enabled": true, "message": "back soon"}'
	assert_success
	run h2 /p/x -w ' %{http_code}'
	assert_output "back soon
 503"
	run ctl -X POST http://x/apps/one/maintenance -d '{"enabled": false}'
	run h2 /p/back
	assert_output "back"
}

@test "router-h2: what HTTP/2 lets a client say two ways is refused" {
	# Connection-specific fields (RFC 9113 section 8.2.2): the stream is reset.
	run raw conn-specific
	assert_output "reset 1"
	run raw te-chunked
	assert_output "reset 1"
	# content-length: 10 with 5 bytes of DATA: reset; the app never gets a whole request.
	run raw cl-mismatch
	assert_output "reset 1"
	# A header list past the router's head limit (16 KiB): 431.
	run raw big-headers
	assert_output "data request head too large"
}

@test "router-h2: rapid reset and CONTINUATION floods end the attacker's connection, nobody else's" {
	local bg
	h2 /slow -o "$RT/slow2.out" 3>&- &
	bg=$!
	sleep 0.3
	# CVE-2023-44487: streams opened and reset at once. The connection is told to go
	# away (INTERNAL_ERROR, as nghttp2 does) once the reset budget (200, 50/s) is spent.
	run raw rapid-reset 3000
	assert_output --regexp '^goaway [0-9]+ 2$'
	# CVE-2024-28182: CONTINUATION frames without end: cut after 8.
	run raw continuation-flood
	assert_output --regexp '^closed after ([0-9]|1[0-9])$'
	# A malformed frame (SETTINGS of 5 bytes): FRAME_SIZE_ERROR for that connection.
	run raw malformed
	assert_output "goaway 6"
	wait "$bg"
	assert_equal "$(cat "$RT/slow2.out")" "slow A"
	run h2 /p/still
	assert_output "still"
}

@test "router-h2: PINGs, or a HEADERS never finished, do not keep a connection past the idle timeout" {
	local sock=$RT/short.sock
	ROUTER_SOCKET=$sock ROUTER_ROOT=$RT/short router_start short --listen 127.0.0.1:0 \
		--listen-https 127.0.0.1:0 --idle-timeout 1s
	curl -s --unix-socket "$sock" -X PUT http://x/apps/one \
		-d "{\"domains\": [\"one.example.com\"], \"targets\": [\"127.0.0.1:$PA\"]}" >/dev/null
	jq -n --rawfile c "$RT/one.crt" --rawfile k "$RT/one.key" '{cert: $c, key: $k}' |
		curl -s --unix-socket "$sock" -X PUT http://x/apps/one/cert -d @- >/dev/null
	run timeout 30 python3 "$H2RAW" "$(router_sport short)" one.example.com "$RT/one.crt" \
		ping-hold 6
	assert_output --regexp '^(goaway|closed) after [12]s$'
	run timeout 30 python3 "$H2RAW" "$(router_sport short)" one.example.com "$RT/one.crt" \
		headers-hold 6
	assert_output --regexp '^(goaway|closed) after [12]s$'
	router_stop short
}

@test "router-h2: a TLS session resumes on the router that took over (tickets), TLS 1.3 and 1.2" {
	local sport
	sport=$(router_sport router)
	# TLS 1.3 sends its ticket after the handshake: stay a moment to get it.
	sleep 1 | openssl s_client -connect "127.0.0.1:$sport" -servername one.example.com \
		-CAfile "$RT/one.crt" -sess_out "$RT/s13.pem" >/dev/null 2>&1
	echo | openssl s_client -tls1_2 -connect "127.0.0.1:$sport" -servername one.example.com \
		-CAfile "$RT/one.crt" -sess_out "$RT/s12.pem" >/dev/null 2>&1
	router_start new --takeover --listen-https 127.0.0.1:0
	router_wait_exit router 15
	run bash -c "sleep 1 | openssl s_client -connect 127.0.0.1:$sport -servername one.example.com \
		-CAfile '$RT/one.crt' -sess_in '$RT/s13.pem' 2>/dev/null"
	assert_line --partial "Reused, TLSv1.3"
	run bash -c "echo | openssl s_client -tls1_2 -connect 127.0.0.1:$sport \
		-servername one.example.com -CAfile '$RT/one.crt' -sess_in '$RT/s12.pem' 2>/dev/null"
	assert_line --partial "Reused, TLSv1.2"
	run h2 /p/after-takeover
	assert_output "after-takeover"
}
