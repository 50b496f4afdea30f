#!/usr/bin/env bash
# scripts/run-e2e.sh - run every tests/e2e/*.bats against private wharfs (real dockerd, sshd,
# git; see tests/e2e/lib/harness.bash). Needs root: it starts daemons and a user logs in as
# `wharf`. Counts TAP lines: "ok" passed, "ok ... # skip" skipped, "not ok" failed; tests the
# plan announced but that never reported count as failed.
#
# The files run in WHARF_E2E_SHARDS (default 2) concurrent bats runs, each with a whole wharf
# of its own (its own dockerd, router, sshd, WHARF_ROOT and address pool), so no test sees
# another shard's state. Most of a test's time is waiting on containers, so two shards on two
# cores take about half the time of one. Files go to the shard with the least work so far,
# longest first, by the seconds in E2E_SECONDS (measured; a file not listed counts 60 s).
# Shard 1's TAP stream is shown as it runs, the others' when they end.
#   scripts/run-e2e.sh [FILE.bats...]     (default: every tests/e2e/*.bats)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counts.sh"

need_root "$0"
command -v bats >/dev/null || die "bats is not installed (scripts/deps.sh --test installs it)"
[ -x "${WHARF_BIN:-$WHARF_REPO/bin/wharf}" ] || die "no bin/wharf: run make first"

# Wall seconds per file in one bats run on a loaded 2-core machine (2026-12-04; ops, commands
# and cmd_ports estimated after they were made faster).
declare -A E2E_SECONDS=(
	[services.bats]=309 [releases.bats]=290 [router.bats]=232 [isolation-net.bats]=220
	[commands.bats]=190 [ops.bats]=140 [router-options.bats]=139 [cluster-apps.bats]=240
	[router-proxy.bats]=122
	[buildpacks.bats]=118 [cmd_storage.bats]=106 [router-limits.bats]=102 [cron.bats]=101
	[plugins.bats]=100 [spine.bats]=91 [isolation.bats]=89 [deploy-scripts.bats]=89
	[router-strict.bats]=88 [cmd_run.bats]=85 [router-proto.bats]=75 [letsencrypt.bats]=72
	[router-deploy.bats]=70 [router-h2.bats]=67 [cmd_apps.bats]=66 [cmd_ports.bats]=65
	[cmd_git.bats]=64 [cmd_ps.bats]=63 [cmd_router.bats]=48 [router-persist.bats]=43
	[router-tls.bats]=39 [cmd_config.bats]=37 [cmd_checks.bats]=34 [ssh.bats]=29
	[router-accesslog.bats]=28 [cmd_domains.bats]=28 [router-takeover.bats]=21
	[cluster-sync.bats]=120 [cluster-ssh.bats]=130 [cluster.bats]=70 [cmd_builder.bats]=17 [spine-lock.bats]=13 [acl.bats]=12
)

shards=${WHARF_E2E_SHARDS:-2}
[[ $shards =~ ^[1-9]$ ]] || die "WHARF_E2E_SHARDS must be 1 to 9, not '$shards'"
if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$WHARF_REPO"/tests/e2e/*.bats)
fi
[ "$shards" -le "${#files[@]}" ] || shards=${#files[@]}

# items: "SECONDS FILE" a line. The cluster files are one item, "SECONDS F1|F2|...": they
# go to one shard, one after another, because a cluster's manager is its shard's dockerd,
# whose swarm tasks use this machine's own host network, and two managers would both take
# the first swarm ports (11001...).
items() {
	local f b cluster=0 cfiles=""
	for f in "${files[@]}"; do
		b=${f##*/}
		if [[ $b == cluster*.bats ]]; then
			cluster=$((cluster + ${E2E_SECONDS[$b]:-60}))
			cfiles+="${cfiles:+|}$f"
		else
			printf '%d %s\n' "${E2E_SECONDS[$b]:-60}" "$f"
		fi
	done
	[ -z "$cfiles" ] || printf '%d %s\n' "$cluster" "$cfiles"
}

# Longest first, each to the least loaded shard.
declare -a load=() lists=()
for ((i = 0; i < shards; i++)); do load[i]=0 lists[i]=""; done
while read -r secs f; do
	best=0
	for ((i = 1; i < shards; i++)); do
		[ "${load[i]}" -ge "${load[best]}" ] || best=$i
	done
	load[best]=$((load[best] + secs))
	lists[best]+="${f//|/$'\n'}"$'\n'
done < <(items | sort -k1,1nr -k2)
# Fewer items than shards (the cluster files alone): the empty shards go.
while [ "$shards" -gt 1 ] && [ -z "${lists[shards - 1]}" ]; do shards=$((shards - 1)); done

# Shared by every shard, so made once here: the `wharf` user and the cached base image (the
# image scripts lock their cache, this only saves the shards a wait).
ensure_wharf_user
work=$(mktemp -d)
pids=()
cleanup() {
	local i t
	for ((i = 0; i < shards; i++)); do
		[ -z "${pids[i]:-}" ] || kill -- "${pids[i]}" 2>/dev/null || true
	done
	# Safety net: if a bats died before teardown_suite, stop what its harness started.
	for ((i = 0; i < shards; i++)); do
		t=$(cat "$work/tdir.$i" 2>/dev/null || true)
		if [ -n "$t" ] && [ -d "$t" ]; then
			# shellcheck source=../tests/e2e/lib/harness.bash
			(. "$WHARF_REPO/tests/e2e/lib/harness.bash" && harness_stop_all "$t")
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Distinct /16 address pools, none routed on this machine already.
pools=()
while [ ${#pools[@]} -lt "$shards" ]; do
	n=$((100 + RANDOM % 100))
	ip -4 route | grep -q "^10\.$n\." && continue
	[[ " ${pools[*]} " == *" 10.$n.0.0/16 "* ]] && continue
	pools+=("10.$n.0.0/16")
done

say "End-to-end tests (bats, $(bats --version)), $shards shard(s)"
for ((i = 0; i < shards; i++)); do
	mapfile -t mine < <(printf '%s' "${lists[i]}")
	note "shard $((i + 1)) (~$((load[i] / 60)) min): ${mine[*]##*/}"
	(
		export WHARF_E2E_TDIR_FILE=$work/tdir.$i WHARF_E2E_POOL=${pools[i]}
		export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-900}
		exec bats --tap "${mine[@]}" >"$work/log.$i" 2>&1 </dev/null
	) &
	pids[i]=$!
done

# Shard 1 live; the rest as they come.
tail -n +1 -f --pid="${pids[0]}" "$work/log.0"
passed=0 failed=0 skipped=0
for ((i = 0; i < shards; i++)); do
	wait "${pids[i]}"
	rc=$?
	pids[i]=""
	log=$work/log.$i
	if [ "$i" -gt 0 ]; then
		printf '\n# ---- shard %d of %d\n' "$((i + 1))" "$shards"
		cat "$log"
	fi
	read -r p f s < <(tap_counts "$log" "$rc" "shard $((i + 1))")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
counts_record e2e "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
