# shellcheck shell=bash
# tests/e2e/lib/pebble.bash - Let's Encrypt's test CA (Debian's pebble) and its DNS
# (pebble-challtestsrv) on 127.0.0.1 for letsencrypt.bats, with a private config, private
# ports and a TLS certificate of their own, started and stopped by pid.
#
# pebble_start DIR HTTP_PORT: under DIR (made if missing) writes pebble's CA-signed listener
# certificate, its config, and DIR/uacme: uacme trusting only DIR/minica.pem (uacme's libcurl
# takes its CA bundle from /etc/ssl/certs/ca-certificates.crt alone, so the wrapper binds
# DIR/minica.pem over that path in a private mount namespace of its own; nothing outside it
# changes). The DNS answers every name with 127.0.0.1 and pebble validates http-01 on
# HTTP_PORT, the router's. Exports PEBBLE_DIR (the ACME directory URL), PEBBLE_MGMT (the
# management API's base URL), PEBBLE_CA (DIR/minica.pem, the listener's CA) and WHARF_UACME.
# pebble_stop DIR: stops both.
# pebble_root DIR: writes the issuing root to DIR/root.pem (from the management API).

pebble_start() {
	local dir=$1 http_port=$2 acme mgmt dns dnsm _
	mkdir -p "$dir"
	read -r acme mgmt dns dnsm < <(free_ports 4)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$dir/minica.key" -out "$dir/minica.pem" -subj "/CN=wharf test minica" \
		2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/pebble.key" \
		-out "$dir/pebble.csr" -subj "/CN=localhost" 2>/dev/null || return 1
	openssl x509 -req -in "$dir/pebble.csr" -CA "$dir/minica.pem" -CAkey "$dir/minica.key" \
		-CAcreateserial -days 2 -out "$dir/pebble.crt" \
		-extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null || return 1
	cat >"$dir/pebble.json" <<-EOF
		{"pebble": {
		  "listenAddress": "127.0.0.1:$acme",
		  "managementListenAddress": "127.0.0.1:$mgmt",
		  "certificate": "$dir/pebble.crt",
		  "privateKey": "$dir/pebble.key",
		  "httpPort": $http_port,
		  "tlsPort": 1,
		  "ocspResponderURL": "",
		  "externalAccountBindingRequired": false
		}}
	EOF
	pebble-challtestsrv -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" -tlsalpn01 "" \
		-management "127.0.0.1:$dnsm" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		</dev/null >"$dir/dns.log" 2>&1 3>&- &
	echo $! >"$dir/dns.pid"
	# No random sleep before validations, no nonce rejections, a fresh authorization every
	# time (so a validation that must fail is really made).
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
		pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns" \
		</dev/null >"$dir/pebble.log" 2>&1 3>&- &
	echo $! >"$dir/pebble.pid"
	cat >"$dir/uacme" <<-EOF
		#!/bin/sh
		# uacme trusting only the test CA's listener certificate (see tests/e2e/lib/pebble.bash).
		exec unshare -Urm sh -c 'mount --bind "\$0" /etc/ssl/certs/ca-certificates.crt && exec uacme "\$@"' "$dir/minica.pem" "\$@"
	EOF
	chmod 755 "$dir/uacme"
	chmod 755 "$dir"
	chmod 644 "$dir/minica.pem"
	export PEBBLE_DIR=https://127.0.0.1:$acme/dir PEBBLE_MGMT=https://127.0.0.1:$mgmt
	export PEBBLE_CA=$dir/minica.pem WHARF_UACME=$dir/uacme
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --cacert "$PEBBLE_CA" "$PEBBLE_DIR" && return 0
		sleep 0.1
	done
	echo "pebble did not start:" >&2
	cat "$dir/pebble.log" "$dir/dns.log" >&2
	return 1
}

pebble_root() {
	curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" >"$1/root.pem"
}

pebble_stop() {
	local f pid
	for f in "$1/pebble.pid" "$1/dns.pid"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null || true
		rm -f "$f"
	done
}
