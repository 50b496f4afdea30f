#!/usr/bin/env bash
# bench/services.sh - the services plugin's figures: the time from `postgres:create` to a
# server accepting connections (the first create, which imports the image, and a later one),
# and the latency of a one-row query (SELECT 1) made by a Node.js app (npm `pg`, pool of 4):
#   wharf:  client → router → the app's container → Postgres linked through the app's network
#   direct: client → the same server.js run with node on the host → a Postgres started by
#           hand on the host (Debian's postgresql-15, initdb in a temp dir, 127.0.0.1)
# printed side by side (wrk: p50, p99, requests/s). Runs a whole private wharf like the e2e
# tests; needs root, the cached stack tarball (`wharf stack:build`), the services tarball
# (scripts/service-image.sh), wrk, and postgresql-15 and node on the host for the direct side.
#   DURATION=10 CONNS=4 bench/services.sh
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
CONNS=${CONNS:-4}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# shellcheck source=../tests/e2e/lib/harness.bash
. "$REPO/tests/e2e/lib/harness.bash"
for t in wrk node "$PGBIN/postgres"; do
	command -v "$t" >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done
[ -x "$REPO/bin/wharf" ] || make -C "$REPO" -s
"$REPO/scripts/service-image.sh" >/dev/null || { echo "bench: no services tarball" >&2; exit 1; }
harness_suite_setup 3>/dev/null || { echo "bench: could not start a private wharf" >&2; exit 1; }
PGPID=""
NODEPID=""
cleanup() {
	[ -z "$NODEPID" ] || kill "$NODEPID" 2>/dev/null
	[ -z "$PGPID" ] || { kill "$PGPID" 2>/dev/null; wait "$PGPID" 2>/dev/null; }
	harness_suite_teardown
}
trap cleanup EXIT
"$REPO/scripts/stack-image.sh" --docker-host "$DOCKER_HOST" --import-only >>"$WHARF_T/suite.log" 2>&1 ||
	{ echo "bench: no cached stack tarball: run \`wharf stack:build\` once" >&2; exit 1; }
"$WHARF_BIN" plugin:install "$REPO/plugins/services" >>"$WHARF_T/suite.log" 2>&1 ||
	{ echo "bench: plugin:install failed" >&2; exit 1; }
TMP=$(mktemp -d "$WHARF_T/bench.XXXXXX")
chmod 755 "$TMP"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# create NAME: seconds from postgres:create to a server that answers pg_isready over TCP.
create() {
	local t0
	t0=$(now)
	"$WHARF_BIN" postgres:create "$1" >>"$TMP/create.log" 2>&1 || { cat "$TMP/create.log" >&2; exit 1; }
	until docker exec "wharfsvc-postgres-$1" pg_isready -q -h 127.0.0.1; do sleep 0.05; done
	elapsed "$t0"
}
echo "bench: creating services" >&2
first=$(create benchdb0)
later=$(create benchdb)

# The app: one-row query per request.
DIR=$TMP/app
h_git_init "$DIR"
cat >"$DIR/package.json" <<-'EOF'
	{ "name": "svc-bench", "version": "1.0.0", "private": true, "engines": { "node": ">=16" },
	  "scripts": { "start": "node server.js" }, "dependencies": { "pg": "8.11.3" } }
EOF
cat >"$DIR/server.js" <<-'EOF'
	const http = require("http");
	const { Pool } = require("pg");
	const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
	pool.on("error", () => {});
	http.createServer((req, res) => {
	  pool.query("SELECT 1 AS one").then((r) => res.end(String(r.rows[0].one) + "\n"),
	    (e) => { res.statusCode = 500; res.end(e.message + "\n"); });
	}).listen(process.env.PORT);
EOF
h_git_commit "$DIR" "bench app"
echo "bench: pushing the app" >&2
git_push_app "$DIR" pgbench >"$TMP/push.log" 2>&1 || { cat "$TMP/push.log" >&2; exit 1; }
"$WHARF_BIN" postgres:link benchdb pgbench >>"$TMP/push.log" 2>&1 || { cat "$TMP/push.log" >&2; exit 1; }
[ "$(app_url_get pgbench)" = 1 ] || { echo "bench: the app does not answer 1" >&2; exit 1; }

# The direct side: Postgres by hand on the host, the same server.js with node on the host.
echo "bench: starting Postgres and node on the host" >&2
install -d -o wharf -g wharf -m 0700 "$TMP/pg"
echo benchpw >"$TMP/pw" && chown wharf "$TMP/pw"
runuser -u wharf -- "$PGBIN/initdb" -D "$TMP/pg" -U postgres --pwfile="$TMP/pw" \
	--auth-host=scram-sha-256 --auth-local=trust >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
pgport=$(free_port)
runuser -u wharf -- "$PGBIN/postgres" -D "$TMP/pg" -p "$pgport" -k "$TMP/pg" -c listen_addresses=127.0.0.1 \
	>"$TMP/pg.log" 2>&1 &
PGPID=$!
h_wait 30 "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$pgport" || { cat "$TMP/pg.log" >&2; exit 1; }
(cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >"$TMP/npm.log" 2>&1) || { cat "$TMP/npm.log" >&2; exit 1; }
nodeport=$(free_port)
DATABASE_URL=postgres://postgres:benchpw@127.0.0.1:$pgport/postgres PORT=$nodeport node "$DIR/server.js" &
NODEPID=$!
h_wait 30 curl -sf "http://127.0.0.1:$nodeport/" -o /dev/null || { echo "bench: node on the host did not answer" >&2; exit 1; }

# wrk_run URL [HOST]: "p50_ms p99_ms req_per_s" after a 2 s warm-up.
wrk_run() {
	local hdr=()
	[ -z "${2:-}" ] || hdr=(-H "Host: $2")
	wrk -t1 -c"$CONNS" -d2s "${hdr[@]}" "$1" >/dev/null 2>&1
	wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${hdr[@]}" "$1" 2>/dev/null | awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		$1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
		$1 == "Non-2xx" { bad = $NF }
		END { printf "%.2f %.2f %.0f %d\n", p50, p99, rps, bad }'
}
echo "bench: measuring (${DURATION}s each, $CONNS connections)" >&2
read -r w50 w99 wrps wbad <<<"$(wrk_run "http://127.0.0.1:$ROUTER_PORT/" "pgbench.$WHARF_TEST_DOMAIN")"
read -r d50 d99 drps dbad <<<"$(wrk_run "http://127.0.0.1:$nodeport/")"

echo
echo "postgres:create to accepting connections: first (imports the image) ${first} s, later ${later} s"
echo
printf '%-44s %10s %10s %10s %8s\n' "one-row query (SELECT 1) via a Node.js app" "p50 ms" "p99 ms" "req/s" "errors"
printf '%-44s %10s %10s %10s %8s\n' "wharf: router, container, linked service" "$w50" "$w99" "$wrps" "$wbad"
printf '%-44s %10s %10s %10s %8s\n' "direct: node and Postgres on the host" "$d50" "$d99" "$drps" "$dbad"
