#!/usr/bin/env bash
# scripts/service-image.sh - build the tarball of the data services' image offline from Debian
# packages (no registry is reachable): start from the cached debootstrap tarball of
# base-image.sh, apt-get postgresql-15 and redis-server inside a chroot, cache the result as a
# tarball. The bundled `services` plugin imports it (`docker import`, then adds its own start
# scripts) the first time a postgres: or redis: service is created; --import does it now.
#   scripts/service-image.sh [--docker-host unix:///path/docker.sock] [--rebuild] [--import]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CACHE_DIR=${WHARF_SERVICES_CACHE:-/var/cache/wharf/services}
BASE_TARBALL=${WHARF_BASE_CACHE:-/var/cache/wharf/base}/debian-bookworm.tar
TARBALL=$CACHE_DIR/services-bookworm.tar
# The servers and their clients (pg_dump/psql, redis-cli for connect, export and backups).
# Debian's postgresql-15 postinst makes a cluster we never use; its `postgres` and `redis`
# system users are the unprivileged users the servers run as.
PACKAGES="postgresql-15 postgresql-client-15 redis-server redis-tools tini ca-certificates"
rebuild=0
import=0

while [ $# -gt 0 ]; do
	case $1 in
	--docker-host) export DOCKER_HOST=$2; shift 2 ;;
	--docker-host=*) export DOCKER_HOST=${1#*=}; shift ;;
	--rebuild) rebuild=1; shift ;;
	--import) import=1; shift ;;
	*) die "usage: $0 [--docker-host unix://SOCKET] [--rebuild] [--import]" ;;
	esac
done

rootfs=""
cleanup() { rootfs_cleanup "$rootfs"; }
trap cleanup EXIT

cache_lock "$CACHE_DIR"
if [ "$rebuild" = 1 ] || [ ! -s "$TARBALL" ]; then
	need_root "$0"
	[ -s "$BASE_TARBALL" ] || die "no base tarball at $BASE_TARBALL: run scripts/base-image.sh first"
	mirror=$(debian_mirror)
	mkdir -p "$CACHE_DIR"
	start=$SECONDS
	rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
	chmod 755 "$rootfs"
	log=$CACHE_DIR/build.log
	: >"$log"
	say "Building the services image from $BASE_TARBALL and $mirror (a few minutes, once)"
	tar --numeric-owner -C "$rootfs" -xf "$BASE_TARBALL"
	# shellcheck disable=SC2086 # PACKAGES is a word list
	rootfs_apt "$rootfs" "$log" $PACKAGES
	# The cluster Debian's postinst made is never used: services keep data on the host.
	rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15
	tar --numeric-owner -C "$rootfs" -cf "$rootfs.tar" .
	mv -f "$rootfs.tar" "$TARBALL"
	note "cached $TARBALL ($(du -h "$TARBALL" | cut -f1), $((SECONDS - start))s)"
fi

if [ "$import" = 1 ]; then
	export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
	docker_ping "${DOCKER_HOST#unix://}" || die "no Docker Engine answers on $DOCKER_HOST"
	docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
		"$TARBALL" wharf/services-base:bookworm >/dev/null
	say "Imported wharf/services-base:bookworm"
fi
