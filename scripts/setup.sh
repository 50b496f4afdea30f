#!/usr/bin/env bash
# scripts/setup.sh - `make up`: turn a fresh Debian 12 (as root) into a wharf host. Installs the
# packages, builds and installs wharf, creates the `wharf` user, starts dockerd and sshd when
# they are not running, builds the base image, and (re)starts the router and the daemon. Running it again is
# harmless: every step checks first. docs/operations.md describes what it leaves where.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WHARF_REPO"
need_root "$0"

WHARF_HOME=/var/lib/wharf
LOG_DIR=/var/log/wharf
RUN_DIR=/run/wharf
DOCKER_SOCK=/var/run/docker.sock

./scripts/deps.sh

say "Building wharf"
make
make install
note "installed /usr/local/bin/wharf ($(/usr/local/bin/wharf version 2>/dev/null || echo '?'))"

say "Setting up the wharf user and $WHARF_HOME"
ensure_wharf_user
install -d -o wharf -g wharf -m 0755 "$WHARF_HOME"
install -d -o wharf -g wharf -m 0700 "$WHARF_HOME/.ssh"
install -d -m 0755 "$LOG_DIR" "$RUN_DIR"
# State is the wharf user's and root's alone (docs/security.md): an older wharf left these
# world-readable. New files are written 0600 and these roots 0700 anyway.
for d in apps cache tmp; do
	[ ! -d "$WHARF_HOME/$d" ] || chmod 0700 "$WHARF_HOME/$d"
done
find "$WHARF_HOME" -maxdepth 3 \( -name '*.json' -o -name audit.log \) -type f \
	-not -path "$WHARF_HOME/plugins/*" -not -path "$WHARF_HOME/router/*" -exec chmod go-rwx {} +

# The bundled plugins (plugins/ in the repo): installed the first time, brought to this
# checkout's version by `plugin:update` on every later `make up` (an upgrade). A failed update
# keeps the old version (docs/plugins.md) and is only reported.
for p in /usr/local/share/wharf/plugins/*/; do
	[ -d "$p" ] || continue
	name=$(basename "$p")
	if WHARF_ROOT=$WHARF_HOME /usr/local/bin/wharf plugin:installed "$name"; then
		WHARF_ROOT=$WHARF_HOME /usr/local/bin/wharf plugin:update "$name" >/dev/null ||
			note "plugin:update $name failed; the installed version stays"
	else
		WHARF_ROOT=$WHARF_HOME /usr/local/bin/wharf plugin:install "$p" --name "$name"
	fi
done

# Containers run with host networking only (DESIGN.md): a daemon wharf starts itself gets no
# bridge, NAT or forwarding.
start_dockerd() {
	if docker_ping "$DOCKER_SOCK"; then
		note "dockerd already answers on $DOCKER_SOCK"
		return 0
	fi
	if have_systemd; then
		if [ ! -e /etc/docker/daemon.json ]; then
			mkdir -p /etc/docker
			printf '{\n  "bridge": "none",\n  "iptables": false,\n  "ip-forward": false\n}\n' \
				>/etc/docker/daemon.json
			note "wrote /etc/docker/daemon.json (no bridge network: wharf uses host networking)"
		fi
		systemctl enable --now docker
	else
		say "Starting dockerd (no systemd; log $LOG_DIR/dockerd.log)"
		setsid dockerd --bridge=none --iptables=false --ip-forward=false \
			--pidfile "$RUN_DIR/dockerd.pid" -H "unix://$DOCKER_SOCK" -G docker \
			>>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
	fi
	for _ in $(seq 150); do
		docker_ping "$DOCKER_SOCK" && return 0
		sleep 0.2
	done
	tail -20 "$LOG_DIR/dockerd.log" 2>/dev/null >&2 || true
	die "dockerd did not answer on $DOCKER_SOCK within 30 s"
}

start_sshd() {
	ssh-keygen -A >/dev/null
	mkdir -p /run/sshd
	if have_systemd; then
		systemctl enable --now ssh
		return 0
	fi
	if pid_alive /run/sshd.pid; then
		note "sshd already running (pid $(cat /run/sshd.pid))"
		return 0
	fi
	say "Starting sshd (no systemd)"
	/usr/sbin/sshd -t || die "sshd rejects /etc/ssh/sshd_config"
	/usr/sbin/sshd </dev/null
}

# The router's flags: HTTPS on :443 always, so the first certificate an app gets
# (letsencrypt:enable, certs:add, certs:generate) serves at once, without running `make up`
# again; until an app has one, a TLS handshake is refused (no certificate for the name).
# Per-app access logs (`logs <app> -p router`) in $WHARF_HOME/router-logs. Written to
# /etc/default/wharf-router for the systemd unit.
router_args() {
	echo "--listen-https 0.0.0.0:443 --access-log-dir $WHARF_HOME/router-logs"
}

# launch_logged NAME PIDFILE LOG READY CMD...: starts CMD in the background (own session, output
# appended to LOG, pid in PIDFILE) and waits for a line of LOG matching READY; 0 when it came,
# 1 when CMD died first or 20 s passed.
launch_logged() {
	local name=$1 pidfile=$2 log=$3 ready=$4 pid mark
	shift 4
	: >>"$log"
	mark=$(wc -l <"$log")
	WHARF_ROOT=$WHARF_HOME setsid "$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidfile"
	for _ in $(seq 100); do
		if tail -n +"$((mark + 1))" "$log" | grep -q "$ready"; then
			note "$(tail -n +"$((mark + 1))" "$log" | grep -m1 "$ready")"
			note "$name pid $pid (pidfile $pidfile)"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	tail -n +"$((mark + 1))" "$log" | tail -20 >&2
	return 1
}

# launch_router FLAGS...: starts `wharf router FLAGS` in the background (no systemd) and
# waits for its "listening on" line; 0 when it serves, 1 when it died first.
launch_router() {
	launch_logged router "$RUN_DIR/router.pid" "$LOG_DIR/router.log" \
		'wharf router: listening on' /usr/local/bin/wharf-router "$@"
}

# A running router is replaced so the binary just installed is the one serving. Without
# systemd the new one starts with --takeover: it receives the listening sockets from the
# old one, which then stops as on SIGTERM, so no connection is refused during the upgrade.
# If the takeover fails (an old router without it), the old one is stopped first.
start_router() {
	local pidfile=$RUN_DIR/router.pid old='' args
	args=$(router_args)
	if have_systemd; then
		# Same unit and flags as the running router: `reload` (a --takeover, no
		# connection refused). Anything else changed: a restart.
		if systemctl is-active -q wharf-router.service &&
			cmp -s contrib/wharf-router.service /etc/systemd/system/wharf-router.service &&
			[ "$(cat /etc/default/wharf-router 2>/dev/null)" = "WHARF_ROUTER_ARGS=$args" ]; then
			systemctl reload wharf-router.service
			note "router upgraded with --takeover: systemctl status wharf-router"
			return 0
		fi
		install -m 0644 contrib/wharf-router.service /etc/systemd/system/wharf-router.service
		printf 'WHARF_ROUTER_ARGS=%s\n' "$args" >/etc/default/wharf-router
		systemctl daemon-reload
		systemctl enable wharf-router.service
		systemctl restart wharf-router.service
		note "router: systemctl status wharf-router${args:+ ($args)}"
		return 0
	fi
	say "Starting the router (no systemd; log $LOG_DIR/router.log)${args:+ with $args}"
	if pid_alive "$pidfile"; then
		old=$(cat "$pidfile")
		note "upgrading the running router (pid $old) with --takeover"
		# shellcheck disable=SC2086 # args is a list of flags
		launch_router --takeover $args && return 0
		note "the takeover failed: stopping the old router (pid $old) first"
		kill -TERM "$old" 2>/dev/null
		for _ in $(seq 300); do
			kill -0 "$old" 2>/dev/null || break
			sleep 0.2
		done
		kill -0 "$old" 2>/dev/null && die "the router (pid $old) did not stop within 60 s"
	fi
	# shellcheck disable=SC2086 # args is a list of flags
	launch_router $args || die "the router did not start (log $LOG_DIR/router.log)"
}

# The daemon (cron entries, timed jobs): one per WHARF_ROOT, restarted so that the binary
# just installed is the one running. A restart leaves running cron runs alone (they finish
# and record their exit) and never runs a minute twice (docs/cron.md).
start_daemon() {
	local pidfile=$RUN_DIR/daemon.pid old
	if have_systemd; then
		install -m 0644 contrib/wharf-daemon.service /etc/systemd/system/wharf-daemon.service
		systemctl daemon-reload
		systemctl enable wharf-daemon.service
		systemctl restart wharf-daemon.service
		note "daemon: systemctl status wharf-daemon"
		return 0
	fi
	say "Starting the daemon (no systemd; log $LOG_DIR/daemon.log and $WHARF_HOME/daemon/daemon.log)"
	if pid_alive "$pidfile"; then
		old=$(cat "$pidfile")
		note "stopping the running daemon (pid $old)"
		kill -TERM "$old" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$old" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$old" 2>/dev/null && die "the daemon (pid $old) did not stop within 10 s"
	fi
	launch_logged daemon "$pidfile" "$LOG_DIR/daemon.log" 'wharf daemon: started' \
		/usr/local/bin/wharf daemon || die "the daemon did not start (log $LOG_DIR/daemon.log)"
}

say "Starting dockerd"
start_dockerd
say "Starting sshd"
start_sshd
./scripts/base-image.sh
# The stack that builds and runs apps without a Dockerfile (buildpacks): built once from
# Debian's packages and cached; `wharf stack:build --rebuild` makes it again.
./scripts/stack-image.sh
# The image of postgres: and redis: services (the services plugin): Debian's packages, built
# once and cached as a tarball the plugin imports on the first create.
./scripts/service-image.sh
say "Starting the router"
start_router

# Apps come back after a reboot or a dockerd restart: a oneshot unit at boot; without
# systemd, this run restores them now (rerun `make up` or `wharf ps:restore` after a boot).
if have_systemd; then
	install -m 0644 contrib/wharf-restore.service /etc/systemd/system/wharf-restore.service
	systemctl daemon-reload
	systemctl enable wharf-restore.service
	note "apps are restored at boot by wharf-restore.service"
	# Scheduled service backups moved to the wharf daemon: an older install's timer goes.
	if [ -e /etc/systemd/system/wharf-services-cron.timer ]; then
		systemctl disable --now wharf-services-cron.timer || true
		rm -f /etc/systemd/system/wharf-services-cron.timer /etc/systemd/system/wharf-services-cron.service
		systemctl daemon-reload
	fi
fi
say "Starting the daemon"
start_daemon
say "Restoring apps to their current releases"
WHARF_ROOT=$WHARF_HOME /usr/local/bin/wharf ps:restore || note "some apps could not be restored (see above)"

host=$(hostname -I 2>/dev/null | awk '{ print $1 }')
host=${host:-$(hostname -f 2>/dev/null || hostname)}
cat <<MSG
-----> wharf is up
       Add your key:   cat ~/.ssh/id_ed25519.pub | ssh root@$host wharf ssh-keys:add alice
       (or on this machine: wharf ssh-keys:add alice < key.pub)
       Set a domain:   wharf domains:set-global example.com
       Deploy an app:  git remote add deploy ssh://wharf@$host/hello
                       git push deploy main
       See it served:  curl -H 'Host: hello.example.com' http://$host/
MSG
