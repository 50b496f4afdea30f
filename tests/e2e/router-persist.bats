#!/usr/bin/env bats
# router-persist.bats - the router's table is written off the event loop: changes that
# arrive together are all answered once on disk (appended to table.json.journal) and all
# restored after a restart; a write that fails changes nothing (500), and the next one
# keeps every app; the journal is compacted into the table; a router killed (-9) in the
# middle of a stream of PUTs restarts with every PUT it answered.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"
LIB="${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib"

ctl() {
	curl -s -m 30 --unix-socket "$RT/router.sock" "$@"
}

# The table on disk: table.json with its journal replayed (as the router does at start).
disk_table() {
	python3 "$LIB/router_table.py" table "$STATE"
}

# GET /apps, sorted, on one line: to compare before and after a restart.
apps_now() {
	ctl http://x/apps | python3 -c 'import json,sys; a=json.load(sys.stdin)["apps"]; print(json.dumps(sorted(a, key=lambda x: x["app"]), sort_keys=True))'
}

setup() {
	RT=$(mktemp -d /tmp/wharf-router-persist.XXXXXX)
	STATE=$RT/root/router/table.json
	router_start router --listen 127.0.0.1:0
}

teardown() {
	router_stop router || true
	rm -rf "$RT"
}

@test "router-persist: 40 PUTs at once are all answered 200, all in the journal, all restored" {
	local i pids=()
	for i in $(seq 1 40); do
		ctl -o "$RT/put.$i" -w '%{http_code}\n' -X PUT "http://x/apps/p$i" \
			-d "{\"domains\": [\"p$i.example.com\"], \"targets\": [\"127.0.0.1:$((20000 + i))\"]}" \
			>"$RT/code.$i" 3>&- &
		pids+=($!)
	done
	# Not a bare `wait`: the router's own waiting subshell (lib/router.bash) is a child too.
	wait "${pids[@]}"
	pids=()
	run cat "$RT"/code.*
	[ "$(grep -c '^200$' <<<"$output")" -eq 40 ]
	# Appended to the journal (a header and one record each); the table is not rewritten.
	[ ! -e "$STATE" ]
	[ "$(wc -l <"$STATE.journal")" -eq 41 ]
	run python3 -c 'import json,sys; t=json.load(sys.stdin); print(len(t["apps"]), t["apps"]["p17"]["targets"])' \
		< <(disk_table)
	assert_output "40 ['127.0.0.1:20017']"
	# Deletes and option changes at once too, mixed with PUTs.
	for i in $(seq 1 10); do
		ctl -o /dev/null -X DELETE "http://x/apps/p$i" 3>&- &
		pids+=($!)
		ctl -o /dev/null -X PUT "http://x/apps/p$((i + 10))/options" -d '{"redirect_https": true}' 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	router_stop router
	router_start router --listen 127.0.0.1:0
	run grep -c 'restored' "$RT/router.log"
	assert_output 1
	grep -q '30 apps restored' "$RT/router.log"
	run ctl http://x/apps/p15/options
	assert_output '{"app":"p15","options":{"max_body_bytes":1073741824,"redirect_https":true}}'
	run ctl -w '%{http_code}' http://x/apps/p5
	assert_output --partial 404
}

@test "router-persist: a write that fails answers 500 and changes nothing; the next write keeps every app" {
	run ctl -X PUT http://x/apps/keep -d '{"domains": ["keep.example.com"], "targets": ["127.0.0.1:20001"]}'
	assert_output --partial '"app":"keep"'
	# The journal's place taken by a directory: it cannot be opened to append (even by root).
	rm -f "$STATE.journal"
	mkdir "$STATE.journal"
	run ctl -w '\n%{http_code}' -X PUT http://x/apps/keep -d '{"domains": ["keep.example.com"], "targets": ["127.0.0.1:20002"]}'
	assert_line --index 0 --partial '"error":"cannot save the router table: cannot open'
	assert_line --index 1 500
	run ctl -w '\n%{http_code}' -X PUT http://x/apps/new -d '{"domains": ["new.example.com"], "targets": []}'
	assert_line --index 1 500
	run ctl -w '\n%{http_code}' -X DELETE http://x/apps/keep
	assert_line --index 1 500
	run ctl http://x/apps/keep
	assert_output --partial '"targets":["127.0.0.1:20001"]'
	run ctl -w '%{http_code}' http://x/apps/new
	assert_output --partial 404
	# The journal was lost: the next write compacts (the whole table, then a fresh journal).
	rmdir "$STATE.journal"
	run ctl -X PUT http://x/apps/other -d '{"domains": [], "targets": []}'
	assert_output --partial '"app":"other"'
	run python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["apps"]))' < <(disk_table)
	assert_output "['keep', 'other']"
	run grep -c 20001 "$STATE"
	assert_output 1
	router_stop router
	router_start router --listen 127.0.0.1:0
	grep -q '2 apps restored' "$RT/router.log"
}

@test "router-persist: 1,100 PUTs compact the journal into the table; a restart keeps every route" {
	# 30 apps, 1,100 PUTs 8 at once: more records than max(1024, apps) compacts once.
	python3 "$LIB/router_table.py" puts "$RT/router.sock" 1100 30 8 >"$RT/acked"
	[ "$(wc -l <"$RT/acked")" -eq 1100 ]
	run python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generation"])' "$STATE"
	assert_output 1
	run head -1 "$STATE.journal"
	assert_output '{"generation": 1, "journal": 1}'
	[ "$(wc -l <"$STATE.journal")" -lt 100 ]
	# The table is what json_dumps() of the whole table makes (sorted, indent 2).
	python3 - "$STATE" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, separators=(",", ": ")), "format"
EOF
	local before
	before=$(apps_now)
	[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$before")" -eq 30 ]
	router_stop router
	router_start router --listen 127.0.0.1:0
	grep -q '30 apps restored' "$RT/router.log"
	[ "$(apps_now)" = "$before" ]
}

@test "router-persist: kill -9 in the middle of a stream of PUTs; every PUT answered 200 is restored" {
	local stream pid
	python3 "$LIB/router_table.py" puts "$RT/router.sock" 3000 3000 4 >"$RT/acked" 2>/dev/null 3>&- &
	stream=$!
	# Killed once a couple of hundred were answered, with more on the way.
	for _ in $(seq 1 200); do
		[ "$(wc -l <"$RT/acked")" -ge 200 ] && break
		sleep 0.05
	done
	pid=$(cat "$RT/router.pid")
	kill -KILL "$pid"
	wait "$stream" || true
	# Not router_wait_exit: its subshell stops at the failed wait (set -e) without an rc.
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ "$(wc -l <"$RT/acked")" -ge 200 ]
	[ "$(wc -l <"$RT/acked")" -lt 3000 ]
	router_start router --listen 127.0.0.1:0
	# Every app answered 200 has the target of its PUT (each PUT its own app).
	ctl http://x/apps >"$RT/apps.json"
	python3 - "$RT/acked" "$RT/apps.json" <<'EOF'
import json, sys
apps = {a["app"]: a["targets"] for a in json.load(open(sys.argv[2]))["apps"]}
acked = [l.split() for l in open(sys.argv[1]) if l.strip()]
lost = [(a, p) for a, p in acked if apps.get(a) != ["127.0.0.1:" + p]]
assert not lost, "lost: %r" % lost[:5]
EOF
}
