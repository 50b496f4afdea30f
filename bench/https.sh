#!/usr/bin/env bash
# bench/https.sh - TLS termination: bin/wharf-router against HAProxy and nginx in one run, on
# one self-signed certificate, one backend, the same request headers added.
#
# The backend is one nginx worker answering "ok" over HTTP/1.1 on LOAD_CPU. Each proxy runs
# pinned to PROXY_CPU and held to QUOTA% of that core by a CPU cgroup (as bench/run.sh's
# capacity run), so the proxy, not the load on the other core, is the limit; each keeps
# upstream keep-alive connections and adds the X-Forwarded-* / X-Request-Id /
# X-Request-Start headers wharf adds. The clients run on LOAD_CPU, against each proxy in
# turn, ROUNDS interleaved rounds of DURATION seconds each; a table keeps the round with the
# median req/s and lists every round:
#   https1     wrk -t1 -cCONNS --latency over HTTPS/1.1 with keep-alive: req/s, p50, p99
#   handshake  hey -disable-keepalive -cHS_CONNS over HTTPS/1.1: every request a new TCP
#              connection and a full TLS handshake (hey's Go client has no session cache,
#              so it never resumes): req/s is new handshakes/s
#   h2         h2load -cH2_CONNS -mSTREAMS over HTTP/2 (ALPN h2): req/s, and p50/p99 from
#              h2load's per-request --log-file
#   h2-conns   h2load -cMANY -m1 over HTTP/2: many connections, one stream each
# The certificate is RSA 2048 (KEY=rsa) or ECDSA P-256 (KEY=ec), for CN/SAN "localhost":
# wrk and hey take SNI from the URL's host, and localhost resolves to 127.0.0.1 without
# touching /etc/hosts. Everything listens on 127.0.0.1 ephemeral ports with its own config,
# pid and log paths under a temp dir; nothing of the system's nginx or HAProxy is used or
# touched; what is started is stopped by pid. Not part of `make bench` or `make test`.
#
# Knobs: ROUNDS=3 DURATION=8 QUOTA=20 KEY=rsa CONNS=50 HS_CONNS=50 H2_CONNS=4 STREAMS=50
#        MANY=100 TESTS="https1 handshake h2 h2-conns" ONLY="wharf haproxy nginx"
#        PROXY_CPU=0 LOAD_CPU=1 ROUTER=bin/wharf-router
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
QUOTA=${QUOTA:-20}
KEY=${KEY:-rsa}
CONNS=${CONNS:-50}
HS_CONNS=${HS_CONNS:-50}
H2_CONNS=${H2_CONNS:-4}
STREAMS=${STREAMS:-50}
MANY=${MANY:-100}
TESTS=${TESTS:-https1 handshake h2 h2-conns}
ONLY=${ONLY:-wharf haproxy nginx}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NAME=localhost

for c in wrk hey h2load nginx haproxy openssl taskset curl jq; do
	command -v "$c" >/dev/null || {
		echo "bench/https.sh: $c is missing (scripts/deps.sh --bench installs it)" >&2
		exit 1
	}
done
[ "$(getent ahostsv4 "$NAME" | awk 'NR == 1 {print $1}')" = 127.0.0.1 ] || {
	echo "bench/https.sh: $NAME does not resolve to 127.0.0.1" >&2
	exit 1
}
ROUTER=${ROUTER:-$REPO/bin/wharf-router}
[ -x "$ROUTER" ] || make -C "$REPO" -s || exit 1

# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
bench_setup wharf-bench-https
CLK_TCK=$(getconf CLK_TCK)

mkdir -p "$D/tmp" "$D/root"
case $KEY in
rsa) KEYDESC="RSA 2048" KEYARGS=(-newkey rsa:2048) ;;
ec) KEYDESC="ECDSA P-256" KEYARGS=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
*) echo "bench/https.sh: KEY is rsa or ec" >&2 && exit 1 ;;
esac
openssl req -x509 "${KEYARGS[@]}" -nodes -days 2 -keyout "$D/cert.key" -out "$D/cert.crt" \
	-subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" 2>/dev/null || exit 1
cat "$D/cert.crt" "$D/cert.key" >"$D/cert.pem" # HAProxy's crt: chain and key in one file

nginx_top() { # NAME: the top of an nginx config of ours
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $D/$1.pid;
error_log $D/$1-error.log warn;
events { worker_connections 4096; }
http {
	http2_max_requests 100000000;
EOF
	nginx_http_common
}

# ---- the backend ------------------------------------------------------------------------
PB=$(free_port)
{
	nginx_top backend
	# shellcheck disable=SC2028 # nginx's \n
	echo "	server { listen 127.0.0.1:$PB; location / { return 200 \"ok\n\"; } }"
	echo "}"
} >"$D/backend.conf"
taskset -c "$LOAD_CPU" nginx -c "$D/backend.conf" -p "$D" 2>"$D/backend.err" &
PIDS+=($!)
wait_port "$PB" || exit 1

# ---- the proxies: start_X sets PORT_X and PID_X ------------------------------------------
start_wharf() {
	local sock=$D/router.sock
	PORT_WHARF=$(free_port)
	WHARF_ROOT=$D/root WHARF_ROUTER_SOCKET=$sock taskset -c "$PROXY_CPU" \
		"$ROUTER" --listen "127.0.0.1:$(free_port)" \
		--listen-https "127.0.0.1:$PORT_WHARF" </dev/null >"$D/wharf.log" 2>&1 &
	PID_WHARF=$!
	PIDS+=("$PID_WHARF")
	wait_port "$PORT_WHARF" || { cat "$D/wharf.log" >&2; return 1; }
	curl -sf -o /dev/null --unix-socket "$sock" -X PUT http://x/apps/bench \
		-d "{\"domains\": [\"$NAME\"], \"targets\": [\"127.0.0.1:$PB\"]}" &&
		jq -n --rawfile c "$D/cert.crt" --rawfile k "$D/cert.key" '{cert: $c, key: $k}' |
		curl -sf -o /dev/null --unix-socket "$sock" -X PUT http://x/apps/bench/cert -d @- ||
		{ echo "bench/https.sh: cannot configure the router" >&2; return 1; }
}

start_haproxy() {
	PORT_HAPROXY=$(free_port)
	cat >"$D/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 4096
$(haproxy_defaults)
frontend fe
	bind 127.0.0.1:$PORT_HAPROXY ssl crt $D/cert.pem alpn h2,http/1.1
	default_backend be
$(haproxy_headers https)
backend be
	server a 127.0.0.1:$PB
EOF
	taskset -c "$PROXY_CPU" haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 &
	PID_HAPROXY=$!
	PIDS+=("$PID_HAPROXY")
	wait_port "$PORT_HAPROXY" || { cat "$D/haproxy.log" >&2; return 1; }
}

start_nginx() {
	PORT_NGINX=$(free_port)
	{
		nginx_top nginx
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
$(nginx_headers)
		}
	}
}
EOF
	} >"$D/nginx.conf"
	taskset -c "$PROXY_CPU" nginx -c "$D/nginx.conf" -p "$D" 2>"$D/nginx.err" &
	PID_NGINX=$!
	PIDS+=("$PID_NGINX")
	wait_port "$PORT_NGINX" || { cat "$D/nginx.err" >&2; return 1; }
}

# ---- the loads and their numbers ----------------------------------------------------------
# load TEST PORT OUT: one run of TEST against PORT on LOAD_CPU, its report in OUT.
load() {
	local url="https://$NAME:$2/"
	case $1 in
	https1) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" ;;
	handshake) taskset -c "$LOAD_CPU" hey -z "${DURATION}s" -c "$HS_CONNS" -disable-keepalive "$url" ;;
	h2) taskset -c "$LOAD_CPU" h2load --connect-to="127.0.0.1:$2" -D "$DURATION" -c "$H2_CONNS" -m "$STREAMS" \
		--log-file="$3.log" "https://$NAME/" ;;
	h2-conns) taskset -c "$LOAD_CPU" h2load --connect-to="127.0.0.1:$2" -D "$DURATION" -c "$MANY" -m 1 \
		--log-file="$3.log" "https://$NAME/" ;;
	esac >"$3" 2>&1
}
# Figures of one report: "req/s p50 p99 failed", latencies in ms.
figures() { # TEST FILE
	case $1 in
	https1) echo "$(wrk_rps "$2") $(wrk_pct "$2" 50) $(wrk_pct "$2" 99) $(wrk_failed "$2")" ;;
	handshake) echo "$(awk '/Requests\/sec:/ {print $2}' "$2") $(hey_pct "$2" 50)" \
		"$(hey_pct "$2" 99) $(hey_failed "$2")" ;;
	h2 | h2-conns)
		# h2load's log: start (us since the epoch), status, request time (us) per line.
		echo "$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s,")
				printf "%s", $i }' "$2")" \
			"$(cut -f3 "$2.log" | sort -n | awk '{ t[NR] = $1 } END {
				if (NR) printf "%.3f %.3f", t[int(NR * 0.50 + 0.5)] / 1000,
					t[int(NR * 0.99 + 0.5)] / 1000 }')" \
			"$(awk '/^requests:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^failed/)
				n += $i; for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^errored/) n += $i }
				END { print n + 0 }' "$2")"
		;;
	esac
}
rps_of() { figures "$TEST" "$1" | cut -d' ' -f1; }
# hey's failed requests: non-2xx statuses and errors.
hey_failed() {
	awk '/^Status code distribution/ {s = 1; next} s && /\[[0-9]+\]/ {
		gsub(/[][]/, "", $1); if ($1 !~ /^2/) n += $2 } /^Error distribution/ {e = 1; next}
		e && /^ *\[[0-9]+\]/ {v = $1; gsub(/[][]/, "", v); n += v} END {print n + 0}' "$1"
}
# Is every request of an h2 run really HTTP/2? ("Application protocol: h2")
h2_checked() { grep -q '^Application protocol: h2' "$1"; }

# measure TEST NAME PORT PID ROUND: one run, and beside it the share of a core the proxy
# used and how busy the load core was (a load core near 100% with the proxy under its
# quota would make the figure the client's limit, not the proxy's).
measure() {
	local out=$D/$1-$2-$5.txt c0 c1 l0 l1 t0 t1
	c0=$(cpu_ticks "$4") l0=$(core_busy "$LOAD_CPU") t0=$(date +%s.%N)
	load "$1" "$3" "$out"
	c1=$(cpu_ticks "$4") l1=$(core_busy "$LOAD_CPU") t1=$(date +%s.%N)
	awk -v a="$c0" -v b="$c1" -v la="$l0" -v lb="$l1" -v s="$t0" -v e="$t1" -v hz="$CLK_TCK" \
		'BEGIN { printf "%.0f %.0f\n", 100 * (b - a) / hz / (e - s), 100 * (lb - la) / hz / (e - s) }' \
		>"$D/cpu-$1-$2-$5.txt"
	case $1 in h2*) h2_checked "$out" || echo "bench: $2 did not speak h2 in $out" >&2 ;; esac
	awk -v r="$(figures "$1" "$out" | cut -d' ' -f1)" 'BEGIN { exit !(r > 0) }' ||
		{ echo "bench: $1 got no answer from $2 in round $5:" >&2; tail -5 "$out" >&2; }
}

# ---- the run ------------------------------------------------------------------------------
for p in $ONLY; do
	case $p in
	wharf) start_wharf ;;
	haproxy) start_haproxy ;;
	nginx) start_nginx ;;
	*) echo "bench/https.sh: unknown proxy $p" >&2 && false ;;
	esac || exit 1
done
CG=
if [ "$QUOTA" -gt 0 ] && cg_setup; then
	for p in $ONLY; do
		pid_var=PID_${p^^}
		cg_move "${!pid_var}" "$CG" || { echo "bench: cannot move $p into $CG" >&2; exit 1; }
	done
	LIMIT="pinned to cpu $PROXY_CPU and held to $QUOTA% of it (CPU cgroup quota)"
else
	LIMIT="pinned to cpu $PROXY_CPU (no CPU cgroup here: QUOTA=0 or cgroups not writable)"
fi
cg_done() { # the proxies back to the root group, the group removed
	local p pid_var
	[ -n "$CG" ] || return 0
	for p in $ONLY; do
		pid_var=PID_${p^^}
		cg_move "${!pid_var}" "$(cg_root)" 2>/dev/null
	done
	rmdir "$CG" 2>/dev/null
}
trap 'cg_done; bench_cleanup' EXIT

echo "-----> HTTPS and HTTP/2: wharf against HAProxy and nginx, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "       $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p'); kernel $(uname -r);" \
	"load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "       certificate: self-signed $KEYDESC for $NAME, the same file for every proxy"
echo "       each proxy $LIMIT; backend (nginx) and clients on cpu $LOAD_CPU"
echo "       nginx $(nginx -v 2>&1 | sed 's/.*\///'), HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p'), $(openssl version | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | sed -n '1s/wrk \([^ ]*\).*/\1/p'), $(h2load --version | head -1)"
for p in $ONLY; do
	port_var=PORT_${p^^}
	tls=$(openssl s_client -connect "127.0.0.1:${!port_var}" -servername "$NAME" -alpn h2 \
		</dev/null 2>/dev/null | awk -F': *' '/^New,/ {c = $0} /^ALPN protocol/ {a = $2}
		END {sub(/^New, /, "", c); print c ", ALPN " a}')
	echo "       $p: $tls"
	# Warm up: connections, upstream pools.
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d2s "https://$NAME:${!port_var}/" >/dev/null 2>&1
done

for round in $(seq 1 "$ROUNDS"); do
	for TEST in $TESTS; do
		for p in $ONLY; do
			port_var=PORT_${p^^}
			pid_var=PID_${p^^}
			measure "$TEST" "$p" "${!port_var}" "${!pid_var}" "$round"
		done
	done
done
echo "       load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

title() {
	case $1 in
	https1) echo "HTTPS/1.1 keep-alive: wrk -t1 -c$CONNS --latency" ;;
	handshake) echo "New TLS handshakes: hey -c$HS_CONNS -disable-keepalive, one full handshake per request (req/s = handshakes/s)" ;;
	h2) echo "HTTP/2: h2load -c$H2_CONNS -m$STREAMS ($((H2_CONNS * STREAMS)) streams in flight)" ;;
	h2-conns) echo "HTTP/2, many connections: h2load -c$MANY -m1" ;;
	esac
}
declare -A RPS P99
for TEST in $TESTS; do
	echo
	echo "## $(title "$TEST") — $DURATION s runs, median of $ROUNDS rounds by req/s (latency in ms)"
	echo
	printf '| %-8s | %10s | %8s | %8s | %6s | %9s | %8s | %-30s |\n' proxy req/s p50 p99 failed \
		"proxy CPU" "load CPU" "req/s of every round"
	printf '| %-8s | %10s | %8s | %8s | %6s | %9s | %8s | %-30s |\n' --- ---: ---: ---: ---: ---: ---: ---
	for p in $ONLY; do
		f=$(median_run rps_of "$D/$TEST-$p-"*.txt)
		[ -n "$f" ] || continue
		read -r rps p50 p99 failed <<<"$(figures "$TEST" "$f")"
		read -r cpu lcpu <<<"$(cat "${f/$TEST-/cpu-$TEST-}")"
		RPS[$TEST.$p]=$rps P99[$TEST.$p]=$p99
		printf '| %-8s | %10s | %8s | %8s | %6s | %8s%% | %7s%% | %-30s |\n' "$p" "$rps" "$p50" \
			"$p99" "$failed" "$cpu" "$lcpu" "$(for f in "$D/$TEST-$p-"*.txt; do rps_of "$f"; done |
				tr '\n' ' ')"
	done
	if [ -n "${RPS[$TEST.wharf]:-}" ]; then
		echo
		for p in $ONLY; do
			[ "$p" = wharf ] || [ -z "${RPS[$TEST.$p]:-}" ] && continue
			echo "- wharf vs $p: req/s x$(ratio "${RPS[$TEST.wharf]}" "${RPS[$TEST.$p]}")," \
				"p99 x$(ratio "${P99[$TEST.wharf]}" "${P99[$TEST.$p]}") (lower is better)"
		done
	fi
done
echo
printf '| %-8s | %9s |\n' proxy "RSS MiB"
printf '| %-8s | %9s |\n' --- ---:
for p in $ONLY; do
	pid_var=PID_${p^^}
	printf '| %-8s | %9s |\n' "$p" "$(awk -v k="$(rss_kb "${!pid_var}")" 'BEGIN { printf "%.1f", k / 1024 }')"
done
