# shellcheck shell=sh
# plugins/services/redis.sh - the Redis engine of the services plugin (Debian's redis-server
# in the services image, run by image/wharf-redis as uid 10003, append-only file on).
# shellcheck disable=SC2034 # read by lib.sh and commands
KIND=redis
ENGINE_TITLE=Redis
ENGINE_UID=10003
ENGINE_PORT=6379
ENGINE_VERSIONS=7
ENGINE_DEFAULT_ALIAS=REDIS
ENGINE_EXT=rdb
ENGINE_START=wharf-redis
# SIGTERM: redis-server saves and syncs its files, then exits.
ENGINE_STOP_SIGNAL=SIGTERM
ENGINE_HEALTH='REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'

engine_env() { echo "-e REDIS_PASSWORD=$(cat "$(svc_dir "$1")/PASSWORD")"; }

engine_ready() {
	docker exec "$1" sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping' | grep -q PONG
}

engine_dsn() { echo "redis://:$(cat "$(svc_dir "$1")/PASSWORD")@$(svc_alias "$1"):6379"; }

engine_version() { docker exec "$1" redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9.]*\).*/\1/p'; }

# An RDB snapshot of the running server on stdout.
engine_export() {
	docker exec "$1" sh -c 'f=$(mktemp) && REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --rdb "$f" >/dev/null 2>&1 &&
		cat "$f" && rm -f "$f"'
}

# An RDB on stdin replaces the dataset: the server stops, the RDB becomes its dump.rdb and
# the append-only files go (else they would win), it starts with the append-only file off
# (so it loads the RDB) and turns it on again, which writes a new one from the loaded data.
engine_import() {
	c=$1
	name=${c#wharfsvc-redis-}
	tmp=$(svc_dir "$name")/import.rdb
	umask 077
	cat >"$tmp" || fail "could not read the dump"
	docker stop "$c" >/dev/null
	as_root_in "$name" 'mv /svc/import.rdb /svc/data/dump.rdb && chown 10003:10003 /svc/data/dump.rdb &&
		rm -rf /svc/data/appendonlydir' || fail "could not put the dump in place"
	docker run -d --rm --name "$c-import" --network none --user 10003:10003 \
		-v "$(svc_dir "$name")/data:/data" -e "REDIS_PASSWORD=$(cat "$(svc_dir "$name")/PASSWORD")" \
		"$(svc_image "$name")" sh -c 'wharf-redis --appendonly no' >/dev/null ||
		fail "could not load the dump"
	n=0
	until engine_ready "$c-import" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 300 ] || { docker rm -f "$c-import" >/dev/null; fail "the dump did not load"; }
		sleep 0.2
	done
	docker exec "$c-import" sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli config set appendonly yes >/dev/null &&
		while REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli info persistence |
			grep -Eq "aof_rewrite_in_progress:1|aof_rewrite_scheduled:1"; do sleep 0.2; done &&
		REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli shutdown' >/dev/null 2>&1 || true
	docker wait "$c-import" >/dev/null 2>&1 || true
	docker start "$c" >/dev/null
}

engine_connect() {
	tty=
	[ -t 0 ] && tty=-t
	# shellcheck disable=SC2086
	exec docker exec -i $tty -e REDISCLI_AUTH= "$1" sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli'
}
