#!/usr/bin/env bash
# bench/run.sh - `make bench`: the wharf router against nginx and HAProxy on loopback.
#
# 1. Throughput: wrk with keep-alive against direct-to-backend, nginx (upstream keepalive),
#    HAProxy (http-reuse always) and `wharf router`; each proxy pinned to core 0, the backend
#    (nginx answering "ok") and wrk to core 1. Prints req/s, p50, p99, RSS and wharf's ratios.
# 2. Capacity: the same load with every proxy held to QUOTA% of its core by a CPU cgroup,
#    so that the proxy, not wrk and the backend on the other core, is the limit.
# 3. Latency: hey offering the same fixed RATE to each, under every proxy's capacity.
# 4. Memory: wharf's idle RSS, and every proxy's RSS holding IDLE_CLIENTS idle keep-alive
#    clients (each past one request).
# 5. Swaps: SWAPS times moves the app between two backends under CONNS wrk connections
#    (wharf: control API PUT with a health check; nginx: config rewrite + reload; HAProxy:
#    runtime API `set server` on its stats socket) and prints failed requests
#    (non-2xx + socket errors as wrk counts them).
# Everything listens on 127.0.0.1 ephemeral ports; every load is bounded by time (and the
# swap loops by count); what is started is stopped by pid.
#
# Knobs: ROUNDS=3 DURATION=10 CONNS=50 QUOTA=50 RATE=10000 SAME_HEADERS=1 IDLE_CLIENTS=10000 SWAPS=100 SWAP_PAUSE=0.05
#        ONLY="wharf nginx"
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
SWAPS=${SWAPS:-100}
SWAP_PAUSE=${SWAP_PAUSE:-0.05}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
HOSTNAME_HDR=bench.local
SAME_HEADERS=${SAME_HEADERS:-1}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v haproxy >/dev/null || need+=(haproxy)
command -v hey >/dev/null || need+=(hey)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	apt-get install -y -qq "${need[@]}" >/dev/null || { echo "bench: cannot install ${need[*]}" >&2; exit 1; }
fi
# The router binary the systemd unit runs (bin/wharf-router: `wharf router` without the
# libraries only the other commands need).
[ -x "$REPO/bin/wharf-router" ] || make -C "$REPO" -s || exit 1

# Idle clients, proxies and the backend each need one descriptor per connection.
# Root may raise the hard limit; anyone may go up to it.
ulimit -n $((IDLE_CLIENTS * 2 + 5000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
# The limit is per process: the client holds N, each proxy N and a few upstreams.
if [ "$FDS" != unlimited ] && [ $((IDLE_CLIENTS + 1000)) -gt "$FDS" ]; then
	IDLE_CLIENTS=$((FDS - 1000))
	echo "bench: ulimit -n is $FDS; idle clients lowered to $IDLE_CLIENTS" >&2
fi

# HAProxy refuses to start unless it has 2 descriptors per connection of maxconn.
HAPROXY_MAXCONN=$((IDLE_CLIENTS + 1000))
[ "$FDS" = unlimited ] || [ $((HAPROXY_MAXCONN * 2 + 100)) -le "$FDS" ] ||
	HAPROXY_MAXCONN=$(((FDS - 100) / 2))
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
bench_setup wharf-bench

nginx_common() {   # the parts every nginx config here shares
	cat <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $FDS;
error_log $D/nginx-\$1-error.log warn;
events { worker_connections $((FDS - 100)); multi_accept on; }
EOF
}

# ---- the backend: nginx on LOAD_CPU answering "ok" (and "a"/"b" for the swaps) -----
mkdir -p "$D/tmp"
PB=$(free_port) PA2=$(free_port) PB2=$(free_port)
# shellcheck disable=SC2028 # the \n in the return lines is nginx's, in its config
{
	nginx_common | sed "s/\\\$1/backend/"
	echo "pid $D/backend.pid;"
	echo "http {"
	nginx_http_common
	echo "	server { listen 127.0.0.1:$PB; location / { return 200 \"ok\n\"; } }"
	echo "	server { listen 127.0.0.1:$PA2; location / { return 200 \"a\n\"; } }"
	echo "	server { listen 127.0.0.1:$PB2; location / { return 200 \"b\n\"; } }"
	echo "}"
} >"$D/backend.conf"
taskset -c "$LOAD_CPU" nginx -c "$D/backend.conf" -p "$D" 2>"$D/backend.err" &
PIDS+=($!)
wait_port "$PB" && wait_port "$PA2" && wait_port "$PB2" || { cat "$D/backend.err" >&2; exit 1; }

# ---- the proxies ---------------------------------------------------------------------
# start_X TARGET_PORT -> sets PORT_X and PID_X
start_nginx() {
	PORT_NGINX=$(free_port)
	{
		nginx_common | sed "s/\\\$1/proxy/"
		echo "pid $D/nginx.pid;"
		echo "http {"
		nginx_http_common
		echo "	include $D/nginx-upstream.conf;"
		echo "	server { listen 127.0.0.1:$PORT_NGINX; location / { proxy_pass http://app;"
		echo "		proxy_http_version 1.1; proxy_set_header Connection \"\";"
		[ "$SAME_HEADERS" = 0 ] || nginx_headers
		echo "	} }"
		echo "}"
	} >"$D/nginx.conf"
	nginx_upstream "$1"
	taskset -c "$PROXY_CPU" nginx -c "$D/nginx.conf" -p "$D" 2>"$D/nginx.err" &
	PID_NGINX=$!
	PIDS+=("$PID_NGINX")
	wait_port "$PORT_NGINX"
}
nginx_upstream() {
	echo "upstream app { server 127.0.0.1:$1; keepalive 64; keepalive_requests 100000000; }" \
		>"$D/nginx-upstream.conf"
}

start_haproxy() {   # TARGET_PORT [SECOND_PORT: a disabled second server for the swaps]
	PORT_HAPROXY=$(free_port)
	cat >"$D/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn $HAPROXY_MAXCONN
	stats socket $D/haproxy.sock mode 600 level admin
$(haproxy_defaults)
frontend fe
	bind 127.0.0.1:$PORT_HAPROXY
	maxconn $HAPROXY_MAXCONN
	default_backend be
$([ "$SAME_HEADERS" = 0 ] || haproxy_headers http)
backend be
	server a 127.0.0.1:$1
EOF
	[ -z "${2:-}" ] || echo "	server b 127.0.0.1:$2 disabled" >>"$D/haproxy.cfg"
	taskset -c "$PROXY_CPU" haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 &
	PID_HAPROXY=$!
	PIDS+=("$PID_HAPROXY")
	wait_port "$PORT_HAPROXY" || { cat "$D/haproxy.log" >&2; return 1; }
}
haproxy_cmd() {
	python3 - "$D/haproxy.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
EOF
}

start_wharf() {
	PORT_WHARF=$(free_port)
	rm -rf "$D/wharf"
	mkdir -p "$D/wharf"
	WHARF_ROOT=$D/wharf WHARF_ROUTER_SOCKET=$D/wharf.sock taskset -c "$PROXY_CPU" \
		"$REPO/bin/wharf-router" --listen "127.0.0.1:$PORT_WHARF" 2>"$D/wharf.log" &
	PID_WHARF=$!
	PIDS+=("$PID_WHARF")
	wait_port "$PORT_WHARF" || { cat "$D/wharf.log" >&2; return 1; }
	wharf_put "$1" >/dev/null
}
wharf_put() {   # TARGET_PORT [health]: prints the HTTP status
	local health=
	[ -z "${2:-}" ] || health=', "health": {"path": "/", "interval_ms": 10, "timeout_ms": 1000, "deadline_ms": 5000}'
	curl -s -o /dev/null -w '%{http_code}' -m 30 --unix-socket "$D/wharf.sock" -X PUT \
		http://x/apps/bench -d "{\"domains\": [\"$HOSTNAME_HDR\"],
		\"targets\": [\"127.0.0.1:$1\"]$health, \"drain_timeout_ms\": 5000}"
}

# ---- wrk and its numbers (the parsers are in lib.sh) -----------------------------------
run_wrk() {   # NAME PORT: writes $D/wrk-NAME.txt
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
		-H "Host: $HOSTNAME_HDR" "http://127.0.0.1:$2/" >"$D/wrk-$1.txt" 2>&1
}

CLK_TCK=$(getconf CLK_TCK)
declare -A RPS P50 P99 RSS FAIL CPU LOADCPU
# One wrk run per round for NAME; after the last round keeps the run with the median
# req/s (the machine may be shared: rounds are interleaved across the targets).
# Beside each run: the share of one core the proxy used, and how busy the load core was
# (when the load core is at ~100% and the proxy is not, the figure is the load's limit).
measure() {   # NAME PORT PID ROUND
	local c0 c1 l0 l1 t0 t1
	c0=$(cpu_ticks "$3") l0=$(core_busy "$LOAD_CPU") t0=$(date +%s.%N)
	run_wrk "$1-$4" "$2"
	c1=$(cpu_ticks "$3") l1=$(core_busy "$LOAD_CPU") t1=$(date +%s.%N)
	awk -v a="$c0" -v b="$c1" -v la="$l0" -v lb="$l1" -v s="$t0" -v e="$t1" -v hz="$CLK_TCK" \
		'BEGIN { printf "%.0f %.0f\n", 100 * (b - a) / hz / (e - s), 100 * (lb - la) / hz / (e - s) }' \
		>"$D/cpu-$1-$4.txt"
	RSS[$1]=$(rss_kb "$3")
	[ -n "$(wrk_rps "$D/wrk-$1-$4.txt")" ] || { echo "bench: wrk failed for $1:" >&2; cat "$D/wrk-$1-$4.txt" >&2; }
}
pick_median() {   # NAME
	local f
	f=$(median_run wrk_rps "$D/wrk-$1-"*.txt)
	[ -n "$f" ] || return 0
	RPS[$1]=$(wrk_rps "$f")
	read -r "CPU[$1]" "LOADCPU[$1]" <"${f/wrk-/cpu-}"
	P50[$1]=$(wrk_pct "$f" 50)
	P99[$1]=$(wrk_pct "$f" 99)
	FAIL[$1]=$(wrk_failed "$f")
	ALL_RPS[$1]=$(for f in "$D/wrk-$1-"*.txt; do wrk_rps "$f"; done | tr '\n' ' ')
}
declare -A ALL_RPS

idle_rss() {   # NAME PORT PID [N]: RSS with N (IDLE_CLIENTS) idle keep-alive clients
	local fifo=$D/idle-$1.fifo line pid
	mkfifo "$fifo"
	taskset -c "$LOAD_CPU" python3 "$REPO/bench/idle_clients.py" "$2" "$HOSTNAME_HDR" \
		"${4:-$IDLE_CLIENTS}" 120 <"$fifo" >"$D/idle-$1.out" &
	pid=$!
	PIDS+=("$pid")
	exec 5>"$fifo"
	for _ in $(seq 1 1200); do
		line=$(cat "$D/idle-$1.out")
		[ -n "$line" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.5
	IDLE_RSS[$1]=$(rss_kb "$3")
	IDLE_OK[$1]=$(awk '{print $2}' "$D/idle-$1.out")
	exec 5>&-
	stop_pid "$pid"
	rm -f "$fifo"
}
declare -A IDLE_RSS IDLE_OK

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "-----> wharf router benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "       $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p'); kernel $(uname -r)"
echo "       wrk -t1 -c$CONNS -d${DURATION}s keep-alive; proxy on cpu $PROXY_CPU, backend and wrk on cpu $LOAD_CPU"
if [ "$SAME_HEADERS" = 0 ]; then
	echo "       nginx and HAProxy forward requests as they came (SAME_HEADERS=0); wharf adds its 6 headers"
else
	echo "       every proxy adds X-Forwarded-For/-Proto/-Host/-Port, X-Request-Id, X-Request-Start (as wharf does)"
fi
echo "       nginx $(nginx -v 2>&1 | sed 's/.*\///'), HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p'), wrk $(wrk -v 2>&1 | sed -n '1s/wrk \([^ ]*\).*/\1/p')"

ONLY=${ONLY:-direct nginx haproxy wharf}
ROUNDS=${ROUNDS:-3}
for name in $ONLY; do
	case $name in
	nginx) start_nginx "$PB" || exit 1 ;;
	haproxy) start_haproxy "$PB" || exit 1 ;;
	wharf)
		start_wharf "$PB" || exit 1
		sleep 0.3
		WHARF_IDLE_RSS=$(rss_kb "$PID_WHARF")
		WHARF_IDLE_ANON=$(awk '/^RssAnon/ {print $2}' "/proc/$PID_WHARF/status")
		;;
	esac
done
for round in $(seq 1 "$ROUNDS"); do
	for name in $ONLY; do
		case $name in
		direct) measure direct "$PB" "${PIDS[0]}" "$round" ;;
		nginx) measure nginx "$PORT_NGINX" "$PID_NGINX" "$round" ;;
		haproxy) measure haproxy "$PORT_HAPROXY" "$PID_HAPROXY" "$round" ;;
		wharf) measure wharf "$PORT_WHARF" "$PID_WHARF" "$round" ;;
		esac
	done
done
for name in $ONLY; do
	pick_median "$name"
done

echo
echo "## Throughput (median of $ROUNDS interleaved runs by req/s; latency in ms; RSS after the runs)"
echo
printf '| %-8s | %10s | %8s | %8s | %9s | %6s | %9s | %8s | %13s | %-28s |\n' target req/s p50 p99 "RSS MiB" failed "proxy CPU" "load CPU" "req/s per core" "req/s of every round"
printf '| %-8s | %10s | %8s | %8s | %9s | %6s | %9s | %8s | %13s | %-28s |\n' --- ---: ---: ---: ---: ---: ---: ---: ---: ---
for name in $ONLY; do
	[ -n "${RPS[$name]:-}" ] || continue
	pcpu=- per=-
	if [ "$name" != direct ]; then
		pcpu="${CPU[$name]}%"
		per=$(awk -v r="${RPS[$name]}" -v c="${CPU[$name]}" 'BEGIN { if (c > 0) printf "%.0f", r * 100 / c; else print "-" }')
	fi
	printf '| %-8s | %10s | %8s | %8s | %9s | %6s | %9s | %8s | %13s | %-28s |\n' "$name" "${RPS[$name]}" \
		"${P50[$name]}" "${P99[$name]}" "$(mb "${RSS[$name]}")" "${FAIL[$name]}" "$pcpu" \
		"${LOADCPU[$name]}%" "$per" "${ALL_RPS[$name]}"
done
echo
echo "proxy CPU: share of one core the proxy used during the run; load CPU: how busy cpu $LOAD_CPU"
echo "(wrk + backend) was; req/s per core = req/s / proxy CPU, what the proxy serves per core-second."
echo "A proxy below ~95% while the load core is near 100% is waiting for the load, not at its limit."
if [ -n "${RPS[wharf]:-}" ]; then
	echo
	echo "wharf's ratios (req/s: wharf / other, higher is better; p99: wharf / other, lower is better):"
	echo
	for name in $ONLY; do
		[ "$name" = wharf ] || [ -z "${RPS[$name]:-}" ] && continue
		echo "- vs $name: req/s x$(ratio "${RPS[wharf]}" "${RPS[$name]}"), p99 x$(ratio "${P99[wharf]}" "${P99[$name]}")"
	done
	echo
	echo "wharf idle RSS (one app, before any request): $(mb "$WHARF_IDLE_RSS") MiB" \
		"(of which anonymous memory: $(mb "$WHARF_IDLE_ANON") MiB; the rest is shared library pages)"
fi

# ---- capacity: every proxy held to the same share of a core ------------------------------
# In the runs above wrk and the backend share one core, and at ~40k req/s that core, not
# the proxy's, is the limit (the load CPU column). Here each proxy is held to QUOTA% of a
# core by a CPU cgroup (cfs quota over a 10 ms period), so the proxy is the bottleneck
# and req/s measures what a proxy serves per unit of CPU. Latency here is shaped by the
# quota's throttling, so only req/s is compared.
QUOTA=${QUOTA:-50}
CG=
declare -A CAP_RPS CAP_ALL
if [ "${QUOTA:-0}" -gt 0 ] && cg_setup; then
	for round in $(seq 1 "$ROUNDS"); do
		for name in $ONLY; do
			case $name in
			nginx) port=$PORT_NGINX pid=$PID_NGINX ;;
			haproxy) port=$PORT_HAPROXY pid=$PID_HAPROXY ;;
			wharf) port=$PORT_WHARF pid=$PID_WHARF ;;
			*) continue ;;
			esac
			cg_move "$pid" "$CG" || { echo "bench: cannot move $name into $CG" >&2; continue; }
			run_wrk "cap-$name-$round" "$port"
			cg_move "$pid" "$(cg_root)"
		done
	done
	rmdir "$CG" 2>/dev/null
	echo
	echo "## Capacity: each proxy held to $QUOTA% of one core (CPU cgroup quota), so the proxy is the limit"
	echo
	printf '| %-8s | %10s | %-28s |\n' proxy req/s "req/s of every round"
	printf '| %-8s | %10s | %-28s |\n' --- ---: ---
	for name in $ONLY; do
		[ "$name" = direct ] && continue
		f=$(median_run wrk_rps "$D/wrk-cap-$name-"*.txt)
		[ -n "$f" ] && [ -n "$(wrk_rps "$f")" ] || continue
		CAP_RPS[$name]=$(wrk_rps "$f")
		CAP_ALL[$name]=$(for f in "$D/wrk-cap-$name-"*.txt; do wrk_rps "$f"; done | tr '\n' ' ')
		printf '| %-8s | %10s | %-28s |\n' "$name" "${CAP_RPS[$name]}" "${CAP_ALL[$name]}"
	done
	if [ -n "${CAP_RPS[wharf]:-}" ]; then
		echo
		for name in $ONLY; do
			[ "$name" = wharf ] || [ -z "${CAP_RPS[$name]:-}" ] && continue
			echo "- wharf vs $name at $QUOTA% of a core: req/s x$(ratio "${CAP_RPS[wharf]}" "${CAP_RPS[$name]}")"
		done
	fi
else
	echo
	echo "(capacity run skipped: QUOTA=0, or CPU cgroups are not writable here)"
fi

# ---- latency at a fixed rate -------------------------------------------------------------
# wrk runs a closed loop as fast as it can, so its latencies above are the saturated load
# core's queueing (50 connections / req/s). Here hey sends RATE req/s in all (CONNS
# keep-alive workers, each rate-limited) — well under every proxy's capacity, so no core
# is saturated and p50/p99 are the time a request spends in the proxy and the loopback
# path, the same offered load for each.
RATE=${RATE:-10000}
declare -A LAT_P50 LAT_P99 LAT_RPS LAT_ERR
hey_p99() { hey_pct "$1" 99; }
if [ "$RATE" -gt 0 ]; then
	for round in $(seq 1 "$ROUNDS"); do
		for name in $ONLY; do
			case $name in
			direct) port=$PB ;;
			nginx) port=$PORT_NGINX ;;
			haproxy) port=$PORT_HAPROXY ;;
			wharf) port=$PORT_WHARF ;;
			*) continue ;;
			esac
			taskset -c "$LOAD_CPU" hey -z "${DURATION}s" -c "$CONNS" -q $((RATE / CONNS)) \
				-host "$HOSTNAME_HDR" "http://127.0.0.1:$port/" >"$D/hey-$name-$round.txt" 2>&1
		done
	done
	echo
	echo "## Latency at a fixed rate: $RATE req/s offered by hey over $CONNS keep-alive connections (ms; median round by p99)"
	echo
	printf '| %-8s | %10s | %8s | %8s | %6s | %-28s |\n' target req/s p50 p99 failed "p99 of every round"
	printf '| %-8s | %10s | %8s | %8s | %6s | %-28s |\n' --- ---: ---: ---: ---: ---
	for name in $ONLY; do
		f=$(median_run hey_p99 "$D/hey-$name-"*.txt)
		[ -n "$f" ] && [ -n "$(hey_pct "$f" 99)" ] || { [ -z "$f" ] || cat "$f" >&2; continue; }
		LAT_P50[$name]=$(hey_pct "$f" 50)
		LAT_P99[$name]=$(hey_pct "$f" 99)
		LAT_RPS[$name]=$(awk '/Requests\/sec:/ {print $2}' "$f")
		LAT_ERR[$name]=$(awk '/^Status code distribution/ {s = 1; next} s && /\[[0-9]+\]/ {
			gsub(/[][]/, "", $1); if ($1 !~ /^2/) n += $2 } /^Error distribution/ {e = 1; next}
			e && /^ *\[[0-9]+\]/ {v = $1; gsub(/[][]/, "", v); n += v} END {print n + 0}' "$f")
		printf '| %-8s | %10s | %8s | %8s | %6s | %-28s |\n' "$name" "${LAT_RPS[$name]}" \
			"${LAT_P50[$name]}" "${LAT_P99[$name]}" "${LAT_ERR[$name]}" \
			"$(for f in "$D/hey-$name-"*.txt; do hey_pct "$f" 99; echo -n ' '; done)"
	done
	if [ -n "${LAT_P99[wharf]:-}" ]; then
		echo
		for name in $ONLY; do
			[ "$name" = wharf ] || [ "$name" = direct ] || [ -z "${LAT_P99[$name]:-}" ] && continue
			echo "- wharf vs $name at $RATE req/s: p50 x$(ratio "${LAT_P50[wharf]}" "${LAT_P50[$name]}"), p99 x$(ratio "${LAT_P99[wharf]}" "${LAT_P99[$name]}") (lower is better)"
		done
	fi
fi

if [ "$IDLE_CLIENTS" -gt 0 ]; then
	for name in $ONLY; do
		case $name in
		nginx) idle_rss nginx "$PORT_NGINX" "$PID_NGINX" ;;
		haproxy)
			n=$IDLE_CLIENTS
			[ "$n" -lt $((HAPROXY_MAXCONN - 100)) ] || n=$((HAPROXY_MAXCONN - 100))
			idle_rss haproxy "$PORT_HAPROXY" "$PID_HAPROXY" "$n"
			;;
		wharf) idle_rss wharf "$PORT_WHARF" "$PID_WHARF" ;;
		esac
	done
	echo
	echo "## Memory with $IDLE_CLIENTS idle keep-alive clients (each after one request; ulimit -n $FDS)"
	echo
	printf '| %-8s | %9s | %8s |\n' proxy "RSS MiB" clients
	printf '| %-8s | %9s | %8s |\n' --- ---: ---:
	for name in $ONLY; do
		[ -n "${IDLE_RSS[$name]:-}" ] || continue
		printf '| %-8s | %9s | %8s |\n' "$name" "$(mb "${IDLE_RSS[$name]}")" "${IDLE_OK[$name]}"
	done
fi

# ---- swaps under load ---------------------------------------------------------------------
[ "$SWAPS" -gt 0 ] || exit 0
for name in $ONLY; do
	case $name in
	nginx) stop_pid "$PID_NGINX" ;;
	haproxy) stop_pid "$PID_HAPROXY" ;;
	wharf) stop_pid "$PID_WHARF" ;;
	esac
done

declare -A SWAP_FAIL SWAP_TOTAL SWAP_SECS SWAP_ERR
swap_under_load() {   # NAME PORT SWAPFN
	local name=$1 port=$2 fn=$3 wrk_pid i t0 t1 target errs=0
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d600s -H "Host: $HOSTNAME_HDR" \
		"http://127.0.0.1:$port/" >"$D/swap-$name.txt" 2>&1 &
	wrk_pid=$!
	PIDS+=("$wrk_pid")
	sleep 1
	t0=$(date +%s.%N)
	for i in $(seq 1 "$SWAPS"); do
		if [ $((i % 2)) -eq 1 ]; then target=$PB2; else target=$PA2; fi
		$fn "$target" "$i" || errs=$((errs + 1))
		sleep "$SWAP_PAUSE"
	done
	t1=$(date +%s.%N)
	sleep 1
	kill -INT "$wrk_pid" 2>/dev/null
	wait "$wrk_pid" 2>/dev/null
	SWAP_FAIL[$name]=$(wrk_failed "$D/swap-$name.txt")
	SWAP_TOTAL[$name]=$(wrk_total "$D/swap-$name.txt")
	SWAP_SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	SWAP_ERR[$name]=$errs
}
swap_wharf() { [ "$(wharf_put "$1" health)" = 200 ]; }
swap_nginx() {
	nginx_upstream "$1"
	kill -HUP "$(cat "$D/nginx.pid")"
}
swap_haproxy() {
	# Bring the other server in before taking the current one out: no empty moment.
	if [ $(($2 % 2)) -eq 1 ]; then
		haproxy_cmd "set server be/b state ready" >/dev/null &&
			haproxy_cmd "set server be/a state maint" >/dev/null
	else
		haproxy_cmd "set server be/a state ready" >/dev/null &&
			haproxy_cmd "set server be/b state maint" >/dev/null
	fi
}

for name in $ONLY; do
	case $name in
	nginx)
		start_nginx "$PA2" && swap_under_load nginx "$PORT_NGINX" swap_nginx
		stop_pid "$PID_NGINX"
		;;
	haproxy)
		start_haproxy "$PA2" "$PB2" && swap_under_load haproxy "$PORT_HAPROXY" swap_haproxy
		stop_pid "$PID_HAPROXY"
		;;
	wharf)
		start_wharf "$PA2" && swap_under_load wharf "$PORT_WHARF" swap_wharf
		stop_pid "$PID_WHARF"
		;;
	esac
done
echo
echo "## $SWAPS swaps between two backends under $CONNS keep-alive connections (wrk, unbounded rate)"
echo
printf '| %-8s | %-34s | %9s | %8s | %7s | %11s |\n' proxy "swap by" requests failed seconds "swap errors"
printf '| %-8s | %-34s | %9s | %8s | %7s | %11s |\n' --- --- ---: ---: ---: ---:
for name in $ONLY; do
	[ -n "${SWAP_FAIL[$name]:-}" ] || continue
	case $name in
	nginx) how="config rewrite + reload (SIGHUP)" ;;
	haproxy) how="runtime API set server state" ;;
	wharf) how="control API PUT, health-checked" ;;
	esac
	printf '| %-8s | %-34s | %9s | %8s | %7s | %11s |\n' "$name" "$how" "${SWAP_TOTAL[$name]}" \
		"${SWAP_FAIL[$name]}" "${SWAP_SECS[$name]}" "${SWAP_ERR[$name]}"
done
echo
echo "failed = non-2xx responses + socket errors (connect, read, write, timeout) counted by wrk."
