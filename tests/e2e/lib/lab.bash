# tests/e2e/lib/lab.bash - the cluster lab (scripts/cluster-lab.sh) for the cluster*.bats files:
# one lab of two hosts per file, brought up in setup_file and taken down in teardown_file, in
# a directory and under namespace names of the file's own, so files in one shard (one harness)
# never meet. After lab_up: NET, MANAGER (this host's lab address), H1, H2 (of a lab of two)
# and REGISTRY (MANAGER:5000) are exported.

# setup/teardown of a cluster file's tests (a file may define its own after loading this):
# the harness's, with TEST_TMP readable by the lab's daemons.
setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
}

teardown() {
	harness_test_teardown
}

# lab ARGS...: scripts/cluster-lab.sh with this file's lab (WHARF_LAB_DIR, WHARF_LAB_NAME).
lab() {
	"$WHARF_REPO/scripts/cluster-lab.sh" "$@"
}

# lab_up PREFIX [--join] [--ssh] [--hosts N]: N (default two) lab hosts in $WHARF_T/lab-PREFIX,
# namespaces PREFIX<random>; with --ssh each runs an sshd on its address (root logs in with
# the keys of $WHARF_LAB_DIR/hI/ssh/authorized_keys: lab_trust_wharf); with --join, also
# cluster:init on MANAGER and cluster:add-node of every host through its dockerd socket.
# Shows the log and fails when a step does.
lab_up() {
	local prefix=$1 log=$WHARF_T/lab-$1-up.log i join=0 n=2 up_args=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--join) join=1 ;;
		--ssh) up_args+=(--ssh) ;;
		--hosts) n=$2 && shift ;;
		*) echo "lab_up: unknown option $1" >&2 && return 1 ;;
		esac
		shift
	done
	export WHARF_LAB_DIR=$WHARF_T/lab-$prefix WHARF_LAB_NAME=$prefix$((RANDOM % 100000))
	lab up "$n" --hosts-only "${up_args[@]}" >"$log" 2>&1 || {
		cat "$log" >&2
		return 1
	}
	# shellcheck disable=SC1091
	. "$WHARF_LAB_DIR/lab.env"
	export NET MANAGER H1 H2 REGISTRY=$MANAGER:5000
	[ "$join" = 1 ] || return 0
	{
		"$WHARF_BIN" cluster:init "$MANAGER" &&
			for i in $(seq 1 "$n"); do
				"$WHARF_BIN" cluster:add-node --docker-host "unix://$WHARF_LAB_DIR/h$i/d.sock" \
					--certs-dir "$WHARF_LAB_DIR/h$i/etc-docker/certs.d" "$NET.$((10 + i))" || exit 1
			done
	} >>"$log" 2>&1 || {
		cat "$log" >&2
		return 1
	}
}

# lab_trust_wharf I: lab host hI's root accepts wharf's cluster key (what an admin does before
# cluster:add-node over ssh).
lab_trust_wharf() {
	cat "$WHARF_ROOT/cluster/ssh/id_ed25519.pub" >>"$WHARF_LAB_DIR/h$1/ssh/authorized_keys"
}

# lab_down: the harness's dockerd (which serves the other files of the shard) leaves the
# swarm and the registry stops; then the lab goes.
lab_down() {
	"$WHARF_BIN" cluster:leave --force >/dev/null 2>&1 || true
	lab down >/dev/null 2>&1 || true
}

# lab_requests APP SECONDS OUT: GETs of APP through the router, back to back, until SECONDS
# pass or $TEST_TMP/stop exists; one line per request: "START CODE SECONDS BODY" (BODY's
# first word).
lab_requests() {
	local app=$1 end=$((SECONDS + $2)) t r
	while [ "$SECONDS" -lt "$end" ] && [ ! -e "$TEST_TMP/stop" ]; do
		t=$(date +%s.%N)
		r=$(curl -s --max-time 10 -w ' %{http_code} %{time_total}' \
			-H "Host: $app.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/")
		r=${r//$'\n'/ } # a page of several lines: one line
		# body CODE TIME -> START CODE TIME BODY
		awk -v t="$t" '{ print t, $(NF-1), $NF, (NF > 2 ? $1 : "-") }' <<<"$r"
	done >"$3"
}

# lab_load N: N GETs of $APP through the router in the background, 50 ms apart, each one's
# status a line of $TEST_TMP/codes; its pid in LOAD (lab_load_none_failed waits for it).
lab_load() {
	(
		for _ in $(seq 1 "$1"); do
			curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
				-H "Host: $APP.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/"
			sleep 0.05
		done >"$TEST_TMP/codes"
	) &
	LOAD=$!
}

# lab_load_none_failed N: waits (60 s at most) for lab_load's requests, says how many
# failed, and succeeds when all N were made and every one answered 200.
lab_load_none_failed() {
	local failed
	timeout 60 tail --pid="$LOAD" -f /dev/null || true
	wait "$LOAD" || true
	failed=$(grep -cv '^200$' "$TEST_TMP/codes" || true)
	echo "failed requests: $failed of $(wc -l <"$TEST_TMP/codes")" >&3
	[ "$(wc -l <"$TEST_TMP/codes")" = "$1" ] && [ "$failed" = 0 ]
}

# lab_sync_start: cluster:sync in the background (every 500 ms), its output in
# $WHARF_T/sync.log, its pid in $WHARF_T/sync.pid (lab_sync_stop ends it).
lab_sync_start() {
	"$WHARF_BIN" cluster:sync --interval 500 >>"$WHARF_T/sync.log" 2>&1 </dev/null 3>&- &
	echo $! >"$WHARF_T/sync.pid"
}

lab_sync_stop() {
	[ ! -f "$WHARF_T/sync.pid" ] || kill "$(cat "$WHARF_T/sync.pid")" 2>/dev/null || true
	rm -f "$WHARF_T/sync.pid"
}
