#!/usr/bin/env bash
# bench/zero-downtime.sh - deploys under load: wrk keeps 50 keep-alive connections on one app
# through the router while it is deployed, rolled back, reconfigured, and fed deploys that
# fail their checks or their build. Prints total requests, non-2xx responses and socket
# errors (target: 0 and 0), push-to-serving times and the rollback time.
# Runs a whole private wharf (dockerd, sshd, router) like the e2e tests; needs root.
# Counts can be lowered for a quick run: DEPLOYS=20 ROLLBACKS=5 CONFIGS=5 BAD_CHECKS=3 BAD_BUILDS=2
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DEPLOYS=${DEPLOYS:-20} ROLLBACKS=${ROLLBACKS:-5} CONFIGS=${CONFIGS:-5}
BAD_CHECKS=${BAD_CHECKS:-3} BAD_BUILDS=${BAD_BUILDS:-2} CONNS=${CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}
MAX_SECONDS=${MAX_SECONDS:-1500}     # wrk's hard bound; the scenario stops it sooner

# shellcheck source=../tests/e2e/lib/harness.bash
. "$REPO/tests/e2e/lib/harness.bash"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[ -x "$REPO/bin/wharf" ] || make -C "$REPO" -s
harness_suite_setup 3>/dev/null || { echo "bench: could not start a private wharf" >&2; exit 1; }
WRK_PID=
finish() {
	[ -z "$WRK_PID" ] || kill "$WRK_PID" 2>/dev/null
	harness_suite_teardown
}
trap finish EXIT
TEST_TMP=$(mktemp -d "$WHARF_T/bench.XXXXXX")
APP=zd
DIR=$TEST_TMP/app
HOST="$APP.$WHARF_TEST_DOMAIN"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
push() { git_push_app "$DIR" "$APP" >"$TEST_TMP/push.log" 2>&1; }
page() { curl -sS --max-time 5 -H "Host: $HOST" "http://127.0.0.1:$ROUTER_PORT/"; }
# serving BODY: poll (bounded) until the router answers BODY.
serving() {
	local deadline=$((SECONDS + 60))
	until [ "$(page 2>/dev/null)" = "$1" ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.05
	done
}
# The app under load: a Node.js server on the stack image when its tarball is cached (a
# realistic app: keep-alive, a listen backlog of 511), else busybox httpd on the base image.
# busybox forks per request and listens with a backlog of 9: under 50 connections its
# backlog overflows and some connects wait for a 1 s SYN retransmit, which then shows up in
# every latency figure (and in how long draining an old container takes).
BENCH_APP=${BENCH_APP:-node}
STACK_OK=0
"$REPO/scripts/stack-image.sh" --docker-host "$DOCKER_HOST" --import-only >/dev/null 2>&1 && STACK_OK=1
[ "$STACK_OK" = 1 ] || BENCH_APP=busybox
good_dockerfile() {
	if [ "$BENCH_APP" = node ]; then
		cat >"$DIR/Dockerfile" <<-'DF'
			FROM wharf/stack:bookworm
			COPY server.js /app/server.js
			COPY index.html /app/index.html
			CMD ["node", "/app/server.js"]
		DF
	else
		cat >"$DIR/Dockerfile" <<-'DF'
			FROM wharf/debian:bookworm
			COPY index.html /www/index.html
			CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
		DF
	fi
	rm -f "$DIR/CHECKS"
}
make_bench_app() {
	make_app_repo "$DIR" "v0"
	[ "$BENCH_APP" = node ] || return 0
	cat >"$DIR/server.js" <<-'JS'
		// The benchmark's app: answers index.html, read once at startup, on $PORT.
		const http = require('http');
		const body = require('fs').readFileSync(__dirname + '/index.html');
		const srv = http.createServer((req, res) => {
			res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': body.length });
			res.end(body);
		});
		srv.keepAliveTimeout = 65000;
		srv.listen(Number(process.env.PORT));
		process.on('SIGTERM', () => {
			srv.close(() => process.exit(0));
			srv.closeIdleConnections();
			setTimeout(() => process.exit(0), 5000).unref();
		});
	JS
	good_dockerfile
	h_git_commit "$DIR" "node server"
}

make_bench_app
push || { cat "$TEST_TMP/push.log"; exit 1; }
serving "v0" || { echo "bench: the first deploy does not serve" >&2; exit 1; }

wrk -t "$WRK_THREADS" -c "$CONNS" -d "${MAX_SECONDS}s" --timeout 10s -H "Host: $HOST" \
	"http://127.0.0.1:$ROUTER_PORT/" >"$TEST_TMP/wrk.out" 2>&1 &
WRK_PID=$!
sleep 2

deploy_times=() ok=0 failed_ok=0 n=0
for i in $(seq 1 "$DEPLOYS"); do
	n=$((n + 1))
	app_change "$DIR" "v$n"
	t=$(now)
	if push && serving "v$n"; then ok=$((ok + 1)); deploy_times+=("$(since "$t")"); fi
	# Sprinkle the other operations between the deploys.
	if [ "$i" -le "$CONFIGS" ]; then
		wharf_ssh config:set "$APP" "BENCH_ROUND=$i" >/dev/null 2>&1 && ok=$((ok + 1))
	fi
	if [ "$i" -le "$BAD_CHECKS" ]; then
		printf 'ATTEMPTS=2\nTIMEOUT=2\n/ this text is never served\n' >"$DIR/CHECKS"
		app_change "$DIR" "bad check $i"
		push || failed_ok=$((failed_ok + 1))
		git -C "$DIR" rm -q CHECKS && h_git_commit "$DIR" "drop CHECKS" && app_change "$DIR" "v$n"
	fi
	if [ "$i" -le "$BAD_BUILDS" ]; then
		sed -i 's|^COPY|RUN false\nCOPY|' "$DIR/Dockerfile"
		app_change "$DIR" "bad build $i"
		push || failed_ok=$((failed_ok + 1))
		good_dockerfile
		app_change "$DIR" "v$n"
	fi
done
# trace_s LOG PATTERN: the time of day (seconds) of the first --trace line matching PATTERN.
trace_s() {
	awk -v pat="$2" '$1 == "trace" && index($0, pat) {
		split($2, t, ":"); printf "%.3f", t[1] * 3600 + t[2] * 60 + t[3]; exit }' "$1"
}
rollback_times=() rollback_cmd_times=() rollback_wharf_times=()
for i in $(seq 1 "$ROLLBACKS"); do
	before=$(page)
	t=$(now)
	# --trace splits the time: ssh and process start, then wharf's own work up to the
	# router's switch (from "Rolling back" to the answer of the router's PUT).
	wharf_ssh -- --trace releases:rollback "$APP" >"$TEST_TMP/rollback.log" 2>&1 &
	rb=$!
	# Time to serving: until the router answers something else than before.
	deadline=$((SECONDS + 60))
	while [ "$(page 2>/dev/null)" = "$before" ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
	[ "$(page)" != "$before" ] && rollback_times+=("$(since "$t")")
	wait "$rb" && ok=$((ok + 1)) && rollback_cmd_times+=("$(since "$t")")
	t1=$(trace_s "$TEST_TMP/rollback.log" "step: Rolling back")
	t2=$(trace_s "$TEST_TMP/rollback.log" "PUT /apps/$APP:")
	[ -z "$t1" ] || [ -z "$t2" ] ||
		rollback_wharf_times+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')")
	[ "$(page)" != "$before" ] || echo "bench: rollback $i did not change the page" >&2
done

kill -INT "$WRK_PID"
wait "$WRK_PID" 2>/dev/null
WRK_PID=

# A cached buildpack app (a static site on the stack image): the second push's time
# to serving, when the stack tarball is cached (`wharf stack:build` makes it).
bp_line="not measured: no cached stack image (wharf stack:build)"
if [ "$STACK_OK" = 1 ]; then
	BP=$TEST_TMP/bp
	h_git_init "$BP"
	mkdir -p "$BP/public" && echo "bp v1" >"$BP/public/index.html"
	h_git_commit "$BP" "static site"
	bp_page() { curl -sS --max-time 5 -H "Host: zdbp.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/"; }
	if git_push_app "$BP" zdbp >"$TEST_TMP/bp.log" 2>&1; then
		echo "bp v2" >"$BP/public/index.html"
		h_git_commit "$BP" "change"
		t=$(now)
		if git_push_app "$BP" zdbp >>"$TEST_TMP/bp.log" 2>&1; then
			deadline=$((SECONDS + 60))
			until [ "$(bp_page 2>/dev/null)" = "bp v2" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
			bp_line="$(since "$t") s (second push of a static site, no load)"
		fi
	fi
	case $bp_line in not*) bp_line="not measured: a push of the static site failed: $(
		grep -E '^remote:  !|error' "$TEST_TMP/bp.log" | head -n 2 | tr '\n' ' ')" ;; esac
fi

total=$(awk '/requests in/ { print $1 }' "$TEST_TMP/wrk.out")
non2xx=$(awk -F': ' '/Non-2xx/ { print $2 }' "$TEST_TMP/wrk.out")
sockerr=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$TEST_TMP/wrk.out")
stats() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1; s += $1 } END {
	if (NR) printf "min %.2f s, median %.2f s, max %.2f s (n=%d)", a[1], a[int((NR + 1) / 2)], a[NR], NR
	else printf "none" }'; }

cat <<REPORT

=====> wharf zero-downtime benchmark ($(date -u +%F), $(nproc) cores, Docker $(docker version -f '{{.Server.Version}}'))
       Load:                 wrk, $WRK_THREADS threads, $CONNS keep-alive connections through the router
       App:                  $BENCH_APP ($( [ "$BENCH_APP" = node ] && echo "Node.js http server on the stack image" || echo "busybox httpd, a fork per request, listen backlog 9"))
       Operations:           $DEPLOYS deploys, $CONFIGS config:set, $ROLLBACKS rollbacks (succeeded: $ok of $((DEPLOYS + CONFIGS + ROLLBACKS)))
                             $BAD_CHECKS deploys failing their check, $BAD_BUILDS failing their build (rejected: $failed_ok of $((BAD_CHECKS + BAD_BUILDS)))
       Requests:             ${total:-?}
       Non-2xx responses:    ${non2xx:-0}          (target 0)
       Socket errors:        ${sockerr:-0}          (target 0)
       Push to serving:      $(stats "${deploy_times[@]}")   (cached Dockerfile app)
       Rollback to serving:  $(stats "${rollback_times[@]}")   (target < 2 s)
       Rollback command:     $(stats "${rollback_cmd_times[@]}")   (includes ssh and retiring the old container)
       Rollback in wharf:    $(stats "${rollback_wharf_times[@]}")   (from "Rolling back" to the router's switch, without ssh)
       wrk:                  $(grep -E 'Socket errors|Requests/sec' "$TEST_TMP/wrk.out" | tr -s ' ' | paste -sd ';' -)
       Buildpack app:        $bp_line
REPORT
[ "${non2xx:-0}" = 0 ] && [ "${sockerr:-0}" = 0 ]
