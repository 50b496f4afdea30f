#!/usr/bin/env bats
# router-deploy.bats - the control API's deploy path (PUT /apps/<app>) end to end against
# python backends on loopback: 20 health-checked swaps under concurrent keep-alive load with
# no failed request; a PUT whose targets partly fail keeps the old ones; the health settings
# (path, 5xx, per-attempt timeout, deadline) are honoured; the drain holds the PUT's answer
# until the old target's in-flight request finished, or until drain_timeout_ms.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}

# The backends (lib/backend.py --say-name): NAME on PORT, one thread per connection,
# keep-alive. Every request but "GET /" is logged to $RT/NAME.log as
# "METHOD PATH host=HOST ua=UA" when it arrives.
#   /                  -> "NAME\n"
#   /slow...           -> "slow NAME\n" after 3 s
#   /h/ok...           -> 200
#   /h/500...          -> 500
#   /h/fail-X...       -> 503 on the backend named X, 200 on the others
#   /h/hang...         -> nothing: the connection stays open and silent for 30 s
#   /h/500-then-hang.. -> 500 the first time, then as /h/hang
#   /h/after/MS...     -> 503 until MS milliseconds after this path's first request, then 200

# load.py PORT HOST NCONN STOPFILE MAXSECONDS: NCONN keep-alive connections sending
# "GET /" back to back until STOPFILE exists (or MAXSECONDS pass), each response checked
# (status 200, a body naming a backend). $RT/load.ready appears once every connection got a
# response. Prints "ok=N failed=N" then, per backend, "served NAME N", then "transitions
# N" (how often a connection's consecutive responses came from different backends), then
# up to 5 "error ..." lines.
write_load() {
	cat >"$RT/load.py" <<'EOF'
import os, socket, sys, threading, time

port, host, nconn, stop, maxs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
ready_file = os.path.join(os.path.dirname(stop), "load.ready")
lock = threading.Lock()
ok, errors, served, trans, ready = [0], [], {}, [0], [0]
req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
end = time.monotonic() + maxs

def one(s, buf):
    s.sendall(req)
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed (%d bytes of a response)" % len(buf))
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    clen = None
    for l in lines[1:]:
        k, v = l.split(":", 1)
        if k.strip().lower() == "content-length":
            clen = int(v)
        if k.strip().lower() == "connection" and v.strip().lower() == "close":
            raise EOFError("Connection: close from the router")
    if clen is None:
        raise ValueError("no Content-Length")
    while len(buf) < clen:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed in a body")
        buf += d
    body, buf = buf[:clen], buf[clen:]
    if code != 200:
        raise ValueError("status %d: %r" % (code, body[:80]))
    return body.decode().strip(), buf

def worker():
    s, buf, last, first = None, b"", None, True
    while time.monotonic() < end and not os.path.exists(stop):
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", port), timeout=20)
            who, buf = one(s, buf)
        except Exception as e:
            with lock:
                errors.append("%s: %s" % (type(e).__name__, e))
            if s:
                s.close()
            s, buf = None, b""
            continue
        with lock:
            ok[0] += 1
            served[who] = served.get(who, 0) + 1
            if last is not None and who != last:
                trans[0] += 1
            if first:
                ready[0] += 1
                if ready[0] == nconn:
                    open(ready_file, "w").close()
        last, first = who, False
    if s:
        s.close()

ts = [threading.Thread(target=worker) for _ in range(nconn)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok=%d failed=%d" % (ok[0], len(errors)))
for k in sorted(served):
    print("served %s %d" % (k, served[k]))
print("transitions %d" % trans[0])
for e in errors[:5]:
    print("error " + e)
EOF
}

# drain.py PORT HOST SOCK APP BODY LOG: sends "GET /slow?APP" through the router, waits until
# the backend logged it (LOG), then PUTs BODY to /apps/APP on the control socket and reads
# the answer. Prints the PUT's status and body, "put_ms N" (from sending the PUT to its
# answer), "slow_done_at_put yes|no" (whether the slow response was complete, give or take
# 0.3 s, when the PUT's answer had arrived), then the slow request's status and body.
write_drain() {
	cat >"$RT/drain.py" <<'EOF'
import select, socket, sys, time

port, host, sock, app, body, log = sys.argv[1:7]

def response(s, buf, wait):
    """Reads one Content-Length response from s; None if not complete within wait s."""
    end = time.monotonic() + wait
    while True:
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            clen = [int(l.split(":", 1)[1]) for l in lines[1:]
                    if l.lower().startswith("content-length:")]
            if clen and len(rest) >= clen[0]:
                return lines[0].split(" ")[1], rest[:clen[0]].decode().strip(), buf
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None, None, buf
        d = s.recv(65536)
        if not d:
            return "closed", buf.decode("latin-1"), buf
        buf += d

slow = socket.create_connection(("127.0.0.1", int(port)))
slow.sendall(("GET /slow?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (app, host)).encode())
for _ in range(200):
    if "GET /slow?%s " % app in open(log).read():
        break
    time.sleep(0.05)
else:
    sys.exit("the backend never saw GET /slow")
ctl = socket.socket(socket.AF_UNIX)
ctl.connect(sock)
t0 = time.monotonic()
ctl.sendall(("PUT /apps/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
             % (app, len(body), body)).encode())
code, text, _ = response(ctl, b"", 30)
t1 = time.monotonic()
print(code, text)
print("put_ms %d" % ((t1 - t0) * 1000))
scode, stext, buf = response(slow, b"", 0.3)
print("slow_done_at_put %s" % ("yes" if scode else "no"))
if not scode:
    scode, stext, buf = response(slow, buf, 10)
print(scode, stext)
EOF
}

# start_backend NAME: on a free port, exported as PORT_NAME; waits until it answers.
start_backend() {
	local name=$1 port
	port=$(free_port)
	: >"$RT/$name.log"
	backend --say-name --log "$RT/$name.log" --log-skip / \
		--log-format '{method} {path} host={host} ua={ua}' "$name:$port" >/dev/null 2>&1
	echo $! >"$RT/backend-$name.pid"
	if http_wait "$port"; then
		echo "$port" >"$RT/$name.port"
		return 0
	fi
	echo "backend $name did not start" >&2
	return 1
}

bport() {
	cat "$RT/$1.port"
}

ctl() {
	curl -s -m 60 --unix-socket "$RT/router.sock" "$@"
}

# put APP DOMAIN HEALTH_JSON TARGET_PORT... : PUT /apps/APP; prints the body, then the status
# on its own line. HEALTH_JSON is the "health" object, or "" for none; EXTRA (env) is more
# top-level JSON members, e.g. '"drain_timeout_ms": 500'.
put() {
	local app=$1 domain=$2 health=$3 targets="" p
	shift 3
	for p in "$@"; do
		targets+="${targets:+, }\"127.0.0.1:$p\""
	done
	ctl -w '%{http_code}' -X PUT "http://x/apps/$app" -d "{\"domains\": [\"$domain\"],
		\"targets\": [$targets]${health:+, \"health\": $health}${EXTRA:+, $EXTRA}}"
}

# upstream_conns PORT: how many connections to the backend on PORT are open (only the
# router connects to backends here). Closed sockets leave ESTABLISHED at close(), so a
# drained target shows 0 as soon as the PUT has answered.
upstream_conns() {
	ss -Htn state established dst "127.0.0.1:$1" | wc -l
}

# get HOST PATH: a request through the router; prints the body.
get() {
	curl -s -m 10 -H "Host: $1" "http://127.0.0.1:$(cat "$RT/router.port")$2"
}

# wait_pid PID SECONDS: waits for a background job of this shell, at most SECONDS; its status.
wait_pid() {
	local pid=$1 i
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		echo "pid $pid still running after $2 s; killed" >&2
	fi
	wait "$pid"
}

setup_file() {
	export RT PDEAD
	RT=$(mktemp -d /tmp/wharf-router-deploy.XXXXXX)
	PDEAD=$(free_port)      # nothing listens here
	write_load
	write_drain
	start_backend A
	start_backend B
	start_backend C
	router_start router
}

teardown_file() {
	router_stop router || true
	local f
	for f in "$RT"/backend-*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$RT"
}

HOK='{"path": "/h/ok", "interval_ms": 50, "timeout_ms": 2000, "deadline_ms": 10000}'

@test "router-deploy: 20 health-checked swaps under keep-alive load, not one failed request" {
	local a b i p old out load
	a=$(bport A)
	b=$(bport B)
	run put load load.example.com "$HOK" "$a"
	assert_line --index 1 200
	rm -f "$RT/load.stop" "$RT/load.ready"
	python3 "$RT/load.py" "$(cat "$RT/router.port")" load.example.com 8 "$RT/load.stop" 60 \
		>"$RT/load.out" 2>&1 3>&- &
	load=$!
	for i in $(seq 1 100); do
		[ -e "$RT/load.ready" ] && break
		sleep 0.1
	done
	[ -e "$RT/load.ready" ]
	for i in $(seq 1 20); do
		if [ $((i % 2)) -eq 1 ]; then p=$b old=$a; else p=$a old=$b; fi
		out=$(put load load.example.com "$HOK" "$p")
		assert_equal "$out" "{\"app\":\"load\",\"domains\":[\"load.example.com\"],\"targets\":[\"127.0.0.1:$p\"]}
200"
		# Drained before the answer: no connection to the old backend is left open,
		# in flight or pooled, while the load goes on.
		assert_equal "$(upstream_conns "$old")" 0
		sleep 0.2
		# (and the count sees the load's pooled connections to the serving one)
		[ "$(upstream_conns "$p")" -ge 1 ]
	done
	touch "$RT/load.stop"
	wait_pid "$load" 30
	run cat "$RT/load.out"
	assert_line --regexp '^ok=[1-9][0-9]* failed=0$'
	assert_line --regexp '^served A [1-9][0-9]*$'
	assert_line --regexp '^served B [1-9][0-9]*$'
	refute_line --partial 'served C'
	# The load ran through the swaps: its connections moved between the backends.
	[ "$(sed -n 's/^transitions //p' "$RT/load.out")" -ge 10 ]
	# Every swap checked its new target: B 10 times, A 10 times after the first PUT's.
	[ "$(grep -c '^GET /h/ok host=load.example.com ua=wharf-router$' "$RT/B.log")" -ge 10 ]
	[ "$(grep -c '^GET /h/ok host=load.example.com ua=wharf-router$' "$RT/A.log")" -ge 11 ]
	run ctl -X DELETE http://x/apps/load
	assert_output '{"app":"load","deleted":true}'
}

@test "router-deploy: a PUT with one failing target is a 409 and the old target serves; with both passing it swaps" {
	local a b c
	a=$(bport A)
	b=$(bport B)
	c=$(bport C)
	run put mixed mixed.example.com "" "$a"
	assert_line --index 1 200
	# One target refuses connections.
	run put mixed mixed.example.com \
		'{"path": "/h/ok", "interval_ms": 50, "timeout_ms": 500, "deadline_ms": 1000}' "$b" "$PDEAD"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$PDEAD: connection refused\"}
409"
	run ctl http://x/apps/mixed
	assert_output --partial "\"targets\":[\"127.0.0.1:$a\"]"
	run get mixed.example.com /
	assert_output A
	run get mixed.example.com /
	assert_output A
	# One target answers 503 to the check (the other 200).
	run put mixed mixed.example.com \
		'{"path": "/h/fail-C", "interval_ms": 50, "timeout_ms": 500, "deadline_ms": 1000}' "$b" "$c"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$c: status 503\"}
409"
	run get mixed.example.com /
	assert_output A
	# Both pass: the swap happens, round-robin over both, A is gone.
	run put mixed mixed.example.com \
		'{"path": "/h/fail-A", "interval_ms": 50, "timeout_ms": 500, "deadline_ms": 1000}' "$b" "$c"
	assert_output "{\"app\":\"mixed\",\"domains\":[\"mixed.example.com\"],\"targets\":[\"127.0.0.1:$b\",\"127.0.0.1:$c\"]}
200"
	run bash -c "for i in 1 2 3 4; do curl -s -m 10 -H 'Host: mixed.example.com' http://127.0.0.1:$(cat "$RT/router.port")/; done | sort | uniq -c | awk '{print \$2, \$1}'"
	assert_output "B 2
C 2"
	assert_equal "$(upstream_conns "$a")" 0
	# A set overlapping the old one: only the target not serving yet is checked.
	run put mixed mixed.example.com \
		'{"path": "/h/overlap", "interval_ms": 50, "timeout_ms": 500, "deadline_ms": 1000}' "$c" "$a"
	assert_line --index 1 200
	run grep -c '^GET /h/overlap ' "$RT/A.log"
	assert_output 1
	run grep -c '^GET /h/overlap ' "$RT/C.log"
	assert_output 0
	assert_equal "$(upstream_conns "$b")" 0
	ctl -X DELETE http://x/apps/mixed >/dev/null
}

@test "router-deploy: the check requests the configured path, with Host and User-Agent" {
	local b
	b=$(bport B)
	run put cpath cpath.example.com \
		'{"path": "/h/ok/custom?probe=1", "interval_ms": 50, "timeout_ms": 1000, "deadline_ms": 5000}' "$b"
	assert_line --index 1 200
	run grep -c '^GET /h/ok/custom?probe=1 host=cpath.example.com ua=wharf-router$' "$RT/B.log"
	assert_output 1
	ctl -X DELETE http://x/apps/cpath >/dev/null
}

@test "router-deploy: a target answering 500 fails its check (so reported even when the deadline cuts a later attempt); the old target stays" {
	local a b
	a=$(bport A)
	b=$(bport B)
	run put c500 c500.example.com "" "$a"
	assert_line --index 1 200
	run put c500 c500.example.com \
		'{"path": "/h/500", "interval_ms": 50, "timeout_ms": 500, "deadline_ms": 1500}' "$b"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$b: status 500\"}
409"
	run get c500.example.com /
	assert_output A
	# The deadline cuts the second attempt short: the reason stays the first one's.
	run put c500 c500.example.com \
		'{"path": "/h/500-then-hang", "interval_ms": 50, "timeout_ms": 5000, "deadline_ms": 1000}' "$b"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$b: status 500\"}
409"
	run grep -c '^GET /h/500-then-hang ' "$RT/B.log"
	assert_output 2
	ctl -X DELETE http://x/apps/c500 >/dev/null
}

@test "router-deploy: a target that never answers fails by timeout_ms, attempt after attempt" {
	local a c n
	a=$(bport A)
	c=$(bport C)
	run put hang hang.example.com "" "$a"
	assert_line --index 1 200
	run put hang hang.example.com \
		'{"path": "/h/hang", "interval_ms": 50, "timeout_ms": 200, "deadline_ms": 2500}' "$c"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$c: timeout\"}
409"
	# Each attempt was cut at timeout_ms and retried: one attempt held to the deadline
	# would show once.
	n=$(grep -c '^GET /h/hang ' "$RT/C.log")
	[ "$n" -ge 3 ]
	run get hang.example.com /
	assert_output A
	ctl -X DELETE http://x/apps/hang >/dev/null
}

@test "router-deploy: a target healthy after a delay passes within deadline_ms and fails past it" {
	local a b c n
	a=$(bport A)
	b=$(bport B)
	c=$(bport C)
	run put late late.example.com "" "$a"
	assert_line --index 1 200
	# Healthy 4 s after the first check: past a 1 s deadline.
	run put late late.example.com \
		'{"path": "/h/after/4000/x", "interval_ms": 100, "timeout_ms": 500, "deadline_ms": 1000}' "$b"
	assert_output "{\"error\":\"health check failed for 127.0.0.1:$b: status 503\"}
409"
	run get late.example.com /
	assert_output A
	# Healthy 0.6 s after the first check: well within a 15 s deadline.
	run put late late.example.com \
		'{"path": "/h/after/600/y", "interval_ms": 100, "timeout_ms": 1000, "deadline_ms": 15000}' "$c"
	assert_line --index 1 200
	n=$(grep -c '^GET /h/after/600/y ' "$RT/C.log")
	[ "$n" -ge 2 ]
	run get late.example.com /
	assert_output C
	ctl -X DELETE http://x/apps/late >/dev/null
}

@test "router-deploy: the PUT answers only once the old target's in-flight request finished" {
	local a b
	a=$(bport A)
	b=$(bport B)
	run put drain drain.example.com "" "$a"
	assert_line --index 1 200
	run python3 "$RT/drain.py" "$(cat "$RT/router.port")" drain.example.com "$RT/router.sock" drain \
		"{\"domains\": [\"drain.example.com\"], \"targets\": [\"127.0.0.1:$b\"], \"health\": $HOK, \"drain_timeout_ms\": 20000}" \
		"$RT/A.log"
	assert_success
	assert_line --index 0 "200 {\"app\":\"drain\",\"domains\":[\"drain.example.com\"],\"targets\":[\"127.0.0.1:$b\"]}"
	assert_line --index 2 "slow_done_at_put yes"
	assert_line --index 3 "200 slow A"
	assert_equal "$(upstream_conns "$a")" 0
	run get drain.example.com /
	assert_output B
	ctl -X DELETE http://x/apps/drain >/dev/null
}

@test "router-deploy: with drain_timeout_ms shorter than a request, the PUT answers at the timeout and says so" {
	local a b ms
	a=$(bport A)
	b=$(bport B)
	run put drain2 drain2.example.com "" "$a"
	assert_line --index 1 200
	run python3 "$RT/drain.py" "$(cat "$RT/router.port")" drain2.example.com "$RT/router.sock" drain2 \
		"{\"domains\": [\"drain2.example.com\"], \"targets\": [\"127.0.0.1:$b\"], \"drain_timeout_ms\": 500}" \
		"$RT/A.log"
	assert_success
	assert_line --index 0 "200 {\"app\":\"drain2\",\"domains\":[\"drain2.example.com\"],\"drained\":false,\"targets\":[\"127.0.0.1:$b\"]}"
	ms=$(sed -n 's/^put_ms //p' <<<"$output")
	[ "$ms" -ge 450 ]
	assert_line --index 2 "slow_done_at_put no"
	# The request the drain gave up on still finishes on the old target.
	assert_line --index 3 "200 slow A"
	ctl -X DELETE http://x/apps/drain2 >/dev/null
}
