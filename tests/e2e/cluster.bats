#!/usr/bin/env bats
# tests/e2e/cluster.bats - several hosts on one machine (scripts/cluster-lab.sh): two lab hosts
# (network namespaces with their own dockerd) join the harness's dockerd, the swarm manager,
# through wharf's cluster:* commands; the private registry serves images to the lab hosts only
# with its credentials and over TLS they verify with the CA cluster:add-node installed; an image
# pushed through wharf's C path (cluster_push_image) is pulled by its pinned digest; a node is
# removed; the lab leaves nothing behind. One lab for the whole file (setup_file).

load lib/harness
load lib/lab

setup_file() {
	lab_up wl
}

teardown_file() {
	lab_down
}

@test "cluster:init makes the harness's dockerd the manager, with a registry on its lab address" {
	run wharf cluster:init "$MANAGER"
	assert_success
	assert_output --partial "-----> Making this host the cluster manager on $MANAGER"
	assert_output --partial "registry on $REGISTRY"
	# A swarm manager on the lab address only, without ingress; docker_gwbridge is internal.
	run docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}} {{.Swarm.ControlAvailable}}'
	assert_output "active $MANAGER true"
	# (the cluster's ingress goes at once; this dockerd's own copy a few seconds later)
	no_ingress() { ! docker network ls --format '{{.Name}}' | grep -qx ingress; }
	eventually 30 no_ingress
	run docker network inspect -f '{{.Internal}}' docker_gwbridge
	assert_output true
	# Secrets are the wharf user's alone; the CA is where this host's dockerd reads it.
	run stat -c '%a %U' "$WHARF_ROOT/cluster" "$WHARF_ROOT/cluster/cluster.json" \
		"$WHARF_ROOT/cluster/registry/htpasswd" "$WHARF_ROOT/cluster/registry/ca.key" \
		"$WHARF_ROOT/cluster/registry/server.key" "$WHARF_ROOT/cluster/ssh/id_ed25519"
	assert_output "$(printf '700 wharf\n600 wharf\n600 wharf\n600 wharf\n600 wharf\n600 wharf')"
	cmp "$WHARF_ROOT/cluster/registry/ca.crt" "/etc/docker/certs.d/$REGISTRY/ca.crt"
	# Again on the same address: kept; on another: refused.
	run wharf cluster:init "$MANAGER"
	assert_success
	assert_output --partial "swarm node already"
	run wharf cluster:init 10.1.2.3
	assert_failure
	assert_output --partial "manager of a cluster on $MANAGER already"
	run wharf cluster:init not-an-address
	assert_failure
}

@test "cluster:add-node joins both lab hosts; cluster:report shows three ready nodes" {
	local i addrs=("" "$H1" "$H2")
	for i in 1 2; do
		run wharf cluster:add-node --docker-host "unix://$WHARF_LAB_DIR/h$i/d.sock" \
			--certs-dir "$WHARF_LAB_DIR/h$i/etc-docker/certs.d" "${addrs[$i]}"
		assert_success
		assert_output --partial "node ${addrs[$i]} ready"
	done
	run wharf cluster:report
	assert_success
	assert_line --partial "=====> Cluster (manager $MANAGER, registry $REGISTRY)"
	assert_line --regexp "^h1 +[a-z0-9]+ +worker +ready +active +$H1 +-$"
	assert_line --regexp "^h2 +[a-z0-9]+ +worker +ready +active +$H2 +-$"
	assert_line --regexp "manager +ready +active +$MANAGER "
	run wharf cluster:report --format json
	assert_success
	echo "$output" | jq -e --arg m "$MANAGER" --arg r "$REGISTRY" '
		.manager == $m and .registry == $r and (.nodes | length) == 3 and
		all(.nodes[]; .state == "ready" and .availability == "active") and
		([.nodes[] | select(.role == "manager")][0] | .address == $m and .leader) and
		([.nodes[].hostname] | contains(["h1", "h2"]))'
	# A second lab over this one is refused, and leaves the first as it was.
	run lab up 2 --hosts-only
	assert_failure
	assert_output --partial "a lab is already up in $WHARF_LAB_DIR"
	run lab status
	assert_output --partial "h2  $H2  dockerd up"
	# A node already in the swarm is refused.
	run wharf cluster:add-node --docker-host "unix://$WHARF_LAB_DIR/h1/d.sock" "$H1"
	assert_failure
	assert_output --partial "in a swarm already"
}

@test "a lab node pulls what was pushed to the registry, with its credentials and CA only" {
	local pw cfg=$TEST_TMP/docker-config img=$REGISTRY/wharf-probe:1
	pw=$(jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json")
	# A one-file image, pushed through the manager's dockerd (it trusts the CA cluster:init
	# installed).
	mkdir -p "$TEST_TMP/rootfs"
	echo probe >"$TEST_TMP/rootfs/probe.txt"
	tar -C "$TEST_TMP/rootfs" -cf "$TEST_TMP/probe.tar" probe.txt
	docker import "$TEST_TMP/probe.tar" "$img" >/dev/null
	# Without credentials the registry refuses the push.
	run env DOCKER_CONFIG="$cfg" docker push "$img"
	assert_failure
	assert_output --partial "no basic auth credentials"
	run env DOCKER_CONFIG="$cfg" docker login -u wrong --password-stdin "$REGISTRY" <<<"nope"
	assert_failure
	env DOCKER_CONFIG="$cfg" docker login -u wharf --password-stdin "$REGISTRY" <<<"$pw"
	run env DOCKER_CONFIG="$cfg" docker push "$img"
	assert_success
	# h1 pulls it with the credentials; its dockerd verifies the registry's certificate with
	# the CA cluster:add-node put in its certs dir.
	run env DOCKER_CONFIG="$TEST_TMP/none" docker -H "unix://$WHARF_LAB_DIR/h1/d.sock" pull "$img"
	assert_failure
	assert_output --partial "no basic auth credentials"
	run env DOCKER_CONFIG="$cfg" docker -H "unix://$WHARF_LAB_DIR/h1/d.sock" pull "$img"
	assert_success
	run docker -H "unix://$WHARF_LAB_DIR/h1/d.sock" image inspect -f '{{.Id}}' "$img"
	assert_success
	# Without the CA a node refuses the registry: h2's CA removed, it cannot pull.
	mv "$WHARF_LAB_DIR/h2/etc-docker/certs.d/$REGISTRY/ca.crt" "$TEST_TMP/ca.crt"
	run env DOCKER_CONFIG="$cfg" docker -H "unix://$WHARF_LAB_DIR/h2/d.sock" pull "$img"
	mv "$TEST_TMP/ca.crt" "$WHARF_LAB_DIR/h2/etc-docker/certs.d/$REGISTRY/ca.crt"
	assert_failure
	assert_output --partial "certificate signed by unknown authority"
	docker rmi "$img" >/dev/null
}

@test "cluster_push_image pushes with the credentials; a node pulls it by the pinned digest only" {
	local app=clpush cfg=$TEST_TMP/docker-config pinned h1="unix://$WHARF_LAB_DIR/h1/d.sock"
	local bin=$WHARF_REPO/build/tests/unit/cluster/test_push
	[ -x "$bin" ] || make -C "$WHARF_REPO" -s build/tests/unit/cluster/test_push
	# A one-file local image, as a release of the app would be.
	mkdir -p "$TEST_TMP/rootfs"
	echo "push $$" >"$TEST_TMP/rootfs/probe.txt"
	tar -C "$TEST_TMP/rootfs" -cf "$TEST_TMP/probe.tar" probe.txt
	docker import "$TEST_TMP/probe.tar" "wharf/$app:7" >/dev/null
	# The C path (src/cluster/push.c through src/docker's push), entered by its unit test.
	run env WHARF_TEST_PUSH_APP=$app WHARF_TEST_PUSH_REF="wharf/$app:7" \
		WHARF_TEST_PUSH_OUT="$TEST_TMP/pinned" "$bin"
	assert_success
	pinned=$(cat "$TEST_TMP/pinned")
	[[ $pinned =~ ^$REGISTRY/wharf/$app@sha256:[0-9a-f]{64}$ ]]
	# The registry has it under the tag too, with that digest.
	run docker image inspect -f '{{join .RepoDigests " "}}' "$REGISTRY/wharf/$app:7"
	assert_output --partial "$pinned"
	# h1 pulls it by the digest with the credentials, and gets the same content.
	run env DOCKER_CONFIG="$TEST_TMP/none" docker -H "$h1" pull "$pinned"
	assert_failure
	assert_output --partial "no basic auth credentials"
	jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json" |
		env DOCKER_CONFIG="$cfg" docker login -u wharf --password-stdin "$REGISTRY" >/dev/null
	run env DOCKER_CONFIG="$cfg" docker -H "$h1" pull "$pinned"
	assert_success
	run docker -H "$h1" image inspect -f '{{.Id}}' "$pinned"
	assert_output "$(docker image inspect -f '{{.Id}}' "wharf/$app:7")"
	# A digest the registry does not hold is refused.
	run env DOCKER_CONFIG="$cfg" docker -H "$h1" pull \
		"$REGISTRY/wharf/$app@sha256:$(printf '0%.0s' {1..64})"
	assert_failure
	assert_output --regexp "manifest unknown|not found"
	docker -H "$h1" rmi "$pinned" >/dev/null
	docker rmi "wharf/$app:7" "$REGISTRY/wharf/$app:7" >/dev/null
}

@test "scheduler:set stores an app's and the global scheduler; a swarm app is not deployed here" {
	local app
	app=$(new_app_name sched)
	wharf apps:create "$app" >/dev/null
	run wharf scheduler:set "$app" selected kubernetes
	assert_failure
	assert_output --partial "invalid scheduler 'kubernetes'"
	run wharf scheduler:set "$app" selected swarm
	assert_success
	assert_output "-----> Setting selected to swarm"
	run wharf scheduler:set --global selected docker-local
	assert_success
	run wharf scheduler:report "$app"
	assert_success
	assert_output --partial "Scheduler selected:"
	assert_output --regexp "Scheduler global selected: +docker-local"
	assert_output --regexp "Scheduler computed selected: +swarm"
	run wharf scheduler:report "$app" --format json
	echo "$output" | jq -e '."scheduler-selected" == "swarm" and
		."scheduler-computed-selected" == "swarm" and ."scheduler-global-selected" == "docker-local"'
	jq -e '.scheduler == "swarm"' "$WHARF_ROOT/apps/$app/app.json"
	# (Deploying a swarm app: tests/e2e/cluster-apps.bats.)
	[ -z "$(app_containers "$app")" ]
	run wharf_ssh scheduler:set "$app" selected docker-local
	assert_success
	run wharf scheduler:report "$app" --scheduler-computed-selected
	assert_output docker-local
	run wharf scheduler:set --global selected
	assert_success
	assert_output "-----> Unsetting selected (global)"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "cluster commands are admin-only: never for a deployer, init and add-node never over ssh" {
	local dep=clusterdep$$
	ssh-keygen -q -t ed25519 -N '' -C "$dep@wharf-e2e" -f "$WHARF_KEYS/$dep"
	wharf ssh-keys:add "$dep" --role deployer <"$WHARF_KEYS/$dep.pub" >/dev/null
	run wharf_ssh_key "$dep" cluster:report
	assert_failure
	refute_output --partial "$REGISTRY"
	run wharf_ssh cluster:report
	assert_success
	assert_output --partial "registry $REGISTRY"
	run wharf_ssh cluster:init "$MANAGER"
	assert_failure
	run wharf_ssh cluster:add-node "$H1"
	assert_failure
	run wharf_ssh cluster:remove-node h1
	assert_failure
	run wharf_ssh_key "$dep" scheduler:set --global selected docker-local
	assert_failure
	run wharf_ssh_key "$dep" cluster:remove-node h1
	assert_failure
	wharf ssh-keys:remove "$dep" >/dev/null
}

@test "cluster:remove-node drains a node, makes it leave and removes it" {
	run wharf cluster:remove-node h2
	assert_success
	assert_output --partial "drained h2"
	assert_output --partial "node h2 removed"
	run docker -H "unix://$WHARF_LAB_DIR/h2/d.sock" info --format '{{.Swarm.LocalNodeState}}'
	assert_output inactive
	run wharf cluster:report --format json
	echo "$output" | jq -e '(.nodes | length) == 2 and all(.nodes[]; .hostname != "h2")'
	run wharf cluster:remove-node h2
	assert_failure
	assert_output --partial "no node 'h2'"
	# The manager is not a node to remove.
	run wharf cluster:remove-node "$MANAGER"
	assert_failure
	assert_output --partial "is a manager"
}

@test "cluster:leave and lab down leave nothing behind" {
	local pid
	pid=$(cat "$WHARF_ROOT/cluster/registry/registry.pid")
	run wharf cluster:leave
	assert_failure
	assert_output --partial "add --force"
	run wharf cluster:leave --force
	assert_success
	run kill -0 "$pid"
	assert_failure
	run docker info --format '{{.Swarm.LocalNodeState}}'
	assert_output inactive
	[ ! -e "$WHARF_ROOT/cluster" ]
	[ ! -e "/etc/docker/certs.d/$REGISTRY" ]
	# Without a cluster, no app can be set to run on one.
	run wharf scheduler:set --global selected swarm
	assert_failure
	assert_output --partial "needs a cluster: run cluster:init"
	local pids=() i
	for i in 1 2; do pids+=("$(cat "$WHARF_LAB_DIR/h$i/pid")"); done
	run lab down
	assert_success
	for i in "${pids[@]}"; do
		run kill -0 "$i"
		assert_failure
	done
	[ ! -e "$WHARF_LAB_DIR" ]
	run ip netns list
	refute_output --partial "$WHARF_LAB_NAME-"
	run ip -o link show
	refute_output --partial "${WHARF_LAB_NAME}0"
	run ip -4 route
	refute_output --partial "$NET."
	run find /sys/fs/cgroup -maxdepth 2 -name "$WHARF_LAB_NAME-*"
	assert_output ""
}
