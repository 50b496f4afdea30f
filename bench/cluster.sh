#!/usr/bin/env bash
# bench/cluster.sh - several hosts on one machine (scripts/cluster-lab.sh): a private wharf
# like the e2e tests' (its dockerd the swarm manager) and a lab of 2 hosts joined to it.
#   1. node death: a web service of 3 replicas over the 2 lab hosts, its route followed by
#      `wharf cluster:sync` (default interval); a host cut off (link down in its namespace)
#      while requests flow: seconds until the route drops it, requests that failed, and the
#      slowest request in between (one the router sent there waited for the connect to
#      fail, then went to another task). TRIALS times (default 3), the host back in between.
#   2. deploys (through the swarm scheduler's commands: scheduler:set APP selected swarm,
#      git push, config:set): push->live of the same app on the cluster and on this host,
#      and failed requests during DEPLOYS (default 10) config:set redeploys under load, with
#      cluster:sync running beside them as the daemon runs it.
# Prints one line per figure. Needs root. SKIP_DEPLOYS=1 runs part 1 only.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TRIALS=${TRIALS:-3} DEPLOYS=${DEPLOYS:-10} SKIP_DEPLOYS=${SKIP_DEPLOYS:-0}
P=1234

# shellcheck source=../tests/e2e/lib/harness.bash
. "$REPO/tests/e2e/lib/harness.bash"
[ -x "$REPO/bin/wharf" ] || make -C "$REPO" -s
harness_suite_setup 3>/dev/null || { echo "bench: could not start a private wharf" >&2; exit 1; }
export WHARF_LAB_DIR=$WHARF_T/lab WHARF_LAB_NAME=wb$((RANDOM % 100000))
SYNC_PID="" LOAD_PID=""
finish() {
	[ -z "$LOAD_PID" ] || kill "$LOAD_PID" 2>/dev/null
	[ -z "$SYNC_PID" ] || kill "$SYNC_PID" 2>/dev/null
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up 2>/dev/null
	docker service rm "${SVC:-none}" >/dev/null 2>&1
	"$WHARF_BIN" cluster:leave --force >/dev/null 2>&1
	"$REPO/scripts/cluster-lab.sh" down >/dev/null 2>&1
	harness_suite_teardown
}
trap finish EXIT
T=$WHARF_T/bench
mkdir -p "$T"
"$REPO/scripts/cluster-lab.sh" up 2 >"$T/lab.log" 2>&1 || {
	tail -n 20 "$T/lab.log" >&2
	exit 1
}
# shellcheck disable=SC1091
. "$WHARF_LAB_DIR/lab.env"
REGISTRY=$MANAGER:5000

now() { date +%s.%N; }
route_targets() {
	curl -sS --max-time 5 --unix-socket "$WHARF_ROUTER_SOCKET" "http://router/apps/$1" |
		jq -r '.targets[]?' | sort
}
# requests APP OUT: GETs through the router back to back until $T/stop exists:
# "START CODE SECONDS" a line.
requests() {
	local t r
	while [ ! -e "$T/stop" ]; do
		t=$(now)
		r=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
			-H "Host: $1.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/")
		echo "$t $r"
	done >"$2"
}
wait_for() { # SECONDS CMD...: poll every 100 ms
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ---- 1. node death ------------------------------------------------------------------------
# A busybox image in the registry; a service as a swarm deploy makes it (docs/cluster.md).
root=$T/rootfs cfg=$T/docker-config
busybox_rootfs "$root" sh httpd
mkdir -p "$root/www"
tar -C "$root" -cf "$T/image.tar" .
IMG=$REGISTRY/wharf/bench-web:1
docker import "$T/image.tar" "$IMG" >/dev/null
jq -r .registry_password "$WHARF_ROOT/cluster/cluster.json" |
	DOCKER_CONFIG=$cfg docker login -u wharf --password-stdin "$REGISTRY" >/dev/null 2>&1
DOCKER_CONFIG=$cfg docker push -q "$IMG" >/dev/null
docker swarm update --dispatcher-heartbeat 1s >/dev/null
APP=nodedeath SVC=wharf-nodedeath-web-b1
"$WHARF_BIN" apps:create "$APP" >/dev/null
"$WHARF_BIN" scheduler:set "$APP" selected swarm >/dev/null
DOCKER_CONFIG=$cfg docker service create -d -q --name "$SVC" --with-registry-auth \
	--label wharf.managed=1 --label "wharf.root=$WHARF_ROOT" --label "wharf.app=$APP" \
	--label wharf.process=web --label wharf.release=1 --label "wharf.port-base=$P" \
	--network host --replicas 3 --constraint node.role==worker --stop-grace-period 2s \
	--env "PORT=$P{{.Task.Slot}}" --env 'NODE={{.Node.Hostname}}' "$IMG" /bin/busybox sh -c \
	'printf %s "$NODE" >/www/index.html; exec httpd -f -p "$PORT" -h /www' >/dev/null
first=$(docker service ps "$SVC" -q | head -n 1)
wait_for 90 sh -c "docker inspect -f '{{.Status.State}}' $first | grep -qx running"
node=$(docker inspect -f '{{.NodeID}}' "$first")
slot=$(docker inspect -f '{{.Slot}}' "$first")
curl -sS --fail --max-time 30 --unix-socket "$WHARF_ROUTER_SOCKET" -X PUT \
	"http://router/apps/$APP" -d "{\"domains\":[\"$APP.$WHARF_TEST_DOMAIN\"],\"targets\":[\"$(docker node inspect -f '{{.Status.Addr}}' "$node"):$P$slot\"]}" >/dev/null
"$WHARF_BIN" cluster:sync >"$T/sync.log" 2>&1 &
SYNC_PID=$!
spread() { # the route has 3 targets on both hosts
	local r
	r=$(route_targets "$APP")
	[ "$(wc -l <<<"$r")" = 3 ] && grep -q "^$H1:" <<<"$r" && grep -q "^$H2:" <<<"$r"
}
drops=()
for trial in $(seq 1 "$TRIALS"); do
	wait_for 120 spread || { echo "bench: the tasks did not spread over both hosts" >&2; exit 1; }
	rm -f "$T/stop"
	requests "$APP" "$T/load" &
	LOAD_PID=$!
	sleep 2
	t0=$(now)
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 down
	wait_for 60 sh -c "! curl -s --unix-socket $WHARF_ROUTER_SOCKET http://router/apps/$APP | grep -q '$H1:'"
	t1=$(now)
	all_h2() { [ "$(route_targets "$APP" | grep -c "^$H2:")" = 3 ]; }
	wait_for 90 all_h2
	t2=$(now)
	touch "$T/stop"
	wait "$LOAD_PID"
	LOAD_PID=
	drop=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	drops+=("$drop")
	awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v n="$trial" -v d="$drop" '
		{ total++ } $2 != 200 { failed++ }
		$1 >= t0 && $1 < t1 && $3 > slow { slow = $3 }
		$1 >= t1 && $3 > after { after = $3 }
		$2 != 200 { bad = bad sprintf("\n  failed: started %+.2f s from the cut, HTTP %s after %s s", $1 - t0, $2, $3) }
		END { printf "node death %d: out of the route after %s s; tasks back to 3 on h2 after %.1f s; %d requests, %d failed; slowest request before the drop %.2f s, after %.2f s%s\n", n, d, t2 - t0, total, failed, slow, after, bad }' "$T/load"
	# The host back: Swarm stops its old tasks; a forced update spreads them again.
	ip -n "$WHARF_LAB_NAME-h1" link set eth0 up
	wait_for 60 sh -c "docker node inspect h1 -f '{{.Status.State}}' | grep -qx ready"
	docker service update -d -q --force "$SVC" >/dev/null
	updated() { [ "$(docker service inspect -f '{{.UpdateStatus.State}}' "$SVC")" = completed ]; }
	wait_for 120 updated
done
printf 'node death: out of the route after %s s (trials)\n' "${drops[*]}"
docker service rm "$SVC" >/dev/null

[ "$SKIP_DEPLOYS" = 1 ] && exit 0
# ---- 2. deploys through the swarm scheduler (h-swarm's commands) ------------------------------
# cluster:sync keeps running, as the daemon runs it: it skips an app while its deploy holds it.
TEST_TMP=$T
DIR=$T/app
make_app_repo "$DIR" "v0"
push_live() { # APP: seconds from git push to the router serving the page
	local t0 body
	t0=$(now)
	git_push_app "$DIR" "$1" >"$T/push-$1.log" 2>&1 || { tail -n 20 "$T/push-$1.log" >&2; return 1; }
	wait_for 60 sh -c "curl -s -H 'Host: $1.$WHARF_TEST_DOMAIN' http://127.0.0.1:$ROUTER_PORT/ | grep -qx v0" || return 1
	body=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	echo "$body"
}
"$WHARF_BIN" apps:create local1 >/dev/null
"$WHARF_BIN" apps:create swarm1 >/dev/null
"$WHARF_BIN" scheduler:set swarm1 selected swarm >/dev/null
"$WHARF_BIN" ps:scale swarm1 web=2 >/dev/null 2>&1 || true
echo "push->live on this host: $(push_live local1) s"
echo "push->live on the cluster: $(push_live swarm1) s"
rm -f "$T/stop"
requests swarm1 "$T/deploys" &
LOAD_PID=$!
t0=$(now)
for i in $(seq 1 "$DEPLOYS"); do
	"$WHARF_BIN" config:set swarm1 "BENCH_N=$i" >"$T/config-$i.log" 2>&1 || tail -n 5 "$T/config-$i.log" >&2
done
touch "$T/stop"
wait "$LOAD_PID"
LOAD_PID=
awk -v n="$DEPLOYS" -v t0="$t0" -v t1="$(now)" '{ total++ } $2 != 200 { failed++ }
	END { printf "%d deploys on the cluster in %.0f s: %d requests, %d failed\n", n, t1 - t0, total, failed }' "$T/deploys"
