#!/usr/bin/env bash
# scripts/stack-image.sh - build the buildpack stack image wharf/stack:bookworm offline from
# Debian packages (no registry is reachable): start from the cached debootstrap tarball of
# base-image.sh (or debootstrap one), apt-get the packages buildpacks need inside a chroot,
# cache the result as a tarball, `docker import` it. `wharf stack:build` runs this script.
#   scripts/stack-image.sh [--docker-host unix:///path/docker.sock] [--rebuild] [--import-only]
# --import-only imports the cached tarball and fails when there is none (tests use it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMAGE=${WHARF_STACK_IMAGE:-wharf/stack:bookworm}
CACHE_DIR=${WHARF_STACK_CACHE:-/var/cache/wharf/stack}
BASE_TARBALL=${WHARF_BASE_CACHE:-/var/cache/wharf/base}/debian-bookworm.tar
TARBALL=$CACHE_DIR/stack-bookworm.tar
# What buildpacks need to build and run apps: a shell and the usual tools, git and curl
# for buildpacks that fetch things, Python with venv and pip, Node.js with npm, a compiler
# for native modules, busybox for httpd (static sites), tini as a PID 1 for builds.
PACKAGES="bash coreutils ca-certificates curl git python3 python3-venv python3-pip
nodejs npm build-essential busybox tini procps"
rebuild=0
import_only=0

while [ $# -gt 0 ]; do
	case $1 in
	--docker-host) export DOCKER_HOST=$2; shift 2 ;;
	--docker-host=*) export DOCKER_HOST=${1#*=}; shift ;;
	--rebuild) rebuild=1; shift ;;
	--import-only) import_only=1; shift ;;
	*) die "usage: $0 [--docker-host unix://SOCKET] [--rebuild] [--import-only]" ;;
	esac
done
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
sock=${DOCKER_HOST#unix://}
have_docker=1
docker_ping "$sock" || have_docker=0

if [ "$import_only" = 1 ]; then
	[ -s "$TARBALL" ] || die "no cached stack tarball at $TARBALL: run wharf stack:build"
elif [ "$rebuild" = 0 ] && [ "$have_docker" = 1 ] &&
	docker image inspect "$IMAGE" >/dev/null 2>&1; then
	say "Stack image $IMAGE already present (wharf stack:build --rebuild makes it again)"
	exit 0
fi

rootfs=""
cleanup() { rootfs_cleanup "$rootfs"; }
trap cleanup EXIT

cache_lock "$CACHE_DIR"
if [ "$import_only" = 0 ] && { [ "$rebuild" = 1 ] || [ ! -s "$TARBALL" ]; }; then
	need_root "$0"
	mirror=$(debian_mirror)
	mkdir -p "$CACHE_DIR"
	start=$SECONDS
	rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
	chmod 755 "$rootfs"
	log=$CACHE_DIR/build.log
	: >"$log"
	if [ -s "$BASE_TARBALL" ]; then
		say "Building $IMAGE from $BASE_TARBALL and $mirror (a few minutes, once)"
		tar --numeric-owner -C "$rootfs" -xf "$BASE_TARBALL"
	else
		say "Building $IMAGE with debootstrap from $mirror (a few minutes, once)"
		if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >>"$log" 2>&1; then
			tail -20 "$log" >&2
			die "debootstrap failed (full log: $log)"
		fi
	fi
	# shellcheck disable=SC2086 # PACKAGES is a word list
	rootfs_apt "$rootfs" "$log" $PACKAGES
	# Buildpacks run as root inside a throwaway builder container; /app is where apps live.
	mkdir -p "$rootfs/app" "$rootfs/wharf"
	# Apps built on the stack run as this unprivileged user (docs/security.md).
	chroot "$rootfs" /usr/sbin/useradd --uid 10001 --user-group --home-dir /app \
		--no-create-home --shell /bin/bash app
	tar --numeric-owner -C "$rootfs" -cf "$rootfs.tar" .
	mv -f "$rootfs.tar" "$TARBALL"
	note "cached $TARBALL ($(du -h "$TARBALL" | cut -f1), $((SECONDS - start))s)"
fi

# The tarball needs no Docker; only the import does.
[ "$have_docker" = 1 ] || die "no Docker Engine answers on $DOCKER_HOST (the tarball is cached)"
say "Importing $IMAGE from $TARBALL"
docker import --change 'CMD ["/bin/bash"]' --change 'WORKDIR /app' \
	--change 'ENV LANG=C.UTF-8' "$TARBALL" "$IMAGE" >/dev/null
# A tarball cached before the stack had its `app` user gets it here: a container without
# network adds it, and is committed with the same config as the import.
if [ "$(docker run --rm --network none "$IMAGE" id -u app 2>/dev/null)" != 10001 ]; then
	cid=$(docker create --network none "$IMAGE" /usr/sbin/useradd --uid 10001 --user-group \
		--home-dir /app --no-create-home --shell /bin/bash app)
	docker start -a "$cid" >/dev/null
	docker commit --change 'CMD ["/bin/bash"]' --change 'WORKDIR /app' \
		--change 'ENV LANG=C.UTF-8' "$cid" "$IMAGE" >/dev/null
	docker rm "$cid" >/dev/null
fi
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
say "Stack image $IMAGE ready ($((size / 1024 / 1024)) MB)"
