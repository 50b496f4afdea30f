# shellcheck shell=bash
# bench/lib.sh - what the bench scripts share: a temp dir whose processes are stopped (by
# pid) and removed at exit, free loopback ports, waiting for a port, a process tree's RSS,
# the request headers nginx and HAProxy add as wharf does, reading wrk's and hey's output,
# medians of rounds and a CPU cgroup holding a proxy to a share of a core.

# bench_setup PREFIX: D=a new temp dir /tmp/PREFIX.XXXXXX; every pid added to PIDS is
# killed (TERM, then KILL) and D removed when the script exits.
bench_setup() {
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	PIDS=()
	trap bench_cleanup EXIT
}

# Children are signalled too: on a loaded machine nginx's master may not have passed TERM
# on to its worker before it is killed, and the orphaned worker would outlive the run.
bench_cleanup() {
	local p all=() _
	for p in "${PIDS[@]}"; do
		# shellcheck disable=SC2207 # pids: one word each
		all+=("$p" $(ps -o pid= --ppid "$p" 2>/dev/null))
	done
	for p in "${all[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for _ in $(seq 1 30); do
		for p in "${all[@]}"; do
			kill -0 "$p" 2>/dev/null && break
		done
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	for p in "${all[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$D"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # PORT: until something accepts on it (5 s at most)
	local _
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench: nothing listens on $1" >&2
	return 1
}

rss_kb() { # PID: RSS in KiB of it and its children (nginx: master + worker)
	local pid=$1 total r
	total=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || total=0
	for r in $(ps -o rss= --ppid "$pid" 2>/dev/null); do
		total=$((${total:-0} + r))
	done
	echo "${total:-0}"
}

# The request headers wharf adds to every request (X-Forwarded-For/-Proto/-Host/-Port,
# X-Request-Id, X-Request-Start), set the way Dokku's nginx template sets them, so that every
# proxy does the same work per request and the backend parses the same heads (SAME_HEADERS=0:
# nginx and HAProxy forward the request as it came).
nginx_headers() {
	cat <<'EOF'
		proxy_set_header Host $http_host;
		proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		proxy_set_header X-Forwarded-Proto $scheme;
		proxy_set_header X-Forwarded-Host $host;
		proxy_set_header X-Forwarded-Port $server_port;
		proxy_set_header X-Request-Id $request_id;
		proxy_set_header X-Request-Start "t=${msec}";
EOF
}
haproxy_headers() { # [SCHEME]: what X-Forwarded-Proto says (http)
	cat <<EOF
	option forwardfor
	unique-id-format %[uuid()]
	unique-id-header X-Request-Id
	http-request set-header X-Forwarded-Proto ${1:-http}
	http-request set-header X-Forwarded-Host %[req.hdr(host)]
	http-request set-header X-Forwarded-Port %[dst_port]
	http-request set-header X-Request-Start t=%Ts%ms
EOF
}
# The http{} lines every nginx config here shares: no access log, keep-alive for as long as
# a run lasts, temp paths under $D/tmp.
nginx_http_common() {
	cat <<EOF
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	client_body_temp_path $D/tmp/body;
	proxy_temp_path $D/tmp/proxy;
	fastcgi_temp_path $D/tmp/fastcgi;
	uwsgi_temp_path $D/tmp/uwsgi;
	scgi_temp_path $D/tmp/scgi;
EOF
}
# The defaults section of every HAProxy config here: HTTP mode, keep-alive both ways,
# upstream connections shared between clients (as nginx's keepalive pool and wharf's).
haproxy_defaults() {
	cat <<'EOF'
defaults
	mode http
	timeout connect 5s
	timeout client 120s
	timeout server 60s
	timeout http-keep-alive 120s
	option http-keep-alive
	http-reuse always
EOF
}
stop_pid() { # PID: TERM, then KILL after 5 s
	kill "$1" 2>/dev/null || true
	local _
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}

# ---- wrk, hey and their numbers ------------------------------------------------------
to_ms() {   # "1.23ms" / "850.00us" / "1.01s" -> milliseconds
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else printf "%s", v }'
}
wrk_rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
wrk_pct() { to_ms "$(awk -v p="$2%" '$1 == p {print $2; exit}' "$1")"; }
wrk_failed() {   # non-2xx/3xx + socket errors
	awk '/Non-2xx/ {n += $NF} /Socket errors/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { v = $i; sub(/,/, "", v); n += v } }
		END {print n + 0}' "$1"
}
wrk_total() { awk '/requests in/ {print $1}' "$1"; }

# CPU time (clock ticks, user + system) of a process and its children (nginx's worker).
cpu_ticks() {
	local pid total=0 t
	for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || t=0
		total=$((total + ${t:-0}))
	done
	echo "$total"
}
# Busy ticks of one CPU from /proc/stat (everything but idle and iowait).
core_busy() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# median_run FN FILE...: the FILE whose figure (`FN FILE` prints it) is the median.
median_run() {
	local fn=$1 f
	shift
	for f in "$@"; do echo "$($fn "$f") $f"; done | sort -n |
		awk '{a[NR] = $2} END {print a[int((NR + 1) / 2)]}'
}
# ratio A B: A / B to two decimals (- when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- a CPU cgroup holding a proxy to QUOTA% of a core ---------------------------------
cg_setup() {   # makes $CG, a cgroup with a QUOTA% CPU limit; fails where cgroups are not writable
	local base
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then        # cgroup v2
		base=/sys/fs/cgroup
		grep -qw cpu "$base/cgroup.subtree_control" 2>/dev/null ||
			echo +cpu >"$base/cgroup.subtree_control" 2>/dev/null || return 1
		CG=$base/wharf-bench.$$
		mkdir "$CG" 2>/dev/null && echo "$((QUOTA * 100)) 10000" >"$CG/cpu.max" 2>/dev/null
	elif [ -d /sys/fs/cgroup/cpu ]; then                      # cgroup v1
		base=/sys/fs/cgroup/cpu
		CG=$base/wharf-bench.$$
		mkdir "$CG" 2>/dev/null && echo 10000 >"$CG/cpu.cfs_period_us" &&
			echo "$((QUOTA * 100))" >"$CG/cpu.cfs_quota_us" 2>/dev/null
	else
		return 1
	fi
}
cg_move() {   # PID DIR: the process and its children into cgroup DIR
	local p
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$p" >"$2/cgroup.procs" 2>/dev/null || return 1
	done
}
cg_root() { dirname "$CG"; }
# hey_pct FILE PCT: the PCT-th percentile of a hey report, in ms.
hey_pct() { awk -v p="$2%" '$1 == p && $2 == "in" {printf "%.3f", $3 * 1000; exit}' "$1"; }
