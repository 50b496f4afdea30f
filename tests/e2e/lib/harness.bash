# tests/e2e/lib/harness.bash - the end-to-end harness: a whole private wharf (dockerd, router,
# sshd, WHARF_ROOT) under one temp dir T, started once per bats run by setup_suite.bash, plus
# the helpers the .bats files use. Everything it starts it stops by pid; nothing outside T is
# touched except the `wharf` system user (created exactly as `make up` does) and the cached
# base image tarball under /var/cache/wharf/base.
#
# Environment a test sees (also written to T/env for debugging):
#   WHARF_REPO WHARF_BIN WHARF_T WHARF_ROOT DOCKER_HOST WHARF_ROUTER_SOCKET ROUTER_PORT SSH_PORT
#   WHARF_TEST_DOMAIN WHARF_KEYS (T/keys: alice registered, mallory not)
# WHARF_KEEP_TEST_ROOT=1 keeps T (and its logs) after the run.

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${WHARF_REPO:=$(cd "$HARNESS_DIR/../../.." && pwd)}"
export WHARF_REPO
# The wharf under test: bin/wharf, or WHARF_BIN (the ASan stage of scripts/test.sh gives its
# sanitizer build). The router, the CLI helpers, and through wharf's own path the ssh forced
# command and the git hooks all run it.
: "${WHARF_BIN:=$WHARF_REPO/bin/wharf}"
export WHARF_BIN
# shellcheck source=../../../scripts/lib.sh
. "$WHARF_REPO/scripts/lib.sh"
# free_port and the test backend.
# shellcheck source=net.bash
. "$HARNESS_DIR/net.bash"

# ---------------------------------------------------------------------------------------------
# Suite setup and teardown

# h_log MSG: one line into T/suite.log, and onto the TAP stream as a comment (fd 3 when bats
# gives it to us) so a failing setup says where it stopped.
h_log() {
	printf '%s %s\n' "$(date +%T)" "$*" >>"$WHARF_T/suite.log"
	{ printf '# %s\n' "$*" >&3; } 2>/dev/null || true
}

# h_fail MSG [LOGFILE]: record, show the tail of LOGFILE, and fail the suite setup.
h_fail() {
	h_log "harness: $1"
	printf 'harness: %s\n' "$1" >&2
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		printf -- '--- last lines of %s:\n' "$2" >&2
		tail -n 25 "$2" >&2
	fi
	return 1
}

# h_wait SECONDS CMD...: poll CMD every 0.2 s until it succeeds or SECONDS pass.
h_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

harness_suite_setup() {
	[ "$(id -u)" = 0 ] || { echo "the e2e tests must run as root" >&2; return 1; }
	[ -x "$WHARF_BIN" ] || { echo "no $WHARF_BIN: run make first" >&2; return 1; }

	# Unix socket paths must stay < 108 bytes, so T is short and under /var/tmp.
	WHARF_T=$(mktemp -d /var/tmp/wharf-e2e.XXXXXX)
	chmod 755 "$WHARF_T"
	export WHARF_T
	: >"$WHARF_T/suite.log"
	[ -z "${WHARF_E2E_TDIR_FILE:-}" ] || printf '%s\n' "$WHARF_T" >"$WHARF_E2E_TDIR_FILE"
	h_log "harness: test root $WHARF_T"

	ensure_wharf_user
	# sshd runs the forced command as wharf: the binary and every directory above it must be
	# reachable by that user.
	if ! runuser -u wharf -- test -x "$WHARF_BIN"; then
		h_fail "user wharf cannot execute $WHARF_BIN (a parent directory is not o+x)"
		return 1
	fi

	h_start_dockerd || return 1
	h_log "harness: importing the base image"
	"$WHARF_REPO/scripts/base-image.sh" --docker-host "$DOCKER_HOST" >>"$WHARF_T/suite.log" 2>&1 ||
		{ h_fail "scripts/base-image.sh failed" "$WHARF_T/suite.log"; return 1; }

	export WHARF_ROOT=$WHARF_T/root
	export WHARF_ROUTER_SOCKET=$WHARF_T/router.sock
	export WHARF_TEST_DOMAIN=wharf.test
	export WHARF_KEYS=$WHARF_T/keys
	install -d -o wharf -g wharf -m 0755 "$WHARF_ROOT"
	install -d -o wharf -g wharf -m 0700 "$WHARF_ROOT/.ssh"

	h_start_router || return 1
	h_make_keys || return 1
	h_start_sshd || return 1
	h_write_env

	# The CLI contract: failures here are left for the tests to show one by one, so one missing
	# command does not hide every other result.
	"$WHARF_BIN" domains:set-global "$WHARF_TEST_DOMAIN" >>"$WHARF_T/suite.log" 2>&1 ||
		h_log "harness: warning: 'wharf domains:set-global $WHARF_TEST_DOMAIN' failed"
	"$WHARF_BIN" ssh-keys:add alice <"$WHARF_KEYS/alice.pub" >>"$WHARF_T/suite.log" 2>&1 ||
		h_log "harness: warning: 'wharf ssh-keys:add alice' failed"
	h_log "harness: ready (router :$ROUTER_PORT, sshd :$SSH_PORT)"
}

h_start_dockerd() {
	local d=$WHARF_T/docker
	mkdir -p "$d"
	chmod 755 "$d"
	export DOCKER_HOST=unix://$d/d.sock
	h_log "harness: starting dockerd"
	# fd 3 is bats' TAP stream: a daemon holding it open would keep bats waiting forever.
	# Every app gets a network of its own (docs/security.md): /27 subnets from a /16 of
	# this dockerd's own, so a whole suite's apps fit (Docker's default pools hold ~30
	# networks), and one no other test dockerd on this machine routes already.
	local pool=${WHARF_E2E_POOL:-} n
	while [ -z "$pool" ]; do
		n=$((100 + RANDOM % 150))
		ip -4 route | grep -q "^10\.$n\." || pool=10.$n.0.0/16
	done
	h_log "harness: app networks from $pool"
	dockerd --bridge=none --iptables=false --ip-forward=false \
		--default-address-pool "base=$pool,size=27" \
		--data-root "$d/data" --exec-root "$d/x" --pidfile "$d/pid" \
		-H "$DOCKER_HOST" -G docker >"$d/log" 2>&1 </dev/null 3>&- &
	echo $! >"$d/launch.pid"
	if ! h_wait 60 docker_ping "$d/d.sock"; then
		h_fail "dockerd did not answer /_ping within 60 s" "$d/log"
		return 1
	fi
}

h_start_router() {
	local log=$WHARF_T/router.log port=""
	h_log "harness: starting the router"
	"$WHARF_BIN" router --listen 127.0.0.1:0 --access-log-dir "$WHARF_ROOT/router-logs" \
		>"$log" 2>&1 </dev/null 3>&- &
	echo $! >"$WHARF_T/router.pid"
	local deadline=$((SECONDS + 20))
	while [ -z "$port" ]; do
		port=$(sed -n 's/.*wharf router: listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
		[ -n "$port" ] && break
		if ! kill -0 "$(cat "$WHARF_T/router.pid")" 2>/dev/null; then
			h_fail "wharf router exited during startup" "$log"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			h_fail "wharf router printed no 'listening on 127.0.0.1:PORT' line within 20 s" "$log"
			return 1
		fi
		sleep 0.2
	done
	export ROUTER_PORT=$port
}

h_make_keys() {
	mkdir -p "$WHARF_KEYS"
	chmod 700 "$WHARF_KEYS"
	local k
	for k in alice mallory; do
		ssh-keygen -q -t ed25519 -N '' -C "$k@wharf-e2e" -f "$WHARF_KEYS/$k" ||
			{ h_fail "ssh-keygen failed for $k"; return 1; }
	done
}

h_start_sshd() {
	local s=$WHARF_T/ssh
	mkdir -p "$s" /run/sshd
	chmod 755 "$s"
	ssh-keygen -q -t ed25519 -N '' -f "$s/host_ed25519" || { h_fail "ssh-keygen (host key) failed"; return 1; }
	export SSH_PORT
	SSH_PORT=$(free_port)
	cat >"$s/sshd_config" <<-CONF
		Port $SSH_PORT
		ListenAddress 127.0.0.1
		HostKey $s/host_ed25519
		PidFile $s/pid
		AuthorizedKeysFile $WHARF_ROOT/.ssh/authorized_keys
		# T sits under the world-writable /var/tmp, which StrictModes would refuse.
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		AllowUsers wharf
		PermitUserEnvironment no
		PermitRootLogin no
		X11Forwarding no
		AllowTcpForwarding no
		AllowAgentForwarding no
		PrintMotd no
		LogLevel VERBOSE
	CONF
	# sshd gives sessions a clean environment: a sanitizer build's options reach the forced
	# command (and the git hooks it runs) only this way.
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS; do
		[ -z "${!v:-}" ] || printf 'SetEnv %s=%s\n' "$v" "${!v}" >>"$s/sshd_config"
	done
	/usr/sbin/sshd -t -f "$s/sshd_config" >"$s/check.log" 2>&1 ||
		{ h_fail "sshd -t rejected the test config" "$s/check.log"; return 1; }
	h_log "harness: starting sshd on 127.0.0.1:$SSH_PORT"
	/usr/sbin/sshd -f "$s/sshd_config" -E "$s/log" </dev/null 3>&- ||
		{ h_fail "sshd failed to start" "$s/log"; return 1; }
	h_wait 10 test -s "$s/pid" || { h_fail "sshd wrote no pidfile" "$s/log"; return 1; }
}

h_write_env() {
	local v
	: >"$WHARF_T/env"
	for v in WHARF_REPO WHARF_BIN WHARF_T WHARF_ROOT DOCKER_HOST WHARF_ROUTER_SOCKET ROUTER_PORT \
		SSH_PORT WHARF_TEST_DOMAIN WHARF_KEYS; do
		printf 'export %s=%q\n' "$v" "${!v}" >>"$WHARF_T/env"
	done
}

# h_stop_pid PID NAME SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL.
h_stop_pid() {
	local pid=$1 deadline=$((SECONDS + $3))
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "harness: $2 (pid $pid) ignored SIGTERM for $3 s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
}

# harness_stop_all T: stop what the harness started under T, unmount what dockerd left, and
# remove T unless WHARF_KEEP_TEST_ROOT=1. Safe to call twice and on a half-started T.
harness_stop_all() {
	local t=$1 pid
	[ -n "$t" ] && [ -d "$t" ] || return 0
	case $t in /var/tmp/wharf-e2e.*) ;; *) echo "harness: refusing to clean $t" >&2; return 1 ;; esac
	h_stop_pid "$(cat "$t/router.pid" 2>/dev/null)" router 10
	h_stop_pid "$(cat "$t/ssh/pid" 2>/dev/null)" sshd 10
	if [ -S "$t/docker/d.sock" ] && docker_ping "$t/docker/d.sock"; then
		# Removing the containers first makes dockerd's own shutdown quick.
		local ids
		ids=$(DOCKER_HOST=unix://$t/docker/d.sock docker ps -aq 2>/dev/null)
		# shellcheck disable=SC2086
		[ -z "$ids" ] || DOCKER_HOST=unix://$t/docker/d.sock timeout 60 docker rm -f $ids >/dev/null 2>&1
	fi
	pid=$(cat "$t/docker/pid" 2>/dev/null || cat "$t/docker/launch.pid" 2>/dev/null)
	h_stop_pid "$pid" dockerd 30
	# containerd and shims started by that dockerd carry T in their command lines.
	# shellcheck disable=SC2013 # pids and mount points have no spaces
	for pid in $(grep -lsF "$t/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
		[ "$pid" != $$ ] && [ "$pid" != "$BASHPID" ] && h_stop_pid "$pid" "leftover process" 10
	done
	# dockerd leaves nsfs and overlay mounts under its exec and data roots.
	local m
	# shellcheck disable=SC2013
	for m in $(awk -v t="$t/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if [ "${WHARF_KEEP_TEST_ROOT:-0}" = 1 ]; then
		echo "harness: kept $t (WHARF_KEEP_TEST_ROOT=1)" >&2
	else
		rm -rf --one-file-system "$t"
	fi
}

harness_suite_teardown() {
	harness_stop_all "${WHARF_T:-}"
}

# ---------------------------------------------------------------------------------------------
# Helpers for tests

# Per-file setup: load bats-assert and the environment the suite set up.
harness_test_setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	if [ -n "${WHARF_T:-}" ] && [ -f "$WHARF_T/env" ]; then
		# shellcheck disable=SC1091
		. "$WHARF_T/env"
	fi
	TEST_TMP=$(mktemp -d "$WHARF_T/tmp.XXXXXX")
}

harness_test_teardown() {
	[ -z "${TEST_TMP:-}" ] || rm -rf "$TEST_TMP"
}

SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
	-o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=10)

# wharf ARGS...: the CLI as root, with the test environment.
wharf() {
	"$WHARF_BIN" "$@"
}

# wharf_ssh ARGS...: a command over ssh as the registered key alice.
wharf_ssh() {
	wharf_ssh_key alice "$@"
}

# wharf_ssh_key KEY ARGS...: the same with key T/keys/KEY. Stdin is /dev/null unless the caller
# redirects it (ssh-keys:add reads a key).
wharf_ssh_key() {
	local key=$1
	shift
	timeout 120 ssh "${SSH_OPTS[@]}" -i "$WHARF_KEYS/$key" -p "$SSH_PORT" wharf@127.0.0.1 "$@"
}

# git_push_app DIR APP [BRANCH]: push BRANCH (default main) of DIR to wharf as APP, as alice
# (or the key named by $PUSH_KEY). Output is git's, stderr included; bounded by 300 s.
git_push_app() {
	local dir=$1 app=$2 branch=${3:-main}
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/${PUSH_KEY:-alice}" \
		timeout 300 git -C "$dir" push "ssh://wharf@127.0.0.1:$SSH_PORT/$app" "$branch:$branch" 2>&1
}

# app_url_get APP [PATH]: GET http://APP.<test domain>/PATH through the router.
app_url_get() {
	curl -sS --max-time 10 -H "Host: $1.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/${2:-}"
}

# new_app_name [SUFFIX]: an app name unique to this test (and valid: ^[a-z0-9][a-z0-9.-]*$).
new_app_name() {
	echo "t$$-${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}${1:+-$1}"
}

# make_app_repo DIR BODY: a git repo on branch main whose Dockerfile serves BODY as
# /index.html with busybox httpd on $PORT.
make_app_repo() {
	local dir=$1 body=$2
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		COPY index.html /www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF
	printf '%s\n' "$body" >"$dir/index.html"
	h_git_commit "$dir" "app: $body"
}

# make_config_app_repo DIR: an app whose page reports $GREETING as set when it started.
make_config_app_repo() {
	local dir=$1
	h_git_init "$dir"
	mkdir -p "$dir/www"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh","-c","echo \"greeting=$GREETING\" > /www/index.html; exec busybox httpd -f -p $PORT -h /www"]
	EOF
	h_git_commit "$dir" "config app"
}

# app_change DIR BODY: commit a new page body.
app_change() {
	printf '%s\n' "$2" >"$1/index.html"
	h_git_commit "$1" "change: $2"
}

h_git_init() {
	mkdir -p "$1"
	git init -q -b main "$1"
	git -C "$1" config user.name "wharf e2e"
	git -C "$1" config user.email "e2e@wharf.test"
}

h_git_commit() {
	git -C "$1" add -A
	git -C "$1" commit -q -m "$2"
}

# h_stack_image: the stack image on the test dockerd, imported from the tarball `wharf
# stack:build` caches (seconds), or built once on a fresh machine (minutes, then cached), so
# the tests that need it always run, never skip. For setup_file.
h_stack_image() {
	docker image inspect wharf/stack:bookworm >/dev/null 2>&1 && return 0
	"$WHARF_REPO/scripts/stack-image.sh" --docker-host "$DOCKER_HOST" --import-only \
		>>"$WHARF_T/suite.log" 2>&1 ||
		"$WHARF_REPO/scripts/stack-image.sh" --docker-host "$DOCKER_HOST" \
			>>"$WHARF_T/suite.log" 2>&1 || {
		echo "could not build the stack image; see $WHARF_T/suite.log" >&2
		tail -n 30 "$WHARF_T/suite.log" >&2
		return 1
	}
}

# app_containers APP: ids of all containers (running or not) of APP in this test wharf.
app_containers() {
	docker ps -aq --filter "label=wharf.app=$1" --filter "label=wharf.root=$WHARF_ROOT"
}

# eventually SECONDS CMD...: CMD succeeds within SECONDS (polling every 0.5 s).
eventually() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# busybox_rootfs DIR APPLET...: the filesystem of a tiny image in DIR: busybox, the libraries
# it needs, and each APPLET as a link to it in /bin (the cluster tests and bench: lab nodes
# pull it from the registry in a moment).
busybox_rootfs() {
	local root=$1 f
	shift
	mkdir -p "$root/bin"
	cp /usr/bin/busybox "$root/bin/"
	for f in $(ldd /usr/bin/busybox | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
	for f in "$@"; do
		ln -s busybox "$root/bin/$f"
	done
}
