#!/usr/bin/env python3
# tests/e2e/lib/netprobe.py - the attacks of issue 12, run from inside an app or build
# container by tests/e2e/isolation-net.bats. Reads its targets from netprobe.json beside it
# and prints one line "probe NAME=RESULT" per attack; an attack that works prints an
# upper-case RESULT (REACHED, PRESENT, OPEN, LEAKED), so the test can refute them all.
import json, os, socket, sys, time

here = os.path.dirname(os.path.abspath(__file__))
t = json.load(open(os.path.join(here, "netprobe.json")))


def say(name, result):
    print("probe %s=%s" % (name, result), flush=True)


def tcp(host, port, want=b""):
    try:
        s = socket.create_connection((host, port), timeout=3)
    except OSError as e:
        return "blocked(%s)" % (e.strerror or e.__class__.__name__)
    try:
        s.settimeout(3)
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    if want and want not in data:
        return "blocked(other listener)"
    return "REACHED"


# Capture: a raw socket sees every frame of the interfaces of its network namespace.
try:
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    raw.settimeout(0.2)
    seen = b""
    end = time.time() + float(t.get("capture_s", 3))
    while time.time() < end:
        try:
            seen += raw.recv(65535)
        except OSError:
            pass
    raw.close()
    say("capture", "LEAKED" if t["secret"].encode() in seen else "clean")
except OSError as e:
    say("capture", "blocked(%s)" % e.strerror)

# The host's loopback services (dockerd on 2375, a database...), the other app, egress.
say("host_loopback", tcp("127.0.0.1", t["host_port"], t["host_secret"].encode()))
say("victim", tcp(t["victim_ip"], t["victim_port"]))
say("egress", tcp(t["egress_ip"], 443))
# A build's egress proxy (HTTPS_PROXY, on the gateway: the host's side) must not tunnel to
# the host's loopback, another app's container or the metadata address: 403, where a
# tunnel it let through would answer 200 or 502.
proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
if proxy:
    phost, pport = proxy.rsplit("/", 1)[-1].rsplit(":", 1)
    for name, dest in (("loopback", "127.0.0.1:443"), ("victim", "%s:443" % t["victim_ip"]),
                       ("metadata", "169.254.169.254:80")):
        try:
            s = socket.create_connection((phost, int(pport)), timeout=5)
            s.settimeout(5)
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (dest, dest)).encode())
            line = s.recv(256).split(b"\r\n", 1)[0].decode(errors="replace")
            s.close()
            say("proxy_" + name, "refused(403)" if " 403 " in line else "REACHED(%s)" % line)
        except OSError as e:
            say("proxy_" + name, "error(%s)" % (e.strerror or e.__class__.__name__))
else:
    say("proxy", "none")
# Unix sockets and state of the host: not in the container's filesystem.
for name, path in (("docker_sock", t["docker_sock"]), ("docker_sock_default", "/var/run/docker.sock"),
                   ("router_sock", t["router_sock"]), ("state", t["state"])):
    say(name, "PRESENT" if os.path.exists(path) else "absent")
# Listening: inside its own network namespace an app may bind any port; the host's
# ports stay the host's (the test checks from the host that nothing of ours is there).
for port in (443, 80, t["bind_port"]):
    try:
        s = socket.socket(socket.AF_INET6 if port == 80 else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if port == 80 else "0.0.0.0", port))
        s.listen(1)
        say("bind_%d" % port, "own-namespace")
        if port == t["bind_port"]:
            keep = s            # held for the test to look for from the host
    except OSError as e:
        say("bind_%d" % port, "refused(%s)" % e.strerror)
status = open("/proc/self/status").read()
for line in status.splitlines():
    if line.startswith(("NoNewPrivs:", "CapBnd:", "CapEff:")):
        k, v = line.split(":", 1)
        say(k, v.strip())
say("uid", os.getuid())
if len(sys.argv) > 1 and sys.argv[1] == "hold":
    time.sleep(float(sys.argv[2]))
