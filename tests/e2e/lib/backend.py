#!/usr/bin/env python3
"""tests/e2e/lib/backend.py - the HTTP/1.1 app the router*.bats files put behind the router.

python3 backend.py [OPTIONS] [NAME:]PORT...  one listener per argument on 127.0.0.1, one
thread per connection, keep-alive; prints "ready" once every listener is bound (or, with
--never-accept, once its queue is full). Requests, whatever the method unless said:
  /p/<x>            -> "<x>\\n"
  POST|PUT, /echo   -> "<bytes> <digest>\\n" of the body (Content-Length or chunked; --digest)
  /who              -> "NAME\\n"
  /slow...          -> "slow\\n" after 3 s ("slow NAME\\n" with --say-name)
  /headers          -> the request head as received, lines ending in "\\n"
  /big?n=N          -> N bytes (Content-Length) of 'x', or of a fixed random 1 MiB block
                       repeated with --random-body
  /chunked?n=N      -> N bytes of 'x', chunked (with a trailer "X-Trailer: t" with --trailer)
  GET|HEAD /head1000 -> Content-Length: 1000 ('h' * 1000; no body for HEAD)
  /close-on-reuse   -> "fresh\\n" on a connection's first request; on a later one the
                       request is read and logged, then the connection closed unanswered
  /rst-idle         -> resets (RST, no FIN) every other connection of this listener waiting
                       for a request, then answers "reset <n>\\n"
  /h/ok...          -> 200 "health\\n"; /h/500... -> 500; /h/fail-X... -> 503 on the listener
                       named X, 200 on others; /h/hang... -> silence for 30 s, then close;
                       /h/500-then-hang... -> 500 the first time, then as /h/hang;
                       /h/after/MS... -> 503 until MS ms after this path's first request
  Upgrade: websocket -> 101, "welcome\\n", then echoes raw bytes; on EOF or "quit\\n" sends
                       "bye\\n" and closes
  anything else     -> "ok\\n" ("NAME\\n" with --say-name)
Options:
  --say-name          the default answer (and /slow's) names the listener
  --digest md5|crc32  POST|PUT bodies' digest (md5)
  --continue          answer "100 Continue" when the request expects it
  --trailer, --random-body   see /chunked and /big
  --log FILE          log lines to FILE ("{name}" in it is the listener's name), written
                      when a request's head has arrived, before it is answered
  --log-format FMT    a request's log line, from {method} {path} {host} {ua}
                      ("req {method} {path}")
  --log-skip PATH     requests for PATH are not logged (repeatable)
  --log-accept        also log "accept" per connection (and "rst" per /rst-idle reset)
  --silent            read whatever comes, never answer
  --never-accept      listen(0), fill the accept queue with its own connections and never
                      accept: the kernel drops further SYNs, a connect neither succeeds nor fails
  --accept-after S    the same for S seconds, touching --ready FILE once the queue is full
"""
import argparse
import hashlib
import random
import socket
import struct
import sys
import threading
import time
import zlib

ap = argparse.ArgumentParser()
ap.add_argument("listen", nargs="+")
ap.add_argument("--say-name", action="store_true")
ap.add_argument("--digest", choices=["md5", "crc32"], default="md5")
ap.add_argument("--continue", dest="cont", action="store_true")
ap.add_argument("--trailer", action="store_true")
ap.add_argument("--random-body", action="store_true")
ap.add_argument("--log")
ap.add_argument("--log-format", default="req {method} {path}")
ap.add_argument("--log-skip", action="append", default=[])
ap.add_argument("--log-accept", action="store_true")
ap.add_argument("--silent", action="store_true")
ap.add_argument("--never-accept", action="store_true")
ap.add_argument("--accept-after", type=float)
ap.add_argument("--ready")
args = ap.parse_args()

BLOCK = random.Random(7).randbytes(1 << 20) if args.random_body else b"x" * (1 << 20)
REASONS = {200: "OK", 500: "Internal Server Error", 503: "Service Unavailable"}
lock, conns, first = threading.Lock(), set(), {}


class Crc32:
    def __init__(self):
        self.crc = 0

    def update(self, b):
        self.crc = zlib.crc32(b, self.crc)

    def hexdigest(self):
        return "%08x" % self.crc


class Listener:
    def __init__(self, arg):
        self.name, _, port = arg.rpartition(":")
        self.port = int(port)
        self.logf = None
        if args.log:
            self.logf = open(args.log.replace("{name}", self.name), "a", buffering=1)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))

    def log(self, line):
        if self.logf:
            with lock:
                self.logf.write(line + "\n")


class Conn:
    def __init__(self, s, lst):
        self.s, self.lst, self.buf = s, lst, b""
        self.idle, self.rst, self.closed = False, False, False

    def fill(self, idle=False):
        if idle:
            # Waiting for a request: poll, so /rst-idle can reset this connection from its
            # own thread (a close from another thread would wait for recv).
            self.idle = True
            self.s.settimeout(0.05)
            try:
                while True:
                    if self.rst:
                        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))
                        if args.log_accept:
                            self.lst.log("rst")
                        raise EOFError
                    try:
                        d = self.s.recv(65536)
                        break
                    except socket.timeout:
                        pass
            finally:
                self.idle = False
                if not self.rst:
                    self.s.settimeout(None)
        else:
            d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def line(self, idle=False):
        while b"\n" not in self.buf:
            self.fill(idle and not self.buf)
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("latin-1")

    def body(self, h):
        """Reads the request's body: (bytes, digest)."""
        csum, total = hashlib.md5() if args.digest == "md5" else Crc32(), 0
        if h.get("transfer-encoding", "").lower() == "chunked":
            while True:
                n = int(self.line().split(";")[0], 16)
                if n == 0:
                    while self.line():
                        pass
                    return total, csum.hexdigest()
                total += n
                self.copy(n, csum)
                self.line()
        total = int(h.get("content-length", "0"))
        self.copy(total, csum)
        return total, csum.hexdigest()

    def copy(self, n, csum):
        k = min(n, len(self.buf))
        csum.update(self.buf[:k])
        self.buf, n = self.buf[k:], n - k
        view = memoryview(bytearray(1 << 20))
        while n:
            got = self.s.recv_into(view, min(n, len(view)))
            if not got:
                raise EOFError
            csum.update(view[:got])
            n -= got


def reset_idle(me):
    with lock:
        victims = [c for c in conns if c is not me and c.lst is me.lst and c.idle]
    for c in victims:
        c.rst = True
    for _ in range(100):
        if all(c.closed for c in victims):
            break
        time.sleep(0.02)
    return len(victims)


def health(path, name, again):
    """The status of a /h/ path, or None for silence."""
    if path.startswith("/h/hang") or (path.startswith("/h/500-then-hang") and again):
        return None
    if path.startswith("/h/500"):
        return 500
    if path.startswith("/h/fail-"):
        return 503 if path[len("/h/fail-"):].split("/")[0].split("?")[0] == name else 200
    if path.startswith("/h/after/"):
        ms = int(path.split("/")[3].split("?")[0])
        with lock:
            t0 = first[path]
        return 200 if (time.monotonic() - t0) * 1000 >= ms else 503
    return 200


def tunnel(c):
    s = c.s
    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\n\r\nwelcome\n")
    if c.buf:
        s.sendall(c.buf)
    while True:
        d = s.recv(65536)
        if not d or d == b"quit\n":
            s.sendall(b"bye\n")
            return
        s.sendall(d)


def send_n(s, n, chunked):
    if not chunked:
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        while n:
            k = min(n, len(BLOCK))
            s.sendall(BLOCK[:k])
            n -= k
        return
    s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while n:
        k = min(n, 100000)
        s.sendall(b"%x\r\n" % k + b"x" * k + b"\r\n")
        n -= k
    s.sendall(b"0\r\nX-Trailer: t\r\n\r\n" if args.trailer else b"0\r\n\r\n")


def answer(c, method, path, head, h, served):
    """Answers one request; False when the connection is to be closed unanswered."""
    s, name = c.s, c.lst.name
    with lock:
        again = path in first
        first.setdefault(path, time.monotonic())
    if h.get("upgrade", "").lower() == "websocket":
        tunnel(c)
        return False
    if args.cont and h.get("expect", "").lower() == "100-continue":
        s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    code, body, length = 200, b"ok\n", None
    if args.say_name:
        body = (name + "\n").encode()
    if path == "/close-on-reuse":
        c.body(h)
        if served:
            return False
        body = b"fresh\n"
    elif path.startswith("/h/"):
        code = health(path, name, again)
        if code is None:
            time.sleep(30)
            return False
        body = b"health\n"
    elif method in ("POST", "PUT") or path == "/echo":
        body = ("%d %s\n" % c.body(h)).encode()
    elif path.startswith("/p/"):
        body = (path[3:] + "\n").encode()
    elif path == "/who":
        body = (name + "\n").encode()
    elif path.startswith("/slow"):
        time.sleep(3)
        body = ("slow %s\n" % name if args.say_name else "slow\n").encode()
    elif path == "/headers":
        body = head.encode()
    elif path == "/head1000":
        body, length = b"" if method == "HEAD" else b"h" * 1000, 1000
    elif path.startswith("/big?n=") or path.startswith("/chunked?n="):
        send_n(s, int(path.split("=")[1]), path.startswith("/chunked"))
        return True
    elif path == "/rst-idle":
        body = ("reset %d\n" % reset_idle(c)).encode()
    s.sendall(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n"
              % (code, REASONS[code].encode(), len(body) if length is None else length) + body)
    return True


def serve(s, lst):
    c, served = Conn(s, lst), 0
    with lock:
        conns.add(c)
    if args.log_accept:
        lst.log("accept")
    try:
        if args.silent:
            while s.recv(65536):
                pass
            return
        while True:
            rl = c.line(idle=True)
            if not rl:
                continue
            method, path, _ = rl.split(" ")
            head, h = rl + "\n", {}
            while True:
                l = c.line()
                if not l:
                    break
                head += l + "\n"
                k, v = l.split(":", 1)
                h[k.strip().lower()] = v.strip()
            if path not in args.log_skip:
                lst.log(args.log_format.format(method=method, path=path,
                                               host=h.get("host", "-"),
                                               ua=h.get("user-agent", "-")))
            if not answer(c, method, path, head, h, served):
                break
            served += 1
    except (EOFError, OSError, ValueError):
        pass
    finally:
        c.closed = True
        with lock:
            conns.discard(c)
        s.close()


def fill_queue(lst, n):
    """listen(0) and n connections of our own: the accept queue is full, SYNs are dropped."""
    lst.sock.listen(0)
    fill = []
    for _ in range(n):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", lst.port))
        except BlockingIOError:
            pass
        fill.append(f)
    return fill


def accept_loop(lst):
    while True:
        s, _ = lst.sock.accept()
        threading.Thread(target=serve, args=(s, lst), daemon=True).start()


listeners = [Listener(a) for a in args.listen]
if args.never_accept:
    held = [fill_queue(lst, 3) for lst in listeners]
    print("ready", flush=True)
    while True:
        time.sleep(3600)
if args.accept_after is not None:
    held = [fill_queue(lst, 2) for lst in listeners]
    time.sleep(0.2)
    if args.ready:
        open(args.ready, "w").close()
    time.sleep(args.accept_after)
else:
    for lst in listeners:
        lst.sock.listen(128)
print("ready", flush=True)
threads = [threading.Thread(target=accept_loop, args=(lst,), daemon=True) for lst in listeners]
for t in threads:
    t.start()
for t in threads:
    t.join()
