#!/usr/bin/env bats
# tests/e2e/buildpacks.bats - apps without a Dockerfile: the buildpacks builder runs the
# Heroku buildpack API on the stack image (Node.js with an npm dependency from the npm
# registry, Python without third-party packages, a static site, a Procfile app, an external
# buildpack from a local git repository), a failing compile keeps the old release, the cache
# makes the second push faster and repo:purge-cache clears it.

load lib/harness

# The stack image comes from the tarball `wharf stack:build` caches: importing it
# takes seconds. On a fresh machine the suite builds it once (a few minutes, then
# cached), so these tests always run, never skip.
setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	h_stack_image || return 1
}

setup() {
	harness_test_setup
	# Pushes run as the wharf user: it must read what the tests make (external buildpacks).
	chmod 755 "$TEST_TMP"
}

teardown() {
	harness_test_teardown
}

# make_node_app DIR BODY: an app whose page is BODY plus what the `ms` package says.
make_node_app() {
	local dir=$1 body=$2
	h_git_init "$dir"
	cat >"$dir/package.json" <<-'EOF'
		{
		  "name": "wharf-e2e-node",
		  "version": "1.0.0",
		  "private": true,
		  "engines": { "node": ">=16" },
		  "scripts": { "start": "node server.js" },
		  "dependencies": { "ms": "2.1.3" }
		}
	EOF
	node_body "$dir" "$body"
	h_git_commit "$dir" "node app"
}

node_body() {
	cat >"$1/server.js" <<-EOF
		const http = require("http");
		const ms = require("ms");
		http.createServer((req, res) => res.end("$2 " + ms(60000) + " " + process.env.NODE_ENV + "\n"))
		  .listen(process.env.PORT);
	EOF
}

push_ok() {
	run git_push_app "$1" "$2"
	echo "$output"
	assert_success
	assert_output --partial "=====> Application deployed:"
}

# release_processes APP: the processes map of the app's newest release, as compact JSON.
release_processes() {
	jq -c '.releases[-1].processes' "$WHARF_ROOT/apps/$1/releases.json"
}

@test "a Node.js app with an npm dependency is built by the nodejs buildpack; the second push is faster" {
	app=$(new_app_name)
	make_node_app "$TEST_TMP/app" "node one"
	start=$SECONDS
	push_ok "$TEST_TMP/app" "$app"
	first=$((SECONDS - start))
	assert_output --partial "Node.js app detected"
	assert_output --partial "engines.node >=16: satisfied by the stack's v18."
	assert_output --partial "Installing the dependencies into a layer of their own"
	assert_output --partial "Installing dependencies with npm install"
	run app_url_get "$app"
	assert_success
	assert_output "node one 1m production"
	run release_processes "$app"
	assert_output '{"web":["/wharf/launch","web"]}'

	node_body "$TEST_TMP/app" "node two"
	h_git_commit "$TEST_TMP/app" "node two"
	start=$SECONDS
	push_ok "$TEST_TMP/app" "$app"
	second=$((SECONDS - start))
	assert_output --partial "Using node_modules from the dependency layer (dependencies unchanged)"
	refute_output --partial "Installing"
	run app_url_get "$app"
	assert_output "node two 1m production"
	# The release image sits on the dependency layer, which holds node_modules.
	layer=$(docker image ls --format '{{.Repository}}:{{.Tag}}' "wharf/$app" | grep ':deps-')
	[ "$(echo "$layer" | wc -l)" = 1 ]
	run docker run --rm --network host "$layer" test -f /app/node_modules/ms/package.json
	assert_success
	# The web process is the start script itself, without npm in front of it.
	run docker inspect --format '{{json .Config.Cmd}}' "$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$app/releases.json")"
	assert_output '["/wharf/launch","web"]'
	run bash -c "docker top \$(docker ps -q --filter label=wharf.app=$app --filter label=wharf.process=web --filter label=wharf.root=$WHARF_ROOT) -o pid,args"
	assert_output --partial "node server.js"
	refute_output --partial "npm"

	# A change to package.json that is not about dependencies reuses the layer too.
	jq '.version = "1.0.1"' "$TEST_TMP/app/package.json" >"$TEST_TMP/pj" &&
		mv "$TEST_TMP/pj" "$TEST_TMP/app/package.json"
	h_git_commit "$TEST_TMP/app" "version bump"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Using node_modules from the dependency layer (dependencies unchanged)"

	# The cache belongs to the wharf user, so purging works over ssh.
	[ -n "$(ls -A "$WHARF_ROOT/cache/$app")" ]
	run wharf_ssh repo:purge-cache "$app"
	assert_success
	[ ! -e "$WHARF_ROOT/cache/$app" ]

	# With the cache purged, npm fetches everything again.
	node_body "$TEST_TMP/app" "node three"
	h_git_commit "$TEST_TMP/app" "node three"
	start=$SECONDS
	push_ok "$TEST_TMP/app" "$app"
	third=$((SECONDS - start))
	assert_output --partial "Installing the dependencies into a layer of their own"
	assert_output --partial "Installing dependencies with npm install"
	run app_url_get "$app"
	assert_output "node three 1m production"
	echo "# node push: first ${first}s, second (warm cache) ${second}s, third (cache purged) ${third}s" >&3

	# apps:destroy takes the dependency layer and the build cache with the app.
	[ -n "$(docker image ls -q "wharf/$app")" ]
	run wharf apps:destroy --force "$app"
	assert_success
	run docker image ls --format '{{.Repository}}:{{.Tag}}' "wharf/$app"
	assert_output ""
	[ ! -e "$WHARF_ROOT/cache/$app" ]
}

@test "a failing compile rejects the push with its output and keeps the previous release" {
	app=$(new_app_name)
	make_node_app "$TEST_TMP/app" "good node"
	push_ok "$TEST_TMP/app" "$app"
	jq '.scripts.build = "echo COMPILE-BROKE-HERE; exit 3"' "$TEST_TMP/app/package.json" \
		>"$TEST_TMP/pj" && mv "$TEST_TMP/pj" "$TEST_TMP/app/package.json"
	node_body "$TEST_TMP/app" "bad node"
	h_git_commit "$TEST_TMP/app" "broken build"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "COMPILE-BROKE-HERE"
	assert_output --partial "buildpack build failed"
	refute_output --partial "=====> Application deployed:"
	run app_url_get "$app"
	assert_output "good node 1m production"
}

@test "a Python app without third-party packages runs in its virtualenv" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	printf '# no third-party packages\n' >"$TEST_TMP/app/requirements.txt"
	cat >"$TEST_TMP/app/app.py" <<-'EOF'
		import http.server, os, sys
		class H(http.server.BaseHTTPRequestHandler):
		    def do_GET(self):
		        body = ("python ok " + sys.prefix + "\n").encode()
		        self.send_response(200)
		        self.send_header("Content-Length", str(len(body)))
		        self.end_headers()
		        self.wfile.write(body)
		http.server.HTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
	EOF
	h_git_commit "$TEST_TMP/app" "python app"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Python app detected"
	run app_url_get "$app"
	assert_success
	assert_output "python ok /app/.venv"
}

@test "engines.node and runtime.txt that the stack does not satisfy fail the push, naming both versions" {
	app=$(new_app_name)
	make_node_app "$TEST_TMP/app" "node engines"
	jq '.engines.node = "^20.1"' "$TEST_TMP/app/package.json" >"$TEST_TMP/pj" &&
		mv "$TEST_TMP/pj" "$TEST_TMP/app/package.json"
	h_git_commit "$TEST_TMP/app" "wants node 20"
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_failure
	assert_output --regexp "package\.json asks for Node\.js \^20\.1 \(engines\.node\); the stack has v18\.[0-9.]+ only\."
	assert_output --partial "buildpack build failed"
	refute_output --partial "Installing dependencies"
	refute_output --partial "=====> Application deployed:"

	jq '.engines.node = "not a range"' "$TEST_TMP/app/package.json" >"$TEST_TMP/pj" &&
		mv "$TEST_TMP/pj" "$TEST_TMP/app/package.json"
	h_git_commit "$TEST_TMP/app" "bad range"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "engines.node 'not a range' in package.json is not a semver range"

	app2=$(new_app_name py)
	h_git_init "$TEST_TMP/py"
	printf '# none\n' >"$TEST_TMP/py/requirements.txt"
	echo "python-3.12.1" >"$TEST_TMP/py/runtime.txt"
	printf 'web: exec python3 -m http.server "$PORT"\n' >"$TEST_TMP/py/Procfile"
	echo "python versions ok" >"$TEST_TMP/py/index.html"
	h_git_commit "$TEST_TMP/py" "wants python 3.12"
	run git_push_app "$TEST_TMP/py" "$app2"
	echo "$output"
	assert_failure
	assert_output --regexp "runtime\.txt asks for Python 3\.12\.1; the stack has Python 3\.11\.[0-9]+ only\."
	refute_output --partial "=====> Application deployed:"

	# A version the stack matches is honoured (.python-version, pyenv's file, too).
	git -C "$TEST_TMP/py" rm -q runtime.txt
	echo "3.11" >"$TEST_TMP/py/.python-version"
	h_git_commit "$TEST_TMP/py" "python 3.11"
	push_ok "$TEST_TMP/py" "$app2"
	assert_output --regexp ".python-version asks for Python 3\.11: satisfied by the stack's 3\.11\.[0-9]+"
	run app_url_get "$app2" index.html
	assert_output "python versions ok"
}

@test "a build runs as an unprivileged user and stops at WHARF_BUILD_TIMEOUT, keeping the old release" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	echo "before the slow build" >"$TEST_TMP/app/index.html"
	h_git_commit "$TEST_TMP/app" "static site"
	push_ok "$TEST_TMP/app" "$app"
	run app_url_get "$app"
	assert_output "before the slow build"

	bp=$TEST_TMP/slowbp
	h_git_init "$bp"
	mkdir -p "$bp/bin"
	printf '#!/bin/sh\necho Slow\n' >"$bp/bin/detect"
	cat >"$bp/bin/compile" <<-'EOF'
		#!/bin/sh
		echo "-----> compiling as uid $(id -u), gid $(id -g)"
		touch /app/written-by-compile /etc/written-by-compile 2>/dev/null || echo "       /etc is read-only for the build"
		echo "-----> sleeping"
		sleep 600
	EOF
	chmod +x "$bp"/bin/*
	h_git_commit "$bp" "slow buildpack"
	chown -R wharf "$bp"
	run wharf buildpacks:add "$app" "$bp"
	assert_success

	run wharf_ssh config:set --no-restart "$app" WHARF_BUILD_TIMEOUT=soon
	assert_success
	echo "after the slow build" >"$TEST_TMP/app/index.html"
	h_git_commit "$TEST_TMP/app" "slow build"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "bad build timeout 'soon': give seconds (1 to 86400), or minutes or hours with an m or h suffix (20m, 1h) (from the app's WHARF_BUILD_TIMEOUT)"

	run wharf_ssh config:set --no-restart "$app" WHARF_BUILD_TIMEOUT=4s
	assert_success
	start=$SECONDS
	run git_push_app "$TEST_TMP/app" "$app"
	took=$((SECONDS - start))
	echo "$output"
	assert_failure
	# The compile ran as the user wharf runs as (the sshd's forced command: wharf), not root.
	assert_output --partial "compiling as uid $(id -u wharf), gid $(id -g wharf)"
	assert_output --partial "/etc is read-only for the build"
	assert_output --partial "sleeping"
	assert_output --partial "the build took longer than 4 s (the app's WHARF_BUILD_TIMEOUT) and was stopped"
	refute_output --partial "=====> Application deployed:"
	[ "$took" -lt 60 ]
	# The builder container is gone and the old release keeps serving.
	run docker ps -aq --filter "label=wharf.app=$app" --filter label=wharf.process=build
	assert_output ""
	run app_url_get "$app"
	assert_output "before the slow build"
}

@test "a static site is served by busybox httpd" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	mkdir -p "$TEST_TMP/app/public"
	echo "static ok" >"$TEST_TMP/app/public/index.html"
	h_git_commit "$TEST_TMP/app" "static site"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Static HTML app detected"
	run app_url_get "$app"
	assert_success
	assert_output "static ok"
}

@test "a Procfile app: every process type is in the release, web answers" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Procfile" <<-'EOF'
		# web and a worker
		web: mkdir -p /tmp/www && echo "procfile web" > /tmp/www/index.html && exec busybox httpd -f -p "$PORT" -h /tmp/www
		worker: while true; do echo working; sleep 5; done
		release: echo releasing
	EOF
	h_git_commit "$TEST_TMP/app" "procfile app"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Procfile app detected"
	assert_output --partial "Process types: release web worker"
	run app_url_get "$app"
	assert_output "procfile web"
	run release_processes "$app"
	assert_output '{"release":["/wharf/launch","release"],"web":["/wharf/launch","web"],"worker":["/wharf/launch","worker"]}'
	assert [ -n "$(docker ps -q --filter "label=wharf.app=$app" --filter label=wharf.process=web)" ]
}

@test "a Procfile worker runs beside web; a failing release command stops the deploy" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Procfile" <<-'EOF'
		web: mkdir -p /tmp/www && echo "web v1" > /tmp/www/index.html && exec busybox httpd -f -p "$PORT" -h /tmp/www
		worker: while true; do echo "worker is working"; sleep 1; done
		release: echo "release phase ran"
	EOF
	h_git_commit "$TEST_TMP/app" "web, worker, release"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "release phase ran"
	run app_url_get "$app"
	assert_output "web v1"
	run wharf_ssh ps:scale "$app" worker=1
	assert_success
	worker_logs() {
		local id
		id=$(docker ps -q --filter "label=wharf.app=$app" --filter label=wharf.process=worker \
			--filter "label=wharf.root=$WHARF_ROOT")
		[ -n "$id" ] && docker logs "$id" 2>&1 | grep -q "worker is working"
	}
	eventually 30 worker_logs

	sed -i 's/^release: .*/release: echo "release phase FAILED"; exit 7/; s/web v1/web v2/' \
		"$TEST_TMP/app/Procfile"
	h_git_commit "$TEST_TMP/app" "failing release"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "release phase FAILED"
	refute_output --partial "=====> Application deployed:"
	run app_url_get "$app"
	assert_output "web v1"
}

@test "a .buildpacks file chains bundled buildpacks (python, then static)" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	printf 'python\n# the site itself\nstatic\n' >"$TEST_TMP/app/.buildpacks"
	printf '# nothing to install\n' >"$TEST_TMP/app/requirements.txt"
	echo "chained ok" >"$TEST_TMP/app/index.html"
	h_git_commit "$TEST_TMP/app" "chained buildpacks"
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Using buildpack: Python"
	assert_output --partial "Using buildpack: Static HTML"
	assert_output --partial "Creating the virtualenv"
	run app_url_get "$app" index.html
	assert_output "chained ok"
}

@test "a bad Procfile is refused before anything is built" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	printf 'web: ok\nnot a process line\n' >"$TEST_TMP/app/Procfile"
	h_git_commit "$TEST_TMP/app" "bad procfile"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "Procfile line 2"
}

@test "an external buildpack from a local git repository, added with buildpacks:add" {
	app=$(new_app_name)
	bp=$TEST_TMP/bp
	h_git_init "$bp"
	mkdir -p "$bp/bin"
	printf '#!/bin/sh\necho Greeter\n' >"$bp/bin/detect"
	cat >"$bp/bin/compile" <<-'EOF'
		#!/bin/sh
		echo "-----> Greeter buildpack compiling"
		greeting=hello
		[ -f "$3/GREETING" ] && greeting=$(cat "$3/GREETING")
		mkdir -p "$1/www" && echo "external $greeting" >"$1/www/index.html"
	EOF
	cat >"$bp/bin/release" <<-'EOF'
		#!/bin/sh
		cat <<'YAML'
		---
		default_process_types:
		  web: exec busybox httpd -f -p "$PORT" -h /app/www
		YAML
	EOF
	chmod +x "$bp"/bin/*
	h_git_commit "$bp" "greeter buildpack"
	chown -R wharf "$bp"
	h_git_init "$TEST_TMP/app"
	echo "nothing a bundled buildpack knows" >"$TEST_TMP/app/README"
	h_git_commit "$TEST_TMP/app" "app for an external buildpack"
	run wharf apps:create "$app"
	assert_success
	# A path on the server: only an admin on the server may add it, never over ssh
	# or from a pushed .buildpacks (that would let pushers read other apps' repos).
	run wharf_ssh buildpacks:add "$app" "$bp"
	assert_failure
	assert_output --partial "only be added on the server"
	run wharf buildpacks:add "$app" "$bp"
	assert_success
	run wharf_ssh config:set --no-restart "$app" GREETING=bonjour
	assert_success
	push_ok "$TEST_TMP/app" "$app"
	assert_output --partial "Fetching buildpack $bp"
	assert_output --partial "Greeter buildpack compiling"
	run app_url_get "$app"
	assert_output "external bonjour"
	run wharf_ssh buildpacks:list "$app"
	assert_output --partial "$bp"
	# The config var reached ENV_DIR only: it is not baked into the image.
	run docker image inspect --format '{{json .Config.Env}}' "$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$app/releases.json")"
	refute_output --partial bonjour
	# A pushed .buildpacks naming a path on the server is refused.
	app2=$(new_app_name 2)
	echo "$WHARF_ROOT/apps/$app/repo.git" >"$TEST_TMP/app/.buildpacks"
	h_git_commit "$TEST_TMP/app" "point at another app's repository"
	run git_push_app "$TEST_TMP/app" "$app2"
	assert_failure
	assert_output --partial "is a path on the server"
}

@test "buildpacks:add|list|remove|clear keep the app's chain in app.json" {
	app=$(new_app_name)
	run wharf apps:create "$app"
	assert_success
	run wharf_ssh buildpacks:add "$app" https://github.com/heroku/heroku-buildpack-nodejs.git#v1
	assert_success
	run wharf_ssh buildpacks:add --index 1 "$app" python
	assert_success
	run wharf_ssh buildpacks:list "$app"
	assert_success
	assert_line --index 1 python
	assert_line --index 2 "https://github.com/heroku/heroku-buildpack-nodejs.git#v1"
	run jq -c .buildpacks "$WHARF_ROOT/apps/$app/app.json"
	assert_output '["python","https://github.com/heroku/heroku-buildpack-nodejs.git#v1"]'
	run wharf_ssh buildpacks:add "$app" "not a url"
	assert_failure
	run wharf_ssh buildpacks:add "$app" "ftp://example.com/bp"
	assert_failure
	assert_output --partial "neither a bundled one"
	run wharf_ssh buildpacks:remove "$app" python
	assert_success
	run jq -c .buildpacks "$WHARF_ROOT/apps/$app/app.json"
	assert_output '["https://github.com/heroku/heroku-buildpack-nodejs.git#v1"]'
	run wharf_ssh buildpacks:clear "$app"
	assert_success
	run jq -c .buildpacks "$WHARF_ROOT/apps/$app/app.json"
	assert_output 'null'
}

@test "stack:build keeps the stack image it has; stack:report gives its size" {
	run wharf stack:build
	assert_success
	assert_output --partial "already present"
	assert_output --regexp "size: [0-9]+ MB"
	echo "# $(echo "$output" | grep 'size:' | sed 's/^ *//')" >&3
	run wharf_ssh stack:report
	assert_success
	assert_output --partial "wharf/stack:bookworm"
}
