# shellcheck shell=sh
# plugins/services/postgres.sh - the Postgres engine of the services plugin (Debian's
# postgresql-15 in the services image, run by image/wharf-postgres as uid 10002).
# shellcheck disable=SC2034 # read by lib.sh and commands
KIND=postgres
ENGINE_TITLE=Postgres
ENGINE_UID=10002
ENGINE_PORT=5432
ENGINE_VERSIONS=15
ENGINE_DEFAULT_ALIAS=DATABASE
ENGINE_EXT=dump
ENGINE_START=wharf-postgres
# SIGINT is Postgres' fast shutdown (as the official image's STOPSIGNAL): it ends the sessions,
# writes a checkpoint and exits. SIGTERM (a smart shutdown) would wait for the linked apps'
# pooled connections to close until Docker killed it, and every stop, restart and dockerd
# restart would end in crash recovery.
ENGINE_STOP_SIGNAL=SIGINT
ENGINE_HEALTH='pg_isready -q -h 127.0.0.1 -U postgres'

# Postgres' database name: the service's, with '-' as '_' (as Dokku does).
pg_db() { echo "$1" | tr - _; }

engine_env() {
	echo "-e POSTGRES_PASSWORD=$(cat "$(svc_dir "$1")/PASSWORD") -e POSTGRES_DB=$(pg_db "$1")"
}

engine_ready() { docker exec "$1" pg_isready -q -h 127.0.0.1 -U postgres; }

engine_dsn() {
	echo "postgres://postgres:$(cat "$(svc_dir "$1")/PASSWORD")@$(svc_alias "$1"):5432/$(pg_db "$1")"
}

engine_version() { docker exec "$1" postgres --version 2>/dev/null | awk '{ print $NF }'; }

# pg_dump's custom format on stdout.
engine_export() {
	docker exec "$1" sh -c 'pg_dump -U postgres -h /var/run/postgresql -Fc --no-owner --no-acl "$POSTGRES_DB"'
}

# A custom-format dump on stdin replaces what the database holds.
engine_import() {
	docker exec -i "$1" sh -c 'pg_restore -U postgres -h /var/run/postgresql --clean --if-exists \
		--no-owner --no-acl --exit-on-error -d "$POSTGRES_DB"'
}

engine_connect() {
	tty=
	[ -t 0 ] && tty=-t
	# shellcheck disable=SC2086
	exec docker exec -i $tty "$1" sh -c 'exec psql -U postgres -h /var/run/postgresql "$POSTGRES_DB"'
}
