#!/usr/bin/env bash
# scripts/base-image.sh - build the local base image wharf/debian:bookworm (no registry is
# reachable, so images cannot be pulled): debootstrap a minbase Debian with busybox, cache the
# tarball, `docker import` it. Used by `make up` and by the test harness (each test dockerd is
# new, but importing the cached tarball takes seconds).
#   scripts/base-image.sh [--docker-host unix:///path/docker.sock] [--rebuild]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMAGE=wharf/debian:bookworm
CACHE_DIR=${WHARF_BASE_CACHE:-/var/cache/wharf/base}
TARBALL=$CACHE_DIR/debian-bookworm.tar
rebuild=0

while [ $# -gt 0 ]; do
	case $1 in
	--docker-host) export DOCKER_HOST=$2; shift 2 ;;
	--docker-host=*) export DOCKER_HOST=${1#*=}; shift ;;
	--rebuild) rebuild=1; shift ;;
	*) die "usage: $0 [--docker-host unix://SOCKET] [--rebuild]" ;;
	esac
done
need_root "$0"
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
sock=${DOCKER_HOST#unix://}
docker_ping "$sock" || die "no Docker Engine answers on $DOCKER_HOST"

if [ "$rebuild" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	say "Base image $IMAGE already present"
	exit 0
fi

rootfs=""
cleanup() {
	[ -n "$rootfs" ] || return 0
	# debootstrap mounts /proc and /sys inside the target while it works; never rm through them.
	if grep -q " $rootfs/" /proc/self/mounts; then
		umount -R "$rootfs"/proc "$rootfs"/sys "$rootfs"/dev/pts 2>/dev/null || true
	fi
	rm -rf --one-file-system "$rootfs" "$rootfs.tar"
}
trap cleanup EXIT

cache_lock "$CACHE_DIR"
if [ "$rebuild" = 1 ] || [ ! -s "$TARBALL" ]; then
	mirror=$(debian_mirror)
	say "Building $IMAGE with debootstrap from $mirror (a few minutes, once)"
	mkdir -p "$CACHE_DIR"
	start=$SECONDS
	rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
	chmod 755 "$rootfs"
	if ! debootstrap --variant=minbase --include=busybox bookworm "$rootfs" "$mirror" \
		>"$CACHE_DIR/debootstrap.log" 2>&1; then
		tail -20 "$CACHE_DIR/debootstrap.log" >&2
		die "debootstrap failed (full log: $CACHE_DIR/debootstrap.log)"
	fi
	# debootstrap writes the mirror's address into the image; images built on wharf must not
	# depend on this host's mirror (and a private mirror address must not leak into them).
	: >"$rootfs/etc/apt/sources.list"
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
	tar --numeric-owner -C "$rootfs" -cf "$rootfs.tar" .
	mv -f "$rootfs.tar" "$TARBALL"
	note "cached $TARBALL ($(du -h "$TARBALL" | cut -f1), $((SECONDS - start))s)"
fi

say "Importing $IMAGE from $TARBALL"
docker import --change 'CMD ["/bin/bash"]' "$TARBALL" "$IMAGE" >/dev/null
say "Base image $IMAGE ready"
