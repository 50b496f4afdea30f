#!/usr/bin/env bats
# tests/e2e/cron.bats - app.json "cron" entries with real containers: validated at push (a bad
# schedule rejects it, naming the entry), listed by cron:list, run now by cron:run (exit code
# recorded, output in `logs -p cron`), one run at a time per entry, and run on schedule by
# `wharf daemon` (one per WHARF_ROOT), which does not run a minute twice across a restart.

load lib/harness

setup() {
	harness_test_setup
	DAEMON_PID=
}

teardown() {
	if [ -n "$DAEMON_PID" ]; then
		h_stop_pid "$DAEMON_PID" "wharf daemon" 10
	fi
	harness_test_teardown
}

# make_cron_app DIR CRON-JSON: a served Dockerfile app whose app.json has these cron entries.
make_cron_app() {
	local dir=$1
	[ -d "$dir/.git" ] || make_app_repo "$dir" "cron app"
	printf '{"cron": %s}\n' "$2" >"$dir/app.json"
	h_git_commit "$dir" "cron: $2"
}

# cron_id APP N: the id of the app's Nth cron entry (from 0), from cron:list --format json.
cron_id() {
	wharf_ssh cron:list "$1" --format json | jq -r ".[$2].id"
}

# cron_field APP N FIELD: a field of cron:list --format json.
cron_field() {
	wharf_ssh cron:list "$1" --format json | jq -r ".[$2].$3"
}

# start_daemon: `wharf daemon` in the background (bats must not wait for it: fd 3 closed).
start_daemon() {
	"$WHARF_BIN" daemon >>"$TEST_TMP/daemon.out" 2>&1 3>&- &
	DAEMON_PID=$!
	eventually 10 grep -q "wharf daemon: started (pid $DAEMON_PID)" "$WHARF_ROOT/daemon/daemon.log"
}

# starts_in_minute LOG: how many runs each minute started, "HH:MM N" per line.
starts_per_minute() {
	grep -o '^[0-9T:-]*:[0-9][0-9]:[0-9][0-9]Z cron\[[0-9a-f]*\] start' "$1" |
		cut -c1-16 | sort | uniq -c
}

@test "a bad schedule fails the push and names the entry; nothing is released" {
	app=$(new_app_name)
	make_cron_app "$TEST_TMP/app" '[{"command": "echo ok", "schedule": "@daily"},
		{"command": "bin/report --all", "schedule": "*/5 * * *"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_failure
	assert_output --partial 'app.json cron entry 2 ("bin/report --all"): bad schedule "*/5 * * *": 4 fields, expected 5'
	assert_output --partial "nothing was deployed"
	# Checked before a build is spent on it.
	refute_output --partial "Building image"
	assert [ ! -e "$WHARF_ROOT/apps/$app/releases.json" ]

	make_cron_app "$TEST_TMP/app" '[{"command": "echo ok", "schedule": "0 0 30 2 *"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "the schedule never fires"
}

@test "cron:list, cron:run (exit code recorded, output in logs -p cron), cron:report" {
	app=$(new_app_name)
	make_cron_app "$TEST_TMP/app" '[{"command": "echo \"cron says $GREETING from $WHARF_PROCESS\"", "schedule": "@hourly"},
		{"command": "echo failing; exit 4", "schedule": "15 3 * * mon-fri"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "Using 2 cron entries from app.json"
	run wharf_ssh config:set "$app" GREETING=hello
	assert_success

	run wharf_ssh cron:list "$app"
	echo "$output"
	assert_success
	assert_line --index 0 --regexp '^ID +SCHEDULE +NEXT RUN \(UTC\) +LAST RUN \(UTC\) +LAST EXIT +COMMAND$'
	assert_line --index 1 --regexp '^[0-9a-f]{12}  @hourly +[0-9-]+T[0-9:]+:00Z +- +- +echo "cron says'
	id=$(cron_id "$app" 0)
	bad=$(cron_id "$app" 1)
	# The config change made a new release: the entries came with it, same ids.
	[ "$(jq -r '.releases[-1].cron[0].id' "$WHARF_ROOT/apps/$app/releases.json")" = "$id" ]

	run wharf_ssh cron:run "$app" "$id"
	echo "$output"
	assert_success
	assert_output --partial "cron says hello from cron"
	assert_output --regexp "cron\[$id\] exit 0"
	run cron_field "$app" 0 last_exit
	assert_output "0"

	run wharf_ssh cron:run "$app" "$bad"
	assert_failure 4
	assert_output --partial "failing"
	run cron_field "$app" 1 last_exit
	assert_output "4"
	run wharf_ssh cron:list "$app"
	assert_line --index 2 --regexp "^$bad  15 3 \* \* mon-fri +[0-9T:-]+Z +[0-9T:-]+Z +4 +echo failing; exit 4$"

	run wharf_ssh logs "$app" -p cron
	assert_success
	assert_output --partial "cron says hello from cron"
	assert_output --partial "failing"

	run wharf_ssh cron:report "$app"
	assert_success
	assert_output --partial "=====> $app cron information"
	assert_output --partial "Cron task count:               2"
	assert_output --partial "Cron last exit:                4"
	run wharf_ssh cron:report "$app" --cron-daemon
	assert_output "not running"

	run wharf_ssh cron:run "$app" 0123456789ab
	assert_failure
	assert_output --partial "has no cron entry '0123456789ab'"
	run wharf_ssh cron:run "$app" '../../x'
	assert_failure
}

@test "at most one run of an entry at a time" {
	app=$(new_app_name)
	make_cron_app "$TEST_TMP/app" '[{"command": "echo long run; sleep 15; echo done", "schedule": "@daily"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(cron_id "$app" 0)
	wharf_ssh cron:run "$app" "$id" >"$TEST_TMP/first.out" 2>&1 3>&- &
	first=$!
	running() { [ "$(cron_field "$app" 0 running)" = true ]; }
	eventually 30 running
	run wharf_ssh cron:run "$app" "$id"
	assert_failure
	assert_output --partial "cron entry $id of $app is still running: one run at a time"
	run wharf_ssh cron:list "$app"
	assert_output --partial "running"
	wait "$first"
	run cat "$TEST_TMP/first.out"
	assert_output --partial "done"
	run cron_field "$app" 0 last_exit
	assert_output "0"
	run cron_field "$app" 0 running
	assert_output "false"
}

@test "the daemon runs an every-minute entry, one per WHARF_ROOT, and a restart does not run a minute twice" {
	app=$(new_app_name)
	make_cron_app "$TEST_TMP/app" '[{"command": "echo tick from $WHARF_APP", "schedule": "* * * * *"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(cron_id "$app" 0)
	log=$WHARF_ROOT/apps/$app/cron/$id.log

	start_daemon
	run "$WHARF_BIN" daemon
	assert_failure
	assert_output --partial "a wharf daemon already runs for $WHARF_ROOT (pid $DAEMON_PID)"
	run wharf_ssh cron:report "$app" --cron-daemon
	assert_output "running (pid $DAEMON_PID)"

	# Within two minutes (the minute it started in counts): a run, its exit recorded.
	ran() { grep -q "cron\[$id\] exit 0" "$log" 2>/dev/null; }
	eventually 130 ran
	run cat "$log"
	assert_output --partial "tick from $app"
	run cron_field "$app" 0 last_exit
	assert_output "0"
	grep -q "cron $app $id: exit 0" "$WHARF_ROOT/daemon/daemon.log"

	# Restarted within the minute it ran in, the daemon sees that minute claimed. (On a
	# loaded machine the restart may reach the next minute: then only the count below.)
	if [ "$(date -u +%S)" -lt 50 ]; then
		minute=$(date -u +%H:%M)
		h_stop_pid "$DAEMON_PID" "wharf daemon" 10
		DAEMON_PID=
		grep -q "wharf daemon: stopped" "$WHARF_ROOT/daemon/daemon.log"
		start_daemon
		if [ "$(date -u +%H:%M)" = "$minute" ]; then
			eventually 10 grep -q "cron $app $id: this minute's run was already started" \
				"$WHARF_ROOT/daemon/daemon.log"
		fi
	fi
	# Whatever the timing, no minute ever started two runs.
	run starts_per_minute "$log"
	echo "$output"
	refute_output --regexp '^ *[2-9] '
}

@test "daemon --once twice in one minute: the second finds the minute claimed" {
	app=$(new_app_name)
	make_cron_app "$TEST_TMP/app" '[{"command": "echo once", "schedule": "* * * * *"}]'
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(cron_id "$app" 0)
	# Both runs must fall in one minute: start early in one.
	while [ "$(date -u +%S)" -gt 40 ]; do sleep 1; done
	run "$WHARF_BIN" daemon --once
	assert_success
	assert_output --partial "cron $app $id: exit 0"
	run "$WHARF_BIN" daemon --once
	assert_success
	assert_output --partial "cron $app $id: this minute's run was already started"
	run starts_per_minute "$WHARF_ROOT/apps/$app/cron/$id.log"
	assert_output --regexp '^ *1 '
	refute_output --regexp '^ *[2-9] '
}
