#!/usr/bin/env bash
# bench/router-scale.sh - the router with APPS apps in its table: how long a control API PUT
# takes, and what PUTs do to proxied requests meanwhile, for an old and a new build.
#
# For each build: a private WHARF_ROOT and control socket under a temp dir, a table of APPS
# apps written as the router's state file (restored at start: loading 10,000 apps one PUT
# at a time costs the old build minutes), then for DURATION seconds wrk (CONNS keep-alive
# connections) against one app while PUTS sequential PUTs (each moving another app between
# two targets, no health check) run on the control socket. Prints PUT p50/p99/max and the
# proxied p50/p99/max side by side, and the records in the table's journal at the end.
#
# OLD: a router binary, or a git checkout/dir to build one from (default: HEAD of
# /work/main, exported and built in a temp dir); NEW: a router binary (default
# bin/wharf-router of this tree). Traffic goes to 127.0.0.1 only; what is started is
# stopped by pid; everything is bounded by count and time.
#
# Knobs: APPS=10000 PUTS=200 DURATION=20 CONNS=8 OLD=/work/main NEW=bin/wharf-router
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
APPS=${APPS:-10000}
PUTS=${PUTS:-200}
DURATION=${DURATION:-20}
CONNS=${CONNS:-8}
OLD=${OLD:-/work/main}
NEW=${NEW:-$REPO/bin/wharf-router}

command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
bench_setup wharf-scale

# ---- the builds --------------------------------------------------------------------
if [ -d "$OLD" ]; then
	echo "bench: building the old router from $OLD (git HEAD) in $D/old" >&2
	mkdir -p "$D/old"
	git -C "$OLD" archive HEAD | tar -x -C "$D/old" || exit 1
	nice make -C "$D/old" -s -j2 bin/wharf-router >"$D/old-build.log" 2>&1 ||
		{ cat "$D/old-build.log" >&2; exit 1; }
	OLD_REV=$(git -C "$OLD" rev-parse --short HEAD)
	OLD=$D/old/bin/wharf-router
else
	OLD_REV=$(basename "$OLD")
fi
[ -x "$NEW" ] || make -C "$REPO" -s bin/wharf-router || exit 1
NEW_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo new)

# ---- the backend: "ok" on two ports, keep-alive (python asyncio, one core) --------
PA=$(free_port) PB=$(free_port)
cat >"$D/backend.py" <<'EOF'
import asyncio, sys
BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
async def serve(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            w.write(BODY)
    except Exception:
        pass
    w.close()
async def main():
    servers = [await asyncio.start_server(serve, "127.0.0.1", int(p)) for p in sys.argv[1:]]
    await asyncio.gather(*(s.serve_forever() for s in servers))
asyncio.run(main())
EOF
python3 "$D/backend.py" "$PA" "$PB" </dev/null >"$D/backend.log" 2>&1 &
PIDS+=($!)

# ---- the table: APPS apps, app00000 .. , each on <name>.scale.test --------------------
python3 - "$APPS" "$PA" >"$D/table.json" <<'EOF'
import json, sys
n, port = int(sys.argv[1]), sys.argv[2]
apps = {"app%05d" % i: {"domains": ["app%05d.scale.test" % i], "targets": ["127.0.0.1:" + port],
                        "drain_timeout_ms": 30000} for i in range(n)}
print(json.dumps({"version": 1, "apps": apps}, indent=2, sort_keys=True))
EOF

# PUTs on the control socket, one after the other; prints one latency (ms) per line.
cat >"$D/puts.py" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[7])
from router_table import control_put
sock, n, apps, pa, pb, deadline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], time.time() + float(sys.argv[6])
for i in range(n):
    if time.time() > deadline:
        break
    app = "app%05d" % (1 + (i * 7919) % (apps - 1))     # never app00000, the one wrk hits
    port = pa if i % 2 else pb
    body = ('{"domains": ["%s.scale.test"], "targets": ["127.0.0.1:%s"]}' % (app, port)).encode()
    t = time.perf_counter()
    got = control_put(sock, app, body)
    ms = (time.perf_counter() - t) * 1000
    if not got.startswith(b"HTTP/1.1 200"):
        print("bench: PUT failed: %r" % got[:200], file=sys.stderr)
        sys.exit(1)
    print("%.3f" % ms)
    time.sleep(0.02)
EOF

pct() {   # FILE P: the P-th percentile of the numbers in FILE (one a line)
	sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { if (!NR) { print "-"; exit }
		i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

# wrk's --latency percentiles in ms (its units: us, ms, s).
wrk_ms() {   # FILE LABEL
	awk -v l="$2" '$1 == l { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
		else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
		printf "%.2f\n", v }' "$1"
}

run_one() {   # NAME BINARY
	local name=$1 bin=$2 root=$D/$1 port t0 t1
	mkdir -p "$root/router"
	cp "$D/table.json" "$root/router/table.json"
	t0=$(date +%s%N)
	WHARF_ROOT=$root WHARF_ROUTER_SOCKET=$root/router.sock \
		"$bin" --listen 127.0.0.1:0 </dev/null >"$root/router.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 300); do
		port=$(sed -n 's/^wharf router: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' \
			"$root/router.log" 2>/dev/null)
		[ -n "$port" ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	[ -n "$port" ] || { echo "bench: $name router did not start" >&2; cat "$root/router.log" >&2; exit 1; }
	echo "$(((t1 - t0) / 1000000))" >"$root/start_ms"
	curl -s -m 5 -o /dev/null -H 'Host: app00000.scale.test' "http://127.0.0.1:$port/" ||
		{ echo "bench: $name does not proxy" >&2; exit 1; }
	# wrk alone for a moment, then with PUTs running beside it.
	timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
		-H 'Host: app00000.scale.test' "http://127.0.0.1:$port/" >"$root/wrk.txt" 2>&1 &
	local wrk_pid=$!
	sleep 1
	timeout $((DURATION + 20)) python3 "$D/puts.py" "$root/router.sock" "$PUTS" "$APPS" "$PA" "$PB" \
		$((DURATION - 2)) "$REPO/tests/e2e/lib" >"$root/puts.txt" || echo "bench: $name: PUTs failed" >&2
	wait "$wrk_pid"
	kill "${PIDS[-1]}" 2>/dev/null
	wait "${PIDS[-1]}" 2>/dev/null
	unset 'PIDS[-1]'
}

echo "bench: $APPS apps; wrk -t1 -c$CONNS -d${DURATION}s on one app while up to $PUTS PUTs run" >&2
run_one old "$OLD"
run_one new "$NEW"

row() {   # LABEL OLD NEW
	printf '| %-34s | %14s | %14s |\n' "$1" "$2" "$3"
}
rps() {
	awk '/^Requests\/sec/ { printf "%d", $2 }' "$1"
}
errs() {
	awk '/Non-2xx|Socket errors/ { s = s $0 "; " } END { print (s == "" ? "0" : s) }' "$1"
}
echo
echo "## router with $APPS apps: PUT latency and proxied latency while PUTs run"
echo
row "" "old ($OLD_REV)" "new ($NEW_REV)"
row "---" "---" "---"
row "start with the table restored (ms)" "$(cat "$D/old/start_ms")" "$(cat "$D/new/start_ms")"
row "PUTs done" "$(wc -l <"$D/old/puts.txt")" "$(wc -l <"$D/new/puts.txt")"
for p in 50 99 100; do
	row "PUT p$p (ms)" "$(pct "$D/old/puts.txt" $p)" "$(pct "$D/new/puts.txt" $p)"
done
for l in 50% 99%; do
	row "proxied p${l%\%} (ms)" "$(wrk_ms "$D/old/wrk.txt" $l)" "$(wrk_ms "$D/new/wrk.txt" $l)"
done
row "proxied max (ms)" "$(awk '/^ +Latency/ { print $4 }' "$D/old/wrk.txt")" \
	"$(awk '/^ +Latency/ { print $4 }' "$D/new/wrk.txt")"
row "proxied req/s" "$(rps "$D/old/wrk.txt")" "$(rps "$D/new/wrk.txt")"
row "proxied errors" "$(errs "$D/old/wrk.txt")" "$(errs "$D/new/wrk.txt")"
# A build with the journal (table.json.journal) appended there; a compaction rewrote the
# table (its "generation" went up) once the journal held more than max(1024, APPS) records.
journal() {   # NAME
	local j=$D/$1/router/table.json.journal g
	[ -f "$j" ] || { echo "-"; return; }
	g=$(sed -n 's/^  "generation": \([0-9]*\),$/\1/p' "$D/$1/router/table.json")
	echo "$(($(wc -l <"$j") - 1)) (gen ${g:-0})"
}
row "journal records at the end" "$(journal old)" "$(journal new)"
