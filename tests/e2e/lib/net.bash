# shellcheck shell=bash
# tests/e2e/lib/net.bash - loopback ports and the test backend (lib/backend.py) for the e2e
# files: harness.bash sources it for the whole-wharf suite, router.bash for the router files.

BACKEND_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/backend.py

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# free_ports N: N distinct free ports on one line.
free_ports() {
	python3 -c 'import socket, sys
ss = [socket.socket() for i in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# backend ARGS...: runs lib/backend.py ARGS (see its header) in the background, with fd 3
# (bats' TAP stream) closed and stdin from /dev/null; stdout and stderr are the caller's
# (redirect them on the call). $! is its pid.
backend() {
	python3 "$BACKEND_PY" "$@" </dev/null 3>&- &
}

# http_wait PORT [PATH]: until http://127.0.0.1:PORT/PATH answers (5 s at most).
http_wait() {
	local _
	for _ in $(seq 1 50); do
		curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/${2#/}" && return 0
		sleep 0.1
	done
	return 1
}
