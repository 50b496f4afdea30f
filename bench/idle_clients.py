#!/usr/bin/env python3
"""bench/idle_clients.py - opens N keep-alive client connections to a proxy on loopback,
sends one request on each (so every connection is past its first request, as a real idle
browser connection is), prints "ready N" and holds them until stdin closes or MAX seconds
pass. Usage: idle_clients.py PORT HOST N [MAX_SECONDS]"""
import socket
import sys
import select
import time

port, host, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
max_s = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
socks, failed = [], 0
deadline = time.time() + max_s
for i in range(n):
    if time.time() > deadline:
        break
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("closed")
            got += chunk
        socks.append(s)
    except OSError:
        failed += 1
print("ready %d failed %d" % (len(socks), failed), flush=True)
# Hold until the caller closes our stdin or the time bound passes.
while time.time() < deadline:
    r, _, _ = select.select([sys.stdin], [], [], 1.0)
    if r and not sys.stdin.readline():
        break
for s in socks:
    s.close()
