#!/usr/bin/env bats
# letsencrypt.bats - ACME certificates for real against Let's Encrypt's test CA (Debian's
# pebble, with pebble-challtestsrv answering every name with 127.0.0.1) on private loopback
# ports, its http-01 port set to the router's, so every validation reaches the router:
# the control API refuses bad challenge tokens; enable issues a chain that verifies against
# pebble's root and turns the HTTP -> HTTPS redirect on; two apps on one IP by SNI; a forced
# renewal swaps the certificate under HTTPS load without a failed request; a failed
# validation keeps the old certificate serving and backs off; revoke (pebble says revoked),
# disable; and a deployed app (the suite's dockerd, sshd and router) gets a certificate while
# it keeps serving. Apart from the last test, a router of this file's own (--listen-https)
# fronts a python backend.

load lib/harness
load lib/router
load lib/pebble

# lw ARGS...: the CLI against this file's own router and WHARF_ROOT.
lw() {
	WHARF_ROOT=$RT/root WHARF_ROUTER_SOCKET=$RT/router.sock "$WHARF_BIN" "$@"
}

ctl() {
	curl -s -m 30 --unix-socket "$RT/router.sock" "$@"
}

# challenges PUT|DELETE N: challenges t1..tN put into (or deleted from) the router, in one
# python process (N curl runs take long on a busy machine); fails unless each got 200.
challenges() {
	python3 - "$RT/router.sock" "$1" "$2" <<-'EOF'
		import socket, sys
		path, method, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
		for i in range(1, n + 1):
		    body = ('{"key_authorization": "t%d.k"}' % i).encode() if method == "PUT" else b""
		    s = socket.socket(socket.AF_UNIX)
		    s.connect(path)
		    s.sendall(b"%s /acme/challenges/t%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
		              % (method.encode(), i, len(body)) + body)
		    answer = b""
		    while True:
		        chunk = s.recv(4096)
		        if not chunk:
		            break
		        answer += chunk
		    s.close()
		    if not answer.startswith(b"HTTP/1.1 200"):
		        sys.exit("t%d: %r" % (i, answer[:80]))
	EOF
}

# https_get NAME [PATH]: through the HTTPS listener with SNI NAME, trusting pebble's root only.
https_get() {
	curl -sS -m 10 --resolve "$1:$(cat "$RT/router.sport"):127.0.0.1" --cacert "$RT/root.pem" \
		"https://$1:$(cat "$RT/router.sport")${2:-/}"
}

# serial NAME: the serial (lowercase hex) of the certificate the router shows for SNI NAME.
serial() {
	openssl s_client -connect "127.0.0.1:$(cat "$RT/router.sport")" -servername "$1" \
		</dev/null 2>/dev/null | openssl x509 -noout -serial | sed 's/^serial=//' |
		tr 'A-F' 'a-f'
}

# revoked SERIAL: pebble's word on a certificate ("Valid" or "Revoked").
cert_status() {
	curl -s --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/cert-status-by-serial/$1" | jq -r .Status
}

setup_file() {
	export RT PB
	RT=$(mktemp -d /var/tmp/wharf-le.XXXXXX)
	chmod 755 "$RT"
	mkdir -p "$RT/root" "$RT/www"
	echo "hello over acme" >"$RT/www/index.html"
	PB=$(free_port)
	python3 -m http.server "$PB" --bind 127.0.0.1 --directory "$RT/www" \
		</dev/null >"$RT/backend.log" 2>&1 3>&- &
	echo $! >"$RT/backend.pid"
	http_wait "$PB" || true
	router_start router --listen 127.0.0.1:0 --listen-https 127.0.0.1:0
	pebble_start "$RT/pebble" "$(cat "$RT/router.port")"
	pebble_root "$RT"
	local n
	for n in one two; do
		lw apps:create "$n" >/dev/null
		lw domains:disable "$n" >/dev/null
		lw domains:add "$n" "$n.example.com" >/dev/null
		ctl -X PUT "http://x/apps/$n" \
			-d "{\"domains\": [\"$n.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	done
	lw letsencrypt:set --global server "$PEBBLE_DIR" >/dev/null
	lw letsencrypt:set --global email admin@example.com >/dev/null
}

teardown_file() {
	pebble_stop "$RT/pebble"
	router_stop router || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

setup() {
	harness_test_setup
}

teardown() {
	# The deployed-app test's own pebble, should it fail half-way.
	if [ -n "${LE2:-}" ]; then
		touch "$LE2/stop"
		pebble_stop "$LE2/pebble"
		rm -rf "$LE2"
	fi
	harness_test_teardown
}

@test "letsencrypt: the control API refuses bad challenge tokens and bodies" {
	local auth=tok_1-A.thumbprint_43chars-xxxxxxxxxxxxxxxxxxxxxxxxxxxx
	# A token outside base64url, one too long, a path escape, a key authorization for
	# another token, junk bodies.
	for t in 'bad%20token' 'a.b' "$(printf 'a%.0s' $(seq 1 129))" '..%2Fapps%2Fone' 'x%00y'; do
		run ctl -o /dev/null -w '%{http_code}' -X PUT "http://x/acme/challenges/$t" \
			-d "{\"key_authorization\": \"$t.abc\"}"
		assert_output 400
	done
	run ctl -X PUT http://x/acme/challenges/tok_1-A -d '{"key_authorization": "other.abc"}'
	assert_output --partial '"error"'
	for body in '{"key_authorization": "tok_1-A."}' '{"key_authorization": "tok_1-A.a b"}' \
		'{"key_authorization": 1}' '{"auth": "tok_1-A.abc"}' '[]' 'nope'; do
		run ctl -o /dev/null -w '%{http_code}' -X PUT http://x/acme/challenges/tok_1-A -d "$body"
		assert_output 400
	done
	run ctl -o /dev/null -w '%{http_code}' -X POST http://x/acme/challenges/tok_1-A
	assert_output 405
	# Nothing was stored: the app answers that path itself (python's 404).
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: one.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/.well-known/acme-challenge/tok_1-A"
	assert_output 404
	# A good one is answered by the router on any app's domain, to GET only; other tokens
	# still go to the app; DELETE takes it away.
	run ctl -X PUT http://x/acme/challenges/tok_1-A -d "{\"key_authorization\": \"$auth\"}"
	assert_output '{"token":"tok_1-A"}'
	run curl -s -H 'Host: two.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/.well-known/acme-challenge/tok_1-A"
	assert_output "$auth"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: two.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/.well-known/acme-challenge/tok_1-B"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: nowhere.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/.well-known/acme-challenge/tok_1-A"
	assert_output 404
	run ctl -X DELETE http://x/acme/challenges/tok_1-A
	assert_output '{"deleted":true,"token":"tok_1-A"}'
	run ctl http://x/acme/challenges
	assert_output '{"pending":0}'
	# The table is bounded: the 257th pending challenge is refused (503).
	challenges PUT 256
	run ctl http://x/acme/challenges
	assert_output '{"pending":256}'
	run ctl -o /dev/null -w '%{http_code}' -X PUT http://x/acme/challenges/t257 \
		-d '{"key_authorization": "t257.k"}'
	assert_output 503
	challenges DELETE 256
	# The hook uacme runs refuses a token that would move its URL path.
	run lw letsencrypt:hook begin http-01 one.example.com '../../apps/one' "x.y"
	assert_failure
	assert_output --partial "invalid challenge token"
	run lw letsencrypt:hook begin dns-01 one.example.com tok x
	[ "$status" = 1 ]
}

@test "letsencrypt: enable issues a chain that verifies against pebble's root, redirect on" {
	run lw letsencrypt:enable one
	assert_success
	assert_output --partial "-----> Getting a certificate for one from $PEBBLE_DIR"
	assert_output --partial "-----> Certificate installed"
	run https_get one.example.com
	assert_success
	assert_output "hello over acme"
	run lw certs:report one
	assert_output --partial "Ssl issuer:                  /CN=Pebble Intermediate CA"
	assert_output --partial "Ssl hostnames:               one.example.com"
	# HTTP now redirects to HTTPS, as Dokku's letsencrypt does.
	run curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: one.example.com' \
		"http://127.0.0.1:$(cat "$RT/router.port")/x"
	assert_output "301 https://one.example.com:$(cat "$RT/router.sport")/x"
	run ctl http://x/acme/challenges
	assert_output '{"pending":0}'
	run lw letsencrypt:list
	assert_line --regexp '^one +one\.example\.com +20[0-9-]+ [0-9:]+ UTC +[0-9]+d, '
	run lw letsencrypt:report one --format json
	assert_output --partial '"active":true'
	assert_output --partial '"failures":0'
	[ "$(stat -c %a "$RT/root/apps/one/cert.json")" = 600 ]
	[ "$(stat -c %a "$RT/root/letsencrypt/one")" = 700 ]
}

@test "letsencrypt: two apps on one IP, each served its own certificate by SNI" {
	run lw letsencrypt:enable two
	assert_success
	run https_get two.example.com
	assert_success
	run https_get one.example.com
	assert_success
	run openssl s_client -connect "127.0.0.1:$(cat "$RT/router.sport")" \
		-servername two.example.com </dev/null
	assert_output --partial "CN = two.example.com"
	run openssl s_client -connect "127.0.0.1:$(cat "$RT/router.sport")" \
		-servername one.example.com </dev/null
	assert_output --partial "CN = one.example.com"
	[ "$(serial one.example.com)" != "$(serial two.example.com)" ]
}

@test "letsencrypt: a forced renewal swaps the certificate under HTTPS load, no failed request" {
	local before after
	before=$(serial one.example.com)
	run lw letsencrypt:auto-renew one
	assert_success
	assert_output "-----> The certificate of one is not due for renewal"
	[ "$(serial one.example.com)" = "$before" ]
	# Due: pebble's certificates live five years, so a ten-year grace period makes them due.
	lw letsencrypt:set one graceperiod 315360000
	(
		while [ ! -f "$RT/stop" ]; do
			https_get one.example.com >/dev/null 2>&1 && echo ok || echo failed
		done >"$RT/load.out"
	) 3>&- &
	local load=$!
	sleep 1
	run lw letsencrypt:auto-renew
	touch "$RT/stop"
	wait "$load"
	rm -f "$RT/stop"
	assert_success
	assert_output --partial "-----> Renewed the certificate of one"
	refute_output --partial "of two"
	after=$(serial one.example.com)
	[ -n "$after" ] && [ "$after" != "$before" ]
	grep -c ok "$RT/load.out"
	[ "$(grep -c ok "$RT/load.out")" -gt 3 ]
	run grep -c failed "$RT/load.out"
	assert_output 0
	run https_get one.example.com
	assert_output "hello over acme"
}

@test "letsencrypt: a failed validation keeps the old certificate serving and backs off" {
	local before
	before=$(serial one.example.com)
	# A domain of the app the router does not serve (domains:add told the router; this
	# route PUT takes it back): pebble's request for it gets the router's 404.
	lw domains:add one stray.example.com
	ctl -X PUT http://x/apps/one \
		-d "{\"domains\": [\"one.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	run lw letsencrypt:auto-renew one
	assert_failure
	assert_output --regexp "letsencrypt: renewal of one failed \(failure 1, next try after 20[0-9T:-]+Z; the current certificate keeps serving\): uacme issue failed"
	[ "$(grep -c 'letsencrypt: renewal of one failed' <<<"$output")" = 1 ]
	[ "$(serial one.example.com)" = "$before" ]
	run https_get one.example.com
	assert_output "hello over acme"
	run lw letsencrypt:report one --format json
	assert_output --partial '"failures":1'
	assert_output --partial '"last-error":"uacme issue failed'
	# The timer's run (no app) respects the backoff: nothing tried, nothing failed.
	run lw letsencrypt:auto-renew
	assert_success
	refute_output --partial "failed"
	[ "$(serial one.example.com)" = "$before" ]
	# Fixed, an explicit renewal of the app goes through and clears the failures.
	lw domains:remove one stray.example.com
	run lw letsencrypt:auto-renew one
	assert_success
	assert_output --partial "Renewed the certificate of one"
	run lw letsencrypt:report one --format json
	assert_output --partial '"failures":0'
	lw letsencrypt:set one graceperiod
}

@test "letsencrypt: revoke revokes at the CA and removes the certificate" {
	local s
	s=$(serial two.example.com)
	[ "$(cert_status "$s")" = Valid ]
	run lw letsencrypt:revoke two
	assert_success
	assert_output --partial "-----> Revoked and removed the certificate of two"
	[ "$(cert_status "$s")" = Revoked ]
	run lw certs:report two
	assert_output --partial "Ssl enabled:                 false"
	run https_get two.example.com
	assert_failure
	run lw letsencrypt:report two
	assert_output --partial "Letsencrypt active:              false"
	run lw letsencrypt:revoke two
	assert_failure
	assert_output --partial "two has no certificate to revoke"
}

@test "letsencrypt: disable removes the certificate and the redirect" {
	run lw letsencrypt:disable one
	assert_success
	run curl -s -H 'Host: one.example.com' "http://127.0.0.1:$(cat "$RT/router.port")/"
	assert_output "hello over acme"
	run https_get one.example.com
	assert_failure
	run lw letsencrypt:list
	refute_line --regexp '^one '
	[ ! -f "$RT/root/apps/one/cert.json" ]
}

@test "letsencrypt: set, report and cron-job check what they are given" {
	run lw letsencrypt:set one server http://insecure.example.com/dir
	assert_failure
	assert_output --partial "invalid server"
	run lw letsencrypt:set one email 'a b@example.com'
	assert_failure
	run lw letsencrypt:set one graceperiod -5
	assert_failure
	run lw letsencrypt:set one dns-provider x
	assert_failure
	assert_output --partial "unknown letsencrypt property 'dns-provider'"
	run lw letsencrypt:set one server staging
	assert_success
	run lw letsencrypt:report one
	assert_output --partial "Letsencrypt computed server:     https://acme-staging-v02.api.letsencrypt.org/directory"
	lw letsencrypt:set one server
	run lw letsencrypt:report --global
	assert_output --partial "Letsencrypt global email:        admin@example.com"
	run lw letsencrypt:cron-job --add
	assert_success
	assert_output --partial "wharf renews certificates by itself"
	run lw letsencrypt:cron-job --sometimes
	assert_failure
}

@test "letsencrypt: a deployed app gets a certificate through the suite's router while it serves" {
	local app
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "hello from $app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	LE2=$(mktemp -d /var/tmp/wharf-le2.XXXXXX)
	chmod 755 "$LE2"
	pebble_start "$LE2/pebble" "$ROUTER_PORT"
	wharf letsencrypt:set "$app" server "$PEBBLE_DIR"
	(
		while [ ! -f "$LE2/stop" ]; do
			app_url_get "$app" 2>&1 || echo failed
		done >"$LE2/load.out"
	) 3>&- &
	local load=$!
	run wharf letsencrypt:enable "$app"
	touch "$LE2/stop"
	wait "$load"
	pebble_stop "$LE2/pebble"
	assert_success
	run wharf certs:report "$app"
	assert_output --partial "Ssl issuer:                  /CN=Pebble Intermediate CA"
	assert_output --partial "Ssl hostnames:               $app.$WHARF_TEST_DOMAIN"
	# uacme ran as the wharf user who owns WHARF_ROOT.
	[ "$(stat -c %U "$WHARF_ROOT/letsencrypt/$app/private/key.pem")" = wharf ]
	run grep -vc "hello from $app" "$LE2/load.out"
	assert_output 0
	[ "$(wc -l <"$LE2/load.out")" -gt 3 ]
	# The suite's router has no HTTPS listener: HTTP keeps serving (no redirect to nowhere).
	run app_url_get "$app"
	assert_output "hello from $app"
}

@test "letsencrypt: a deployer may enable its own app only, and never set the CA or revoke" {
	local app other key=le-dep-$$
	app=$(new_app_name mine)
	other=$(new_app_name other)
	wharf apps:create "$app" >/dev/null
	wharf apps:create "$other" >/dev/null
	ssh-keygen -q -t ed25519 -N '' -C "$key@wharf-e2e" -f "$WHARF_KEYS/$key"
	wharf ssh-keys:add "$key" --role deployer <"$WHARF_KEYS/$key.pub" >/dev/null
	wharf acl:add "$app" "$key" >/dev/null
	run wharf_ssh_key "$key" letsencrypt:report "$app"
	assert_success
	assert_output --partial "=====> $app letsencrypt information"
	# server makes the host fetch a URL of the caller's choosing: admins only.
	run wharf_ssh_key "$key" letsencrypt:set "$app" server https://127.0.0.1:1/dir
	assert_failure
	assert_output --partial "may not run \`letsencrypt:set\`"
	run wharf_ssh_key "$key" letsencrypt:revoke "$app"
	assert_failure
	assert_output --partial "may not run \`letsencrypt:revoke\`"
	run wharf_ssh_key "$key" letsencrypt:enable "$other"
	assert_failure
	refute_output --partial "Getting a certificate"
	# The hook hands tokens to the router: never over ssh, whoever asks.
	run wharf_ssh letsencrypt:hook begin http-01 "$app.$WHARF_TEST_DOMAIN" tok tok.x
	assert_failure
	run curl -s --unix-socket "$WHARF_ROUTER_SOCKET" http://x/acme/challenges
	assert_output '{"pending":0}'
	wharf ssh-keys:remove "$key" >/dev/null
	rm -f "$WHARF_KEYS/$key" "$WHARF_KEYS/$key.pub"
}
