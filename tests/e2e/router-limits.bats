#!/usr/bin/env bats
# router-limits.bats - the router's limits and timeouts end to end, with a router started
# with short timeouts and small limits (its flags): 408 for a head that never completes
# and for a client dripping one (while others are served), idle keep-alive clients
# closed after the idle timeout and not before, 504 for an app that accepts and never
# answers, 502 (or the next target) for one that never accepts a connection, 431 for a
# head too large or with too many headers, 414 for a long request target, and a
# request body cut by the body timeout. Every test then checks the router still serves.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

# The router's limits for this file (the defaults are seconds to minutes).
HEAD_TIMEOUT=2s
IDLE_TIMEOUT=3s
BODY_TIMEOUT=1500ms
CONNECT_TIMEOUT=1000
RESPONSE_TIMEOUT=3s
MAX_URL=4k
MAX_HEADER=8192

# The backends (lib/backend.py), one per MODE:
#   normal    keep-alive HTTP/1.1: POST -> "<bytes> <md5>\n" of its Content-Length body,
#             GET /p/<x> -> "<x>\n", anything else -> "ok\n"
#   silent    accepts and reads, never answers
#   blackhole listen(0), never accepts, its accept queue filled by its own connections:
#             the kernel drops further SYNs, so a connect neither succeeds nor fails
# cl.py: what the tests' clients share (imported by the inline scripts below).
write_client_lib() {
	cat >"$RT/cl.py" <<'EOF'
import os, select, socket, time

PORT = int(open(os.path.join(os.environ["RT"], "router.port")).read())

def conn():
    return socket.create_connection(("127.0.0.1", PORT), timeout=20)

def req(host, path="/p/x", extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, extra)).encode()

def read_all(s):
    """Everything up to the end of the connection (a reset ends it too)."""
    got = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return got + b"<reset>"
        if not d:
            return got
        got += d

def response(s):
    """One response (Content-Length framed) from a kept-alive connection."""
    got = b""
    while b"\r\n\r\n" not in got:
        d = s.recv(65536)
        if not d:
            return got.decode("latin-1"), None
        got += d
    head, body = got.split(b"\r\n\r\n", 1)
    n = 0
    for l in head.split(b"\r\n")[1:]:
        k, v = l.split(b":", 1)
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        body += s.recv(65536)
    return head.split(b"\r\n")[0].decode(), body.decode("latin-1")

def status(b):
    return b.split(b"\r\n")[0].decode("latin-1") if b else "<nothing>"

def get(host, path="/p/x"):
    """A request on a fresh connection: (status line, body)."""
    s = conn()
    s.sendall(req(host, path, "Connection: close\r\n"))
    got = read_all(s)
    s.close()
    return status(got), got.split(b"\r\n\r\n", 1)[-1].decode("latin-1")

def readable(s, t):
    return bool(select.select([s], [], [], t)[0])
EOF
}

start_backend() {  # NAME MODE: starts backend MODE on a free port, saved in $RT/NAME.port
	local port mode=()
	port=$(free_port)
	case $2 in
	silent) mode=(--silent) ;;
	blackhole) mode=(--never-accept) ;;
	esac
	backend "${mode[@]}" "$port" >"$RT/$1.log" 2>&1
	echo $! >"$RT/$1.pid"
	echo "$port" >"$RT/$1.port"
	for _ in $(seq 1 50); do
		grep -q ready "$RT/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$RT/$1.log" >&2
	return 1
}

ctl() {
	curl -s -m 60 --unix-socket "$RT/router.sock" "$@"
}

put_app() {  # APP DOMAIN TARGET...
	local app=$1 domain=$2 targets="" t
	shift 2
	for t in "$@"; do
		targets="$targets${targets:+, }\"127.0.0.1:$t\""
	done
	ctl -X PUT "http://x/apps/$app" -d "{\"domains\": [\"$domain\"], \"targets\": [$targets]}"
}

# The router still serves: a plain request to the working app.
assert_serving() {
	run curl -s -m 10 -H 'Host: limits.example.com' "http://127.0.0.1:$(cat "$RT/router.port")/p/still"
	assert_success
	assert_output "still"
}

setup_file() {
	export RT
	RT=$(mktemp -d /tmp/wharf-router-limits.XXXXXX)
	write_client_lib
	start_backend normal normal
	start_backend silent silent
	start_backend blackhole blackhole
	router_start router --listen 127.0.0.1:0 --head-timeout "$HEAD_TIMEOUT" --idle-timeout="$IDLE_TIMEOUT" \
		--body-timeout "$BODY_TIMEOUT" --connect-timeout "$CONNECT_TIMEOUT" \
		--response-timeout "$RESPONSE_TIMEOUT" --max-url-bytes "$MAX_URL" \
		--max-header-bytes "$MAX_HEADER"
	put_app limits limits.example.com "$(cat "$RT/normal.port")" >/dev/null
	put_app silent silent.example.com "$(cat "$RT/silent.port")" >/dev/null
	put_app dead dead.example.com "$(cat "$RT/blackhole.port")" >/dev/null
	put_app mixed mixed.example.com "$(cat "$RT/blackhole.port")" \
		"$(cat "$RT/normal.port")" >/dev/null
}

teardown_file() {
	router_stop router || true
	local b
	for b in normal silent blackhole; do
		if [ -f "$RT/$b.pid" ]; then
			kill "$(cat "$RT/$b.pid")" 2>/dev/null || true
		fi
	done
	rm -rf "$RT"
}

@test "router-limits: --help lists every limit with its default; bad values are refused" {
	run "$WHARF_BIN" router --help
	assert_success
	assert_line --partial "--max-header-bytes N   request head, request line included (431; default 16k)"
	assert_line --partial "--max-url-bytes N      request target (414; default 8k)"
	assert_line --partial "--head-timeout T"
	assert_line --partial "(408; default 30s)"
	assert_line --partial "--idle-timeout T       a keep-alive client silent between requests (closed;"
	assert_line --partial "--body-timeout T       between two reads of a request body (408, or closed"
	assert_line --partial "--connect-timeout T    to connect to an app's target (next target once,"
	assert_line --partial "--response-timeout T   for the app's response head, and between its bytes"
	run "$WHARF_BIN" router --head-timeout 0
	assert_failure 1
	assert_output " !     invalid --head-timeout '0': give milliseconds, or a number with ms or s (as in 1500ms or 30s), between 1ms and 24 hours"
	run "$WHARF_BIN" router --idle-timeout=10m
	assert_failure 1
	assert_output --partial "invalid --idle-timeout '10m'"
	run "$WHARF_BIN" router --max-url-bytes 2m
	assert_failure 1
	assert_output " !     invalid --max-url-bytes '2m': give bytes, or a number with k (as in 8k), between 1 and 1024k"
	run "$WHARF_BIN" router --response-timeout
	assert_failure 1
	assert_output " !     --response-timeout needs a value"
	# The running router took this file's values.
	run cat "$RT/router.log"
	refute_output --partial "invalid"
}

@test "router-limits: a head that never completes gets 408 at the head timeout, counted from the accept" {
	run timeout 30 python3 - <<'EOF'
import sys, os, threading, time
sys.path.insert(0, os.environ["RT"])
from cl import *
out = {}
def partial():
    # Part of a head at once, then nothing.
    t = time.time()
    s = conn()
    s.sendall(b"GET /p/x HTTP/1.1\r\nHost: limits.example.com\r\n")
    got = read_all(s)
    out["partial"] = (status(got), time.time() - t)
def late():
    # Nothing for a while after the connect, then part of a head: the head timeout
    # runs from the accept, not from the first byte.
    t = time.time()
    s = conn()
    time.sleep(1.4)
    s.sendall(b"GET /p/x HTTP/1.1\r\n")
    got = read_all(s)
    out["late"] = (status(got), time.time() - t)
th = [threading.Thread(target=f) for f in (partial, late)]
for x in th: x.start()
for x in th: x.join()
for k in ("partial", "late"):
    st, el = out[k]
    print(k, st)
    print(k, "elapsed ok" if 1.5 <= el <= (3.2 if k == "late" else 8) else "elapsed %.2f" % el)
EOF
	assert_success
	assert_line --index 0 "partial HTTP/1.1 408 Request Timeout"
	assert_line --index 1 "partial elapsed ok"
	assert_line --index 2 "late HTTP/1.1 408 Request Timeout"
	assert_line --index 3 "late elapsed ok"
	assert_serving
}

@test "router-limits: a client dripping its head is cut at the head timeout while others are served" {
	run timeout 30 python3 - <<'EOF'
import sys, os, threading, time
sys.path.insert(0, os.environ["RT"])
from cl import *
out = {}
def slowloris():
    # A byte every 0.2 s of a head that would take 20 s: a timer re-armed per read
    # would never cut it.
    t = time.time()
    s = conn()
    data = b"GET /p/x HTTP/1.1\r\nHost: limits.example.com\r\nX-Slow: " + b"a" * 100
    for i in range(len(data)):
        if readable(s, 0.2):
            break
        s.sendall(data[i:i + 1])
    got = read_all(s)
    out["slow"] = (status(got), time.time() - t)
th = threading.Thread(target=slowloris)
th.start()
time.sleep(0.3)
served = []
while th.is_alive() and len(served) < 100:
    served.append(get("limits.example.com", "/p/meanwhile"))
    time.sleep(0.1)
th.join()
st, el = out["slow"]
print("slowloris", st)
print("slowloris", "elapsed ok" if 1.5 <= el <= 8 else "elapsed %.2f" % el)
print("others", "served %s" % (len(served) >= 3),
      set(served) == {("HTTP/1.1 200 OK", "meanwhile\n")})
EOF
	assert_success
	assert_line --index 0 "slowloris HTTP/1.1 408 Request Timeout"
	assert_line --index 1 "slowloris elapsed ok"
	assert_line --index 2 "others served True True"
	assert_serving
}

@test "router-limits: an idle keep-alive client is closed after the idle timeout, and not before" {
	run timeout 40 python3 - <<'EOF'
import sys, os, time
sys.path.insert(0, os.environ["RT"])
from cl import *
s = conn()
s.sendall(req("limits.example.com", "/p/one"))
print(*response(s))
# 2 s of an idle timeout of 3: still open; the next request re-arms it.
time.sleep(2)
s.sendall(req("limits.example.com", "/p/two"))
print(*response(s))
time.sleep(2)       # 4 s after the first response: only the last one counts
s.sendall(req("limits.example.com", "/p/three"))
print(*response(s))
t = time.time()
got = read_all(s)
el = time.time() - t
print("closed", repr(got))
print("elapsed ok" if 2.0 <= el <= 8 else "elapsed %.2f" % el)
EOF
	assert_success
	assert_line --index 0 "HTTP/1.1 200 OK one"
	assert_line --index 1 "HTTP/1.1 200 OK two"
	assert_line --index 2 "HTTP/1.1 200 OK three"
	assert_line --index 3 "closed b''"
	assert_line --index 4 "elapsed ok"
	assert_serving
}

@test "router-limits: 504 when the app accepts the connection and never answers; others are served meanwhile" {
	run timeout 30 python3 - <<'EOF'
import sys, os, threading, time
sys.path.insert(0, os.environ["RT"])
from cl import *
out = {}
def hang():
    t = time.time()
    out["silent"] = (get("silent.example.com")[0], time.time() - t)
th = threading.Thread(target=hang)
th.start()
time.sleep(0.5)
print("meanwhile", *get("limits.example.com", "/p/meanwhile"))
th.join()
st, el = out["silent"]
print("silent", st)
print("silent", "elapsed ok" if 2.5 <= el <= 10 else "elapsed %.2f" % el)
EOF
	assert_success
	assert_line --index 0 "meanwhile HTTP/1.1 200 OK meanwhile"
	assert_line --index 1 "silent HTTP/1.1 504 Gateway Timeout"
	assert_line --index 2 "silent elapsed ok"
	assert_serving
}

@test "router-limits: a target that never accepts: 502 at the connect timeout, or the next target" {
	run timeout 40 python3 - <<'EOF'
import sys, os, time
sys.path.insert(0, os.environ["RT"])
from cl import *
t = time.time()
st, body = get("dead.example.com")
el = time.time() - t
print("dead", st, body.strip())
print("dead", "elapsed ok" if 0.8 <= el <= 8 else "elapsed %.2f" % el)
# Two targets, one that never accepts: every request is answered by the other one,
# some after the connect timeout on the first.
slow = 0
for i in range(4):
    t = time.time()
    st, body = get("mixed.example.com", "/p/m%d" % i)
    slow += time.time() - t >= 0.8
    print("mixed", st, body.strip())
print("mixed waited on the dead target:", slow >= 1)
EOF
	assert_success
	assert_line --index 0 "dead HTTP/1.1 502 Bad Gateway timed out connecting to the app"
	assert_line --index 1 "dead elapsed ok"
	assert_line --index 2 "mixed HTTP/1.1 200 OK m0"
	assert_line --index 3 "mixed HTTP/1.1 200 OK m1"
	assert_line --index 4 "mixed HTTP/1.1 200 OK m2"
	assert_line --index 5 "mixed HTTP/1.1 200 OK m3"
	assert_line --index 6 "mixed waited on the dead target: True"
	assert_serving
}

@test "router-limits: 431 for a head over --max-header-bytes and for more than 100 headers" {
	run timeout 30 python3 - <<'EOF'
import sys, os
sys.path.insert(0, os.environ["RT"])
from cl import *
def send(head):
    s = conn()
    s.sendall(head)
    got = read_all(s)
    return status(got), got.split(b"\r\n\r\n", 1)[-1].decode("latin-1").strip()
# Just under the limit (8192 bytes), then over it.
base = req("limits.example.com", "/p/fits", "X-Pad: %s\r\nConnection: close\r\n")
pad = 8192 - len(base) + 2
print("fits", *send(base.replace(b"%s", b"p" * pad)))
print("big", *send(base.replace(b"%s", b"p" * (pad + 1))))
print("huge", *send(base.replace(b"%s", b"p" * 100000)))
# 100 header lines (Host and 99 more) pass; 101 do not.
many = lambda n: req("limits.example.com", "/p/many",
                     "".join("X-%d: y\r\n" % i for i in range(n)) + "Connection: close\r\n")
print("100", *send(many(98)))
print("101", *send(many(99)))
EOF
	assert_success
	assert_line --index 0 "fits HTTP/1.1 200 OK fits"
	assert_line --index 1 "big HTTP/1.1 431 Request Header Fields Too Large request head too large"
	assert_line --index 2 "huge HTTP/1.1 431 Request Header Fields Too Large request head too large"
	assert_line --index 3 "100 HTTP/1.1 200 OK many"
	assert_line --index 4 "101 HTTP/1.1 431 Request Header Fields Too Large too many header fields"
	assert_serving
}

@test "router-limits: 414 for a request target over --max-url-bytes, before any routing" {
	run timeout 30 python3 - <<'EOF'
import sys, os
sys.path.insert(0, os.environ["RT"])
from cl import *
def send(head):
    s = conn()
    s.sendall(head)
    got = read_all(s)
    return status(got), got.split(b"\r\n\r\n", 1)[-1].decode("latin-1").strip()[:20]
path = lambda n: "/p/" + "u" * (n - 3)
print("4096", *send(req("limits.example.com", path(4096), "Connection: close\r\n")))
print("4097", *send(req("limits.example.com", path(4097), "Connection: close\r\n")))
# Refused before the host is looked at, and before the head is complete or reaches
# the head size limit: a target longer than the whole head may be is still a 414.
print("nohost", *send(req("nobody.example.com", path(5000))))
print("longer than a head", *send(req("limits.example.com", path(20000))))
print("never ends", *send(b"GET /" + b"u" * 6000))
EOF
	assert_success
	assert_line --index 0 "4096 HTTP/1.1 200 OK uuuuuuuuuuuuuuuuuuuu"
	assert_line --index 1 "4097 HTTP/1.1 414 URI Too Long request target too l"
	assert_line --index 2 "nohost HTTP/1.1 414 URI Too Long request target too l"
	assert_line --index 3 "longer than a head HTTP/1.1 414 URI Too Long request target too l"
	assert_line --index 4 "never ends HTTP/1.1 414 URI Too Long request target too l"
	assert_serving
}

@test "router-limits: a request body is cut by the body timeout between reads, not in total" {
	run timeout 40 python3 - <<'EOF'
import sys, os, time, hashlib
sys.path.insert(0, os.environ["RT"])
from cl import *
# 10 bytes over 4 s, one every 0.5 s: longer in total than the body timeout (1.5 s)
# and the response timeout (3 s), but no gap is: it passes whole.
body = b"0123456789"
s = conn()
s.sendall(b"POST /up HTTP/1.1\r\nHost: limits.example.com\r\nContent-Length: 10\r\n\r\n")
for i in range(len(body)):
    time.sleep(0.45)
    s.sendall(body[i:i + 1])
st, got = response(s)
print("drip", st, got.strip() == "10 " + hashlib.md5(body).hexdigest())
s.close()
# A byte every 0.3 s, then every 2.5 s: less than the response timeout (3 s), so
# only the body timeout cuts it, 1.5 s after the last byte.
s = conn()
s.sendall(b"POST /up HTTP/1.1\r\nHost: limits.example.com\r\nContent-Length: 100\r\n\r\n")
gaps = [0.3] * 4 + [2.5] * 10
last = time.time()
for g in gaps:
    if readable(s, g):
        break
    s.sendall(b"z")
    last = time.time()
got = read_all(s)
el = time.time() - last
print("slow", status(got), got.split(b"\r\n\r\n", 1)[-1].decode().strip())
print("slow", "elapsed ok" if 1.2 <= el <= 2.4 else "elapsed %.2f" % el)
EOF
	assert_success
	assert_line --index 0 "drip HTTP/1.1 200 OK True"
	assert_line --index 1 "slow HTTP/1.1 408 Request Timeout timed out reading the request body"
	assert_line --index 2 "slow elapsed ok"
	assert_serving
}
