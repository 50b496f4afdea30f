#!/usr/bin/env python3
"""tests/e2e/lib/h2raw.py - a raw HTTP/2 client for the attacks router-h2.bats performs, and the
writer of the h2 fuzz corpus. Frames are built by hand (HPACK literals without indexing and
without Huffman coding), so it can send what no well-behaved client sends.

python3 h2raw.py PORT NAME CAFILE SCENARIO   over TLS (ALPN h2, SNI NAME) to 127.0.0.1:PORT;
prints one line saying what the router did:
  conn-specific       a request with "connection: keep-alive" -> "reset 1" (RST_STREAM
                      PROTOCOL_ERROR) or "status 400"
  te-chunked          a request with "transfer-encoding: chunked" -> as above
  cl-mismatch         content-length: 10 and 5 bytes of DATA -> "reset 1"
  rapid-reset N       N streams opened and at once reset (CVE-2023-44487) -> "goaway N CODE"
                      (N: streams sent before the GOAWAY was read) or "survived"
  continuation-flood  HEADERS then CONTINUATION frames without end, one header each
                      (CVE-2024-28182) -> "closed after N" (CONTINUATION frames sent)
  big-headers         a header list past 16 KiB -> the answer's first DATA line
  malformed           a SETTINGS frame of 5 bytes -> "goaway CODE"
  ping-hold S         PINGs for S seconds -> "goaway after Ns" (or "closed after Ns",
                      "open after Ss")
  headers-hold S      a HEADERS without END_HEADERS, then silence: as ping-hold
  streams N           N requests at once on one connection -> "ok A refused R" (200s, and
                      RST_STREAM REFUSED_STREAM)
python3 h2raw.py corpus DIR         writes the fuzz corpus (client bytes after the preface)
"""
import os
import socket
import ssl
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 1, 4


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_int(value, prefix):
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([value])
    out = [limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack(headers):
    out = b""
    for name, value in headers:
        name, value = name.encode(), value.encode()
        out += b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value
    return out


def request(name, path="/p/x", method="GET", extra=()):
    return [(":method", method), (":scheme", "https"), (":path", path), (":authority", name)] + list(extra)


def settings():
    return frame(SETTINGS, 0, 0, b"")


class Conn:
    def __init__(self, port, name, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname=name)
        assert self.s.selected_alpn_protocol() == "h2", self.s.selected_alpn_protocol()
        self.buf = b""
        self.s.sendall(PREFACE + settings())

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def read_frame(self, timeout=5):
        """(type, flags, sid, payload), or None once the connection ended or stayed silent."""
        self.s.settimeout(timeout)
        while len(self.buf) < 9 or len(self.buf) < 9 + struct.unpack(">I", b"\0" + self.buf[:3])[0]:
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk
        n = struct.unpack(">I", b"\0" + self.buf[:3])[0]
        f = (self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF, self.buf[9:9 + n])
        self.buf = self.buf[9 + n:]
        if f[0] == SETTINGS and not f[1] & 1:
            self.send(frame(SETTINGS, 1, 0))
        if f[0] == PING and not f[1] & 1:
            self.send(frame(PING, 1, 0, f[3]))
        return f

    def outcome(self, sid):
        """What became of stream sid: "reset CODE", "data <first line>", "goaway CODE", "closed"."""
        data = b""
        while True:
            f = self.read_frame()
            if f is None:
                return "closed"
            t, flags, fsid, payload = f
            if t == GOAWAY:
                return "goaway %d" % struct.unpack(">I", payload[4:8])[0]
            if fsid != sid:
                continue
            if t == RST:
                return "reset %d" % struct.unpack(">I", payload)[0]
            if t == DATA:
                data += payload
            if t in (DATA, HEADERS) and flags & END_STREAM:
                return "data " + data.decode(errors="replace").split("\n")[0]


def scenario(port, name, cafile, what, arg):
    c = Conn(port, name, cafile)
    if what in ("conn-specific", "te-chunked"):
        bad = ("connection", "keep-alive") if what == "conn-specific" else ("transfer-encoding", "chunked")
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(request(name, extra=[bad]))))
        out = c.outcome(1)
        return "reset 1" if out == "reset 1" else ("status 400" if out.startswith("data bad request") else out)
    if what == "cl-mismatch":
        c.send(frame(HEADERS, END_HEADERS, 1, hpack(request(name, "/echo", "POST", [("content-length", "10")]))))
        c.send(frame(DATA, END_STREAM, 1, b"12345"))
        return c.outcome(1)
    if what == "rapid-reset":
        n = int(arg)
        for i in range(n):
            sid = 1 + 2 * i
            ok = c.send(frame(HEADERS, END_STREAM | END_HEADERS, sid, hpack(request(name))) +
                        frame(RST, 0, sid, struct.pack(">I", 8)))
            if not ok:
                break
            if i % 50 == 49:
                # Read what came so far: a GOAWAY ends the attack.
                while True:
                    f = c.read_frame(timeout=0.05)
                    if f is None:
                        break
                    if f[0] == GOAWAY:
                        return "goaway %d %d" % (i + 1, struct.unpack(">I", f[3][4:8])[0])
        while True:
            f = c.read_frame(timeout=2)
            if f is None:
                return "survived"
            if f[0] == GOAWAY:
                return "goaway %d %d" % (n, struct.unpack(">I", f[3][4:8])[0])
    if what == "continuation-flood":
        c.send(frame(HEADERS, 0, 1, hpack(request(name))))
        sent = 0
        for i in range(10000):
            if not c.send(frame(CONT, 0, 1, hpack([("x-flood-%d" % i, "a")]))):
                return "closed after %d" % sent
            sent += 1
            if i % 10 == 9:
                while True:
                    f = c.read_frame(timeout=0.05)
                    if f is None:
                        break
                    if f[0] == GOAWAY:
                        return "closed after %d" % sent
        return "open after %d" % sent
    if what == "big-headers":
        block = hpack(request(name, extra=[("x-big-%d" % i, "v" * 1000) for i in range(20)]))
        c.send(frame(HEADERS, END_STREAM, 1, block[:16000]) + frame(CONT, END_HEADERS, 1, block[16000:]))
        return c.outcome(1)
    if what in ("ping-hold", "headers-hold"):
        # PINGs every 0.2 s, or one HEADERS never finished: neither is a request.
        import time
        start = time.time()
        if what == "headers-hold":
            # The server's SETTINGS first: its ACK must not fall inside the header block.
            f = c.read_frame(timeout=2)
            while f is not None and f[0] != SETTINGS:
                f = c.read_frame(timeout=2)
            c.send(frame(HEADERS, 0, 1, hpack(request(name))))
        while time.time() - start < float(arg):
            if what == "ping-hold" and not c.send(frame(PING, 0, 0, b"12345678")):
                return "closed after %.0fs" % (time.time() - start)
            while True:
                f = c.read_frame(timeout=0.2)
                if f is None:
                    break
                if f[0] == GOAWAY:
                    return "goaway after %.0fs" % (time.time() - start)
        return "open after %ss" % arg
    if what == "malformed":
        c.send(frame(SETTINGS, 0, 0, b"\0\0\0\0\0"))
        while True:
            f = c.read_frame()
            if f is None:
                return "closed"
            if f[0] == GOAWAY:
                return "goaway %d" % struct.unpack(">I", f[3][4:8])[0]
    if what == "streams":
        n = int(arg)
        out = b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, hpack(request(name)))
                       for i in range(n))
        c.send(out)
        done, ok, refused = set(), 0, 0
        while len(done) < n:
            f = c.read_frame()
            if f is None:
                break
            t, flags, sid, payload = f
            if t == RST:
                done.add(sid)
                refused += struct.unpack(">I", payload)[0] == 7
            elif t == DATA and flags & END_STREAM:
                done.add(sid)
                ok += 1
        return "ok %d refused %d" % (ok, refused)
    return "unknown scenario " + what


def corpus(d):
    os.makedirs(d, exist_ok=True)
    name = "one.example.com"
    cases = {
        "get": settings() + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(request(name))),
        "post-cl": frame(HEADERS, END_HEADERS, 1, hpack(request(name, "/echo", "POST", [("content-length", "5")]))) +
        frame(DATA, END_STREAM, 1, b"hello"),
        "post-chunked": frame(HEADERS, END_HEADERS, 1, hpack(request(name, "/echo", "POST"))) +
        frame(DATA, 0, 1, b"abc") + frame(DATA, END_STREAM, 1, b"def"),
        "trailers": frame(HEADERS, END_HEADERS, 1, hpack(request(name, "/echo", "POST"))) +
        frame(DATA, 0, 1, b"abc") + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack([("x-t", "1")])),
        "cookies": frame(HEADERS, END_STREAM | END_HEADERS, 1,
                         hpack(request(name, extra=[("cookie", "a=1"), ("cookie", "b=2"), ("host", name)]))),
        "conn-specific": frame(HEADERS, END_STREAM | END_HEADERS, 1,
                               hpack(request(name, extra=[("connection", "close"), ("upgrade", "h2c")]))),
        "cl-mismatch": frame(HEADERS, END_HEADERS, 1, hpack(request(name, "/echo", "POST", [("content-length", "10")]))) +
        frame(DATA, END_STREAM, 1, b"12345"),
        "continuation": frame(HEADERS, 0, 1, hpack(request(name))) +
        b"".join(frame(CONT, 0, 1, hpack([("x-%d" % i, "v")])) for i in range(12)),
        "continuation-ok": frame(HEADERS, 0, 1, hpack(request(name))) + frame(CONT, END_HEADERS | 0, 1, hpack([("x", "y")])),
        "rapid-reset": b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, hpack(request(name))) +
                                frame(RST, 0, 1 + 2 * i, struct.pack(">I", 8)) for i in range(40)),
        "streams": b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, hpack(request(name))) for i in range(140)),
        "big-headers": frame(HEADERS, END_STREAM | END_HEADERS, 1,
                             hpack(request(name, extra=[("x-big-%d" % i, "v" * 900) for i in range(18)]))),
        "pseudo-after-regular": frame(HEADERS, END_STREAM | END_HEADERS, 1,
                                      hpack([(":method", "GET"), ("x", "1"), (":path", "/"), (":scheme", "https")])),
        "connect": frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack([(":method", "CONNECT"), (":authority", name)])),
        "malformed-settings": frame(SETTINGS, 0, 0, b"\0\0\0\0\0"),
        "window-ping": frame(WINDOW, 0, 0, struct.pack(">I", 1 << 20)) + frame(PING, 0, 0, b"12345678") +
        frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(request(name, "/big?n=100000"))),
        "goaway": frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(request(name))) + frame(GOAWAY, 0, 0, b"\0" * 8),
        "uppercase": frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(request(name, extra=[("X-Up", "1")]))),
    }
    for k, v in cases.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)


if __name__ == "__main__":
    if sys.argv[1] == "corpus":
        corpus(sys.argv[2])
    else:
        print(scenario(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                       sys.argv[5] if len(sys.argv) > 5 else None))
