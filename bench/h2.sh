#!/usr/bin/env bash
# bench/h2.sh - HTTP/2 over TLS: bin/wharf-router against nginx (Debian's, `listen ... ssl
# http2`) in one run, same certificate, same backend, same request headers added.
#
# The backend is nginx answering "ok" over HTTP/1.1 on LOAD_CPU; each proxy runs pinned to
# PROXY_CPU, keeps upstream keep-alive connections and adds the X-Forwarded-* / X-Request-Id /
# X-Request-Start headers wharf adds; h2load (nghttp2-client) on LOAD_CPU drives it, SNI
# given by --connect-to. For each proxy and each profile (ROUNDS rounds, the best kept):
#   streams   CONNS connections x STREAMS concurrent streams, DURATION seconds: req/s, mean
#             and max request time
#   conns     MANY connections x 1 stream each
#   handshake HANDSHAKES clients at once, each one new connection (a full TLS handshake)
#             and one request: handshakes/s
# and each proxy's RSS after the load. Everything listens on 127.0.0.1 ephemeral ports with
# its own config, pid and log paths under a temp dir; nothing of the system's nginx is used
# or touched. Benchmarks never run in `make test`.
#
# Knobs: ROUNDS=3 DURATION=10 CONNS=4 STREAMS=50 MANY=100 HANDSHAKES=300 ONLY="wharf nginx"
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-4}
STREAMS=${STREAMS:-50}
MANY=${MANY:-100}
HANDSHAKES=${HANDSHAKES:-300}
ONLY=${ONLY:-"wharf nginx"}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NAME=bench.example.com

for c in h2load nginx openssl taskset curl jq; do
	command -v "$c" >/dev/null || {
		echo "bench/h2.sh: $c is missing (apt-get install nghttp2-client nginx)" >&2
		exit 1
	}
done
[ -x "$REPO/bin/wharf-router" ] || make -C "$REPO" -s || exit 1

# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
bench_setup wharf-bench-h2

nginx_common() { # NAME: the top of an nginx config of ours
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $D/$1.pid;
error_log $D/$1-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	http2_max_requests 100000000;
	client_body_temp_path $D/tmp/body;
	proxy_temp_path $D/tmp/proxy;
	fastcgi_temp_path $D/tmp/fastcgi;
	uwsgi_temp_path $D/tmp/uwsgi;
	scgi_temp_path $D/tmp/scgi;
EOF
}

mkdir -p "$D/tmp" "$D/root"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$D/cert.key" -out "$D/cert.crt" \
	-subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" 2>/dev/null

# ---- the backend ------------------------------------------------------------------------
PB=$(free_port)
{
	nginx_common backend
	# shellcheck disable=SC2028 # nginx's \n
	echo "	server { listen 127.0.0.1:$PB; location / { return 200 \"ok\n\"; } }"
	echo "}"
} >"$D/backend.conf"
taskset -c "$LOAD_CPU" nginx -c "$D/backend.conf" -p "$D" 2>"$D/backend.err" &
PIDS+=($!)
wait_port "$PB" || exit 1

# ---- the proxies ------------------------------------------------------------------------
start_wharf() {
	local sock=$D/router.sock
	WHARF_ROOT=$D/root WHARF_ROUTER_SOCKET=$sock taskset -c "$PROXY_CPU" \
		"$REPO/bin/wharf-router" --listen 127.0.0.1:0 --listen-https 127.0.0.1:0 \
		</dev/null >"$D/wharf.log" 2>&1 &
	PID_WHARF=$!
	PIDS+=("$PID_WHARF")
	local _
	for _ in $(seq 1 100); do
		PORT_WHARF=$(sed -n 's/^wharf router: listening for HTTPS on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
			"$D/wharf.log")
		[ -n "$PORT_WHARF" ] && break
		sleep 0.05
	done
	curl -s --unix-socket "$sock" -X PUT http://x/apps/bench \
		-d "{\"domains\": [\"$NAME\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
	jq -n --rawfile c "$D/cert.crt" --rawfile k "$D/cert.key" '{cert: $c, key: $k}' |
		curl -s --unix-socket "$sock" -X PUT http://x/apps/bench/cert -d @- >/dev/null
}

start_nginx() {
	PORT_NGINX=$(free_port)
	{
		nginx_common nginx
		cat <<EOF
	upstream app { server 127.0.0.1:$PB; keepalive 64; keepalive_requests 100000000; }
	server {
		listen 127.0.0.1:$PORT_NGINX ssl http2;
		server_name $NAME;
		ssl_certificate $D/cert.crt;
		ssl_certificate_key $D/cert.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			proxy_pass http://app;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Forwarded-Host \$host;
			proxy_set_header X-Forwarded-Port \$server_port;
			proxy_set_header X-Request-Id \$request_id;
			proxy_set_header X-Request-Start "t=\${msec}";
		}
	}
}
EOF
	} >"$D/nginx.conf"
	taskset -c "$PROXY_CPU" nginx -c "$D/nginx.conf" -p "$D" 2>"$D/nginx.err" &
	PID_NGINX=$!
	PIDS+=("$PID_NGINX")
	wait_port "$PORT_NGINX" || { cat "$D/nginx.err" >&2; exit 1; }
}

# load PORT ARGS...: h2load on LOAD_CPU; prints "req/s mean_ms max_ms failed".
load() {
	local port=$1 out
	shift
	out=$(taskset -c "$LOAD_CPU" h2load --connect-to="127.0.0.1:$port" "$@" "https://$NAME/" 2>&1)
	awk '
		/^finished in/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s,") rps = $i }
		/^requests:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^failed/) failed = $i }
		/^time for request:/ { max = $5; mean = $6 }
		END { printf "%s %s %s %s\n", rps, mean, max, failed }' <<<"$out"
}

# handshakes PORT: HANDSHAKES clients, each one new TLS connection (full handshake, no
# resumption) and one request: requests/s is handshakes/s.
handshakes() {
	load "$1" -n "$HANDSHAKES" -c "$HANDSHAKES" -m 1 | cut -d' ' -f1
}

best() { # "rps mean max failed" lines: the one with the highest rps
	sort -k1,1 -g -r | head -1
}

for p in $ONLY; do
	case $p in
	wharf) start_wharf ;;
	nginx) start_nginx ;;
	*) echo "bench/h2.sh: unknown proxy $p" >&2 && exit 1 ;;
	esac
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
printf '%-6s %-9s %12s %10s %10s %7s\n' proxy profile req/s mean max failed
for p in $ONLY; do
	port_var=PORT_${p^^}
	pid_var=PID_${p^^}
	port=${!port_var}
	# Warm up: connections, upstream pools, session caches.
	load "$port" -n 2000 -c "$CONNS" -m "$STREAMS" >/dev/null
	for profile in streams conns; do
		r=$(for _ in $(seq 1 "$ROUNDS"); do
			if [ "$profile" = streams ]; then
				load "$port" -D "$DURATION" -c "$CONNS" -m "$STREAMS"
			else
				load "$port" -D "$DURATION" -c "$MANY" -m 1
			fi
		done | best)
		read -r rps mean max failed <<<"$r"
		printf '%-6s %-9s %12s %10s %10s %7s\n' "$p" "$profile" "$rps" "$mean" "$max" "$failed"
	done
	printf '%-6s %-9s %12s\n' "$p" handshake "$(handshakes "$port")/s"
	printf '%-6s %-9s %12s\n' "$p" rss "$(rss_kb "${!pid_var}") KiB"
done
