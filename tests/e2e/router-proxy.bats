#!/usr/bin/env bats
# router-proxy.bats - the data plane's balancing, retries, pool and streaming, end to end
# against python backends on loopback that log what they see: a dead target costs no
# request (the retry picks another target, for any method, under concurrency); a request
# lost on a pooled connection the app closed is resent only when idempotent; a pooled
# connection reset before the request was written is replaced, not answered 502; pooled
# upstream connections are reused; round-robin alternates exactly; HEAD then GET on one
# connection; the open-clients gauge; wildcard hosts; the body limit counts payload, not
# chunk framing; 1 GiB up (Content-Length and chunked) and down with flat router memory.
# Starts its own router (tests/e2e/lib/router.bash) and backends (no dockerd).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# tests/e2e/lib/router.bash (the ASan stage of scripts/test.sh runs a copy of this file
# from a temp dir, with WHARF_REPO set).
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}

# The backends, in one process (lib/backend.py --digest crc32 --random-body NAME:PORT…),
# one listener per name. One thread per connection, keep-alive. $RT/NAME.log gets "accept"
# per connection and "req METHOD PATH" per request (before it is answered), and "rst" per
# idle connection reset by /rst-idle.
#   GET /who -> the backend's NAME
#   GET|HEAD /head1000 -> Content-Length: 1000 ('h' * 1000; none for HEAD)
#   POST|PUT /echo -> "<bytes> <crc32>" of the body (Content-Length or chunked)
#   GET /big?n=N -> N bytes (a random 1 MiB block, repeated) with a Content-Length
#   * /close-on-reuse -> "fresh" on a connection's first request; on a later one the
#     request is read and logged, then the connection closed without an answer
#   GET /rst-idle -> resets (RST, no FIN) every other connection to this backend waiting
#     for a request, then answers "reset <n>"

# client.py - what curl cannot do here.
#   upload PORT HOST SIZE cl|chunked CHUNK: POST /echo with SIZE bytes of the 1 MiB
#     block repeated; prints "<status line>|<SIZE> bytes, as sent" when the app got
#     those bytes (count and crc32), else "<status line>|<body> (sent <SIZE> <crc32>)"
#   download PORT HOST SIZE: GET /big?n=SIZE; prints "<status line>|<SIZE> bytes, as
#     sent" when SIZE bytes of the block repeated came, else what came
#   load PORT HOST CONNS EACH: CONNS keep-alive connections, each sending EACH requests
#     (GET /who and POST /echo in turn), all at once; prints "<status> <count>" lines
#   seq PORT HOST PATH N: N GETs on one keep-alive connection; prints the bodies
#   headget PORT HOST: HEAD /head1000 then GET /head1000 on one connection
#   rst PORT HOST METHOD ROUTER_PID BACKEND_PORT: on one keep-alive connection, GET /who
#     (which leaves a pooled upstream connection), then with the router stopped sends
#     METHOD /echo, has the backend reset its idle connections, and lets the router go on;
#     prints "<status line>|<body>"
#   idle PORT HOST N FIFO: opens N keep-alive connections (one request each), prints
#     "open", waits for a line on FIFO, closes them
write_client() {
	cat >"$RT/client.py" <<'EOF'
import os, random, signal, socket, sys, threading, time, zlib

BLOCK = random.Random(7).randbytes(1 << 20)

class Sum:
    def __init__(self):
        self.crc = 0
    def update(self, b):
        self.crc = zlib.crc32(b, self.crc)
    def hexdigest(self):
        return "%08x" % self.crc

def checked(size):
    m = Sum()
    for b in blocks(size):
        m.update(b)
    return "%d %s" % (size, m.hexdigest())

def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=60)

class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""
    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError
        self.buf += d
    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        h = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            h[k.strip().lower()] = v.strip()
        return lines[0], h
    def body(self, n, csum=None):
        k = min(n, len(self.buf))
        out, self.buf, n = self.buf[:k], self.buf[k:], n - k
        if csum:
            csum.update(out)
            out = b""
        while n:
            d = self.s.recv(min(n, 1 << 20))
            if not d:
                raise EOFError
            n -= len(d)
            if csum:
                csum.update(d)
            else:
                out += d
        return out
    def response(self):
        status, h = self.head()
        return status, h, self.body(int(h.get("content-length", "0")))

def blocks(size):
    while size:
        k = min(size, len(BLOCK))
        yield BLOCK[:k]
        size -= k

cmd, port, host = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "", \
    sys.argv[3] if len(sys.argv) > 3 else ""
if cmd == "upload":
    size, mode, chunk = int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
    s = connect(port)
    if mode == "cl":
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                  % (host.encode(), size))
        for b in blocks(size):
            s.sendall(b)
    else:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                  % host.encode())
        for b in blocks(size):
            for i in range(0, len(b), chunk):
                piece = b[i:i + chunk]
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    status, h, body = Reader(s).response()
    body, want = body.decode().strip(), checked(size)
    print("%s|%s" % (status, "%d bytes, as sent" % size if body == want
                     else "%s (sent %s)" % (body, want)))
elif cmd == "download":
    s = connect(port)
    s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (int(sys.argv[4]), host.encode()))
    r = Reader(s)
    status, h = r.head()
    m = Sum()
    n = int(h["content-length"])
    r.body(n, m)
    got, want = "%d %s" % (n, m.hexdigest()), checked(int(sys.argv[4]))
    print("%s|%s" % (status, "%d bytes, as sent" % n if got == want else got))
elif cmd == "load":
    nconn, each = int(sys.argv[4]), int(sys.argv[5])
    counts, lk, go = {}, threading.Lock(), threading.Event()
    def worker():
        s = connect(port)
        r = Reader(s)
        go.wait()
        for i in range(each):
            if i % 2:
                s.sendall(b"POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n\r\nhello"
                          % host.encode())
            else:
                s.sendall(b"GET /who HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
            status, h, body = r.response()
            with lk:
                counts[status.split(" ")[1]] = counts.get(status.split(" ")[1], 0) + 1
            if h.get("connection", "").lower() == "close":
                s.close()
                s = connect(port)
                r = Reader(s)
        s.close()
    ts = [threading.Thread(target=worker) for i in range(nconn)]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join()
    for k in sorted(counts):
        print(k, counts[k])
elif cmd == "seq":
    s = connect(port)
    r = Reader(s)
    out = []
    for i in range(int(sys.argv[5])):
        s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (sys.argv[4].encode(), host.encode()))
        status, h, body = r.response()
        out.append(body.decode().strip())
    print(" ".join(out))
elif cmd == "headget":
    s = connect(port)
    r = Reader(s)
    s.sendall(b"HEAD /head1000 HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
    status, h = r.head()
    print("HEAD: %s, content-length %s" % (status, h.get("content-length")))
    s.sendall(b"GET /head1000 HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
    status, h, body = r.response()     # a body after HEAD's head would be taken for this
    print("GET: %s, %d bytes, all h: %s" % (status, len(body), body == b"h" * 1000))
elif cmd == "rst":
    method, pid, bport = sys.argv[4], int(sys.argv[5]), sys.argv[6]
    s = connect(port)
    r = Reader(s)
    s.sendall(b"GET /who HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
    r.response()
    time.sleep(0.2)     # the router has pooled the connection and is waiting
    os.kill(pid, signal.SIGSTOP)
    try:
        s.sendall(b"%s /echo HTTP/1.1\r\nHost: %s\r\n\r\n" % (method.encode(), host.encode()))
        b = connect(bport)
        b.sendall(b"GET /rst-idle HTTP/1.1\r\nHost: b\r\n\r\n")
        bs, bh, bb = Reader(b).response()
        assert bb == b"reset 1\n", bb
    finally:
        os.kill(pid, signal.SIGCONT)
    status, h, body = r.response()
    print("%s|%s" % (status, body.decode().strip()))
elif cmd == "idle":
    n, fifo = int(sys.argv[4]), sys.argv[5]
    socks = []
    for i in range(n):
        s = connect(port)
        s.sendall(b"GET /who HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
        Reader(s).response()
        socks.append(s)
    print("open", flush=True)
    with open(fifo) as f:
        f.readline()
    for s in socks:
        s.close()
EOF
}

# start_backends NAME:PORT…: starts them (logs $RT/<NAME>.log) and waits until each accepts.
start_backends() {
	local a
	backend --digest crc32 --random-body --log "$RT/{name}.log" --log-accept "$@" \
		>>"$RT/backend.out" 2>&1
	echo $! >>"$RT/backend.pids"
	for a in "$@"; do
		for _ in $(seq 1 100); do
			(exec 4<>"/dev/tcp/127.0.0.1/${a#*:}") 2>/dev/null && continue 2
			sleep 0.1
		done
		return 1
	done
}

ctl() {
	curl -s -m 30 --unix-socket "$WHARF_ROUTER_SOCKET" "$@"
}

# put_app APP '["domain", …]' PORT…: the app's route, targets in the order given.
put_app() {
	local app=$1 domains=$2 targets="" p
	shift 2
	for p in "$@"; do
		targets="$targets${targets:+, }\"127.0.0.1:$p\""
	done
	ctl -X PUT "http://x/apps/$app" -d "{\"domains\": $domains, \"targets\": [$targets]}"
}

metric() {      # metric NAME: its value in /metrics (the first line that starts with NAME)
	ctl http://x/metrics | awk -v n="$1" 'index($0, n) == 1 { print $2; exit }'
}

client() {
	python3 "$RT/client.py" "$1" "$(cat "$RT/router.port")" "${@:2}"
}

count() {       # count NAME LINE: lines of backend NAME's log equal to LINE
	grep -cx "$2" "$RT/$1.log" || true
}

setup_file() {
	export RT WHARF_ROOT WHARF_ROUTER_SOCKET PA PB PC PD PDEAD
	RT=$(mktemp -d /tmp/wharf-router-proxy.XXXXXX)
	WHARF_ROOT=$RT/root
	WHARF_ROUTER_SOCKET=$RT/router.sock
	mkdir -p "$WHARF_ROOT"
	write_client
	read -r PA PB PC PD PDEAD < <(free_ports 5)        # nothing listens on PDEAD
	start_backends "a:$PA" "b:$PB" "c:$PC" "d:$PD"
	router_start router
}

teardown_file() {
	router_stop router || true
	local pid
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$RT/backend.pids"
	rm -rf "$RT"
}

@test "router-proxy: with one of two targets dead every request succeeds, GET and POST, under concurrency" {
	run put_app dead '["dead.test"]' "$PDEAD" "$PA"
	assert_success
	: >"$RT/a.log"
	# 8 connections x 50 requests at once: picks for other requests move the shared
	# round-robin cursor between a pick and its failed connect.
	run client load dead.test 8 50
	assert_success
	assert_output "200 400"
	# Every request reached a once: none was answered without the app.
	[ "$(count a 'req GET /who')" -eq 200 ]
	[ "$(count a 'req POST /echo')" -eq 200 ]
	run metric 'wharf_router_requests_total{app="dead",code="5xx"}'
	assert_output 0
	run metric 'wharf_router_requests_total{app="dead",code="2xx"}'
	assert_output 400
}

@test "router-proxy: a connect that times out after the route moved off its target is retried on the new one" {
	local ph
	ph=$(free_ports 1)
	# A listener whose accept queue is full (backlog 0, one connection never accepted):
	# the kernel drops further SYNs, so a connect to it hangs, as to a host that died.
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
c = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))]
print("ready", flush=True); time.sleep(60)' "$ph" >"$RT/hang.out" 2>&1 &
	echo $! >>"$RT/backend.pids"
	for _ in $(seq 1 50); do grep -q ready "$RT/hang.out" && break; sleep 0.1; done
	run put_app moved '["moved.test"]' "$ph"
	assert_success
	# The request waits on the hanging target (the connect timeout, 5 s); meanwhile the
	# route moves to a (one target: no other target of the old set to retry on).
	curl -s -m 20 -o "$RT/moved.body" -w '%{http_code}' -H 'Host: moved.test' \
		"http://127.0.0.1:$(cat "$RT/router.port")/who" >"$RT/moved.code" &
	local req=$!
	sleep 0.5
	put_app moved '["moved.test"]' "$PA" >/dev/null
	wait "$req"
	[ "$(cat "$RT/moved.code")" = 200 ]
	[ "$(cat "$RT/moved.body")" = a ]
}

@test "router-proxy: a request lost on a pooled connection the app closed is resent only if idempotent" {
	run put_app reuse '["reuse.test"]' "$PB"
	assert_success
	: >"$RT/b.log"
	# The first request on a connection is answered; a later one on the same connection
	# is read, logged, and the connection closed without an answer.
	run client seq reuse.test /close-on-reuse 1
	assert_output fresh
	run curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$(cat "$RT/router.port")/close-on-reuse" \
		-H 'Host: reuse.test'
	assert_output 502
	# The app saw the POST once: it was not silently sent again.
	[ "$(count b 'req POST /close-on-reuse')" -eq 1 ]
	run client seq reuse.test /close-on-reuse 1        # pools a connection again
	assert_output fresh
	: >"$RT/b.log"
	run curl -s -o "$RT/body" -w '%{http_code}\n' "http://127.0.0.1:$(cat "$RT/router.port")/close-on-reuse" \
		-H 'Host: reuse.test'
	assert_output 200
	run cat "$RT/body"
	assert_output fresh
	# A GET may be sent twice: the lost one, then again on a fresh connection.
	[ "$(count b 'req GET /close-on-reuse')" -eq 2 ]
	[ "$(count b 'accept')" -eq 1 ]
	: >"$RT/b.log"
	run curl -s -o /dev/null -w '%{http_code}\n' -X PUT "http://127.0.0.1:$(cat "$RT/router.port")/close-on-reuse" \
		-H 'Host: reuse.test'
	assert_output 200
	[ "$(count b 'req PUT /close-on-reuse')" -eq 2 ]
}

@test "router-proxy: a pooled connection reset before the request was written is replaced, even for POST" {
	run put_app rst '["rst.test"]' "$PC"
	assert_success
	: >"$RT/c.log"
	run client rst rst.test POST "$(cat "$RT/router.pid")" "$PC"
	assert_success
	assert_output "HTTP/1.1 200 OK|0 00000000"
	[ "$(count c 'rst')" -eq 1 ]
	[ "$(count c 'req POST /echo')" -eq 1 ]
	: >"$RT/c.log"
	run client rst rst.test GET "$(cat "$RT/router.pid")" "$PC"
	assert_success
	assert_output "HTTP/1.1 200 OK|0 00000000"
	[ "$(count c 'req GET /echo')" -eq 1 ]
}

@test "router-proxy: keep-alive requests reuse pooled upstream connections" {
	run put_app pool '["pool.test"]' "$PD"
	assert_success
	: >"$RT/d.log"
	# 20 client connections one after the other, then 30 requests on one connection.
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -H 'Host: pool.test' "http://127.0.0.1:$(cat "$RT/router.port")/who"
	done
	run client seq pool.test /who 30
	assert_output "$(printf 'd %.0s' $(seq 1 30) | sed 's/ $//')"
	[ "$(count d 'req GET /who')" -eq 50 ]
	[ "$(count d 'accept')" -eq 1 ]
	run metric wharf_router_upstream_idle_connections
	[ "$output" -ge 1 ]
}

@test "router-proxy: round-robin alternates exactly over the targets in order" {
	run put_app rr '["rr.test"]' "$PA" "$PB" "$PC"
	assert_success
	run client seq rr.test /who 9
	assert_output "a b c a b c a b c"
	run put_app rr '["rr.test"]' "$PC" "$PA"
	assert_success
	run client seq rr.test /who 4
	assert_output "c a c a"
}

@test "router-proxy: HEAD gets the head only, and the next GET on the connection its whole body" {
	run put_app head '["head.test"]' "$PA"
	assert_success
	run client headget head.test
	assert_success
	assert_output "HEAD: HTTP/1.1 200 OK, content-length 1000
GET: HTTP/1.1 200 OK, 1000 bytes, all h: True"
	# Again, on the pooled upstream connection the HEAD left.
	run client headget head.test
	assert_output "HEAD: HTTP/1.1 200 OK, content-length 1000
GET: HTTP/1.1 200 OK, 1000 bytes, all h: True"
}

@test "router-proxy: the client connections gauge counts open idle clients" {
	run put_app gauge '["gauge.test"]' "$PA"
	assert_success
	local base n
	base=$(metric wharf_router_client_connections)
	mkfifo "$RT/idle.fifo"
	python3 "$RT/client.py" idle "$(cat "$RT/router.port")" gauge.test 5 "$RT/idle.fifo" \
		>"$RT/idle.out" 2>&1 3>&- &
	echo $! >"$RT/idle.pid"
	for _ in $(seq 1 50); do
		grep -q open "$RT/idle.out" && break
		sleep 0.1
	done
	for _ in $(seq 1 50); do
		n=$(metric wharf_router_client_connections)
		[ "$n" -eq "$((base + 5))" ] && break
		sleep 0.1
	done
	run metric wharf_router_client_connections
	assert_output "$((base + 5))"
	echo close >"$RT/idle.fifo"
	for _ in $(seq 1 50); do
		n=$(metric wharf_router_client_connections)
		[ "$n" -eq "$base" ] && break
		sleep 0.1
	done
	[ "$n" -eq "$base" ]
	kill "$(cat "$RT/idle.pid")" 2>/dev/null || true
}

@test "router-proxy: wildcard domains: exact beats wildcard, the longest wildcard wins" {
	run put_app wide '["*.example.test"]' "$PA"
	assert_success
	run put_app deep '["*.deep.example.test"]' "$PB"
	assert_success
	run put_app exact '["exact.deep.example.test"]' "$PC"
	assert_success
	local h want
	for h in x.example.test:a deep.example.test:a y.deep.example.test:b \
		z.y.deep.example.test:b exact.deep.example.test:c a.exact.deep.example.test:b \
		EXACT.deep.example.test.:c; do
		want=${h##*:}
		run curl -s -H "Host: ${h%:*}" "http://127.0.0.1:$(cat "$RT/router.port")/who"
		assert_output "$want"
	done
	run curl -s -o /dev/null -w '%{http_code}\n' -H 'Host: example.test' "http://127.0.0.1:$(cat "$RT/router.port")/who"
	assert_output 404
}

@test "router-proxy: the body limit counts a chunked body's payload, not its framing" {
	run put_app limit '["limit.test"]' "$PA"
	assert_success
	run ctl -X PUT http://x/apps/limit/options -d '{"max_body_bytes": 100000}'
	assert_success
	# 100000 bytes in 100-byte chunks: 1000 chunk headers and CRLFs more on the wire.
	run client upload limit.test 100000 chunked 100
	assert_output "HTTP/1.1 200 OK|100000 bytes, as sent"
	run client upload limit.test 100001 chunked 100
	assert_output --partial "HTTP/1.1 413 Content Too Large|the request body is larger"
	run client upload limit.test 100000 cl 0
	assert_output "HTTP/1.1 200 OK|100000 bytes, as sent"
	run client upload limit.test 100001 cl 0
	assert_output --partial "HTTP/1.1 413 Content Too Large|the request body is larger"
}

@test "router-proxy: 1 GiB up (Content-Length, chunked) and down with the router's memory flat" {
	local gib=1073741824 pid hwm bound
	run put_app huge '["huge.test"]' "$PB"
	assert_success
	# Exactly the default limit (1 GiB): allowed, chunked too, as framing is not counted.
	# The three at once: the router holds all three streams, and it takes a third of
	# the time on an idle machine.
	client upload huge.test "$gib" cl 0 >"$RT/up-cl" 3>&- &
	echo $! >"$RT/huge.pids"
	client upload huge.test "$gib" chunked 65536 >"$RT/up-chunked" 3>&- &
	echo $! >>"$RT/huge.pids"
	client download huge.test "$gib" >"$RT/down" 3>&- &
	echo $! >>"$RT/huge.pids"
	while read -r pid; do
		wait "$pid"
	done <"$RT/huge.pids"
	run cat "$RT/up-cl" "$RT/up-chunked" "$RT/down"
	assert_output "HTTP/1.1 200 OK|$gib bytes, as sent
HTTP/1.1 200 OK|$gib bytes, as sent
HTTP/1.1 200 OK|$gib bytes, as sent"
	# The peak resident size over the router's whole life (about 15 MiB): buffering a
	# body instead of pacing it (backpressure) would take up to the 3 GiB that went
	# through. An ASan build keeps up to 256 MiB of freed memory in quarantine (about
	# 340 MiB measured), so there the bound only catches a body held whole.
	pid=$(cat "$RT/router.pid")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	bound=$((64 * 1024))
	grep -q libasan "/proc/$pid/maps" && bound=$((768 * 1024))
	echo "# router VmHWM ${hwm} kB (bound ${bound} kB)" >&3
	[ "$hwm" -lt "$bound" ]
}
