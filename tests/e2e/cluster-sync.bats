#!/usr/bin/env bats
# tests/e2e/cluster-sync.bats - the router follows a swarm app's tasks (`wharf cluster:sync`):
# a lab of two hosts joined to the harness's dockerd (the manager); one web service made the
# way docs/cluster.md's conventions say a swarm deploy makes it (labels, host networking,
# PORT=<P><slot>, an image pulled from the cluster's registry), its route PUT on the router.
# Then: a new replica is served only once it passes the router's check, a task that stops is
# drained, a node cut off stops receiving requests within a measured time and none fails
# after, and the node back is cleaned up by Swarm and takes tasks again. One lab, one app and
# one sync loop for the file (setup_file).

load lib/harness

P=1234 # the service's port base: the task in slot S listens on 1234S

load lib/lab

# route_targets: the targets the router serves for the app, one a line, sorted.
route_targets() {
	curl -sS --max-time 5 --unix-socket "$WHARF_ROUTER_SOCKET" "http://router/apps/$APP" |
		jq -r '.targets[]' | sort
}

# put_route TARGET...: the route the deploy would have PUT (no health check: the app has none yet).
put_route() {
	local t
	t=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	curl -sS --fail-with-body --max-time 30 --unix-socket "$WHARF_ROUTER_SOCKET" -X PUT \
		-H 'Content-Type: application/json' "http://router/apps/$APP" \
		-d "{\"domains\":[\"$APP.$WHARF_TEST_DOMAIN\"],\"targets\":$t}"
}

# task_targets: ADDR:PORT of each running task of the service, sorted.
task_targets() {
	local id node slot addr
	docker service ps "$SVC" --filter desired-state=running --format '{{.ID}}' | while read -r id; do
		docker inspect "$id" --format '{{.NodeID}} {{.Slot}} {{.Status.State}}' |
			while read -r node slot state; do
				[ "$state" = running ] || continue
				addr=$(docker node inspect "$node" --format '{{.Status.Addr}}')
				echo "$addr:$P$slot"
			done
	done | sort
}

setup_file() {
	local cfg=$WHARF_T/sync-docker-config root=$WHARF_T/sync-rootfs
	lab_up ws --join || return 1
	# A node that stops answering is down for the manager after a few heartbeats: 1 s
	# heartbeats keep the rescheduling test short.
	docker swarm update --dispatcher-heartbeat 1s >/dev/null
	# A tiny image: busybox and the libraries it needs. The page is the node's name, written
	# 2 s after httpd listens (until then / is a 404: only the check keeps such a task out).
	busybox_rootfs "$root" sh httpd sleep
	# The app's check: 503 until the page is there (the router's check passes any answer
	# below 500, so a 404 would pass it).
	mkdir -p "$root/www/cgi-bin"
	cat >"$root/www/cgi-bin/ready" <<-'EOF'
		#!/bin/sh
		if [ -f /www/index.html ]; then
			printf 'Content-Type: text/plain\r\n\r\nready\n'
		else
			printf 'HTTP/1.0 503 Not ready\r\n\r\n'
		fi
	EOF
	chmod 755 "$root/www/cgi-bin/ready"
	tar -C "$root" -cf "$WHARF_T/sync-image.tar" .
	export IMG=$REGISTRY/wharf/sync-web:1
	docker import "$WHARF_T/sync-image.tar" "$IMG" >/dev/null
	jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json" |
		DOCKER_CONFIG=$cfg docker login -u wharf --password-stdin "$REGISTRY" >/dev/null
	DOCKER_CONFIG=$cfg docker push -q "$IMG" >/dev/null
	export APP=sync$$ SVC=wharf-sync$$-web-t1
	"$WHARF_BIN" apps:create "$APP" >/dev/null
	"$WHARF_BIN" scheduler:set "$APP" selected swarm >/dev/null
	# The service as a swarm deploy makes it (docs/cluster.md): labels, host networking,
	# PORT from the slot, pulled with the registry's credentials. On the lab hosts only.
	DOCKER_CONFIG=$cfg docker service create -d -q --name "$SVC" --with-registry-auth \
		--label wharf.managed=1 --label "wharf.root=$WHARF_ROOT" --label "wharf.app=$APP" \
		--label wharf.process=web --label wharf.release=1 --label "wharf.port-base=$P" \
		--network host --replicas 2 --constraint node.role==worker \
		--restart-condition any --restart-delay 1s --stop-grace-period 2s \
		--env "PORT=$P{{.Task.Slot}}" --env 'NODE={{.Node.Hostname}}' \
		"$IMG" /bin/busybox sh -c \
		'httpd -f -p "$PORT" -h /www & sleep 2; printf %s "$NODE" >/www/index.html; wait' \
		>/dev/null
	# The app's checks, as its release records them: the router GETs the check's path of a
	# new task before it serves it.
	printf '{"releases": [{"version": 1, "image": "%s", "checks": [{"path": "/cgi-bin/ready", "attempts": 5, "timeout": 5, "wait": 1}]}]}\n' \
		"$IMG" >"$WHARF_ROOT/apps/$APP/releases.json"
	chown wharf: "$WHARF_ROOT/apps/$APP/releases.json"
	# shellcheck disable=SC2317 # called through h_wait
	two_tasks() { [ "$(task_targets | wc -l)" = 2 ]; }
	h_wait 90 two_tasks || {
		docker service ps --no-trunc "$SVC" >&2
		return 1
	}
}

teardown_file() {
	lab_sync_stop
	docker service rm "$SVC" >/dev/null 2>&1 || true
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up 2>/dev/null || true
	"$WHARF_BIN" apps:destroy "$APP" --force >/dev/null 2>&1 || true
	lab_down
}

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

@test "cluster:sync --once adds the service's other task to the route, one line per change" {
	local first all
	all=$(task_targets)
	first=$(head -n 1 <<<"$all")
	# Only an app set to swarm with a route is followed; the route the deploy left names one
	# task (its port base says which service).
	put_route "$first" >/dev/null
	run wharf cluster:sync --once
	assert_success
	assert_output --regexp "^-----> [0-9:.]+ $APP: added $(tail -n 1 <<<"$all" | sed 's/\./\\./g') \(slot [12] on h[12]\)$"
	[ "$(route_targets)" = "$all" ]
	# In sync: nothing to say.
	run wharf cluster:sync --once
	assert_success
	assert_output ""
	# Admins on the host only: over ssh it is refused.
	run wharf_ssh cluster:sync --once
	assert_failure
	run wharf cluster:sync --interval 0
	assert_failure
	assert_output --partial "--interval wants a number"
}

@test "a new replica is served only once it passes the router's check" {
	lab_sync_start
	lab_requests "$APP" 60 "$TEST_TMP/load" &
	local load=$!
	docker service scale -d "$SVC=3" >/dev/null
	three() { [ "$(route_targets | wc -l)" = 3 ]; }
	eventually 60 three
	local new
	new=$(route_targets | grep ":${P}3$")
	# Requests go on for a while with the new task served (a count, not a time: a loaded
	# machine makes fewer requests a second).
	local before
	before=$(wc -l <"$TEST_TMP/load")
	more() { [ "$(wc -l <"$TEST_TMP/load")" -ge $((before + 10)) ]; }
	eventually 30 more
	touch "$TEST_TMP/stop"
	wait "$load"
	# Every request answered by a task's page: never the new task's 404 before it had one.
	[ "$(wc -l <"$TEST_TMP/load")" -gt 10 ]
	run awk '$2 != 200 || ($4 != "h1" && $4 != "h2")' "$TEST_TMP/load"
	assert_output ""
	run grep -c "added $new (slot 3 on h[12])" "$WHARF_T/sync.log"
	assert_output 1
}

@test "a task that stops is drained, and its replacement served" {
	[ -f "$WHARF_T/sync.pid" ] || lab_sync_start
	local target node cid
	target=$(route_targets | grep ":${P}1$")
	node=h1
	[ "${target%%:*}" = "$H1" ] || node=h2
	cid=$(docker -H "unix://$WHARF_LAB_DIR/$node/d.sock" ps \
		--filter "label=com.docker.swarm.service.name=$SVC" --format '{{.ID}} {{.Names}}' |
		awk -v p="$SVC.1." 'index($2, p) == 1 { print $1 }')
	[ -n "$cid" ]
	lab_requests "$APP" 60 "$TEST_TMP/load" &
	local load=$!
	docker -H "unix://$WHARF_LAB_DIR/$node/d.sock" kill "$cid" >/dev/null
	gone() { ! route_targets | grep -qx "$target"; }
	eventually 10 gone
	# Swarm restarts slot 1 (on either node): it is served again once it passes its check.
	back() { route_targets | grep -q ":${P}1$"; }
	eventually 60 back
	touch "$TEST_TMP/stop"
	wait "$load"
	run awk '$2 != 200' "$TEST_TMP/load"
	assert_output ""
	assert [ -n "$(grep "removed $target (slot 1 on $node" "$WHARF_T/sync.log")" ]
}

@test "a node cut off: the router stops sending to it within a bounded time; none fails after" {
	[ -f "$WHARF_T/sync.pid" ] || lab_sync_start
	local t0 t1 dropped
	lab_requests "$APP" 120 "$TEST_TMP/load" &
	local load=$!
	sleep 1
	t0=$(date +%s.%N)
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 down
	# Polled every 100 ms: the figure is measured, not rounded to eventually's 0.5 s.
	local _
	for _ in $(seq 1 200); do
		route_targets | grep -q "^$H1:" || break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	dropped=$(echo "$t1 - $t0" | bc)
	echo "# h1 cut off: out of the route after ${dropped} s" >&3
	echo "$dropped" >"$WHARF_T/sync-dropped"
	# Swarm sees h1 down and runs its tasks on h2: the route follows.
	all_h2() { [ "$(route_targets | grep -c "^$H2:")" = 3 ]; }
	eventually 60 all_h2
	# Requests go on for a while after (a count, not a time: a loaded machine makes fewer
	# requests a second).
	after_t1() { [ "$(awk -v t1="$t1" '$1 > t1' "$TEST_TMP/load" | wc -l)" -gt 10 ]; }
	eventually 30 after_t1
	touch "$TEST_TMP/stop"
	wait "$load"
	# Bounded: out of the route within 4 s (one round of 500 ms and a 300 ms probe, plus
	# the PUT: about 1 s here, with room for a loaded machine). After that, every request
	# succeeded and none waited on h1 (a connect there waits for its 5 s timeout).
	awk -v t="$dropped" 'BEGIN { exit !(t < 4) }'
	run awk -v t1="$t1" '$1 > t1 && ($2 != 200 || $3 > 2 || $4 != "h2")' "$TEST_TMP/load"
	assert_output ""
	# Before: requests that tried h1 waited for its connect to time out, then went to
	# another host's target (or the route's new one): none failed either.
	run awk -v t0="$t0" '$1 > t0 && $2 != 200' "$TEST_TMP/load"
	assert_output ""
}

@test "the node back: Swarm stops its old tasks, the route never names them, it takes new ones" {
	[ -f "$WHARF_T/sync.pid" ] || lab_sync_start
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up
	local h1="unix://$WHARF_LAB_DIR/h1/d.sock"
	old_gone() {
		[ -z "$(docker -H "$h1" ps -q --filter "label=com.docker.swarm.service.name=$SVC")" ]
	}
	h1_ready() { [ "$(docker node inspect h1 --format '{{.Status.State}}')" = ready ]; }
	eventually 60 h1_ready
	eventually 60 old_gone
	# Nothing of wharf's points at h1: the route has h2's three tasks only.
	run route_targets
	refute_output --partial "$H1:"
	# A new replica goes to h1 (Swarm spreads), passes its check and serves again.
	docker service scale -d "$SVC=4" >/dev/null
	h1_served() { route_targets | grep -q "^$H1:"; }
	eventually 60 h1_served
	run bash -c "for i in 1 2 3 4 5 6 7 8; do curl -s -H 'Host: $APP.$WHARF_TEST_DOMAIN' http://127.0.0.1:$ROUTER_PORT/; echo; done | sort -u"
	assert_output "$(printf 'h1\nh2')"
}

@test "apps are synced side by side: one app's failing check does not hold another's route back" {
	[ -f "$WHARF_T/sync.pid" ] || start_sync
	local slow=aslow$$ svc2=wharf-aslow$$-web-t1 p2=1235 n new first failed
	# A second app, synced before APP (apps go in name order): its tasks never write their
	# page, so the router's check of a new one answers 503 until the sync's 10 s deadline.
	"$WHARF_BIN" apps:create "$slow" >/dev/null
	"$WHARF_BIN" scheduler:set "$slow" selected swarm >/dev/null
	DOCKER_CONFIG=$WHARF_T/sync-docker-config docker service create -d -q --name "$svc2" \
		--with-registry-auth --label wharf.managed=1 --label "wharf.root=$WHARF_ROOT" \
		--label "wharf.app=$slow" --label wharf.process=web --label wharf.release=1 \
		--label "wharf.port-base=$p2" --network host --replicas 1 \
		--constraint node.role==worker --stop-grace-period 1s --env "PORT=$p2{{.Task.Slot}}" \
		"$IMG" /bin/busybox sh -c 'exec httpd -f -p "$PORT" -h /www' >/dev/null
	cp "$WHARF_ROOT/apps/$APP/releases.json" "$WHARF_ROOT/apps/$slow/releases.json"
	chown wharf: "$WHARF_ROOT/apps/$slow/releases.json"
	slow_tasks() { [ "$(SVC=$svc2 P=$p2 task_targets | wc -l)" = "$1" ]; }
	eventually 60 slow_tasks 1
	first=$(SVC=$svc2 P=$p2 task_targets)
	APP=$slow put_route "$first" >/dev/null
	# Its second task runs: the sync PUTs it and the router checks it for 10 s in vain.
	docker service scale -d "$svc2=2" >/dev/null
	eventually 60 slow_tasks 2
	# Meanwhile APP gets a replica: it is served while aslow's check still fails.
	n=$(($(docker service inspect "$SVC" --format '{{.Spec.Mode.Replicated.Replicas}}') + 1))
	docker service scale -d "$SVC=$n" >/dev/null
	new_served() { route_targets | grep -q ":$P$n$"; }
	eventually 60 new_served
	slow_failed() { grep -q " $slow: " "$WHARF_T/sync.log"; }
	eventually 60 slow_failed
	new=$(grep -n "$APP: added [0-9.]*:$P$n " "$WHARF_T/sync.log" | head -n 1 | cut -d: -f1)
	failed=$(grep -n " $slow: " "$WHARF_T/sync.log" | head -n 1 | cut -d: -f1)
	echo "# sync.log: $APP's replica added at line $new, $slow's failed check at line $failed" >&3
	[ -n "$new" ] && [ "$new" -lt "$failed" ] || {
		cat "$WHARF_T/sync.log" >&2
		false
	}
	# aslow's route kept the task it had.
	[ "$(APP=$slow route_targets)" = "$first" ]
	docker service rm "$svc2" >/dev/null
	"$WHARF_BIN" apps:destroy "$slow" --force >/dev/null
}

@test "the daemon runs cluster:sync on a manager: one loop at a time, one round with --once" {
	[ -f "$WHARF_T/sync.pid" ] || lab_sync_start
	local log=$WHARF_ROOT/daemon/daemon.log pid
	# --once waits for its children: the sync job runs one round there, not the loop.
	run timeout 60 "$WHARF_BIN" daemon --once
	assert_success
	grep -q "wharf cluster:sync: exit 0" "$log"
	# The daemon's loop finds the test's loop holding the lock: it steps aside (exit 0).
	: >"$log"
	"$WHARF_BIN" daemon >/dev/null 2>&1 3>&- &
	pid=$!
	stepped_aside() { grep -q "wharf cluster:sync: exit 0" "$log"; }
	eventually 20 stepped_aside
	kill "$pid"
	wait "$pid" || true
	kill -0 "$(cat "$WHARF_T/sync.pid")"
	grep -q "another cluster:sync runs" "$log"
}
