#!/usr/bin/env bats
# tests/e2e/cluster-apps.bats - apps on the swarm (issue 13): a lab of two hosts joins the
# harness's dockerd (the manager) through wharf's cluster:* commands, so the swarm has three
# nodes; one app set to `swarm` is pushed, scaled over the three nodes, redeployed under a
# bounded load with no failed request, refused a release whose checks fail (the old tasks keep
# serving), rolled back, stopped and started, and destroyed (services and the registry's
# manifests go). One lab and one app for the whole file (setup_file).

load lib/harness

load lib/lab

# The app's page says which node serves it and the GREETING it started with (or PAGE, words
# the shell expands in the task); /health.txt exists unless BROKEN=1, and the CHECKS want it;
# with CRASH=1 it exits at once.
make_swarm_app() {
	local dir=$1 page=${2:-'node=$(hostname) greeting=$GREETING'}
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh", "-c", "echo \"@PAGE@\" >/www/index.html; [ \"$BROKEN\" = 1 ] || echo ok >/www/health.txt; echo \"started on $(hostname)\"; [ \"$CRASH\" != 1 ] || exit 3; exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF
	sed -i "s|@PAGE@|$page|" "$dir/Dockerfile"
	printf 'WAIT=0\nATTEMPTS=2\nTIMEOUT=2\n/health.txt ok\n' >"$dir/CHECKS"
	h_git_commit "$dir" "swarm app"
}

setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	lab_up wa --join || return 1
	export APP=swarmapp$$ APP2=swarmb$$ APP3=swarmc$$ ARGS_PLUGIN=swargs$$
	{
		"$WHARF_BIN" apps:create "$APP" &&
			"$WHARF_BIN" scheduler:set "$APP" selected swarm
	} >"$WHARF_T/lab-apps-join.log" 2>&1 || {
		cat "$WHARF_T/lab-apps-join.log" >&2
		return 1
	}
}

teardown_file() {
	lab_sync_stop
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up 2>/dev/null || true
	local a
	for a in "$APP" "$APP2" "$APP3"; do
		"$WHARF_BIN" apps:destroy "$a" --force >/dev/null 2>&1 || true
	done
	"$WHARF_BIN" plugin:uninstall "$ARGS_PLUGIN" >/dev/null 2>&1 || true
	lab_down
}

setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
}

teardown() {
	harness_test_teardown
}

# The app's services (name and image), one a line.
services() {
	docker service ls --filter "label=wharf.app=$APP" --format '{{.Name}} {{.Image}}'
}

# The route's targets, one a line.
route_targets() {
	curl -sS --unix-socket "$WHARF_ROUTER_SOCKET" "http://router/apps/$APP" | jq -r '.targets[]'
}

# The distinct nodes that answered n requests through the router.
nodes_served() {
	for _ in $(seq 1 "$1"); do app_url_get "$APP"; done | sed -n 's/^node=\([^ ]*\).*/\1/p' |
		sort -u
}

@test "a push deploys the app as a service pinned to its digest in the registry; it serves" {
	make_swarm_app "$TEST_TMP/app"
	# Something of another program listens on a port of the first base (1100) on this host,
	# the manager: the app's bases pass it over.
	python3 -c 'import socket, time
s = socket.socket(); s.bind(("0.0.0.0", 11005)); s.listen(1); time.sleep(120)' &
	local squatter=$!
	squatting() { (exec 3<>/dev/tcp/127.0.0.1/11005) 2>/dev/null; }
	eventually 10 squatting
	run git_push_app "$TEST_TMP/app" "$APP"
	kill "$squatter"
	assert_success
	assert_output --partial "Pushing the image to the cluster's registry"
	assert_output --partial "$REGISTRY/wharf/$APP@sha256:"
	assert_output --partial "Switching the router to 1 task on the swarm"
	run services
	assert_output --regexp "^wharf-$APP-web-v1[ab]-[0-9a-f]{4} $REGISTRY/wharf/$APP@sha256:[0-9a-f]{64}$"
	# The web task listens on P*10+slot (P in 1100-1999) and is labelled with P.
	run route_targets
	assert_output --regexp "^10\.[0-9]+\.0\.[0-9]+:1[1-9][0-9][0-9]1$"
	run app_url_get "$APP"
	assert_output --partial "greeting="
	# Nothing of it runs as a plain container on this host: what runs here is a swarm task.
	[ "$(app_containers "$APP" | wc -l)" = \
		"$(docker ps -aq --filter "label=wharf.app=$APP" --filter label=com.docker.swarm.task.id | wc -l)" ]
	run jq -c .swarm_ports "$WHARF_ROOT/apps/$APP/app.json"
	assert_output --regexp '^\[1[1-9][0-9][0-9],1[1-9][0-9][0-9]\]$'
	refute_output --partial 1100
}

@test "ps:scale web=3 runs a task on each node, ps:report shows them, the router reaches each" {
	run wharf ps:scale "$APP" web=10
	assert_failure
	assert_output --partial "at most 9 web processes"
	local svc
	svc=$(services)
	run wharf ps:scale "$APP" web=3
	assert_success
	assert_output --partial "Scaling web to 3 on the swarm"
	# Scaled in place: the same service, its new tasks checked and routed.
	[ "$(services)" = "$svc" ]
	run wharf ps:report "$APP"
	assert_success
	assert_output --regexp "Status web 1: +running on "
	assert_output --partial " on h1 (task: "
	assert_output --partial " on h2 (task: "
	assert_output --partial " on $(docker info --format '{{.Name}}') (task: "
	run route_targets
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
	[ "$(printf '%s\n' "$output" | cut -d: -f1 | sort -u | wc -l)" = 3 ]
	three_nodes() { [ "$(nodes_served 12 | wc -l)" = 3 ]; }
	eventually 20 three_nodes
	# Down to 2 and back to 3: the route follows.
	run wharf ps:scale "$APP" web=2
	assert_success
	[ "$(route_targets | wc -l)" = 2 ]
	run wharf ps:scale "$APP" web=3
	assert_success
	[ "$(route_targets | wc -l)" = 3 ]
	[ "$(jq -r .formation.web "$WHARF_ROOT/apps/$APP/app.json")" = 3 ]
}

@test "config:set redeploys blue-green under load with no failed request" {
	lab_load 150
	run timeout 150 "$WHARF_BIN" config:set "$APP" GREETING=two
	assert_success
	assert_output --partial "Retiring old services"
	lab_load_none_failed 150
	run app_url_get "$APP"
	assert_output --partial "greeting=two"
	# One web service is left, on the other parity's ports; still three tasks.
	run services
	[ "$(printf '%s\n' "$output" | wc -l)" = 1 ]
	assert_output --regexp "-web-v[0-9]+[ab]-"
	run route_targets
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
}

@test "a release whose checks fail is refused and the old tasks keep serving" {
	local before
	before=$(route_targets | sort)
	run timeout 150 "$WHARF_BIN" config:set "$APP" BROKEN=1
	assert_failure
	assert_output --partial "check /health.txt failed"
	run app_url_get "$APP"
	assert_output --partial "greeting=two"
	[ "$(route_targets | sort)" = "$before" ]
	run services
	[ "$(printf '%s\n' "$output" | wc -l)" = 1 ]
	# A task that crashes fails the deploy with Swarm's reason and its last log lines.
	run timeout 150 "$WHARF_BIN" config:set "$APP" CRASH=1
	assert_failure
	assert_output --partial "failed: task: non-zero exit (3)"
	assert_output --partial "| started on "
	run app_url_get "$APP"
	assert_output --partial "greeting=two"
	[ "$(route_targets | sort)" = "$before" ]
	run timeout 150 "$WHARF_BIN" config:unset "$APP" BROKEN CRASH
	assert_success
}

@test "releases:rollback brings an older release's config back; logs, run and enter reach it" {
	run timeout 150 "$WHARF_BIN" releases:rollback "$APP" 1
	assert_success
	run app_url_get "$APP"
	assert_output --partial "greeting="
	refute_output --partial "greeting=two"
	run wharf logs "$APP" -n 5
	assert_success
	assert_output --partial "started on "
	# run: a one-off on this host with the release's image; enter: into a task, on
	# whichever node it runs (a lab node through the dockerd it joined with).
	run wharf run "$APP" sh -c 'echo "run $WHARF_APP"'
	assert_success
	assert_output "run $APP"
	run wharf enter "$APP" web cat /www/index.html
	assert_success
	assert_output --regexp "^node=[^ ]+ greeting=$"
	# The app's process (busybox httpd) runs with no_new_privs: Swarm 20.10 has no field for
	# it, so the task's command runs under setpriv --no-new-privs from the image.
	run wharf enter "$APP" web sh -c \
		'for f in /proc/[0-9]*/status; do awk "/^Name:/ { n = \$2 } /^NoNewPrivs:/ { print n \"=\" \$2 }" "$f"; done'
	assert_success
	assert_output --partial "busybox=1"
	refute_output --partial "busybox=0"
	# Capabilities as docker-local's: only CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
	# (0xfb); making a device node (CAP_MKNOD, which Docker gives by default) is refused.
	run wharf enter "$APP" web sh -c 'grep ^CapEff: /proc/self/status; mknod /tmp/mem c 1 1 && echo made'
	assert_output --partial "00000000000000fb"
	refute_output --partial "made"
}

@test "ps:stop scales the services to 0 and drops the route; ps:start brings them back" {
	run wharf ps:stop "$APP"
	assert_success
	run curl -s -o /dev/null -w '%{http_code}' -H "Host: $APP.$WHARF_TEST_DOMAIN" \
		"http://127.0.0.1:$ROUTER_PORT/"
	refute_output 200
	no_task() { [ -z "$(docker service ps -q --filter desired-state=running "$(services | cut -d' ' -f1)")" ]; }
	eventually 20 no_task
	run timeout 150 "$WHARF_BIN" ps:start "$APP"
	assert_success
	run app_url_get "$APP"
	assert_output --partial "node="
}

# Containers of the app on this host that are not swarm tasks.
local_containers() {
	comm -23 <(app_containers "$APP" | sort) <(docker ps -aq --filter "label=wharf.app=$APP" \
		--filter label=com.docker.swarm.task.id | sort)
}

@test "scheduler:set moves the app to this host and back on its next deploy" {
	wharf scheduler:set "$APP" selected docker-local >/dev/null
	run timeout 150 "$WHARF_BIN" ps:restart "$APP"
	assert_success
	assert_output --partial "swarm services (it runs on this host now)"
	[ -z "$(services)" ]
	[ -n "$(local_containers)" ]
	run app_url_get "$APP"
	assert_output --partial "node="
	wharf scheduler:set "$APP" selected swarm >/dev/null
	run timeout 150 "$WHARF_BIN" ps:restart "$APP"
	assert_success
	[ -n "$(services)" ]
	[ -z "$(local_containers)" ]
	run app_url_get "$APP"
	assert_output --partial "node="
}

# The lab host (h1 or h2) that runs a task of the app, from ps:top's JSON.
lab_node_of_task() {
	wharf ps:top "$APP" --format json | jq -r '[.[].node | select(. == "h1" or . == "h2")][0] // empty'
}

@test "ps:stats and ps:top read every task on the node that runs it" {
	local manager json
	manager=$(docker info --format '{{.Name}}')
	run wharf ps:stats "$APP" --format json
	assert_success
	json=$output
	# Every running task, each measured where it runs: real figures and its node.
	[ "$(jq length <<<"$json")" = "$(docker service ps -q --filter desired-state=running \
		"$(services | cut -d' ' -f1)" | wc -l)" ]
	[ "$(jq length <<<"$json")" -ge 3 ]
	[ "$(jq '[.[] | select(.memory_usage > 0 and .pids >= 1 and .type == "web")] | length' \
		<<<"$json")" = "$(jq length <<<"$json")" ]
	[ "$(jq '[.[] | select(has("error"))] | length' <<<"$json")" = 0 ]
	jq -e --arg m "$manager" '[.[].node] | index("h1") and index("h2") and index($m)' <<<"$json"
	# The metrics page has the same tasks.
	run wharf metrics
	assert_success
	[ "$(grep -c "^wharf_container_memory_bytes{app=\"$APP\",process=\"web\",container=\"wharf-$APP-web-" \
		<<<"$output")" = "$(jq length <<<"$json")" ]
	# ps:top: the app's process in a task on a lab host, read through that host's Docker.
	run wharf ps:top "$APP" --format json
	assert_success
	jq -e '[.[] | select(.node == "h1" or .node == "h2") | .processes[] | join(" ")
		| select(contains("busybox httpd"))] | length >= 1' <<<"$output"
	run wharf ps:top "$APP" web
	assert_success
	assert_output --regexp "=====> wharf-$APP-web-.* \(web\) on h[12]"
	assert_output --partial "busybox httpd"
}

@test "ps:events shows the tasks' container starts from their nodes and the services' events" {
	run wharf ps:events "$APP" --format json
	assert_success
	# Starts on at least two nodes (read from each node's Docker), in time order.
	[ "$(jq '[.[] | select(.action == "start") | .node] | unique | length' <<<"$output")" -ge 2 ]
	jq -e '[.[] | select(.action == "start" and .process == "web" and (.name | startswith("wharf-")))]
		| length >= 3' <<<"$output"
	jq -e '[.[] | select(.action == "service-create" and .process == "web")] | length >= 1' <<<"$output"
	jq -e '[.[].time] == ([.[].time] | sort)' <<<"$output"
	run wharf ps:events "$APP"
	assert_success
	assert_output --regexp "start +web +wharf-$APP-web-.*  on h[12]"
	assert_output --regexp "service-create web +wharf-$APP-web-"
	run wharf ps:events "$APP" --since 1s
	assert_success
	assert_output --partial "no exits, restarts or starts since"
}

@test "a node whose Docker cannot be reached gives a partial ps:stats, ps:top and ps:events" {
	local node sock stats stats_json top events
	node=$(lab_node_of_task)
	[ -n "$node" ]
	sock=$WHARF_LAB_DIR/$node/d.sock
	# The node's dockerd keeps running (and in the swarm); only its socket is out of reach.
	mv "$sock" "$sock.off"
	local rc=0
	if ! { stats=$(wharf ps:stats "$APP" 2>&1) &&
		stats_json=$(wharf ps:stats "$APP" --format json) &&
		top=$(wharf ps:top "$APP" 2>&1) && events=$(wharf ps:events "$APP" 2>&1); }; then
		rc=1
	fi
	mv "$sock.off" "$sock"
	printf '%s\n' "$stats" "$top" "$events"
	[ "$rc" = 0 ]
	# Its tasks are named with the reason; the others are measured, with their node.
	[[ "$stats" == *"could not be read: node $node: "*"d.sock"* ]]
	grep -E "^CONTAINER +TYPE .* RESTARTS NODE$" <<<"$stats"
	grep -E "^wharf-$APP-web-v[0-9]+[ab]-[0-9a-f]{4}\.[1-9] +web .* [^ ]+$" <<<"$stats"
	jq -e --arg n "$node" '[.[] | select(has("error"))] | length >= 1 and
		all(.error | startswith("node " + $n + ": "))' <<<"$stats_json"
	jq -e '[.[] | select(has("error") | not) | select(.memory_usage > 0)] | length >= 1' <<<"$stats_json"
	[[ "$top" == *"on $node could not be read"* && "$top" == *"busybox httpd"* ]]
	[[ "$events" == *"events of node $node could not be read"* && "$events" == *" start "* ]]
	# Back: every task read again.
	run wharf ps:top "$APP" --format json
	assert_success
	[ "$(jq '[.[] | select(has("error"))] | length' <<<"$output")" = 0 ]
	jq -e --arg n "$node" 'any(.node == $n)' <<<"$output"
}

@test "apps:destroy removes the services and the registry's manifests of the app" {
	local pw
	pw=$(jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json")
	run curl -sS --cacert "$WHARF_ROOT/cluster/registry/ca.crt" -u "wharf:$pw" \
		"https://$REGISTRY/v2/wharf/$APP/tags/list"
	assert_output --partial '"tags":["'
	run wharf apps:destroy "$APP" --force
	assert_success
	assert_output --partial "from the cluster's registry"
	[ -z "$(services)" ]
	run curl -sS --cacert "$WHARF_ROOT/cluster/registry/ca.crt" -u "wharf:$pw" \
		"https://$REGISTRY/v2/wharf/$APP/tags/list"
	refute_output --partial '"tags":["'
}

# regc_status APP TAG: the registry's HTTP status for the manifest wharf/APP:TAG (or @DIGEST).
regc_status() {
	curl -sS -o /dev/null -w '%{http_code}' --cacert "$WHARF_ROOT/cluster/registry/ca.crt" \
		-u "wharf:$(jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json")" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"https://$REGISTRY/v2/wharf/$1/manifests/$2"
}

# regc_bytes: the size of the registry's storage dir.
regc_bytes() {
	du -sb "$WHARF_ROOT/cluster/registry/data" | cut -f1
}

@test "retention deletes old releases from the registry, cluster:gc frees their blobs; rollback and scale still pull" {
	local app=regc$$ dir=$TEST_TMP/regc pw digest before
	pw=$(jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json")
	{
		wharf apps:create "$app" && wharf scheduler:set "$app" selected swarm &&
			wharf releases:set "$app" retain 2
	} >/dev/null
	# Two releases with different images: each commit brings a layer of its own (random
	# bytes, so that the registry holds it once per release).
	make_swarm_app "$dir"
	sed -i 's|^RUN mkdir -p /www$|&\nCOPY blob /blob\nENV GREETING=a|' "$dir/Dockerfile"
	head -c 300000 /dev/urandom >"$dir/blob"
	h_git_commit "$dir" "release a"
	run git_push_app "$dir" "$app"
	assert_success
	head -c 300000 /dev/urandom >"$dir/blob"
	sed -i 's|^ENV GREETING=a$|ENV GREETING=b|' "$dir/Dockerfile"
	h_git_commit "$dir" "release b"
	run git_push_app "$dir" "$app"
	assert_success
	[ "$(regc_status "$app" 1)" = 200 ]
	[ "$(regc_status "$app" 2)" = 200 ]
	# v1 is kept here (retain 2) but its manifest is gone from the registry (deleted by
	# hand, as a registry that lost it), and cluster:gc frees its blobs.
	digest=$(curl -sS -I --cacert "$WHARF_ROOT/cluster/registry/ca.crt" -u "wharf:$pw" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"https://$REGISTRY/v2/wharf/$app/manifests/1" |
		sed -n 's/^docker-content-digest: *\(sha256:[0-9a-f]*\).*/\1/Ip')
	curl -sS -X DELETE --cacert "$WHARF_ROOT/cluster/registry/ca.crt" -u "wharf:$pw" \
		"https://$REGISTRY/v2/wharf/$app/manifests/$digest"
	[ "$(regc_status "$app" 1)" = 404 ]
	before=$(regc_bytes)
	local t0=$EPOCHREALTIME
	run wharf cluster:gc
	assert_success
	awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "cluster:gc took %.2f s\n", a - b }' >&3
	assert_output --regexp "Freed [0-9.]+ [KM]B and [1-9][0-9]* blobs?: the registry's storage went from"
	printf '%s\n' "$output" | sed -n 's/^ *\([0-9]* blobs marked\)/cluster:gc: \1/p; s/^-----> Freed/cluster:gc: freed/p' >&3
	[ "$(regc_bytes)" -lt $((before - 250000)) ]
	run app_url_get "$app"
	assert_output --partial "greeting=b"
	# The rollback to v1 pushes its image again (its blobs were collected). With retain 1
	# it is the only release kept besides v1 (same image): v2's manifest goes, and this
	# host's tag of v2's push.
	wharf releases:set "$app" retain 1 >/dev/null
	run timeout 150 "$WHARF_BIN" releases:rollback "$app" 1
	assert_success
	assert_output --partial "Removed 1 old image from the cluster's registry"
	run app_url_get "$app"
	assert_output --partial "greeting=a"
	[ "$(regc_status "$app" 2)" = 404 ]
	[ "$(regc_status "$app" 3)" = 200 ]
	[ -z "$(docker image ls -q "$REGISTRY/wharf/$app:2")" ]
	[ -n "$(docker image ls -q "$REGISTRY/wharf/$app:3")" ]
	# v2's blobs are freed; the nodes still pull the current image: a new task on
	# another node.
	before=$(regc_bytes)
	run wharf cluster:gc
	assert_success
	[ "$(regc_bytes)" -lt $((before - 250000)) ]
	run app_url_get "$app"
	assert_output --partial "greeting=a"
	run timeout 150 "$WHARF_BIN" ps:scale "$app" web=2
	assert_success
	two_nodes() { [ "$(for _ in 1 2 3 4 5 6 7 8; do app_url_get "$app"; done |
		sed -n 's/^node=\([^ ]*\) greeting=a$/\1/p' | sort -u | wc -l)" = 2 ]; }
	eventually 20 two_nodes
	# v2's image is gone from this host too (retention could not remove it while the
	# registry's tag held it).
	run jq -r '.releases[1].pruned' "$WHARF_ROOT/apps/$app/releases.json"
	assert_output true
	# A collection killed half way leaves the registry running read-only (its
	# config-readonly.yml): it refuses writes (a DELETE with the credentials); the next
	# deletion of wharf's (apps:destroy) makes it writable again and goes through.
	local reg=$WHARF_ROOT/cluster/registry
	digest=$(curl -sS -I --cacert "$reg/ca.crt" -u "wharf:$pw" \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"https://$REGISTRY/v2/wharf/$app/manifests/4" |
		sed -n 's/^docker-content-digest: *\(sha256:[0-9a-f]*\).*/\1/Ip')
	kill "$(cat "$reg/registry.pid")"
	down() { ! curl -s -o /dev/null --cacert "$reg/ca.crt" "https://$REGISTRY/v2/"; }
	eventually 10 down
	(setpriv --reuid="$(stat -c %u "$WHARF_ROOT")" --regid="$(stat -c %g "$WHARF_ROOT")" \
		--clear-groups /usr/bin/docker-registry serve "$reg/config-readonly.yml" \
		>>"$reg/registry.log" 2>&1 </dev/null 3>&- & echo $! >"$reg/registry.pid")
	up() { [ "$(regc_status "$app" 4)" = 200 ]; }
	eventually 10 up
	run curl -sS -o /dev/null -w '%{http_code}' -X DELETE --cacert "$reg/ca.crt" -u "wharf:$pw" \
		"https://$REGISTRY/v2/wharf/$app/manifests/$digest"
	assert_output 405
	[ "$(regc_status "$app" 4)" = 200 ]
	run wharf apps:destroy "$app" --force
	assert_success
	assert_output --partial "from the cluster's registry"
	[ "$(regc_status "$app" 4)" = 404 ]
	grep -q 'config\.yml$' <(tr '\0' '\n' <"/proc/$(cat "$reg/registry.pid")/cmdline")
	# A registry on the address that wharf did not start (an admin's own unit): cluster:gc
	# refuses to collect under it (it could not make it read-only); cluster:init brings
	# wharf's back.
	kill "$(cat "$reg/registry.pid")"
	eventually 10 down
	rm -f "$reg/registry.pid"
	(setpriv --reuid="$(stat -c %u "$WHARF_ROOT")" --regid="$(stat -c %g "$WHARF_ROOT")" \
		--clear-groups /usr/bin/docker-registry serve "$reg/config.yml" \
		>>"$reg/registry.log" 2>&1 </dev/null 3>&- & echo $! >"$TEST_TMP/other-registry.pid")
	answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$reg/ca.crt" "https://$REGISTRY/v2/")" = 401 ]; }
	eventually 10 answers
	run wharf cluster:gc
	assert_failure
	assert_output --partial "that wharf did not start"
	kill "$(cat "$TEST_TMP/other-registry.pid")"
	eventually 10 down
	# shellcheck disable=SC2153 # MANAGER: lab_up exports it
	run wharf cluster:init "$MANAGER"
	assert_success
	eventually 10 answers
	[ -s "$reg/registry.pid" ]
}

# ---- a second app: what a swarm app gets besides (storage, docker-args, checks:disable,
# ports:set), apps:rename, run's network, and its tasks on a node that leaves or dies.

# The route's targets of app $1, one a line.
targets_of() {
	curl -sS --unix-socket "$WHARF_ROUTER_SOCKET" "http://router/apps/$1" | jq -r '.targets[]?'
}

@test "a swarm app's storage mount is bound on each node, its docker-args options apply; what Swarm cannot say is refused" {
	local dir=$WHARF_T/host-swarm src=$TEST_TMP/args spec
	install -d -m 0755 "$dir" "$WHARF_T/host-swarm-gone"
	echo hello-from-host >"$dir/hello.txt"
	mkdir -p "$src"
	cat >"$src/docker-args-deploy" <<-EOF
		#!/bin/sh
		[ "\$1" = "$APP2" ] || [ "\$1" = "$APP3" ] || exit 0
		cat "\$WHARF_PLUGIN_DIR/args"
	EOF
	chmod 755 "$src/docker-args-deploy"
	echo '{"Config": {"Env": ["FROM_PLUGIN=yes"], "Labels": {"team": "ops"}}, "HostConfig": {"Memory": 268435456, "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "ExtraHosts": ["db.internal:10.9.9.9"]}}' >"$src/args"
	{
		wharf plugin:install "$src" --name "$ARGS_PLUGIN" &&
			wharf apps:create "$APP2" &&
			wharf scheduler:set "$APP2" selected swarm &&
			wharf storage:allow "$dir" && wharf storage:allow "$WHARF_T/host-swarm-gone" &&
			wharf storage:mount "$APP2" "$dir:/data:ro" &&
			wharf ps:scale "$APP2" web=3 &&
			wharf ports:set "$APP2" http:80:5000
	} >/dev/null
	# A node's Docker socket on this filesystem (a --docker-host node) is never mounted, even
	# under an allowed dir.
	wharf storage:allow "$WHARF_LAB_DIR" >/dev/null
	run wharf storage:mount "$APP2" "$WHARF_LAB_DIR/h1:/node"
	assert_failure
	assert_output --partial "would expose a cluster node's Docker socket"
	# Its page: its node, the file of its storage mount, the plugin's env var, its open-files
	# limit and whether /etc/hosts has the plugin's host.
	# shellcheck disable=SC2016 # expanded in the task
	make_swarm_app "$TEST_TMP/app" \
		'node=$(hostname) file=$(cat /data/hello.txt) plugin=$FROM_PLUGIN nofile=$(ulimit -n) hosts=$(grep -c db.internal /etc/hosts)'
	run git_push_app "$TEST_TMP/app" "$APP2"
	assert_success
	# The router serves it on its own port for http (ports:set's host side, as on one host);
	# the container side (5000) is not used without checks:disable, as on one host.
	# Every node's task reads the host dir through its bind mount, with the plugin's options.
	run bash -c "for i in \$(seq 12); do curl -s -H 'Host: $APP2.$WHARF_TEST_DOMAIN' http://127.0.0.1:$ROUTER_PORT/; done | sort -u"
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
	[ "$(printf '%s\n' "$output" | grep -cv ' file=hello-from-host plugin=yes nofile=1024 hosts=1$')" = 0 ]
	spec=$(docker service inspect --format '{{json .Spec.TaskTemplate}}' \
		"$(docker service ls -q --filter "label=wharf.app=$APP2")")
	[ "$(jq -c '.ContainerSpec.Mounts' <<<"$spec")" = "[{\"Type\":\"bind\",\"Source\":\"$dir\",\"Target\":\"/data\",\"ReadOnly\":true}]" ]
	[ "$(jq -r '.ContainerSpec.Labels.team, .Resources.Limits.MemoryBytes' <<<"$spec" | paste -sd' ')" = "ops 268435456" ]
	# An option Swarm's spec has no field for fails the deploy, naming it; the old tasks serve.
	echo '{"HostConfig": {"MemorySwap": 536870912}}' >"$WHARF_ROOT/plugins/available/$ARGS_PLUGIN/args"
	run timeout 150 "$WHARF_BIN" ps:restart "$APP2"
	assert_failure
	assert_output --partial "docker-args-deploy: HostConfig.MemorySwap cannot apply to a swarm task"
	cp "$src/args" "$WHARF_ROOT/plugins/available/$ARGS_PLUGIN/args"
	# A mount whose host dir a node lacks: Swarm rejects the task, the deploy says why.
	wharf storage:mount "$APP2" "$WHARF_T/host-swarm-gone:/gone" >/dev/null
	rmdir "$WHARF_T/host-swarm-gone"
	run timeout 150 "$WHARF_BIN" ps:restart "$APP2"
	assert_failure
	assert_output --partial "bind source path does not exist: $WHARF_T/host-swarm-gone"
	assert_output --partial "must exist on every node"
	wharf storage:unmount "$APP2" "$WHARF_T/host-swarm-gone:/gone" >/dev/null
	run app_url_get "$APP2"
	assert_output --partial "file=hello-from-host"
}

@test "checks:disable stops a swarm app's old services before the new start; a fixed container port is refused" {
	run wharf checks:disable "$APP2" web
	assert_success
	# ports:set says so at once, ports:report too.
	run wharf ports:set "$APP2" http:80:5000
	assert_success
	assert_output --partial "container port 5000 is not used, and with checks:disable web the next deploy is refused"
	run wharf ports:report "$APP2" --ports-computed-web-port
	assert_output "per task (swarm)"
	# ports:set's container port would be used now (no overlap): not on the swarm.
	run timeout 150 "$WHARF_BIN" ps:restart "$APP2"
	assert_failure
	assert_output --partial "ports:set's container port 5000 is not used on the swarm"
	run app_url_get "$APP2"
	assert_output --partial "file=hello-from-host"
	wharf ports:clear "$APP2" >/dev/null
	local old
	old=$(docker service ls --filter "label=wharf.app=$APP2" --format '{{.Name}}')
	run timeout 150 "$WHARF_BIN" ps:restart "$APP2"
	assert_success
	# The old service was stopped (its tasks gone) before the new one was created.
	assert_output --partial "Stopping old web service $old first (checks:disable web)"
	assert_output --partial "checks skipped (checks:disable)"
	[ "$(grep -n "Stopping old web service" <<<"$output" | cut -d: -f1)" -lt \
		"$(grep -n "Starting 3 web tasks" <<<"$output" | cut -d: -f1)" ]
	[ "$(docker service ls --filter "label=wharf.app=$APP2" --format '{{.Name}}')" != "$old" ]
	[ "$(targets_of "$APP2" | wc -l)" = 3 ]
	run app_url_get "$APP2"
	assert_output --partial "file=hello-from-host"
	wharf checks:enable "$APP2" web >/dev/null
}

@test "apps:rename of a swarm app: the new name serves on the app's port bases, the old services and route are gone" {
	local bases
	bases=$(jq -c .swarm_ports "$WHARF_ROOT/apps/$APP2/app.json")
	run timeout 150 "$WHARF_BIN" apps:rename "$APP2" "$APP3"
	assert_success
	[ -z "$(docker service ls -q --filter "label=wharf.app=$APP2")" ]
	[ "$(docker service ls -q --filter "label=wharf.app=$APP3" | wc -l)" = 1 ]
	[ -z "$(targets_of "$APP2")" ]
	run app_url_get "$APP3"
	assert_output --partial "file=hello-from-host"
	# The port bases moved with the app; the route is on one of them.
	[ "$(jq -c .swarm_ports "$WHARF_ROOT/apps/$APP3/app.json")" = "$bases" ]
	run targets_of "$APP3"
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
	jq -e --argjson p "$(printf '%s\n' "$output" | head -n 1 | cut -d: -f2)" \
		'any(.[]; . == ($p / 10 | floor))' <<<"$bases"
}

@test "wharf run of a swarm app runs here, on the app's own internal network" {
	local pid id
	"$WHARF_BIN" run "$APP3" sleep 6 </dev/null >"$TEST_TMP/run.out" 2>&1 3>&- &
	pid=$!
	oneoff() { docker ps -q --filter "label=wharf.run=$APP3" --filter "label=wharf.root=$WHARF_ROOT"; }
	has_oneoff() { [ -n "$(oneoff)" ]; }
	eventually 30 has_oneoff || {
		cat "$TEST_TMP/run.out" >&2
		false
	}
	id=$(oneoff | head -n 1)
	run docker inspect -f '{{.HostConfig.NetworkMode}}' "$id"
	assert_output "wharf-$APP3"
	run docker network inspect -f '{{.Internal}}' "wharf-$APP3"
	assert_output true
	wait "$pid"
}

# on_node ADDR: the route of APP3 has a target on ADDR.
on_node() { targets_of "$APP3" | grep -q "^$1:"; }

# served_off ADDR WHAT: waits until APP3's route has its 3 targets and none on ADDR, lets the
# load ($load, into $TEST_TMP/load) make 5 more requests (a count, not a time: a loaded
# machine makes fewer a second), stops it; not one request failed.
served_off() {
	local before
	off() { [ "$(targets_of "$APP3" | grep -vc "^$1:")" = 3 ] && ! on_node "$1"; }
	eventually 90 off "$1"
	before=$(wc -l <"$TEST_TMP/load")
	more() { [ "$(wc -l <"$TEST_TMP/load")" -ge $((before + 5)) ]; }
	eventually 30 more
	touch "$TEST_TMP/stop"
	wait "$load"
	echo "# $2: $(wc -l <"$TEST_TMP/load") requests, $(awk '$2 != 200' "$TEST_TMP/load" | wc -l) failed" >&3
	run awk '$2 != 200' "$TEST_TMP/load"
	assert_output ""
}

@test "cluster:remove-node of a node that runs the app's tasks: drained, served elsewhere, no failed request" {
	docker swarm update --dispatcher-heartbeat 1s >/dev/null
	lab_sync_start
	eventually 30 on_node "$H2"
	lab_requests "$APP3" 90 "$TEST_TMP/load" &
	local load=$!
	run timeout 120 "$WHARF_BIN" cluster:remove-node h2
	assert_success
	served_off "$H2" "remove-node h2"
	run docker node ls --format '{{.Hostname}}'
	refute_line h2
}

@test "a node that runs the pushed app's tasks cut off: they come back on another node, the route follows, no failed request" {
	[ -f "$WHARF_T/sync.pid" ] || lab_sync_start
	eventually 30 on_node "$H1"
	lab_requests "$APP3" 120 "$TEST_TMP/load" &
	local load=$!
	sleep 1
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 down
	served_off "$H1" "h1 cut off"
	run app_url_get "$APP3"
	assert_output --partial "file=hello-from-host"
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up
}
