# shellcheck shell=bash
# scripts/lib.sh - helpers shared by setup.sh, the test harness and the other scripts.
# Source it; it defines functions only (and WHARF_REPO), it changes no state by itself.

export WHARF_REPO
WHARF_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say()  { printf -- '-----> %s\n' "$*"; }
note() { printf -- '       %s\n' "$*"; }
die()  { printf -- ' !     %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "$1 must run as root (try: sudo $1)"
}

# True when systemd is PID 1 (on a container or a microVM without it, we run daemons ourselves).
have_systemd() {
	[ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]
}

# docker_ping SOCKET: true when a Docker Engine answers /_ping on that unix socket.
docker_ping() {
	curl -sf --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1
}

# pid_alive PIDFILE: true when the file names a live process.
pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# ensure_wharf_user: the `wharf` system account that owns WHARF_ROOT and that git pushes log
# in as. The password field must be `*`, not the `!` useradd leaves: sshd treats `!` as a
# locked account and refuses even key logins. It needs group docker to reach the Engine socket
# (root:docker 0660).
ensure_wharf_user() {
	getent group docker >/dev/null || groupadd --system docker
	if ! getent passwd wharf >/dev/null; then
		useradd --system --home-dir /var/lib/wharf --create-home --shell /bin/sh wharf
	fi
	if [ "$(getent shadow wharf | cut -d: -f2)" != '*' ]; then
		usermod -p '*' wharf
	fi
	id -nG wharf | tr ' ' '\n' | grep -qx docker || usermod -aG docker wharf
}

# debian_mirror: the Debian archive this machine installs from (so debootstrap reaches the same
# place apt does), from deb822 .sources files or sources.list; default deb.debian.org.
debian_mirror() {
	local m=""
	if [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list 2>/dev/null)
	fi
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk 'tolower($1) == "uris:" && $2 ~ /debian\/?$/ && $2 !~ /security/ { print $2; exit }')
	fi
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

