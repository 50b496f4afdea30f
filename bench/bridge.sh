#!/usr/bin/env bash
# bench/bridge.sh - what the per-app networks (docs/security.md) cost the router: the same
# wharf router and wrk load against one Node.js backend on the host's loopback (as before:
# host networking) and one inside a network namespace behind a veth pair on a bridge (as now: the
# container's address on its app's bridge network), ROUNDS interleaved runs each, plus
# wrk straight to each backend. Needs root (ip netns); everything it makes it removes.
#   ROUNDS=3 DURATION=10 CONNS=50 bench/bridge.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/lib.sh"
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNS=${CONNS:-50}
NS=wharfbench$$ VH=wbh$$ VN=wbn$$ BR=wbb$$ NET=${BENCH_NET:-10.251.$((RANDOM % 250)).}
D=$(mktemp -d /var/tmp/wharf-bridge.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip link del "$VH" 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
# As Docker does it: the host's end of the veth on a bridge that holds the host's address.
ip link add "$BR" type bridge
ip link set "$VH" master "$BR"
ip addr add "${NET}1/30" dev "$BR"
ip link set "$BR" up
ip link set "$VH" up
ip -n "$NS" addr add "${NET}2/30" dev "$VN"
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up
cat >"$D/server.js" <<'JS'
require("http").createServer((q, s) => s.end("ok\n")).listen(+process.argv[3], process.argv[2]);
JS
LO_PORT=$(free_port)
taskset -c 1 node "$D/server.js" 127.0.0.1 "$LO_PORT" & PIDS+=($!)
ip netns exec "$NS" taskset -c 1 node "$D/server.js" "${NET}2" 8080 & PIDS+=($!)
RP=$(free_port)
WHARF_ROOT=$D/wharf WHARF_ROUTER_SOCKET=$D/ctl.sock taskset -c 0 \
	"$REPO/bin/wharf-router" --listen "127.0.0.1:$RP" 2>"$D/router.log" & PIDS+=($!)
sleep 1
put() {
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$D/ctl.sock" -X PUT http://x/apps/b \
		-d "{\"domains\": [\"b.local\"], \"targets\": [\"$1\"]}"
}
run_wrk() {   # URL [Host]: req/s and p99
	taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency ${2:+-H "Host: $2"} "$1" |
		awk '/Requests\/sec/ { r = $2 } /^ +99%/ { p = $2 } END { print r, p }'
}
echo "-----> router to loopback vs to a bridged namespace, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS x ${DURATION}s, $CONNS connections"
for r in $(seq 1 "$ROUNDS"); do
	echo "round $r: direct loopback  $(run_wrk "http://127.0.0.1:$LO_PORT/")"
	echo "round $r: direct bridged   $(run_wrk "http://${NET}2:8080/")"
	put "127.0.0.1:$LO_PORT" >/dev/null
	echo "round $r: wharf->loopback  $(run_wrk "http://127.0.0.1:$RP/" b.local)"
	put "${NET}2:8080" >/dev/null
	echo "round $r: wharf->bridged   $(run_wrk "http://127.0.0.1:$RP/" b.local)"
done
