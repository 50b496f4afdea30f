# shellcheck shell=sh
# plugins/services/lib.sh - what postgres: and redis: share: names and paths, the image, the
# service's container and network, links to apps, grants, backups. Sourced by `commands` and
# the triggers after an engine file (postgres.sh or redis.sh) has set KIND and the engine_*
# functions. Docker is driven with its CLI (DOCKER_HOST is honoured).
#
# State, all under $WHARF_ROOT/services/<kind>/<name>/ (0700, the wharf user's):
#   data/       the server's files, owned by the service's own uid (0700), mounted on /data
#   PASSWORD    the generated password      IMAGE      the image the service runs
#   MEMORY      the memory limit in MB      LINKS      "APP ALIAS" per linked app
#   GRANTS      deployer keys allowed to link it         STOPPED    present after `stop`
#   EXPOSE      "ADDRESS PORT" when exposed              BACKUP     "KEEP DIR CRON" when scheduled

SERVICES_ROOT=$WHARF_ROOT/services
SERVICES_CACHE=${WHARF_SERVICES_CACHE:-/var/cache/wharf/services}
SERVICES_TARBALL=$SERVICES_CACHE/services-bookworm.tar
# docker's CLI keeps its config in $HOME, which the wharf user may not write.
export DOCKER_CONFIG="${DOCKER_CONFIG:-$WHARF_ROOT/.docker}"

fail() {
	echo " !     $*" >&2
	exit 1
}
step() { echo "-----> $*"; }
detail() { echo "       $*"; }

# valid_service NAME: Dokku's service names, kept short enough for host names and Docker.
valid_service() {
	printf '%s' "$1" | grep -Eq '^[a-z0-9][a-z0-9-]{0,39}$' ||
		fail "invalid service name '$1': lowercase letters, digits and '-', at most 40"
}

valid_app() {
	printf '%s' "$1" | grep -Eq '^[a-z0-9][a-z0-9.-]{0,62}$' || fail "invalid app name '$1'"
	case $1 in *..*) fail "invalid app name '$1'" ;; esac
	[ -d "$WHARF_ROOT/apps/$1" ] || fail "app '$1' does not exist"
}

svc_dir() { echo "$SERVICES_ROOT/$KIND/$1"; }
# The container and its own network: a name no app's network (wharf-<app>) can have.
svc_container() { echo "wharfsvc-$KIND-$1"; }
# The host name apps reach it by, on its network and on every linked app's network.
svc_alias() { echo "wharf-$KIND-$1"; }

svc_exists() { [ -n "$1" ] && [ -s "$(svc_dir "$1")/PASSWORD" ]; }

need_service() {
	[ -n "${1:-}" ] || fail "usage: wharf $CMD NAME"
	valid_service "$1"
	svc_exists "$1" || fail "$ENGINE_TITLE service $1 does not exist"
}

# need_grant NAME: over ssh a deployer key may use only the services granted to it.
need_grant() {
	[ "${WHARF_SSH_ROLE:-}" = deployer ] || return 0
	grep -qxF "${WHARF_SSH_KEY:-}" "$(svc_dir "$1")/GRANTS" 2>/dev/null ||
		fail "refused: key '${WHARF_SSH_KEY:-}' (deployer) has no access to $KIND service '$1'"
}

svc_status() {
	st=$(docker container inspect -f '{{.State.Status}}' "$(svc_container "$1")" 2>/dev/null) || st=missing
	echo "$st"
}

# svc_remove NAME: the container, the network, the data (owned by the service's uid), the state.
svc_remove() {
	docker rm -f "$(svc_container "$1")" "$(svc_container "$1")-expose" >/dev/null 2>&1 || true
	docker network rm "$(svc_container "$1")" >/dev/null 2>&1 || true
	if [ -d "$(svc_dir "$1")/data" ]; then
		as_root_in "$1" 'rm -rf /svc/data' || fail "could not remove $(svc_dir "$1")/data"
	fi
	rm -rf "$(svc_dir "$1")"
}

# ---- the image ----------------------------------------------------------------------------

# The image the plugin's start scripts are in: Debian's packages (the cached tarball of
# scripts/service-image.sh) plus this plugin's image/ files, tagged by their hash so a plugin
# update makes a new image and running services keep theirs until they are recreated.
image_tag() {
	echo "wharf/services:bookworm-$(cat "$WHARF_PLUGIN_DIR"/image/* | sha256sum | cut -c1-12)"
}

ensure_image() {
	tag=$(image_tag)
	docker image inspect "$tag" >/dev/null 2>&1 && return 0
	if ! docker image inspect wharf/services-base:bookworm >/dev/null 2>&1; then
		[ -s "$SERVICES_TARBALL" ] || fail "no services image: run scripts/service-image.sh as root (\`make up\` does) to build $SERVICES_TARBALL"
		step "Importing the services image from $SERVICES_TARBALL (once)"
		docker import --change 'ENV LANG=C.UTF-8' "$SERVICES_TARBALL" \
			wharf/services-base:bookworm >/dev/null || fail "docker import failed"
	fi
	# The servers run as users of their own, with fixed uids (not the host's accounts).
	cid=$(docker create --network none --user 0 wharf/services-base:bookworm sh -c '
		groupadd -g 10002 wharfpg && useradd -u 10002 -g 10002 -M -d /data wharfpg &&
		groupadd -g 10003 wharfredis && useradd -u 10003 -g 10003 -M -d /data wharfredis &&
		mkdir -p /data /var/run/postgresql && chmod 1777 /var/run/postgresql') ||
		fail "docker create failed"
	docker cp "$WHARF_PLUGIN_DIR/image/." "$cid:/usr/local/bin/" >/dev/null &&
		docker start -a "$cid" >/dev/null &&
		docker commit --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/sh"]' "$cid" "$tag" >/dev/null ||
		{
			docker rm -f "$cid" >/dev/null 2>&1
			fail "could not make the image $tag"
		}
	docker rm "$cid" >/dev/null
}

# svc_image NAME: the image NAME runs: the one it recorded (IMAGE), so a plugin update does not
# move a running service; when that image is gone from Docker (removed by hand, a new Docker
# data root), this plugin's image instead, recorded from then on. Every image holds the same
# Debian server versions, so the data on the host starts on either; losing an image must never
# keep a service's data from coming back.
svc_image() {
	f=$(svc_dir "$1")/IMAGE
	img=$(cat "$f" 2>/dev/null || true)
	if [ -z "$img" ] || ! docker image inspect "$img" >/dev/null 2>&1; then
		ensure_image >&2
		img=$(image_tag)
		printf '%s\n' "$img" >"$f.tmp" && mv -f "$f.tmp" "$f"
	fi
	echo "$img"
}

# as_root_in NAME CMD: runs CMD (sh) in a throwaway container with the service's directory on
# /svc, as root: only it may change what the service's uid owns. No network.
as_root_in() {
	img=$(svc_image "$1") || return 1
	docker run --rm --network none --user 0 --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE \
		--cap-add FOWNER -v "$(svc_dir "$1"):/svc" "$img" sh -c "$2"
}

# ---- the container -------------------------------------------------------------------------

svc_network_ensure() {
	net=$(svc_container "$1")
	docker network inspect "$net" >/dev/null 2>&1 && return 0
	# Internal: no gateway, nothing leaves the machine; apps reach it only through links.
	docker network create --internal --label "wharf.root=$WHARF_ROOT" \
		--label "wharf.service=$KIND/$1" "$net" >/dev/null || fail "could not create the network $net"
}

# svc_run NAME: (re)creates the service's container from its recorded settings (its data stays
# on the host) and connects it to the networks of the apps linked to it.
svc_run() {
	d=$(svc_dir "$1")
	c=$(svc_container "$1")
	docker rm -f "$c" >/dev/null 2>&1 || true
	svc_network_ensure "$1"
	mem=$(cat "$d/MEMORY" 2>/dev/null || true)
	img=$(svc_image "$1")
	# shellcheck disable=SC2046 # engine_env prints "-e K=V" words without spaces
	# (Docker's warning that a test dockerd forwards no IPv4 is not ours to show.)
	out=$(docker run -d --name "$c" --hostname "$(svc_alias "$1")" \
		--network "$c" --network-alias "$(svc_alias "$1")" \
		--user "$ENGINE_UID:$ENGINE_UID" --init --restart unless-stopped \
		--cap-drop ALL --security-opt no-new-privileges --pids-limit 512 \
		--stop-signal "$ENGINE_STOP_SIGNAL" --stop-timeout 30 \
		${mem:+--memory "${mem}m"} --log-opt max-size=10m --log-opt max-file=3 \
		--label "wharf.root=$WHARF_ROOT" --label "wharf.service=$KIND/$1" \
		--health-cmd "$ENGINE_HEALTH" --health-interval 2s --health-timeout 5s \
		--health-retries 5 --health-start-period 60s \
		-v "$d/data:/data" $(engine_env "$1") "$img" "$ENGINE_START" 2>&1) ||
		fail "could not start the $KIND container $c: $out"
	links_each "$1" connect_app
	[ ! -s "$d/EXPOSE" ] || expose_run "$1"
}

# expose_run NAME: (re)makes the forwarder of an exposed service (EXPOSE: "ADDRESS PORT"): a
# container on the host's network listening on ADDRESS:PORT only, piping each connection to
# the service's address on its own network (Docker publishes no port of an internal network).
expose_run() {
	read -r eaddr eport <"$(svc_dir "$1")/EXPOSE"
	c=$(svc_container "$1")
	ip=$(docker container inspect -f "{{with index .NetworkSettings.Networks \"$c\"}}{{.IPAddress}}{{end}}" "$c")
	[ -n "$ip" ] || fail "$KIND service $1 has no address"
	ensure_image
	docker rm -f "$c-expose" >/dev/null 2>&1 || true
	out=$(docker run -d --name "$c-expose" --network host --init --restart unless-stopped \
		--user 65534:65534 --cap-drop ALL --security-opt no-new-privileges --pids-limit 256 \
		--label "wharf.root=$WHARF_ROOT" --label "wharf.service=$KIND/$1" \
		"$(image_tag)" wharf-forward "$eaddr" "$eport" "$ip" "$ENGINE_PORT" 2>&1) ||
		fail "could not expose $1: $out"
}

# svc_wait NAME: until the server accepts connections (60 s at most).
svc_wait() {
	n=0
	until engine_ready "$(svc_container "$1")" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || fail "$KIND service $1 did not accept connections within 60 s (wharf $KIND:logs $1)"
		sleep 0.2
	done
}

# ---- links ---------------------------------------------------------------------------------

# links_each NAME FN: FN NAME APP ALIAS for every app linked to NAME.
links_each() {
	f=$(svc_dir "$1")/LINKS
	[ -s "$f" ] || return 0
	while read -r la lalias; do
		[ -n "$la" ] && "$2" "$1" "$la" "$lalias"
	done <"$f"
}

# connect_app NAME APP: the service joins APP's network under its alias (when the app has a
# network: it is made by the app's first build; the pre-deploy trigger connects then).
connect_app() {
	net=wharf-$2
	docker network inspect "$net" >/dev/null 2>&1 || return 0
	docker network connect --alias "$(svc_alias "$1")" "$net" "$(svc_container "$1")" \
		2>/dev/null || true
}

disconnect_app() {
	docker network disconnect -f "wharf-$2" "$(svc_container "$1")" >/dev/null 2>&1 || true
}

link_var() { echo "${1}_URL"; }

linked_alias() {
	awk -v a="$2" '$1 == a { print $2; found = 1 } END { exit !found }' "$(svc_dir "$1")/LINKS" 2>/dev/null
}

# Every NAME of this kind linked to APP.
services_of_app() {
	for f in "$SERVICES_ROOT/$KIND"/*/LINKS; do
		[ -f "$f" ] || continue
		awk -v a="$1" '$1 == a { f = 1 } END { exit !f }' "$f" && basename "$(dirname "$f")"
	done
	return 0
}

set_links_file() {
	f=$(svc_dir "$1")/LINKS
	umask 077
	printf '%s' "$2" >"$f.tmp" && mv -f "$f.tmp" "$f"
}

# ---- backups -------------------------------------------------------------------------------

# backup_to NAME DIR KEEP: a dump in DIR named <kind>-<name>-<UTC time>.<ext>; then only the
# KEEP newest of this service's dumps in DIR stay.
backup_to() {
	mkdir -p "$2" || fail "cannot make $2"
	f=$2/$KIND-$1-$(date -u +%Y%m%dT%H%M%SZ).$ENGINE_EXT
	i=0
	while [ -e "$f" ]; do
		i=$((i + 1))
		f=$2/$KIND-$1-$(date -u +%Y%m%dT%H%M%SZ)-$i.$ENGINE_EXT
	done
	engine_export "$(svc_container "$1")" >"$f.part" || {
		rm -f "$f.part"
		fail "the backup of $1 failed"
	}
	mv -f "$f.part" "$f"
	detail "$f ($(wc -c <"$f") bytes)"
	# Names sort by time (the glob sorts them): everything but the KEEP newest goes.
	total=0
	for old in "$2/$KIND-$1-"*."$ENGINE_EXT"; do
		[ -f "$old" ] && total=$((total + 1))
	done
	for old in "$2/$KIND-$1-"*."$ENGINE_EXT"; do
		[ "$total" -gt "$3" ] || break
		[ -f "$old" ] || continue
		rm -f "$old" && detail "pruned $(basename "$old")"
		total=$((total - 1))
	done
}

# for_each_kind FN ARGS...: FN ARGS... with each engine's settings loaded (the triggers).
for_each_kind() {
	for kind in postgres redis; do
		# shellcheck disable=SC1090 # postgres.sh or redis.sh, beside this file
		. "$WHARF_PLUGIN_DIR/$kind.sh"
		"$@"
	done
}

# cron_match EXPR WHEN: WHEN is "minute hour day month weekday" (date +'%M %H %d %m %u');
# fields are *, N, A-B, lists of those and */S or A-B/S steps; weekday 0 or 7 is Sunday.
cron_match() {
	echo "$2" | awk -v expr="$1" '
	function field(spec, v, lo, hi,    parts, n, i, p, step, a, b, r) {
		n = split(spec, parts, ",")
		for (i = 1; i <= n; i++) {
			p = parts[i]; step = 1
			if (p ~ /\//) { split(p, r, "/"); p = r[1]; step = r[2] + 0; if (step < 1) return 0 }
			if (p == "*") { a = lo; b = hi }
			else if (p ~ /^[0-9]+-[0-9]+$/) { split(p, r, "-"); a = r[1] + 0; b = r[2] + 0 }
			else if (p ~ /^[0-9]+$/) { a = p + 0; b = (step > 1) ? hi : a }
			else return 0
			if (v >= a && v <= b && (v - a) % step == 0) return 1
		}
		return 0
	}
	{
		if (split(expr, f, " ") != 5) exit 1
		wd = $5 % 7
		ok = field(f[1], $1 + 0, 0, 59) && field(f[2], $2 + 0, 0, 23) &&
		     field(f[3], $3 + 0, 1, 31) && field(f[4], $4 + 0, 1, 12) &&
		     (field(f[5], wd, 0, 7) || (wd == 0 && field(f[5], 7, 0, 7)))
		exit !ok
	}'
}

valid_cron() {
	printf '%s' "$1" | grep -Eq '^[0-9*/,-]+( [0-9*/,-]+){4}$' ||
		fail "invalid schedule '$1': five cron fields (minute hour day month weekday) of digits, * , - /"
}
