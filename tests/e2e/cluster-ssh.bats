#!/usr/bin/env bats
# tests/e2e/cluster-ssh.bats - a node joined over ssh, for real (issue 13): one lab host runs
# Debian's sshd on its lab address (scripts/cluster-lab.sh --ssh), whose root sessions see that
# host's dockerd and /etc/docker. A key the node does not trust cannot join; wharf's key joins
# it with `cluster:add-node HOST` (the join script over ssh: the registry's CA, the internal
# docker_gwbridge, `docker swarm join`); a swarm app pushed with git runs a task there that
# `enter` reaches through an ssh forward of the node's Docker socket; `cluster:remove-node`
# drains it under a bounded load with no failed request and makes it leave over ssh. One lab,
# one app and one sync loop for the file (setup_file).

load lib/harness

load lib/lab

# The app's page names its node; /www/token is a random word each container makes at start:
# only that container has it.
make_ssh_app() {
	local dir=$1
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh", "-c", "echo \"node=$(hostname)\" >/www/index.html; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \\n' >/www/token; exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF
	h_git_commit "$dir" "ssh app"
}

setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	[ -e /run/docker.sock ] && echo yes >"$WHARF_T/ssh-had-run-sock" || echo no >"$WHARF_T/ssh-had-run-sock"
	lab_up wh --ssh --hosts 1 || return 1
	export APP=sshapp$$
	{
		"$WHARF_BIN" cluster:init "$MANAGER" &&
			"$WHARF_BIN" apps:create "$APP" &&
			"$WHARF_BIN" scheduler:set "$APP" selected swarm
	} >"$WHARF_T/lab-ssh-init.log" 2>&1 || {
		cat "$WHARF_T/lab-ssh-init.log" >&2
		return 1
	}
	# The daemon's route-following loop, as on a real manager.
	"$WHARF_BIN" cluster:sync --interval 500 >>"$WHARF_T/ssh-sync.log" 2>&1 </dev/null 3>&- &
	echo $! >"$WHARF_T/ssh-sync.pid"
}

teardown_file() {
	kill "$(cat "$WHARF_T/ssh-sync.pid")" 2>/dev/null || true
	docker node update --availability active "$(docker info -f '{{.Swarm.NodeID}}')" >/dev/null 2>&1 || true
	"$WHARF_BIN" apps:destroy "$APP" --force >/dev/null 2>&1 || true
	lab_down
}

# h1 ARGS...: the docker CLI on lab host h1's dockerd (its socket, not ssh).
h1() {
	docker -H "unix://$WHARF_LAB_DIR/h1/d.sock" "$@"
}

# No ssh forward of wharf's is left: no tunnel directory, no ssh process naming one.
no_tunnel() {
	! compgen -G "$WHARF_ROOT/cluster/tunnel.*" >/dev/null &&
		! pgrep -f "$WHARF_ROOT/cluster/tunnel\\." >/dev/null
}

@test "a key the node does not trust cannot join it over ssh, and nothing is recorded" {
	ssh-keygen -q -t ed25519 -N '' -C other -f "$TEST_TMP/other"
	cat "$TEST_TMP/other.pub" >"$WHARF_LAB_DIR/h1/ssh/authorized_keys"
	run wharf cluster:add-node "$H1"
	assert_failure
	assert_output --partial "Permission denied (publickey)"
	assert_output --partial "the commands run on root@$H1 over ssh failed"
	jq -e '.nodes == {}' "$WHARF_ROOT/cluster/cluster.json"
	[ "$(docker node ls -q | wc -l)" = 1 ]
	run h1 info --format '{{.Swarm.LocalNodeState}}'
	assert_output inactive
	[ ! -e "$WHARF_LAB_DIR/h1/etc-docker/certs.d/$REGISTRY" ]
	# The sshd saw the attempt and refused it.
	grep -q "Connection closed by authenticating user root\|Failed publickey for root" \
		"$WHARF_LAB_DIR/h1/ssh/log"
}

@test "cluster:add-node HOST joins over ssh as root: the node trusts the registry and is ready" {
	lab_trust_wharf 1
	run wharf cluster:add-node "$H1"
	assert_success
	assert_output --partial "node $H1 ready"
	run wharf cluster:report
	assert_success
	assert_line --regexp "^h1 +[a-z0-9]+ +worker +ready +active +$H1 +-$"
	# The join script ran in the node's root session: its dockerd (the lab host's) has the
	# registry's CA where it reads it, and an internal docker_gwbridge.
	cmp "$WHARF_ROOT/cluster/registry/ca.crt" "$WHARF_LAB_DIR/h1/etc-docker/certs.d/$REGISTRY/ca.crt"
	run h1 network inspect -f '{{.Internal}}' docker_gwbridge
	assert_output true
	run h1 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}}'
	assert_output "active $H1"
	# cluster.json records how to reach it; its host key is kept for the next time.
	jq -e --arg h "$H1" '[.nodes[]] | length == 1 and .[0].ssh == $h and .[0].addr == $h' \
		"$WHARF_ROOT/cluster/cluster.json"
	ssh-keygen -F "$H1" -f "$WHARF_ROOT/cluster/ssh/known_hosts" | grep -q ssh-ed25519
}

@test "a pushed swarm app runs on the ssh node; enter reaches its task through an ssh forward" {
	local self cid token
	self=$(docker info -f '{{.Swarm.NodeID}}')
	# Only h1 takes tasks, so the app's one task is there.
	docker node update --availability drain "$self" >/dev/null
	make_ssh_app "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$APP"
	assert_success
	assert_output --partial "Switching the router to 1 task on the swarm"
	run wharf ps:report "$APP"
	assert_output --partial " on h1 (task: "
	run app_url_get "$APP"
	assert_output "node=h1"
	cid=$(h1 ps -q --filter "label=wharf.app=$APP")
	[ "$(wc -w <<<"$cid")" = 1 ]
	token=$(h1 exec "$cid" cat /www/token)
	[ ${#token} = 24 ]
	# enter as root here, and as an admin over wharf's ssh (the wharf user runs the tunnel).
	run wharf enter "$APP" web cat /www/token
	assert_success
	assert_output "$token"
	run wharf_ssh enter "$APP" web cat /www/token
	assert_success
	assert_output "$token"
	no_tunnel
	# A wharf killed while its forward is open takes the forward's ssh along (it dies with
	# its parent); the next forward reaps the directory left.
	"$WHARF_BIN" enter "$APP" web sleep 60 </dev/null >/dev/null 2>&1 &
	local w=$! spid=""
	forward_up() {
		spid=$(cat "$WHARF_ROOT"/cluster/tunnel.*/owner 2>/dev/null | awk '{ print $2 }')
		[ -n "$spid" ] && [ "$spid" != 0 ]
	}
	eventually 30 forward_up
	kill -9 "$w"
	ssh_gone() { ! kill -0 "$spid" 2>/dev/null; }
	eventually 10 ssh_gone
	run wharf enter "$APP" web true
	assert_success
	no_tunnel
	docker node update --availability active "$self" >/dev/null
}

@test "a node whose Docker cannot be reached over ssh gives ssh's reason" {
	# The node's sshd no longer accepts wharf's key: enter says so and leaves nothing.
	cp "$WHARF_LAB_DIR/h1/ssh/authorized_keys" "$TEST_TMP/authorized_keys"
	: >"$WHARF_LAB_DIR/h1/ssh/authorized_keys"
	run wharf enter "$APP" web true
	cp "$TEST_TMP/authorized_keys" "$WHARF_LAB_DIR/h1/ssh/authorized_keys"
	assert_failure
	assert_output --regexp "cannot reach the Docker of node [0-9a-z]{12} over ssh \(root@$H1, exit 255\): .*Permission denied \(publickey\)"
	no_tunnel
}

@test "cluster:remove-node over ssh drains the node under load with no failed request" {
	local n=160 nodeid
	nodeid=$(jq -r '.nodes | keys[0]' "$WHARF_ROOT/cluster/cluster.json")
	docker node update --availability active "$(docker info -f '{{.Swarm.NodeID}}')" >/dev/null
	# A second task, on the manager (Swarm spreads the service's tasks).
	run timeout 150 "$WHARF_BIN" ps:scale "$APP" web=2
	assert_success
	run wharf ps:report "$APP"
	assert_output --partial " on h1 (task: "
	assert_output --partial " on $(docker info --format '{{.Name}}') (task: "
	two_routed() { [ "$(curl -sS --unix-socket "$WHARF_ROUTER_SOCKET" "http://router/apps/$APP" | jq '.targets | length')" = 2 ]; }
	eventually 20 two_routed
	lab_load "$n"
	sleep 1
	run timeout 120 "$WHARF_BIN" cluster:remove-node h1
	assert_success
	assert_output --partial "drained h1"
	assert_output --partial "node h1 removed"
	lab_load_none_failed "$n"
	# h1's dockerd left the swarm (the leave ran over ssh); the manager and wharf forgot it.
	run h1 info --format '{{.Swarm.LocalNodeState}}'
	assert_output inactive
	jq -e '.nodes == {}' "$WHARF_ROOT/cluster/cluster.json"
	run docker node inspect "$nodeid"
	assert_failure
	# The app's tasks run on the manager now, and serve.
	run wharf ps:report "$APP"
	refute_output --partial " on h1 "
	run app_url_get "$APP"
	assert_output "node=$(docker info --format '{{.Name}}')"
}

@test "lab down stops the sshd; this machine's /run/docker.sock was never made" {
	local pid
	run wharf apps:destroy "$APP" --force
	assert_success
	pid=$(cat "$WHARF_LAB_DIR/h1/sshd.pid")
	kill -0 "$pid"
	# The sshd's /run and /etc/docker were its own mount namespace's.
	[ "$(cat "$WHARF_T/ssh-had-run-sock")" = yes ] || [ ! -e /run/docker.sock ]
	[ ! -e "/etc/docker/certs.d/$REGISTRY/ca.crt" ] || cmp -s "/etc/docker/certs.d/$REGISTRY/ca.crt" "$WHARF_ROOT/cluster/registry/ca.crt"
	lab_down
	run kill -0 "$pid"
	assert_failure
	[ ! -e "$WHARF_LAB_DIR" ]
	run ip netns list
	refute_output --partial "$WHARF_LAB_NAME-"
}
