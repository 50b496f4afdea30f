#!/usr/bin/env bats
# router-tls.bats - HTTPS termination end to end: a router with --listen-https, two apps with
# their own self-signed certificates added with `wharf certs:add`, SNI checked with
# `curl --resolve` and `openssl s_client`; unknown names refused; certs:report/remove; the
# certificate store survives a restart. Backend: python's http.server on loopback.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

ctl() {
	curl -s -m 30 --unix-socket "$WHARF_ROUTER_SOCKET" "$@"
}

# https NAME PATH [curl args]: through the HTTPS listener with SNI NAME, trusting NAME's cert.
https() {
	local name=$1 path=$2 sport
	shift 2
	sport=$(cat "$RT/router.sport")
	curl -s -m 10 --resolve "$name.example.com:$sport:127.0.0.1" --cacert "$RT/$name.crt" \
		"$@" "https://$name.example.com:$sport$path"
}

setup_file() {
	export RT PB WHARF_ROOT WHARF_ROUTER_SOCKET
	RT=$(mktemp -d /tmp/wharf-router-tls.XXXXXX)
	WHARF_ROOT=$RT/root
	WHARF_ROUTER_SOCKET=$RT/router.sock
	mkdir -p "$WHARF_ROOT" "$RT/www"
	echo "hello over tls" >"$RT/www/index.html"
	PB=$(free_port)
	python3 -m http.server "$PB" --bind 127.0.0.1 --directory "$RT/www" \
		</dev/null >"$RT/backend.log" 2>&1 3>&- &
	echo $! >"$RT/backend.pid"
	local n
	for n in one two; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$RT/$n.key" \
			-out "$RT/$n.crt" -subj "/CN=$n.example.com" \
			-addext "subjectAltName=DNS:$n.example.com" 2>/dev/null
	done
	http_wait "$PB" || true
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	for n in one two; do
		"$WHARF_BIN" apps:create "$n" >/dev/null
		ctl -X PUT "http://x/apps/$n" \
			-d "{\"domains\": [\"$n.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	done
}

teardown_file() {
	router_stop router || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

@test "router-tls: certs:add stores a certificate per app and reports it" {
	run "$WHARF_BIN" certs:add one "$RT/one.crt" "$RT/one.key"
	assert_success
	assert_line --index 0 "-----> Adding certificate to one"
	assert_output --partial "Ssl hostnames:               one.example.com"
	run "$WHARF_BIN" certs:add two "$RT/two.crt" "$RT/two.key"
	assert_success
	run "$WHARF_BIN" certs:report two
	assert_output --partial "Ssl subject:                 /CN=two.example.com"
	[ "$(stat -c %a "$WHARF_ROOT/router/certs/two.key")" = 600 ]
	# wharf keeps its own copy with the app (0600: it holds the key).
	[ "$(stat -c %a "$WHARF_ROOT/apps/two/cert.json")" = 600 ]
	cmp "$RT/two.crt" <(jq -j .cert "$WHARF_ROOT/apps/two/cert.json")
}

@test "router-tls: a key that does not match is refused and the old certificate kept" {
	run "$WHARF_BIN" certs:add two "$RT/one.crt" "$RT/two.key"
	assert_failure
	assert_output --partial "mismatch"
	run "$WHARF_BIN" certs:report two
	assert_output --partial "/CN=two.example.com"
	cmp "$RT/two.crt" <(jq -j .cert "$WHARF_ROOT/apps/two/cert.json")
}

@test "router-tls: SNI picks each app's certificate (curl --resolve)" {
	run https one /
	assert_output "hello over tls"
	run https two /
	assert_output "hello over tls"
	# two's name with one's certificate as the only trusted one fails verification.
	run curl -s -m 10 --resolve "two.example.com:$(cat "$RT/router.sport"):127.0.0.1" \
		--cacert "$RT/one.crt" "https://two.example.com:$(cat "$RT/router.sport")/"
	assert_equal "$status" 60
}

@test "router-tls: openssl s_client sees the certificate of the name it asks for; TLS 1.2 and 1.3" {
	local sport
	sport=$(cat "$RT/router.sport")
	run bash -c "openssl s_client -connect 127.0.0.1:$sport -servername two.example.com </dev/null 2>/dev/null | openssl x509 -noout -subject"
	assert_output --regexp 'subject=CN ?= ?two\.example\.com'
	run bash -c "openssl s_client -connect 127.0.0.1:$sport -servername one.example.com </dev/null 2>/dev/null | openssl x509 -noout -subject"
	assert_output --regexp 'subject=CN ?= ?one\.example\.com'
	run https one / --tlsv1.2 --tls-max 1.2
	assert_output "hello over tls"
	run https one / --tlsv1.3
	assert_output "hello over tls"
}

@test "router-tls: a name no app serves, or no SNI, ends the handshake" {
	run curl -s -m 10 -k --resolve "nobody.example.com:$(cat "$RT/router.sport"):127.0.0.1" \
		"https://nobody.example.com:$(cat "$RT/router.sport")/"
	assert_failure
	run curl -s -m 10 -k "https://127.0.0.1:$(cat "$RT/router.sport")/"
	assert_failure
}

@test "router-tls: the app sees X-Forwarded-Proto https (access through a header-echo backend)" {
	local pe
	pe=$(free_port)
	cat >"$RT/echo.py" <<'PYEOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("proto=%s port=%s" % (self.headers.get("X-Forwarded-Proto"),
                                      self.headers.get("X-Forwarded-Port"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
	python3 "$RT/echo.py" "$pe" </dev/null >/dev/null 2>&1 3>&- &
	local epid=$!
	http_wait "$pe" || true
	ctl -X PUT http://x/apps/one -d "{\"domains\": [\"one.example.com\"], \"targets\": [\"127.0.0.1:$pe\"]}" >/dev/null
	run https one /
	kill "$epid" 2>/dev/null || true
	ctl -X PUT http://x/apps/one -d "{\"domains\": [\"one.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	assert_output "proto=https port=$(cat "$RT/router.sport")"
}

@test "router-tls: certificates survive a restart; certs:remove ends HTTPS for the app" {
	router_stop router
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	run https two /
	assert_output "hello over tls"
	run "$WHARF_BIN" certs:remove two
	assert_success
	[ ! -e "$WHARF_ROOT/apps/two/cert.json" ]
	run https two /
	assert_failure
	run "$WHARF_BIN" certs:report two
	assert_output --partial "Ssl enabled:                 false"
	run "$WHARF_BIN" certs:remove two
	assert_failure
	run https one /
	assert_output "hello over tls"
}

# resumed NAME SESS: one TLS 1.2 handshake with SNI NAME offering the session in SESS (saved
# by an earlier handshake): "Reused" or "New" as openssl s_client reports it. TLS 1.2 makes
# the ticket arrive inside the handshake, so s_client needs no data exchange to get it.
resumed() {
	local sport
	sport=$(cat "$RT/router.sport")
	openssl s_client -connect "127.0.0.1:$sport" -servername "$1.example.com" -tls1_2 \
		-sess_in "$2" </dev/null 2>/dev/null | sed -n 's/^\(Reused\|New\), .*/\1/p'
}

@test "router-tls: session tickets resume across --takeover but not a cold restart; their keys are on no disk and the takeover socket is the router's own" {
	local sport sess=$RT/sess.pem
	sport=$(cat "$RT/router.sport")
	openssl s_client -connect "127.0.0.1:$sport" -servername one.example.com -tls1_2 \
		-sess_out "$sess" </dev/null >/dev/null 2>&1
	run openssl sess_id -in "$sess" -noout -text
	assert_output --partial "TLS session ticket:"
	run resumed one "$sess"
	assert_output Reused
	# Another user cannot reach the takeover socket, even where the path is open to it.
	[ "$(stat -c %a "$WHARF_ROUTER_SOCKET.takeover")" = 600 ]
	chmod 711 "$RT"
	run su -s /bin/sh nobody -c "python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"$WHARF_ROUTER_SOCKET.takeover\")'"
	chmod 700 "$RT"
	assert_failure
	assert_output --partial "Permission denied"
	# The successor gets the keys over the socket: the same ticket resumes on it (the old
	# router's session id cache left with the old process, so only the ticket can resume).
	router_start next --takeover --listen-https 127.0.0.1:0
	router_wait_exit router
	cp "$RT/next.sport" "$RT/router.sport"
	run resumed one "$sess"
	assert_output Reused
	# A cold start under the same WHARF_ROOT has nothing to read the keys from: the ticket
	# is refused and a full handshake follows.
	router_stop next
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	run resumed one "$sess"
	assert_output New
	run https one /
	assert_output "hello over tls"
}
