#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages wharf needs, only those missing.
#   scripts/deps.sh          build and run wharf
#   scripts/deps.sh --test   also what the tests need (cmocka, bats, python3, jq, wrk for
#                            router-takeover.bats, ss from iproute2 for router-deploy.bats,
#                            pebble and pebble-challtestsrv for letsencrypt.bats,
#                            promtool (prometheus) for ops.bats's metrics check,
#                            nghttp and h2load from nghttp2-client for router-h2.bats)
#                            and what `make lint` runs (clang-format, cppcheck, shellcheck)
#   scripts/deps.sh --bench  also what the benchmarks drive and compare against (bench/*.sh:
#                            wrk, hey, h2load from nghttp2-client, nginx, haproxy, openssl)
# Idempotent; runs `apt-get update` only when something has to be installed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs=(build-essential pkg-config libgit2-dev libcurl4-openssl-dev libjansson-dev libuv1-dev
	libssl-dev libarchive-dev libnghttp2-dev node-llhttp git docker.io tini openssh-server openssh-client
	debootstrap debian-archive-keyring 'busybox|busybox-static' curl jq ca-certificates procps util-linux passwd
	publicsuffix uacme)
case ${1:-} in
--test) pkgs+=(libcmocka-dev bats bats-assert bats-support python3 jq wrk iproute2 nghttp2-client
	clang-format cppcheck shellcheck pebble prometheus) ;;
--bench) pkgs+=(wrk hey nghttp2-client nginx haproxy openssl python3) ;;
"") ;;
*) die "usage: $0 [--test|--bench]" ;;
esac
# installed PKG: true when dpkg has PKG fully installed.
installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# "a|b" means either will do (busybox-static also provides busybox); the first is installed.
missing=()
for alts in "${pkgs[@]}"; do
	ok=0
	IFS='|' read -ra choice <<<"$alts"
	for p in "${choice[@]}"; do
		installed "$p" && ok=1 && break
	done
	[ "$ok" = 1 ] || missing+=("${choice[0]}")
done
if [ ${#missing[@]} -eq 0 ]; then
	say "Dependencies already installed"
	exit 0
fi
need_root "$0"
say "Installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
