# tests/e2e/lib/router.bash - starting and stopping private `wharf router`s for the router*.bats
# files: one copy of the start/stop logic (and of its race fixes) instead of one per file.
#
# A router NAME keeps its files under $RT (the calling file's temp dir):
#   $RT/NAME.log    its output            $RT/NAME.pid   its pid (the router's own)
#   $RT/NAME.rc     its exit status, written when it ends (a background subshell waits for it)
#   $RT/NAME.port   the HTTP port it bound $RT/NAME.sport  the HTTPS port (with --listen-https)
# Its state is WHARF_ROOT=$RT/root and its control socket WHARF_ROUTER_SOCKET=$RT/router.sock
# unless ROUTER_ROOT / ROUTER_SOCKET say otherwise (set them on the call:
# `ROUTER_SOCKET=$RT/b.sock router_start b`); files that run the CLI export the same two.
# The binary is $WHARF_BIN (`WHARF_BIN router ARGS`), which the ASan stage of scripts/test.sh
# points at its sanitizer build; ROUTER_BIN=<path> runs <path> ARGS instead (bin/wharf-router).
# Every process here is started in the background with fd 3 (bats' TAP stream) closed, and
# stopped by its pid only.

: "${WHARF_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/bin/wharf}"
# free_port, free_ports, the backend (lib/backend.py), http_wait.
# shellcheck source=net.bash
. "$(dirname "${BASH_SOURCE[0]}")/net.bash"

# router_start NAME [ARGS...]: starts a router (ARGS default to `--listen 127.0.0.1:0`) and
# waits up to 10 s until it listens (HTTP, and HTTPS when ARGS have --listen-https); fails,
# showing its log, if it exits or never listens.
router_start() {
	local name=$1 _ port sport https=0 a
	shift
	[ $# -gt 0 ] || set -- --listen 127.0.0.1:0
	for a in "$@"; do
		[ "$a" = --listen-https ] && https=1
	done
	local cmd=("$WHARF_BIN" router)
	[ -z "${ROUTER_BIN:-}" ] || cmd=("$ROUTER_BIN")
	# The old files go now, not in the background subshell: otherwise the wait below may read
	# a previous router's "listening on" line (or exit status) and take its port.
	rm -f "$RT/$name.rc" "$RT/$name.port" "$RT/$name.sport" "$RT/$name.log" "$RT/$name.pid"
	(
		WHARF_ROOT=${ROUTER_ROOT:-$RT/root} WHARF_ROUTER_SOCKET=${ROUTER_SOCKET:-$RT/router.sock} \
			"${cmd[@]}" "$@" </dev/null >"$RT/$name.log" 2>&1 3>&- &
		echo $! >"$RT/$name.pid"
		wait $!
		echo $? >"$RT/$name.rc"
	) 3>&- &
	for _ in $(seq 1 100); do
		# The log may not exist yet (the subshell above has not run): not an error under set -e.
		port=$(sed -n 's/^wharf router: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' \
			"$RT/$name.log" 2>/dev/null) || true
		sport=$(sed -n 's/^wharf router: listening for HTTPS on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
			"$RT/$name.log" 2>/dev/null) || true
		if [ -n "$port" ] && { [ "$https" = 0 ] || [ -n "$sport" ]; }; then
			echo "$port" >"$RT/$name.port"
			[ -z "$sport" ] || echo "$sport" >"$RT/$name.sport"
			return 0
		fi
		[ -f "$RT/$name.rc" ] && break
		sleep 0.1
	done
	echo "router $name did not start:" >&2
	cat "$RT/$name.log" >&2
	return 1
}

# router_wait_exit NAME [SECONDS]: waits (default 15 s) until router NAME has ended.
router_wait_exit() {
	local name=$1 _
	for _ in $(seq 1 $((${2:-15} * 10))); do
		[ -f "$RT/$name.rc" ] && return 0
		sleep 0.1
	done
	return 1
}

# router_stop NAME: SIGCONT and SIGTERM, up to 15 s for it to end, then SIGKILL (and fails). A router that
# never started, or has ended, is fine.
router_stop() {
	local pid
	pid=$(cat "$RT/$1.pid" 2>/dev/null) || return 0
	[ -f "$RT/$1.rc" ] && return 0
	kill -CONT "$pid" 2>/dev/null || true    # a test may have stopped it (SIGSTOP)
	kill -TERM "$pid" 2>/dev/null || true
	router_wait_exit "$1" && return 0
	kill -KILL "$pid" 2>/dev/null || true
	router_wait_exit "$1" 5 || true
	return 1
}

# router_port NAME / router_sport NAME: the HTTP / HTTPS port router NAME bound.
router_port() {
	cat "$RT/$1.port"
}

router_sport() {
	cat "$RT/$1.sport"
}
