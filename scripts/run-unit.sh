#!/usr/bin/env bash
# scripts/run-unit.sh BIN... - run cmocka unit-test binaries, show their output, count.
# Counts come from cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines; a
# binary that crashes, times out, or fails without a summary counts as one failure.
# Exit status: 0 when nothing failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counts.sh"

passed=0 failed=0
unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for bin in "$@"; do
	say "$bin"
	timeout "${WHARF_UNIT_TIMEOUT:-300}" "$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ]; then
			note "$bin timed out"
		elif [ "$rc" -gt 128 ]; then
			note "$bin died of signal $((rc - 128))"
		else
			note "$bin exited $rc without a cmocka failure summary"
		fi
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done
counts_record unit "$passed" "$failed"
[ "$failed" -eq 0 ]
