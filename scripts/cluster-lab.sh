#!/usr/bin/env bash
# scripts/cluster-lab.sh - a cluster of lab hosts on this one machine (docs/cluster.md).
#
#   scripts/cluster-lab.sh up [N] [--hosts-only] [--ssh]
#                                                   N lab hosts (default 2), then (unless
#                                                   --hosts-only) wharf cluster:init on this
#                                                   host's lab address and cluster:add-node of each
#                                                   (with --ssh: over ssh, each host running an
#                                                   sshd on its address; else through its socket)
#   scripts/cluster-lab.sh down                     undo exactly what up made
#   scripts/cluster-lab.sh status                   the lab's hosts, addresses and dockerds
#
# A lab host is a network namespace with its own dockerd (own --data-root, --exec-root,
# socket, cgroup parent, hostname, and /etc/docker bind-mounted from the lab dir so the
# registry's CA can be installed for it alone) and, with --ssh, Debian's sshd on its address
# port 22, whose root sessions see that dockerd as their /var/run/docker.sock and that
# /etc/docker (a private mount namespace: nothing of this machine's /etc, /root or /run is
# touched), and accept the keys in LAB/hN/ssh/authorized_keys. One more namespace holds the bridge every
# host is plugged into; this host (wharf's dockerd, the manager) gets the first address on
# it through a veth of its own. Addresses are a private 10.K.0.0/24 no route of this machine
# uses; the lab hosts have no other route, so nothing they send can leave the machine.
#
# Environment:
#   WHARF_LAB_DIR   where the lab lives (default /var/tmp/wharf-lab): lab.env, h1/, h2/, …
#   WHARF_LAB_NAME  prefix of the namespaces and of this host's veth (default wlab, ≤ 8
#                   characters): two labs with other dirs and names can run side by side
#   WHARF_LAB_NET   the 10.K.0.0/24 to use (default: the first free K from 60 to 99)
#   WHARF_BIN       the wharf that joins the hosts (default bin/wharf of this checkout)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB=${WHARF_LAB_DIR:-/var/tmp/wharf-lab}
NAME=${WHARF_LAB_NAME:-wlab}
WHARF=${WHARF_BIN:-$WHARF_REPO/bin/wharf}
[[ $NAME =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "WHARF_LAB_NAME must be 1-8 lowercase letters/digits"

# The lab's record: what up made, read back by down and status.
load() {
	[ -f "$LAB/lab.env" ] || return 1
	# shellcheck source=/dev/null
	. "$LAB/lab.env"
}

# free_net: the first 10.K.0.0/24 (K 60..99) no route of this machine mentions.
free_net() {
	local k routes
	routes=$(ip -4 route show table all)
	for k in $(seq 60 99); do
		grep -qE "(^|[^0-9.])10\.$k\." <<<"$routes" || { echo "10.$k.0"; return 0; }
	done
	return 1
}

# cgroup_mounts: the commands that mount this machine's cgroup hierarchies again, in order
# (ip netns exec mounts a fresh /sys, which hides them; dockerd needs them).
cgroup_mounts() {
	awk '$2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1 {
		if ($3 == "tmpfs") print "mount -t tmpfs -o mode=755 tmpfs " $2
		else if ($3 == "cgroup2") print "mkdir -p " $2 " && mount -t cgroup2 none " $2
		else if ($3 == "cgroup") {
			n = split($4, o, ","); opts = ""
			for (i = 1; i <= n; i++)
				if (o[i] !~ /^(rw|ro|relatime|nosuid|nodev|noexec)$/)
					opts = opts (opts == "" ? "" : ",") o[i]
			print "mkdir -p " $2 " && mount -t cgroup -o " opts " cgroup " $2
		}
	}' /proc/self/mounts
}

# cgroup_dirs HOST: the cgroup folders the host's dockerd may have made (its --cgroup-parent).
cgroup_dirs() {
	awk -v leaf="$NAME-$1" '($3 == "cgroup" || $3 == "cgroup2") &&
		($2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1) { print $2 "/" leaf }' \
		/proc/self/mounts | while read -r d; do [ -d "$d" ] && echo "$d"; done
}

start_host() {
	local i=$1 h=h$1 ns=$NAME-h$1 dir=$LAB/h$1 addr=$NET.$((10 + $1))
	mkdir -p "$dir/etc-docker/certs.d" "$dir/data" "$dir/x"
	ip netns add "$ns"
	# Created directly in the namespaces: the ends never appear in this host's namespace.
	ip link add eth0 netns "$ns" type veth peer name "$h" netns "$NAME-br"
	ip -n "$NAME-br" link set "$h" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	{
		cgroup_mounts
		echo "hostname $h"
		echo "mount --bind $dir/etc-docker /etc/docker"
		echo "exec dockerd --bridge=none --iptables=false --ip-forward=false" \
			"--data-root $dir/data --exec-root $dir/x --pidfile $dir/dockerd.pid" \
			"-H unix://$dir/d.sock --cgroup-parent /$NAME-$h --config-file $dir/daemon.json"
	} >"$dir/start.sh"
	echo '{}' >"$dir/daemon.json"
	# ip netns exec gives it a mount namespace of its own: the bind mount stays inside.
	ip netns exec "$ns" unshare --uts sh "$dir/start.sh" >"$dir/dockerd.log" 2>&1 </dev/null 3>&- &
	echo $! >"$dir/pid"
	echo "H$i=$addr" >>"$LAB/lab.env"
	[ "$SSH" = 0 ] || start_sshd "$1"
}

# start_sshd I: Debian's sshd for lab host hI, on its address port 22, in a mount namespace
# of its own (inside the host's network namespace) where /run is a fresh tmpfs holding
# /run/sshd and docker.sock (a link to the host's dockerd socket), /etc/docker is the host's
# and /root an empty tmpfs: a root session there is a session on the lab host. It accepts the
# keys in LAB/hI/ssh/authorized_keys (empty at first: the caller adds wharf's).
start_sshd() {
	local ns=$NAME-h$1 dir=$LAB/h$1 s=$LAB/h$1/ssh addr=$NET.$((10 + $1))
	mkdir -p "$s"
	chmod 700 "$s"
	ssh-keygen -q -t ed25519 -N '' -C "root@h$1" -f "$s/host_ed25519"
	: >"$s/authorized_keys"
	chmod 600 "$s/authorized_keys"
	cat >"$s/sshd_config" <<-CONF
		ListenAddress $addr:22
		HostKey $s/host_ed25519
		PidFile none
		AuthorizedKeysFile $s/authorized_keys
		# The lab dir may sit under a world-writable directory (/var/tmp), which StrictModes refuses.
		StrictModes no
		PermitRootLogin prohibit-password
		AllowUsers root
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		# Local forwards: wharf's unix-socket forward to the node's Docker (cluster_node_docker()).
		# sshd permits those only when it permits local TCP forwards too (which, from this
		# namespace, reach only the lab's addresses); nothing is forwarded the other way.
		AllowStreamLocalForwarding local
		AllowTcpForwarding local
		AllowAgentForwarding no
		X11Forwarding no
		PermitTunnel no
		PermitUserEnvironment no
		PrintMotd no
		LogLevel VERBOSE
	CONF
	/usr/sbin/sshd -t -f "$s/sshd_config" >"$s/check.log" 2>&1 ||
		die "sshd -t refused $s/sshd_config: $(cat "$s/check.log")"
	{
		echo "mount -t tmpfs -o mode=755 tmpfs /run"
		echo "mkdir -m 755 /run/sshd"
		echo "ln -s $dir/d.sock /run/docker.sock"
		echo "mount --bind $dir/etc-docker /etc/docker"
		echo "mount -t tmpfs -o mode=700 tmpfs /root"
		echo "hostname h$1"
		echo "exec /usr/sbin/sshd -D -f $s/sshd_config -E $s/log"
	} >"$s/start.sh"
	# unshare --mount makes the namespace's mounts private: none reaches this machine's.
	ip netns exec "$ns" unshare --mount --uts sh "$s/start.sh" >"$s/start.log" 2>&1 </dev/null 3>&- &
	echo $! >"$dir/sshd.pid"
}

# ssh_up I: true when lab host hI's sshd accepts a TCP connection on its address.
ssh_up() {
	timeout 1 bash -c "exec 3<>/dev/tcp/$NET.$((10 + $1))/22" 2>/dev/null
}

up() {
	local n=2 join=1 i
	SSH=0
	while [ $# -gt 0 ]; do
		case $1 in
		--hosts-only) join=0 ;;
		--ssh) SSH=1 ;;
		[1-9] | [1-9][0-9]) n=$1 ;;
		*) die "usage: $0 up [N] [--hosts-only] [--ssh]" ;;
		esac
		shift
	done
	need_root "$0"
	if load; then
		die "a lab is already up in $LAB ($N hosts on $NET.0/24): $0 down first"
	fi
	ip netns list | grep -q "^$NAME-br\b" && die "namespace $NAME-br exists but $LAB/lab.env does not: remove it by hand (ip netns del $NAME-br)"
	NET=${WHARF_LAB_NET:-}
	if [ -z "$NET" ]; then
		NET=$(free_net) || die "no free 10.K.0.0/24 (K 60..99) on this machine"
	else
		NET=${NET%.0/24}
		ip -4 route show table all | grep -q "${NET//./\\.}\." && die "$NET.0/24 is routed already"
	fi
	mkdir -p "$LAB"
	chmod 755 "$LAB"
	printf 'NET=%s\nN=%s\nNAME=%s\nMANAGER=%s\nSSH=%s\n' "$NET" "$n" "$NAME" "$NET.1" "$SSH" \
		>"$LAB/lab.env"
	UP_OK=0
	trap '[ "$UP_OK" = 1 ] || { echo " !     up failed: cleaning up" >&2; down >/dev/null 2>&1; }' EXIT
	ip netns add "$NAME-br"
	ip -n "$NAME-br" link add br0 type bridge
	ip -n "$NAME-br" link set br0 up
	# This host's address on the lab: its dockerd is the manager.
	ip link add "${NAME}0" type veth peer name host netns "$NAME-br"
	ip -n "$NAME-br" link set host master br0 up
	ip addr add "$NET.1/24" dev "${NAME}0"
	ip link set "${NAME}0" up
	for i in $(seq 1 "$n"); do
		start_host "$i"
	done
	local deadline=$((SECONDS + 60))
	for i in $(seq 1 "$n"); do
		until docker_ping "$LAB/h$i/d.sock"; do
			if ! pid_alive "$LAB/h$i/pid" || [ "$SECONDS" -ge "$deadline" ]; then
				tail -n 20 "$LAB/h$i/dockerd.log" >&2
				die "the dockerd of lab host h$i did not answer within 60 s (log: $LAB/h$i/dockerd.log)"
			fi
			sleep 0.1
		done
		[ "$SSH" = 1 ] || continue
		until ssh_up "$i"; do
			if ! pid_alive "$LAB/h$i/sshd.pid" || [ "$SECONDS" -ge "$deadline" ]; then
				cat "$LAB/h$i/ssh/start.log" "$LAB/h$i/ssh/log" >&2 2>/dev/null
				die "the sshd of lab host h$i did not listen within 60 s (log: $LAB/h$i/ssh/log)"
			fi
			sleep 0.1
		done
	done
	UP_OK=1
	say "Lab up: $n hosts on $NET.0/24 (this host: $NET.1)"
	for i in $(seq 1 "$n"); do
		note "h$i  $NET.$((10 + i))  unix://$LAB/h$i/d.sock$([ "$SSH" = 0 ] || echo "  ssh root@$NET.$((10 + i))")"
	done
	[ "$join" = 1 ] || return 0
	"$WHARF" cluster:init "$NET.1"
	for i in $(seq 1 "$n"); do
		if [ "$SSH" = 1 ]; then
			# The node trusts wharf's key, as an admin would set it up.
			cat "${WHARF_ROOT:-/var/lib/wharf}/cluster/ssh/id_ed25519.pub" >>"$LAB/h$i/ssh/authorized_keys"
			"$WHARF" cluster:add-node "$NET.$((10 + i))"
		else
			"$WHARF" cluster:add-node --docker-host "unix://$LAB/h$i/d.sock" \
				--certs-dir "$LAB/h$i/etc-docker/certs.d" "$NET.$((10 + i))"
		fi
	done
	"$WHARF" cluster:report
}

# stop PIDFILE...: SIGTERM the processes they name (all at once), SIGKILL those left after 20 s.
stop() {
	local pids=() f pid i left
	for f in "$@"; do
		pid_alive "$f" || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null && pids+=("$pid")
	done
	for i in $(seq 1 200); do
		left=0
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && left=1
		done
		[ "$left" = 0 ] && return 0
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	sleep 0.2
}

down() {
	need_root "$0"
	load || { note "no lab in $LAB"; return 0; }
	local i d
	# A manager this lab made leaves its swarm (only when its address is the lab's).
	if [ -x "$WHARF" ] && [ -f "${WHARF_ROOT:-/var/lib/wharf}/cluster/cluster.json" ] &&
		grep -q "\"$MANAGER\"" "${WHARF_ROOT:-/var/lib/wharf}/cluster/cluster.json"; then
		"$WHARF" cluster:leave --force || true
	fi
	local pidfiles=() pid
	for i in $(seq 1 "$N"); do
		pidfiles+=("$LAB/h$i/pid" "$LAB/h$i/sshd.pid")
		# A dockerd in a swarm takes ~10 s to stop; one that left first stops at once.
		curl -s -o /dev/null --max-time 10 --unix-socket "$LAB/h$i/d.sock" \
			-X POST 'http://localhost/swarm/leave?force=true' &
	done
	wait
	stop "${pidfiles[@]}"
	for i in $(seq 1 "$N"); do
		[ -d "$LAB/h$i" ] || continue
		# An sshd's sessions (a tunnel still open) outlive its listener: in the host's
		# namespace, so the lab's.
		for pid in $(ip netns pids "$NAME-h$i" 2>/dev/null); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != sshd ] || kill "$pid" 2>/dev/null || true
		done
		# What it made under its cgroup parent (deepest first).
		for d in $(cgroup_dirs "h$i"); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
		ip netns del "$NAME-h$i" 2>/dev/null || true
	done
	ip link del "${NAME}0" 2>/dev/null || true
	ip netns del "$NAME-br" 2>/dev/null || true
	rm -rf "$LAB"
	say "Lab down"
}

status() {
	load || { note "no lab in $LAB"; return 1; }
	say "Lab: $N hosts on $NET.0/24 (this host: $MANAGER)"
	local i s
	for i in $(seq 1 "$N"); do
		s=down
		docker_ping "$LAB/h$i/d.sock" && s=up
		if [ "${SSH:-0}" = 1 ]; then
			s="$s  sshd $(pid_alive "$LAB/h$i/sshd.pid" && echo up || echo down)"
		fi
		note "h$i  $NET.$((10 + i))  dockerd $s  unix://$LAB/h$i/d.sock"
	done
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
status) status ;;
*) die "usage: $0 up [N] [--hosts-only] [--ssh] | down | status" ;;
esac
