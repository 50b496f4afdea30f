#!/usr/bin/env bats
# tests/e2e/ops.bats - what operators look at after a deploy, on real containers: ps:stats
# (memory as `docker stats` shows it), ps:top, the Prometheus text (promtool) and the metrics
# listener, ps:report's restarts and last exit with ps:events after a crash, log rotation
# (logs:set) holding a container's log under its max size after 50 MB of output,
# logs --since, logs:failed after a failed push, router:stats.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	[ -z "${SERVE_PID:-}" ] || kill "$SERVE_PID" 2>/dev/null || true
	harness_test_teardown
}

# to_bytes "1.5MiB": docker stats' human sizes in bytes.
to_bytes() {
	awk -v s="$1" 'BEGIN {
		n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
		m["B"] = 1; m["KiB"] = 1024; m["MiB"] = 1048576; m["GiB"] = 1073741824
		m["kB"] = 1000; m["MB"] = 1000000; m["GB"] = 1000000000
		printf "%d\n", n * m[u] }'
}

# within10 A B: A is within 10 % of B.
within10() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b / 10) }'
}

@test "ps:stats shows a container's memory within 10 % of docker stats; ps:top its processes" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "stats"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")
	app_url_get "$app" >/dev/null

	ok=0
	for _ in 1 2 3; do
		run wharf_ssh ps:stats "$app" --format json
		assert_success
		ours=$(jq -r '.[0].memory_usage' <<<"$output")
		theirs=$(to_bytes "$(docker stats --no-stream --format '{{.MemUsage}}' "$id" | awk '{ print $1 }')")
		if within10 "$ours" "$theirs"; then ok=1; break; fi
		echo "ours $ours docker $theirs"
	done
	[ "$ok" = 1 ]
	[ "$(jq -r --arg id "$id" '.[0].type + " " + (.[0].container | startswith($id) | tostring)' <<<"$output")" = "web true" ]
	[ "$(jq -r '.[0].memory_limit > 0 and .[0].pids >= 1 and .[0].restarts == 0' <<<"$output")" = true ]
	# CPU % and block I/O are there as numbers (the figures: tests/unit/docker/test_stats.c);
	# the request above came in and went out over the container's network.
	[ "$(jq -r '.[0] | ([.cpu_percent, .block_read, .block_write] | map(type == "number") | all) and .net_rx > 0 and .net_tx > 0' <<<"$output")" = true ]

	run wharf_ssh ps:stats "$app"
	assert_success
	assert_line --index 0 "=====> $app ps stats"
	assert_line --index 1 --regexp '^CONTAINER +TYPE +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS +RESTARTS$'
	assert_line --index 2 --regexp "^$app\.web\.1\.[0-9a-f]+ +web +[0-9.]+% "

	run wharf_ssh ps:top "$app"
	assert_success
	assert_line --index 0 --regexp "^=====> $app\.web\.1\.[0-9a-f]+ \(web\)"
	assert_output --partial "busybox httpd -f -p"
	run wharf_ssh ps:top "$app" --format json
	assert_success
	jq -e '.[0].titles | index("PID")' <<<"$output"
}

@test "metrics: the Prometheus text passes promtool; the listener is off until set, then serves it" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "metrics"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "metrics"

	wharf metrics >"$TEST_TMP/metrics.txt"
	run promtool check metrics <"$TEST_TMP/metrics.txt"
	echo "$output"
	assert_success
	grep -E "^wharf_container_memory_bytes\{app=\"$app\",process=\"web\",container=\"$app\.web\.1\.[0-9a-f]+\"\} [0-9]" "$TEST_TMP/metrics.txt"
	grep -E "^wharf_router_requests_total\{app=\"$app\",code=\"2xx\"\} [1-9]" "$TEST_TMP/metrics.txt"
	grep -qx "wharf_router_up 1" "$TEST_TMP/metrics.txt"

	run wharf metrics:serve
	assert_failure
	assert_output --partial "the metrics listener is off"
	run wharf metrics:set --global listen 0.0.0.0:99999
	assert_failure
	run wharf metrics:set --global listen "not-an-ip:9180"
	assert_failure
	port=$(free_port)
	# A port alone listens on loopback.
	run wharf metrics:set --global listen "$port"
	assert_success
	run wharf metrics:report --metrics-listen
	assert_output "127.0.0.1:$port"
	# The binary itself, not the wharf() function: $! must be the server's own pid (a
	# function in the background is a subshell, and killing it leaves the server running
	# with bats' output open, so the whole run never ends). fd 3 is bats' TAP stream.
	"$WHARF_BIN" metrics:serve >"$TEST_TMP/serve.log" 2>&1 3>&- &
	SERVE_PID=$!
	eventually 10 curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics"
	# Bound to loopback only.
	run ss -Hltn "sport = :$port"
	assert_output --regexp "127\.0\.0\.1:$port "
	[ "${#lines[@]}" = 1 ]
	curl -fsS "http://127.0.0.1:$port/metrics" >"$TEST_TMP/scraped.txt"
	run promtool check metrics <"$TEST_TMP/scraped.txt"
	assert_success
	grep -E "^wharf_container_cpu_seconds_total\{app=\"$app\"" "$TEST_TMP/scraped.txt"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")" = 404 ]
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")" = 405 ]
	# Over ssh the listener cannot be started: it is a local command.
	run wharf_ssh metrics:serve
	assert_failure
	kill "$SERVE_PID"
	wait "$SERVE_PID" || true
	SERVE_PID=
	wharf metrics:set --global listen
	run wharf metrics:report --metrics-listen
	assert_output "off"
}

@test "ps:report shows restarts and the last exit after a crash; ps:events lists the die and the restart" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "crash"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")
	run wharf_ssh ps:report "$app" --ps-restarts-web-1
	assert_output "0"
	run wharf_ssh ps:report "$app" --ps-last-exit-web-1
	assert_output "none"

	# The app's process dies of SIGKILL; on-failure brings it back.
	# The app's process, not docker-init (PID 1, whose arguments name it too).
	pid=$(docker top "$id" -eo pid,args | awk '/busybox httpd/ && !/init/ { print $1; exit }')
	[ -n "$pid" ]
	kill -9 "$pid"
	eventually 30 test "$(docker inspect -f '{{.RestartCount}}' "$id")" -ge 1
	run wharf_ssh ps:report "$app" --ps-restarts-web-1
	assert_output "1"
	run wharf_ssh ps:report "$app" --ps-last-exit-web-1
	assert_output --regexp '^137 at [0-9]{4}-[0-9]{2}-[0-9]{2}T'

	run wharf_ssh ps:events "$app" --format json
	assert_success
	[ "$(jq -r '[.[] | select(.action == "die")][0].exit_code' <<<"$output")" = 137 ]
	[ "$(jq -r '[.[] | select(.action == "start")] | length >= 2' <<<"$output")" = true ]
	[ "$(jq -r '.[0].process' <<<"$output")" = web ]
	run wharf_ssh ps:events "$app"
	assert_success
	assert_line --index 0 "=====> $app ps events"
	assert_output --regexp "die +web +$app\.web\.1\.[0-9a-f]+  exit 137"
	run wharf_ssh ps:events "$app" --since 1s-ago
	assert_failure
	assert_output --partial "invalid time"
}

@test "logs:set max-size/max-file: a container's log stays under its max size after 50 MB of output" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo up > /www/index.html
		CMD ["/bin/sh", "-c", "(head -c 50000000 /dev/zero | tr '\\0' x | fold -w 99; echo LOGDONE) & exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF2
	h_git_commit "$TEST_TMP/app" "noisy"
	wharf apps:create "$app"
	run wharf_ssh logs:set "$app" max-size 50k
	assert_failure
	assert_output --partial "out of range"
	run wharf_ssh logs:set "$app" max-file 0
	assert_failure
	run wharf_ssh logs:set "$app" max-size 1m
	assert_success
	run wharf_ssh logs:set "$app" max-file 2
	assert_success
	run wharf_ssh logs:report "$app" --logs-computed-max-size
	assert_output "1m"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")
	[ "$(docker inspect -f '{{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$id")" = "1048576 2" ]
	log=$(docker inspect -f '{{.LogPath}}' "$id")
	eventually 240 grep -q LOGDONE "$log"
	size=$(stat -c %s "$log")
	echo "log $size bytes"
	[ "$size" -le 1048576 ]
	[ "$(find "$(dirname "$log")" -name "$(basename "$log")*" | wc -l)" -le 2 ]
	total=$(du -cb "$log"* | tail -n 1 | cut -f1)
	[ "$total" -le $((2 * 1048576 + 65536)) ]

	# --global applies to apps without their own.
	run wharf logs:set --global max-file 4
	assert_success
	run wharf_ssh logs:report "$app" --logs-computed-max-file
	assert_output "2"
	run wharf_ssh logs:set "$app" max-file
	assert_success
	run wharf_ssh logs:report "$app" --logs-computed-max-file
	assert_output "4"
	wharf logs:set --global max-file
}

@test "logs --since filters by time; a bad --since is refused" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo up > /www/index.html
		CMD ["/bin/sh", "-c", "echo early-line; (sleep 8; echo late-line) & exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF2
	h_git_commit "$TEST_TMP/app" "timed"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	eventually 30 sh -c "\"$WHARF_BIN\" logs '$app' | grep -q early-line"
	sleep 1
	t=$(date -u +%s)
	eventually 30 sh -c "\"$WHARF_BIN\" logs '$app' | grep -q late-line"

	run wharf_ssh logs "$app" --since "$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)"
	assert_success
	assert_output --partial "late-line"
	refute_output --partial "early-line"
	run wharf_ssh logs "$app" --since "$t"
	assert_output --partial "late-line"
	refute_output --partial "early-line"
	run wharf_ssh logs "$app" --since 10m
	assert_output --partial "early-line"
	assert_output --partial "late-line"
	run wharf_ssh logs "$app" --since 5x
	assert_failure
	assert_output --partial "invalid time '5x'"
}

@test "logs:failed shows the output of the last failed push" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "good"
	wharf apps:create "$app"
	run wharf_ssh logs:failed "$app"
	assert_failure
	assert_output --partial "$app has no failed deploy on record"

	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF2'
		FROM wharf/debian:bookworm
		RUN echo "marker-of-the-failed-build" && false
	EOF2
	h_git_commit "$TEST_TMP/app" "broken"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	run wharf_ssh logs:failed "$app"
	assert_success
	assert_line --index 0 --regexp "^-----> Deploying $app \([0-9a-f]{7}\)"
	assert_output --partial "marker-of-the-failed-build"
	assert_output --partial " !     deploy of $app failed"
	[ "$(stat -c %a "$WHARF_ROOT/apps/$app/deploy-failed.log")" = 600 ]
}

@test "router:stats shows an app's requests, errors and latency quantiles" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "counted"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	for _ in 1 2 3 4 5; do app_url_get "$app" >/dev/null; done
	curl -s -o /dev/null -H "Host: $app.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/missing"

	run wharf_ssh router:stats "$app" --format json
	assert_success
	[ "$(jq -r '.requests >= 6 and .errors == 0 and .p50_seconds > 0 and .p99_seconds >= .p50_seconds' <<<"$output")" = true ]
	# Over a window: requests made during it are counted as a rate. They go on (at most 20 s)
	# until the command is done, so a slow ssh login on a busy machine cannot miss them.
	(for _ in $(seq 100); do app_url_get "$app" >/dev/null; sleep 0.2; done) 3>&- &
	load=$!
	run wharf_ssh router:stats "$app" --window 2 --format json
	kill "$load" 2>/dev/null || true
	wait "$load" || true # this one only: bats' own timeout watchdog is a child of the test too
	assert_success
	[ "$(jq -r '.window.seconds == 2 and .window.requests_per_second >= 1 and .window.error_rate == 0' <<<"$output")" = true ]
	run wharf_ssh router:stats "$app" --window 400
	assert_failure
	run wharf_ssh router:stats "$app"
	assert_success
	assert_line --index 0 "=====> $app router stats"
	assert_output --regexp "Latency p99: +[0-9.]+ ms"
}

@test "logs -p router shows the app's access log lines (--since, -n, -t follows)" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "logged"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	app_url_get "$app" "index.html?first" >/dev/null
	sleep 2
	t=$(date -u +%s)
	app_url_get "$app" "index.html?second" >/dev/null
	sleep 1.5 # the router flushes its access log every second

	run wharf_ssh logs "$app" -p router
	assert_success
	assert_output --regexp "app=$app status=200 method=GET proto=HTTP/1.1 scheme=http path=\"/index.html\?first\""
	assert_output --partial 'path="/index.html?second"'
	run wharf_ssh logs "$app" -p router -n 1
	assert_success
	assert_output --partial 'path="/index.html?second"'
	refute_output --partial 'path="/index.html?first"'
	run wharf_ssh logs "$app" -p router --since "$t"
	refute_output --partial 'path="/index.html?first"'
	assert_output --partial 'path="/index.html?second"'
	# -t follows: a request made after it started shows up; the rotated-away lines do not
	# come again. Bounded by timeout; the ssh client is the one process started here.
	timeout 20 ssh "${SSH_OPTS[@]}" -i "$WHARF_KEYS/alice" -p "$SSH_PORT" wharf@127.0.0.1 \
		logs "$app" -p router -t -n 0 </dev/null >"$TEST_TMP/follow.out" 2>&1 3>&- &
	local fpid=$!
	sleep 1
	app_url_get "$app" "index.html?third" >/dev/null
	eventually 10 grep -q 'path="/index.html?third"' "$TEST_TMP/follow.out"
	kill "$fpid" 2>/dev/null || true
	wait "$fpid" || true
	run cat "$TEST_TMP/follow.out"
	refute_output --partial 'path="/index.html?second"'
	assert_output --partial 'path="/index.html?third"'
}
