#!/usr/bin/env bash
# scripts/run-fuzz-replay.sh BIN... - replay each fuzz corpus through its target with the plain
# driver (tests/fuzz/replay_main.c): build/.../replay_fuzz_X runs over tests/fuzz/corpus/X/.
# One check per target: it passes when the replay exits 0 (no crash, no sanitizer report
# under `make check`). Exit status: 0 when nothing failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counts.sh"

passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	target=${name#replay_fuzz_}
	corpus=$WHARF_REPO/tests/fuzz/corpus/$target
	say "$name over tests/fuzz/corpus/$target/"
	if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
		note "warning: no corpus for $target; replaying nothing"
	fi
	if [ -d "$corpus" ]; then
		timeout "${WHARF_REPLAY_TIMEOUT:-300}" "$bin" "$corpus"
	else
		timeout "${WHARF_REPLAY_TIMEOUT:-300}" "$bin"
	fi
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		note "$name failed (exit $rc)"
		failed=$((failed + 1))
	fi
done
counts_record fuzz-replay "$passed" "$failed"
[ "$failed" -eq 0 ]
