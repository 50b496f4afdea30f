#!/usr/bin/env bash
# scripts/run-e2e.sh - run every tests/e2e/*.bats against a private wharf (real dockerd, sshd,
# git; see tests/e2e/lib/harness.bash). Needs root: it starts daemons and a user logs in as
# `wharf`. Counts TAP lines: "ok" passed, "ok ... # skip" skipped, "not ok" failed; tests the
# plan announced but that never reported count as failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counts.sh"

need_root "$0"
command -v bats >/dev/null || die "bats is not installed (scripts/deps.sh --test installs it)"
[ -x "$WHARF_REPO/bin/wharf" ] || die "no bin/wharf: run make first"

tdir_file=$(mktemp)
log=$(mktemp)
trap 'rm -f "$tdir_file" "$log"' EXIT
export WHARF_E2E_TDIR_FILE=$tdir_file
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-900}

say "End-to-end tests (bats, $(bats --version))"
bats --tap "$WHARF_REPO/tests/e2e" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Safety net: if bats died before teardown_suite, stop what the harness started.
t=$(cat "$tdir_file" 2>/dev/null || true)
if [ -n "$t" ] && [ -d "$t" ]; then
	# shellcheck source=../tests/e2e/lib/harness.bash
	. "$WHARF_REPO/tests/e2e/lib/harness.bash"
	harness_stop_all "$t"
fi

plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
skipped=$(grep -cE '^ok [0-9]+ .*# (skip|SKIP)' "$log")
oks=$(grep -cE '^ok [0-9]+' "$log")
failed=$(grep -cE '^not ok [0-9]+' "$log")
passed=$((oks - skipped))
total=$((oks + failed))
if [ -n "$plan" ] && [ "$total" -lt "$plan" ]; then
	note "bats announced $plan tests but reported $total"
	failed=$((failed + plan - total))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	note "bats exited $rc"
	failed=1
fi
counts_record e2e "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
