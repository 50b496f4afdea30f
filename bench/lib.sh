# shellcheck shell=bash
# bench/lib.sh - what the bench scripts share: a temp dir whose processes are stopped (by
# pid) and removed at exit, free loopback ports, waiting for a port, a process tree's RSS.

# bench_setup PREFIX: D=a new temp dir /tmp/PREFIX.XXXXXX; every pid added to PIDS is
# killed (TERM, then KILL) and D removed when the script exits.
bench_setup() {
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	PIDS=()
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in "${PIDS[@]}"; do
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
