# shellcheck shell=bash
# scripts/lib.sh - helpers shared by setup.sh, the test harness and the other scripts.
# Source it; it defines functions only (and WHARF_REPO), it changes no state by itself.

export WHARF_REPO
WHARF_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say()  { printf -- '-----> %s\n' "$*"; }
note() { printf -- '       %s\n' "$*"; }
die()  { printf -- ' !     %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "$1 must run as root (try: sudo $1)"
}

# True when systemd is PID 1 (on a container or a microVM without it, we run daemons ourselves).
have_systemd() {
	[ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]
}

# docker_ping SOCKET: true when a Docker Engine answers /_ping on that unix socket.
docker_ping() {
	curl -sf --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1
}

# pid_alive PIDFILE: true when the file names a live process.
pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# ensure_wharf_user: the `wharf` system account that owns WHARF_ROOT and that git pushes log
# in as. The password field must be `*`, not the `!` useradd leaves: sshd treats `!` as a
# locked account and refuses even key logins. It needs group docker to reach the Engine socket
# (root:docker 0660).
ensure_wharf_user() {
	getent group docker >/dev/null || groupadd --system docker
	if ! getent passwd wharf >/dev/null; then
		useradd --system --home-dir /var/lib/wharf --create-home --shell /bin/sh wharf
	fi
	if [ "$(getent shadow wharf | cut -d: -f2)" != '*' ]; then
		usermod -p '*' wharf
	fi
	id -nG wharf | tr ' ' '\n' | grep -qx docker || usermod -aG docker wharf
}

# debian_mirror: the Debian archive this machine installs from (so debootstrap reaches the same
# place apt does), from deb822 .sources files or sources.list; default deb.debian.org.
debian_mirror() {
	local m=""
	if [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list 2>/dev/null)
	fi
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk 'tolower($1) == "uris:" && $2 ~ /debian\/?$/ && $2 !~ /security/ { print $2; exit }')
	fi
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}


# cache_lock DIR: hold an exclusive lock on DIR/.lock (fd 9) until the script exits or calls
# `flock -u 9`, so two runs that find no cached tarball (make up beside make test, or the
# test suite's concurrent shards) build it once: the second waits, then finds it. A user who
# may not write DIR (only importing) takes no lock.
cache_lock() {
	{ mkdir -p "$1" && touch "$1/.lock"; } 2>/dev/null || return 0
	exec 9>"$1/.lock"
	flock 9
}

# rootfs_cleanup ROOTFS: unmount what a chroot build left mounted under ROOTFS (proc, dev),
# then remove it and ROOTFS.tar; never rm through a mount. For an EXIT trap.
rootfs_cleanup() {
	local rootfs=$1 m
	[ -n "$rootfs" ] || return 0
	for m in dev/pts dev sys proc; do
		if grep -q " $rootfs/$m " /proc/self/mounts; then
			umount -l "$rootfs/$m" 2>/dev/null || true
		fi
	done
	if ! grep -q " $rootfs/" /proc/self/mounts; then
		rm -rf --one-file-system "$rootfs" "$rootfs.tar"
	fi
}

# rootfs_apt ROOTFS LOG PACKAGES...: apt-get install PACKAGES in the chroot ROOTFS from this
# machine's Debian mirror (proc and dev mounted while it runs, no daemon started), then leave
# no mirror address, resolv.conf, package lists or downloaded packages in it.
rootfs_apt() {
	local rootfs=$1 log=$2 pkgs
	shift 2
	pkgs="$*"
	printf 'deb %s bookworm main\n' "$(debian_mirror)" >"$rootfs/etc/apt/sources.list"
	cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
	chmod 755 "$rootfs/usr/sbin/policy-rc.d"
	mount -t proc proc "$rootfs/proc"
	mount --bind /dev "$rootfs/dev"
	if ! chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -c \
		"apt-get update && apt-get install -y --no-install-recommends $pkgs" \
		>>"$log" 2>&1; then
		tail -20 "$log" >&2
		die "apt-get in the chroot $rootfs failed (full log: $log)"
	fi
	umount "$rootfs/dev" "$rootfs/proc"
	rm -f "$rootfs/usr/sbin/policy-rc.d"
	: >"$rootfs/etc/apt/sources.list"
	: >"$rootfs/etc/resolv.conf"
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
		"$rootfs"/var/cache/debconf/*-old "$rootfs"/usr/share/doc/*
}
