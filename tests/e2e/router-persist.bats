#!/usr/bin/env bats
# router-persist.bats - the router's table is written off the event loop: changes that
# arrive together are all answered once on disk and all restored after a restart; a write
# that fails changes nothing (500), and the next one keeps every app.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WHARF_BIN=${WHARF_BIN:-"$BATS_TEST_DIRNAME/../../bin/wharf"}
load "${WHARF_REPO:-$BATS_TEST_DIRNAME/../..}/tests/e2e/lib/router"

ctl() {
	curl -s -m 30 --unix-socket "$RT/router.sock" "$@"
}

setup() {
	RT=$(mktemp -d /tmp/wharf-router-persist.XXXXXX)
	router_start router --listen 127.0.0.1:0
}

teardown() {
	router_stop router || true
	rm -rf "$RT"
}

@test "router-persist: 40 PUTs at once are all answered 200, all in the file, all restored" {
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
	run python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(len(t["apps"]), t["apps"]["p17"]["targets"])' \
		"$RT/root/router/table.json"
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
	# The file is what json_dumps() of the whole table made before (sorted, indent 2).
	python3 - "$RT/root/router/table.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, separators=(",", ": ")), "format"
EOF
}

@test "router-persist: a write that fails answers 500 and changes nothing; the next write keeps every app" {
	run ctl -X PUT http://x/apps/keep -d '{"domains": ["keep.example.com"], "targets": ["127.0.0.1:20001"]}'
	assert_output --partial '"app":"keep"'
	# The state file's place taken by a directory: the rename fails (even for root).
	rm -f "$RT/root/router/table.json"
	mkdir "$RT/root/router/table.json"
	run ctl -w '\n%{http_code}' -X PUT http://x/apps/keep -d '{"domains": ["keep.example.com"], "targets": ["127.0.0.1:20002"]}'
	assert_line --index 0 --partial '"error":"cannot save the router table: cannot rename'
	assert_line --index 1 500
	run ctl -w '\n%{http_code}' -X PUT http://x/apps/new -d '{"domains": ["new.example.com"], "targets": []}'
	assert_line --index 1 500
	run ctl -w '\n%{http_code}' -X DELETE http://x/apps/keep
	assert_line --index 1 500
	run ctl http://x/apps/keep
	assert_output --partial '"targets":["127.0.0.1:20001"]'
	run ctl -w '%{http_code}' http://x/apps/new
	assert_output --partial 404
	rmdir "$RT/root/router/table.json"
	run ctl -X PUT http://x/apps/other -d '{"domains": [], "targets": []}'
	assert_output --partial '"app":"other"'
	run python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["apps"]))' \
		"$RT/root/router/table.json"
	assert_output "['keep', 'other']"
	run grep -c 20001 "$RT/root/router/table.json"
	assert_output 1
}
