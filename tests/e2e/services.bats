#!/usr/bin/env bats
# tests/e2e/services.bats - the bundled services plugin with real Postgres and Redis: a Node.js
# app (npm's `pg` and `redis`) linked to each writes and reads through the router; the data
# survives ps:rebuild, a service restart, a crash and export → destroy → create → import;
# unlink removes the variable; backups are pruned and a schedule runs them; an app not linked
# cannot reach a service; deployer keys link only services granted to them; `make up` again
# (an upgrade) and a dockerd restart keep every service and its data. One app and one service
# of each kind are shared by the tests of this file (the app is built once, in setup_file: a
# build installs npm packages), so the tests run in order.

load lib/harness

setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	# The services image's tarball is built once per machine (cached like the stack's) and
	# imported (the plugin would on the first create): in the background, while the stack
	# is imported and the app builds.
	"$WHARF_REPO/scripts/service-image.sh" --docker-host "$DOCKER_HOST" --import \
		>"$WHARF_T/service-image.log" 2>&1 </dev/null 3>&- &
	local image_pid=$!
	h_stack_image || return 1
	export SVC_APP=svc$$ SVC_OTHER=svc$$-other SVC_PG=pg$$ SVC_REDIS=rd$$
	SVC_DIR=$(mktemp -d "$WHARF_T/svcapp.XXXXXX")
	chmod 755 "$SVC_DIR"
	# Installed as `make up` does: `make install` copies plugins/ to a share directory
	# (/usr/local/share/wharf/plugins) and setup.sh installs each from there, so that
	# `plugin:update` takes a new version from there (the upgrade test makes one).
	export SVC_SHARE=$SVC_DIR/share
	mkdir -p "$SVC_SHARE"
	cp -a "$WHARF_REPO/plugins/services" "$SVC_SHARE/services"
	if "$WHARF_BIN" plugin:installed services; then
		"$WHARF_BIN" plugin:uninstall services >>"$WHARF_T/suite.log" 2>&1
	fi
	"$WHARF_BIN" plugin:install "$SVC_SHARE/services" --name services >>"$WHARF_T/suite.log" 2>&1 || {
		echo "could not install the services plugin; see $WHARF_T/suite.log" >&2
		return 1
	}
	make_services_app "$SVC_DIR/app"
	git_push_app "$SVC_DIR/app" "$SVC_APP" >>"$WHARF_T/suite.log" 2>&1 || {
		echo "the first push of $SVC_APP failed; see $WHARF_T/suite.log" >&2
		return 1
	}
	export SVC_DIR
	wait "$image_pid" || {
		echo "could not build or import the services image; see $WHARF_T/service-image.log" >&2
		tail -n 20 "$WHARF_T/service-image.log" >&2
		return 1
	}
}

teardown_file() {
	local k
	for k in postgres:"$SVC_PG" postgres:"$SVC_PG"-b postgres:"$SVC_PG"-c redis:"$SVC_REDIS"; do
		"$WHARF_BIN" "${k%%:*}:destroy" "${k#*:}" --force >/dev/null 2>&1 || true
	done
	"$WHARF_BIN" apps:destroy "$SVC_APP" --force >/dev/null 2>&1 || true
	"$WHARF_BIN" apps:destroy "$SVC_OTHER" --force >/dev/null 2>&1 || true
	"$WHARF_BIN" ssh-keys:remove "svcdep$$" >/dev/null 2>&1 || true
	rm -rf "$SVC_DIR"
}

setup() {
	harness_test_setup
	# Backups are written by the wharf user.
	chmod 755 "$TEST_TMP"
}

teardown() {
	harness_test_teardown
}

# make_services_app DIR: a Node.js app that writes and reads rows (DATABASE_URL) and list
# items (REDIS_URL) through npm's pg and redis clients.
make_services_app() {
	local dir=$1
	h_git_init "$dir"
	cat >"$dir/package.json" <<-'EOF'
		{
		  "name": "wharf-e2e-services",
		  "version": "1.0.0",
		  "private": true,
		  "engines": { "node": ">=16" },
		  "scripts": { "start": "node server.js" },
		  "dependencies": { "pg": "8.11.3", "redis": "4.6.13" }
		}
	EOF
	cat >"$dir/server.js" <<-'EOF'
		const http = require("http");
		const { Pool } = require("pg");
		const redis = require("redis");
		const pool = process.env.DATABASE_URL
		  ? new Pool({ connectionString: process.env.DATABASE_URL, max: 4 }) : null;
		// A server that restarts ends idle connections: the pool makes new ones.
		if (pool) pool.on("error", () => {});
		let rc = null;
		if (process.env.REDIS_URL) {
		  rc = redis.createClient({ url: process.env.REDIS_URL });
		  rc.on("error", () => {});
		  rc.connect().catch(() => {});
		}
		async function handle(req) {
		  const u = new URL(req.url, "http://x");
		  const v = u.searchParams.get("v");
		  switch (u.pathname) {
		  case "/env":
		    return (process.env.DATABASE_URL ? "db " : "nodb ") + (process.env.REDIS_URL ? "redis" : "noredis");
		  case "/pg/write":
		    await pool.query("CREATE TABLE IF NOT EXISTS items (v text)");
		    await pool.query("INSERT INTO items (v) VALUES ($1)", [v]);
		    return "ok";
		  case "/pg/read":
		    return (await pool.query("SELECT v FROM items ORDER BY v")).rows.map((x) => x.v).join(",");
		  case "/pg/one":
		    return String((await pool.query("SELECT 1 AS one")).rows[0].one);
		  case "/redis/write":
		    await rc.rPush("items", v);
		    return "ok";
		  case "/redis/read":
		    return (await rc.lRange("items", 0, -1)).join(",");
		  }
		  return "hello";
		}
		http.createServer((req, res) => {
		  handle(req).then((b) => res.end(b + "\n"),
		    (e) => { res.statusCode = 500; res.end("error: " + e.message + "\n"); });
		}).listen(process.env.PORT);
	EOF
	h_git_commit "$dir" "services app"
}

# read_until PATH WANT: GET PATH of the shared app until it answers WANT (a client reconnects
# after a service restart), 30 s at most.
read_until() {
	local deadline=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(app_url_get "$SVC_APP" "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.5
	done
	echo "GET $1 answered '$(app_url_get "$SVC_APP" "$1" 2>&1)', not '$2'" >&2
	return 1
}

svc_container() {
	echo "wharfsvc-$1-$2"
}

# backups DIR: how many files DIR holds (all of them this test's postgres backups).
backups() {
	find "$1" -type f -name "postgres-$SVC_PG-*.dump" | wc -l
}

# sql NAME QUERY: QUERY through postgres:connect (psql reading stdin).
sql() {
	echo "$2" | "$WHARF_BIN" postgres:connect "$1"
}

@test "postgres:create runs Postgres as its own user on a 0700 host dir; link gives the app DATABASE_URL" {
	run wharf postgres:create "$SVC_PG"
	assert_success
	assert_output --partial "-----> Postgres container created: $SVC_PG"
	c=$(svc_container postgres "$SVC_PG")
	# Its own uid (not root, not a host account), data on the host, owned by that uid only.
	run docker exec "$c" id -u
	assert_output 10002
	d=$WHARF_ROOT/services/postgres/$SVC_PG
	[ "$(stat -c '%a %u' "$d/data")" = "700 10002" ]
	[ "$(stat -c '%a' "$d")" = 700 ]
	[ -s "$d/data/PG_VERSION" ]
	# Restarts on crash and with dockerd; a health check; no host port; its own internal network.
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$c")" = unless-stopped ]
	[ -n "$(docker inspect -f '{{.Config.Healthcheck.Test}}' "$c")" ]
	[ "$(docker inspect -f '{{len .HostConfig.PortBindings}}' "$c")" = 0 ]
	[ "$(docker network inspect -f '{{.Internal}}' "$c")" = true ]
	run wharf postgres:info "$SVC_PG" --status
	assert_output running
	run wharf postgres:info "$SVC_PG" --dsn
	assert_output --regexp "^postgres://postgres:[0-9a-f]{32}@wharf-postgres-$SVC_PG:5432/$SVC_PG\$"
	run wharf postgres:exists "$SVC_PG"
	assert_success
	run wharf postgres:exists "nope$$"
	assert_failure
	run wharf postgres:list
	assert_output --partial "$SVC_PG"
	run wharf postgres:logs "$SVC_PG"
	assert_output --partial "database system is ready to accept connections"
	# Only Debian's version is in the image.
	run wharf postgres:create "x$$" --image-version 14
	assert_failure
	assert_output --partial "Postgres 14 is not available"

	run wharf postgres:link "$SVC_PG" "$SVC_APP"
	assert_success
	assert_output --partial "=====> Application deployed:"
	run wharf config:get "$SVC_APP" DATABASE_URL
	assert_output "$(wharf postgres:info "$SVC_PG" --dsn)"
	run app_url_get "$SVC_APP" "pg/write?v=alpha"
	assert_output ok
	run app_url_get "$SVC_APP" "pg/write?v=beta"
	assert_output ok
	run app_url_get "$SVC_APP" pg/read
	assert_output alpha,beta
	run wharf postgres:linked "$SVC_PG" "$SVC_APP"
	assert_success
	run wharf postgres:links "$SVC_PG"
	assert_output "$SVC_APP"
	# A second service under the same alias is refused; another alias is fine.
	run wharf postgres:create "$SVC_PG-b" --memory 256
	assert_success
	[ "$(docker inspect -f '{{.HostConfig.Memory}}' "$(svc_container postgres "$SVC_PG-b")")" = $((256 << 20)) ]
	run wharf postgres:link "$SVC_PG-b" "$SVC_APP"
	assert_failure
	assert_output --partial "$SVC_APP already has DATABASE_URL"
	run wharf postgres:link "$SVC_PG-b" "$SVC_APP" --alias OTHER_DB
	assert_success
	run wharf config:get "$SVC_APP" OTHER_DB_URL
	assert_output --partial "@wharf-postgres-$SVC_PG-b:5432/"
	# A psql session (connect) sees the rows the app wrote, here and over ssh.
	run sql "$SVC_PG" "SELECT count(*) FROM items;"
	assert_output --partial " 2"
	run wharf_ssh postgres:connect "$SVC_PG" <<<"SELECT string_agg(v, ',' ORDER BY v) FROM items;"
	assert_output --partial "alpha,beta"
}

@test "the rows survive ps:rebuild, postgres:restart and a crash; a linked service is not destroyed without --force" {
	run wharf ps:rebuild "$SVC_APP"
	assert_success
	read_until pg/read alpha,beta
	run wharf postgres:restart "$SVC_PG"
	assert_success
	read_until pg/read alpha,beta
	# A crash (the server killed): Docker starts it again, on the same data.
	c=$(svc_container postgres "$SVC_PG")
	docker exec "$c" sh -c 'kill -KILL $(head -n 1 /data/postmaster.pid)'
	eventually 60 bash -c "[ \"\$(docker inspect -f '{{.RestartCount}}' $c)\" -ge 1 ]"
	read_until pg/read alpha,beta

	run wharf postgres:destroy "$SVC_PG" </dev/null
	assert_failure
	assert_output --partial "cannot destroy postgres service $SVC_PG: linked to $SVC_APP"
	# Unlinked, destroy asks for the name.
	run wharf postgres:unlink "$SVC_PG-b" "$SVC_APP"
	assert_success
	run bash -c "echo wrong | '$WHARF_BIN' postgres:destroy '$SVC_PG-b'"
	assert_failure
	assert_output --partial "To proceed, type \"$SVC_PG-b\""
	run wharf postgres:exists "$SVC_PG-b"
	assert_success
	run bash -c "echo '$SVC_PG-b' | '$WHARF_BIN' postgres:destroy '$SVC_PG-b'"
	assert_success
	run wharf postgres:exists "$SVC_PG-b"
	assert_failure
	[ ! -e "$WHARF_ROOT/services/postgres/$SVC_PG-b" ]
	[ -z "$(docker ps -aq --filter "name=^$(svc_container postgres "$SVC_PG-b")\$")" ]
}

@test "export, destroy --force, create, import restores the rows; clone copies them" {
	# Over ssh, as docs/services.md shows it (an admin's key): the dump is stdout.
	wharf_ssh postgres:export "$SVC_PG" >"$TEST_TMP/pg.dump"
	[ "$(head -c 5 "$TEST_TMP/pg.dump")" = PGDMP ]
	run wharf postgres:clone "$SVC_PG" "$SVC_PG-c"
	assert_success
	run sql "$SVC_PG-c" "SELECT string_agg(v, ',' ORDER BY v) FROM items;"
	assert_output --partial "alpha,beta"

	run wharf postgres:destroy "$SVC_PG" --force
	assert_success
	run wharf config:get "$SVC_APP" DATABASE_URL
	assert_failure
	run wharf postgres:create "$SVC_PG"
	assert_success
	run wharf_ssh postgres:import "$SVC_PG" <"$TEST_TMP/pg.dump"
	assert_success
	run wharf postgres:link "$SVC_PG" "$SVC_APP"
	assert_success
	read_until pg/read alpha,beta
}

@test "redis: link, write and read through the router, survive restart, export → destroy → create → import" {
	run wharf redis:create "$SVC_REDIS"
	assert_success
	c=$(svc_container redis "$SVC_REDIS")
	run docker exec "$c" id -u
	assert_output 10003
	# The password is in no command line the host's users can read.
	run docker inspect -f '{{json .Args}}' "$c"
	refute_output --partial "$(cat "$WHARF_ROOT/services/redis/$SVC_REDIS/PASSWORD")"
	run wharf redis:link "$SVC_REDIS" "$SVC_APP"
	assert_success
	run wharf config:get "$SVC_APP" REDIS_URL
	assert_output --regexp "^redis://:[0-9a-f]{32}@wharf-redis-$SVC_REDIS:6379\$"
	read_until env "db redis"
	run app_url_get "$SVC_APP" "redis/write?v=one"
	assert_output ok
	run app_url_get "$SVC_APP" "redis/write?v=two"
	assert_output ok
	read_until redis/read one,two
	run wharf redis:restart "$SVC_REDIS"
	assert_success
	read_until redis/read one,two

	wharf redis:export "$SVC_REDIS" >"$TEST_TMP/r.rdb"
	[ "$(head -c 5 "$TEST_TMP/r.rdb")" = REDIS ]
	run wharf redis:destroy "$SVC_REDIS" --force
	assert_success
	run wharf redis:create "$SVC_REDIS"
	assert_success
	run wharf redis:import "$SVC_REDIS" <"$TEST_TMP/r.rdb"
	assert_success
	run wharf redis:link "$SVC_REDIS" "$SVC_APP"
	assert_success
	read_until redis/read one,two
	# The imported data is in the append-only file too: it survives another restart.
	run wharf redis:restart "$SVC_REDIS"
	assert_success
	read_until redis/read one,two
}

@test "an app not linked cannot reach a service: no name, no route to its address" {
	# A clone runs the same image (no second npm build) and even has the service's URL, with
	# its password, in its config: still neither the name nor a route.
	run wharf apps:clone "$SVC_APP" "$SVC_OTHER"
	assert_success
	run wharf config:get "$SVC_OTHER" DATABASE_URL
	assert_output "$(wharf postgres:info "$SVC_PG" --dsn)"
	c=$(svc_container postgres "$SVC_PG")
	# Its addresses on its own network and on the linked app's.
	ips=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c")
	[ "$(echo "$ips" | wc -w)" = 2 ]
	probe="const net = require('net'), dns = require('dns');
	  function tryall(hosts, seen) {
	    if (!hosts.length) { console.log(seen ? 'reached' : 'unreachable'); process.exit(0); }
	    const s = net.connect({ host: hosts[0], port: 5432, timeout: 3000 });
	    s.on('connect', () => { s.destroy(); tryall(hosts.slice(1), true); });
	    s.on('timeout', () => { s.destroy(); tryall(hosts.slice(1), seen); });
	    s.on('error', () => tryall(hosts.slice(1), seen));
	  }
	  dns.lookup('wharf-postgres-$SVC_PG', (e, addr) => {
	    console.log(e ? 'noname' : 'resolved');
	    tryall(e ? '$ips'.trim().split(' ') : [addr], false);
	  });"
	run wharf run "$SVC_OTHER" node -e "$probe"
	assert_success
	assert_output "noname
unreachable"
	# The linked app does reach it, by its name.
	run wharf run "$SVC_APP" node -e "$probe"
	assert_output "resolved
reached"
}

@test "unlink removes the variable and redeploys the app" {
	run wharf redis:unlink "$SVC_REDIS" "$SVC_APP"
	assert_success
	run wharf config:get "$SVC_APP" REDIS_URL
	assert_failure
	read_until env "db noredis"
	run wharf redis:linked "$SVC_REDIS" "$SVC_APP"
	assert_failure
}

@test "backup keeps the newest N; a schedule is stored and services:cron runs it when due" {
	dir=$TEST_TMP/backups
	install -d -o wharf -g wharf "$dir"
	for _ in 1 2 3; do
		run wharf postgres:backup "$SVC_PG" "$dir" --keep 2
		assert_success
	done
	[ "$(backups "$dir")" = 2 ]
	run wharf postgres:backup-schedule "$SVC_PG" "30 3 * * *" "$dir" --keep 2
	assert_success
	run wharf postgres:backup-schedule-cat "$SVC_PG"
	assert_output "30 3 * * * $dir --keep 2"
	before=$(find "$dir" -type f | sort)
	# Not due at 03:31: nothing runs.
	run wharf services:cron "2026-01-01 03:31"
	assert_success
	[ "$(find "$dir" -type f | sort)" = "$before" ]
	# Due at 03:30: a new backup appears and the oldest goes.
	run wharf services:cron "2026-01-01 03:30"
	assert_success
	assert_output --partial "Scheduled backup of postgres service $SVC_PG"
	assert_output --partial "pruned"
	[ "$(backups "$dir")" = 2 ]
	[ "$(find "$dir" -type f | sort)" != "$before" ]
	newest=$(find "$dir" -name "postgres-$SVC_PG-*.dump" -printf '%f\n' | sort | tail -n 1)
	# The newest replaces what the clone holds now (a row it has since) with the two rows.
	sql "$SVC_PG-c" "INSERT INTO items VALUES ('gamma');" >/dev/null
	run wharf postgres:import "$SVC_PG-c" <"$dir/$newest"
	assert_success
	run sql "$SVC_PG-c" "SELECT string_agg(v, ',' ORDER BY v) FROM items;"
	assert_output --partial "alpha,beta"
	refute_output --partial gamma
	run wharf postgres:backup-unschedule "$SVC_PG"
	assert_success
}

@test "a deployer links only the services granted to it, over ssh" {
	k=svcdep$$
	ssh-keygen -q -t ed25519 -N '' -C "$k@wharf-e2e" -f "$WHARF_KEYS/$k"
	wharf ssh-keys:add "$k" --role deployer <"$WHARF_KEYS/$k.pub" >/dev/null
	wharf acl:add "$SVC_APP" "$k" >/dev/null
	# Its own app, a service not granted to it: no link, no unlink (the app keeps its URL), no
	# look at the links or the URL.
	run wharf_ssh_key "$k" redis:link "$SVC_REDIS" "$SVC_APP"
	assert_failure
	assert_output --partial "refused: key '$k' (deployer) has no access to redis service '$SVC_REDIS'"
	url=$(wharf config:get "$SVC_APP" DATABASE_URL)
	run wharf_ssh_key "$k" postgres:unlink "$SVC_PG" "$SVC_APP"
	assert_failure
	assert_output --partial "refused: key '$k' (deployer) has no access to postgres service '$SVC_PG'"
	run wharf postgres:linked "$SVC_PG" "$SVC_APP"
	assert_success
	[ "$(wharf config:get "$SVC_APP" DATABASE_URL)" = "$url" ]
	run wharf_ssh_key "$k" postgres:linked "$SVC_PG" "$SVC_APP"
	assert_failure
	assert_output --partial "has no access to postgres service '$SVC_PG'"
	# Export, import, connect, destroy, create, backups, expose and grants are for admins, for
	# every service: refused before anything runs (no dump, no SQL, the data stays).
	for cmd in "postgres:export $SVC_PG" "postgres:import $SVC_PG" "postgres:connect $SVC_PG" \
		"postgres:destroy $SVC_PG --force" "postgres:backup $SVC_PG /tmp" \
		"postgres:expose $SVC_PG 15432" "postgres:clone $SVC_PG x$$" "redis:create x$$" \
		"redis:acl-add $SVC_REDIS $k" "postgres:info $SVC_PG --dsn" "postgres:links $SVC_PG"; do
		# shellcheck disable=SC2086 # cmd is the command's words
		run wharf_ssh_key "$k" $cmd <<<"DROP TABLE items;"
		assert_failure
		assert_output --partial "refused: key '$k' (deployer) may not run \`${cmd%% *}\`"
	done
	run wharf postgres:exists "$SVC_PG"
	assert_success
	run wharf redis:exists "x$$"
	assert_failure
	run sql "$SVC_PG" "SELECT count(*) FROM items;"
	assert_output --partial " 2"

	run wharf redis:acl-add "$SVC_REDIS" "$k"
	assert_success
	run wharf redis:acl-list "$SVC_REDIS"
	assert_output "$k"
	# Granted the service, still not an app it was not granted.
	run wharf_ssh_key "$k" redis:link "$SVC_REDIS" "$SVC_OTHER"
	assert_failure
	assert_output --partial "has no access to app '$SVC_OTHER'"
	run wharf_ssh_key "$k" redis:link "$SVC_REDIS" "$SVC_APP"
	assert_success
	read_until redis/read one,two
	run wharf_ssh_key "$k" redis:linked "$SVC_REDIS" "$SVC_APP"
	assert_success
	# Still no export, connect or destroy of the service it was granted.
	for cmd in "redis:export $SVC_REDIS" "redis:connect $SVC_REDIS" "redis:destroy $SVC_REDIS --force" \
		"redis:info $SVC_REDIS --dsn"; do
		# shellcheck disable=SC2086
		run wharf_ssh_key "$k" $cmd </dev/null
		assert_failure
		assert_output --partial "may not run \`${cmd%% *}\`"
	done
	run wharf_ssh_key "$k" redis:unlink "$SVC_REDIS" "$SVC_APP"
	assert_success
	# A grant taken back: no more links.
	run wharf redis:acl-remove "$SVC_REDIS" "$k"
	assert_success
	run wharf_ssh_key "$k" redis:link "$SVC_REDIS" "$SVC_APP"
	assert_failure
	assert_output --partial "has no access to redis service '$SVC_REDIS'"
	# A removed key's grants go with it: the same name added again later has none.
	run wharf redis:acl-add "$SVC_REDIS" "$k"
	assert_success
	run wharf ssh-keys:remove "$k"
	assert_success
	run wharf redis:acl-list "$SVC_REDIS"
	assert_success
	refute_output --partial "$k"
	wharf ssh-keys:add "$k" --role deployer <"$WHARF_KEYS/$k.pub" >/dev/null
	wharf acl:add "$SVC_APP" "$k" >/dev/null
	run wharf_ssh_key "$k" redis:link "$SVC_REDIS" "$SVC_APP"
	assert_failure
	assert_output --partial "has no access to redis service '$SVC_REDIS'"
}

@test "make up again (new wharf, plugin:update, the services image, ps:restore) keeps every service and its data" {
	c=$(svc_container postgres "$SVC_PG")
	id=$(docker inspect -f '{{.Id}}' "$c")
	img=$(cat "$WHARF_ROOT/services/postgres/$SVC_PG/IMAGE")
	# Stopped by the admin: stays stopped through the upgrade and the dockerd restart below.
	run wharf redis:stop "$SVC_REDIS"
	assert_success
	# A clone whose container and image are lost meanwhile (an admin's `docker image prune -a`,
	# a new Docker data root): the upgrade's ps:restore makes it again from its data.
	docker rm -f "$(svc_container postgres "$SVC_PG-c")" >/dev/null
	# And one stopped outside wharf: ps:restore starts it again (the same container).
	docker stop "$c" >/dev/null

	# `make up` again is scripts/setup.sh, and these are its steps that reach services:
	# `make install` puts the new plugin in the share directory ($SVC_SHARE here, where
	# setup_file installed it from, as setup.sh does); setup.sh's `plugin:installed NAME ||
	# plugin:install` (nothing to do: installed); the documented `plugin:update services`,
	# which takes the new version (here one whose image scripts changed: a new image tag);
	# scripts/service-image.sh (the tarball is cached: nothing to build); `wharf ps:restore`.
	# Its other steps do not touch services (deps.sh, make, the wharf user, dockerd and sshd
	# already answering, the router's --takeover, the daemon's restart), and running setup.sh
	# here would install into /usr/local and start the host's daemons.
	echo "# a new version" >>"$SVC_SHARE/services/image/wharf-forward"
	new="wharf/services:bookworm-$(cat "$SVC_SHARE"/services/image/* | sha256sum | cut -c1-12)"
	[ "$new" != "$img" ]
	run wharf plugin:installed services
	assert_success
	run wharf plugin:update services
	assert_success
	run "$WHARF_REPO/scripts/service-image.sh"
	assert_success
	docker rmi -f "$img" >/dev/null
	run wharf ps:restore
	assert_success
	assert_line "-----> Restored postgres service $SVC_PG-c"
	assert_line "-----> Restored postgres service $SVC_PG"
	# The same container, its data; the app reads it through the router.
	[ "$(docker inspect -f '{{.Id}}' "$c")" = "$id" ]
	read_until pg/read alpha,beta
	# The lost one runs the new image on the data it had.
	[ "$(cat "$WHARF_ROOT/services/postgres/$SVC_PG-c/IMAGE")" = "$new" ]
	[ "$(docker inspect -f '{{.Config.Image}}' "$(svc_container postgres "$SVC_PG-c")")" = "$new" ]
	run sql "$SVC_PG-c" "SELECT string_agg(v, ',' ORDER BY v) FROM items;"
	assert_output --partial "alpha,beta"
	[ "$(docker inspect -f '{{.State.Status}}' "$(svc_container redis "$SVC_REDIS")")" = exited ]
}

@test "wharf help lists the services commands" {
	run wharf help
	assert_output --partial "postgres:create NAME"
	assert_output --partial "redis:link NAME APP"
	run wharf postgres:help
	assert_line --index 0 "Usage: wharf postgres:COMMAND"
}

@test "expose listens on 127.0.0.1 only when asked, with the password; unexpose closes it" {
	port=$(free_port)
	db=$SVC_PG-c
	pw=$(cat "$WHARF_ROOT/services/postgres/$db/PASSWORD")
	run psql "postgres://postgres:$pw@127.0.0.1:$port/${db//-/_}" -Atc 'SELECT 41 + 1'
	assert_failure
	run wharf postgres:expose "$db" "$port"
	assert_success
	run wharf postgres:info "$db" --exposed-ports
	assert_output "127.0.0.1 $port"
	eventually 20 pg_isready -q -h 127.0.0.1 -p "$port"
	run psql "postgres://postgres:$pw@127.0.0.1:$port/${db//-/_}" -Atc 'SELECT 41 + 1'
	assert_output 42
	# The password is still needed.
	run env PGCONNECT_TIMEOUT=5 psql "postgres://postgres:wrong@127.0.0.1:$port/${db//-/_}" -Atc 'SELECT 1'
	assert_failure
	assert_output --partial "password authentication failed"
	# Bound to loopback, not to the host's other addresses.
	run ss -Htln "sport = :$port"
	assert_output --partial "127.0.0.1:$port"
	refute_output --partial "0.0.0.0:$port"
	run wharf postgres:unexpose "$db"
	assert_success
	run env PGCONNECT_TIMEOUT=5 psql "postgres://postgres:$pw@127.0.0.1:$port/${db//-/_}" -Atc 'SELECT 1'
	assert_failure
}

# restart_dockerd: what `systemctl restart docker` does to the suite's dockerd: SIGTERM to it
# (by its pid; it stops every container, as at shutdown), then the same command line again
# (read from /proc first: the same data root, exec root, socket and address pool), until it
# answers /_ping. The router and sshd are processes of their own and are not touched.
restart_dockerd() {
	local d=$WHARF_T/docker pid argv
	pid=$(cat "$d/pid")
	mapfile -d '' argv <"/proc/$pid/cmdline"
	h_stop_pid "$pid" dockerd 60
	! kill -0 "$pid" 2>/dev/null || return 1
	# Its own session and none of bats' descriptors (bats waits for whoever holds its pipes).
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-"
		done
		exec setsid "${argv[@]}" >>"$d/log" 2>&1 </dev/null
	) &
	echo $! >"$d/launch.pid"
	h_wait 60 docker_ping "$d/d.sock"
}

@test "a dockerd restart: the services come back on their own with their data, a stopped one stays stopped" {
	c=$(svc_container postgres "$SVC_PG")
	r=$(svc_container redis "$SVC_REDIS")
	restart_dockerd
	# No wharf command: the restart policy brings the service back, on its data.
	eventually 60 bash -c "[ \"\$(docker inspect -f '{{.State.Health.Status}}' $c)\" = healthy ]"
	run sql "$SVC_PG" "SELECT string_agg(v, ',' ORDER BY v) FROM items;"
	assert_output --partial "alpha,beta"
	# The app's containers come back with new addresses on its network, which the router does
	# not know: `wharf ps:restore` (wharf-restore.service at boot, `make up`) gives it them.
	run wharf ps:restore
	assert_success
	assert_line "-----> Restored postgres service $SVC_PG"
	read_until pg/read alpha,beta
	# Stopped with redis:stop before: still stopped (by Docker and by ps:restore); started, it
	# has its keys.
	[ "$(docker inspect -f '{{.State.Status}}' "$r")" = exited ]
	run wharf redis:start "$SVC_REDIS"
	assert_success
	run bash -c "echo 'LRANGE items 0 -1' | '$WHARF_BIN' redis:connect '$SVC_REDIS'"
	assert_output "one
two"
}
