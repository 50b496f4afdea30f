#!/usr/bin/env bats
# router-strict.bats - requests a proxy and an app could read two ways are refused, over a
# real TCP connection to a real router: folded header lines, Transfer-Encoding other than
# exactly one "chunked" (or in HTTP/1.0, or with Content-Length), chunk data not followed by
# CRLF, an absolute-form target whose host is not the Host header's; and a client's
# X-Request-Id is kept only when it is a sane token. The backend records every byte it is
# sent, so each test also checks what reached the app.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

# The backend: appends every byte it receives to $RT/seen.log; answers each request (after
# its Content-Length or chunked body) with 200 and the head it got as the body.
write_backend() {
	cat >"$RT/backend.py" <<'EOF'
import socket, sys, threading
log = open(sys.argv[2], "ab", buffering=0)
lock = threading.Lock()

def serve(s):
    buf = b""
    def fill():
        nonlocal buf
        d = s.recv(65536)
        if not d:
            raise EOFError
        with lock:
            log.write(d)
        buf += d
    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            fill()
        l, buf = buf.split(b"\r\n", 1)
        return l
    def read(n):
        nonlocal buf
        while len(buf) < n:
            fill()
        d, buf = buf[:n], buf[n:]
        return d
    try:
        while True:
            head = [line()]
            while head[-1]:
                head.append(line())
            h = {}
            for l in head[1:-1]:
                k, v = l.split(b":", 1)
                h[k.strip().lower()] = v.strip()
            if h.get(b"transfer-encoding", b"").lower() == b"chunked":
                while True:
                    n = int(line().split(b";")[0], 16)
                    if n == 0:
                        while line():
                            pass
                        break
                    read(n)
                    if read(2) != b"\r\n":
                        raise EOFError
            else:
                read(int(h.get(b"content-length", b"0")))
            body = b"\r\n".join(head)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        s.close()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(64)
while True:
    s, _ = ls.accept()
    threading.Thread(target=serve, args=(s,), daemon=True).start()
EOF
	# raw.py PORT: sends stdin as it is on one connection (in pieces split at the byte
	# \x00, each sent alone after a pause, the \x00 dropped), then prints the status line
	# of the answer, or "closed" when the router closes without one.
	cat >"$RT/raw.py" <<'EOF'
import socket, sys, time
data = sys.stdin.buffer.read()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
for i, part in enumerate(data.split(b"\x00")):
    if i:
        time.sleep(0.2)
    try:
        s.sendall(part)
    except OSError:
        break
got = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
        if b"\r\n\r\n" in got and (len(sys.argv) < 3):
            break
except OSError:
    pass
print(got.split(b"\r\n")[0].decode() if got else "closed")
if len(sys.argv) > 2:
    sys.stdout.write(got.decode("latin-1"))
EOF
}

setup_file() {
	export RT PB
	RT=$(mktemp -d /tmp/wharf-router-strict.XXXXXX)
	PB=$(free_port)
	write_backend
	python3 "$RT/backend.py" "$PB" "$RT/seen.log" </dev/null >"$RT/backend.log" 2>&1 3>&- &
	echo $! >"$RT/backend.pid"
	for _ in $(seq 1 50); do
		curl -s -o /dev/null -m 1 "http://127.0.0.1:$PB/" && break
		sleep 0.1
	done
	router_start router --listen 127.0.0.1:0
	curl -s -m 10 --unix-socket "$RT/router.sock" -X PUT http://x/apps/strict \
		-d "{\"domains\": [\"strict.example.com\"], \"targets\": [\"127.0.0.1:$PB\"]}" >/dev/null
}

teardown_file() {
	router_stop router || true
	[ -f "$RT/backend.pid" ] && kill "$(cat "$RT/backend.pid")" 2>/dev/null || true
	rm -rf "$RT"
}

# send BYTES (printf format): the request over one connection; prints the status line.
send() {
	# shellcheck disable=SC2059
	printf "$1" | timeout 20 python3 "$RT/raw.py" "$(router_port router)" ${2:+full}
}

# reached MARKER: 0 if the app was ever sent MARKER.
reached() {
	grep -q -F -- "$1" "$RT/seen.log" 2>/dev/null
}

@test "router-strict: a well-formed chunked request still passes (the baseline for the refusals)" {
	run send 'POST /ok HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok-ch\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 200 OK"
	reached ok-ch
	run send 'POST /ok HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding:  Chunked \r\n\r\n5\r\nok-CH\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 200 OK"
}

@test "router-strict: a header folded onto the next line (obs-fold) is refused with 400, not dropped" {
	run send 'GET /fold1 HTTP/1.1\r\nHost: strict.example.com\r\nX-Fold: a\r\n folded-sp\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'GET /fold2 HTTP/1.1\r\nHost: strict.example.com\r\nX-Fold: a\r\n\tfolded-tab\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	# A fold that would smuggle a second Host or a framing header onwards.
	run send 'POST /fold3 HTTP/1.1\r\nHost: strict.example.com\r\nX-A: b\r\n Content-Length: 5\r\nContent-Length: 0\r\n\r\nhello'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached /fold1
	refute reached /fold2
	refute reached /fold3
}

@test "router-strict: Transfer-Encoding other than exactly chunked is refused with 400 and never forwarded" {
	local te
	for te in 'gzip, chunked' 'chunked, identity' 'xchunked' 'chunkedx' 'identity' 'chunked;q=1'; do
		run send "POST /te-$te HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: $te\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		assert_output "HTTP/1.1 400 Bad Request"
	done
	run send 'POST /te-dup HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'POST /te-cl HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\nContent-Length: 8\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'POST /te-cl2 HTTP/1.1\r\nHost: strict.example.com\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'POST /te-10 HTTP/1.0\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached /te-
}

@test "router-strict: chunk data not followed by CRLF is refused; the bytes after it never reach the app" {
	# In one piece: nothing of the body goes on.
	run send 'POST /crlf1 HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX5\r\nSMUG1\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached SMUG1
	refute reached abcXX
	# The chunk's data in one read, its bad "CRLF" in the next: the check carries over.
	run send 'POST /crlf2 HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\0\r\0X5\r\nSMUG2\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached SMUG2
	# A bare LF after the data is not a CRLF either.
	run send 'POST /crlf3 HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n5\r\nSMUG3\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached SMUG3
	# Split the same way but well-formed, it passes.
	run send 'POST /crlf4 HTTP/1.1\r\nHost: strict.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\0\r\0\n5\r\nfine4\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 200 OK"
	reached fine4
}

@test "router-strict: an absolute-form target whose host is not Host is refused with 400; a matching one is served" {
	run send 'GET http://other.example/abs1 HTTP/1.1\r\nHost: strict.example.com\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'GET http://strict.example.com@other.example/abs2 HTTP/1.1\r\nHost: strict.example.com\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	run send 'GET nonsense/abs3 HTTP/1.1\r\nHost: strict.example.com\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request"
	refute reached /abs1
	refute reached /abs2
	refute reached /abs3
	run send 'GET http://STRICT.example.com:80/abs4 HTTP/1.1\r\nHost: strict.example.com\r\n\r\n'
	assert_output "HTTP/1.1 200 OK"
	reached /abs4
}

@test "router-strict: a client's X-Request-Id is kept only if it is a sane token, else replaced" {
	run send 'GET /rid1 HTTP/1.1\r\nHost: strict.example.com\r\nX-Request-Id: abc-123.x:y_z\r\nConnection: close\r\n\r\n' full
	assert_line --index 0 "HTTP/1.1 200 OK"
	assert_output --partial $'X-Request-Id: abc-123.x:y_z\r'
	local long
	long=$(printf 'a%.0s' $(seq 1 65))
	for bad in "$long" 'has space' 'quote"d' 'semi;colon' 'comma,sep' $'caf\xc3\xa9' '<script>'; do
		run send "GET /rid2 HTTP/1.1\r\nHost: strict.example.com\r\nX-Request-Id: $bad\r\nConnection: close\r\n\r\n" full
		assert_line --index 0 "HTTP/1.1 200 OK"
		refute_output --partial "$bad"
		assert_output --regexp $'X-Request-Id: [0-9a-f]{32}\r'
	done
	run send 'GET /rid3 HTTP/1.1\r\nHost: strict.example.com\r\nX-Request-Id: first\r\nX-Request-Id: second\r\nConnection: close\r\n\r\n' full
	assert_output --partial $'X-Request-Id: first\r'
	refute_output --partial second
}
