#!/usr/bin/env python3
"""router_table.py - the router's table on disk, for tests: table.json with its journal
(table.json.journal) replayed, as persist.c does at start; and a stream of PUTs
(control_put() is also bench/router-scale.sh's).

  router_table.py table STATE_FILE     prints {"apps": {...}, "generation": G} (sorted)
  router_table.py puts SOCK N APPS THREADS
                                       N PUTs over the control socket, THREADS at once, to
                                       apps j0..j(APPS-1) in turn (PUT i: target port
                                       20000+i); prints "app port" for each one answered
                                       200, as soon as it is (flushed), until N or an error
"""
import json
import socket
import sys
import threading


def table(path):
    try:
        t = json.load(open(path))
    except FileNotFoundError:
        t = {"apps": {}, "version": 1}
    gen = t.get("generation", 0)
    apps = t["apps"]
    try:
        lines = open(path + ".journal").read().split("\n")
    except FileNotFoundError:
        lines = [""]
    head = json.loads(lines[0]) if lines[0] else None
    if head and head["generation"] == gen:
        # The last piece has no newline: empty, or a torn record (ignored).
        for line in lines[1:-1]:
            ((app, value),) = json.loads(line).items()
            if value is None:
                apps.pop(app, None)
            else:
                apps[app] = value
    print(json.dumps({"apps": apps, "generation": gen}, indent=2, sort_keys=True))


def control_put(sock, app, body):
    """PUT /apps/APP with BODY (bytes) on the control socket SOCK: the whole answer."""
    req = (b"PUT /apps/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
           % (app.encode(), len(body)) + body)
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sock)
        s.sendall(req)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                return got
            got += d
    finally:
        s.close()


def puts(sock, n, napps, threads):
    lock = threading.Lock()
    counter = iter(range(n))
    failed = []

    def one():
        while not failed:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            app, port = "j%d" % (i % napps), 20000 + i
            body = ('{"domains": ["%s.example.com"], "targets": ["127.0.0.1:%d"]}'
                    % (app, port)).encode()
            try:
                got = control_put(sock, app, body)
            except OSError:
                failed.append(i)
                return
            if not got.startswith(b"HTTP/1.1 200"):
                failed.append(i)
                return
            with lock:
                sys.stdout.write("%s %d\n" % (app, port))
                sys.stdout.flush()

    ts = [threading.Thread(target=one) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    if sys.argv[1] == "table":
        table(sys.argv[2])
    elif sys.argv[1] == "puts":
        puts(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("usage: router_table.py table STATE_FILE | puts SOCK N APPS THREADS")
