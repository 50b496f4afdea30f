#!/usr/bin/env bash
# scripts/test.sh - `make test`, everything CI runs: dependencies, build, unit tests, fuzz
# corpus replays, end-to-end tests. Every stage runs even after an earlier one failed; the last
# line is the sum over all stages, "N passed, N failed", and the exit status is non-zero when
# anything failed or a stage could not run (a stage that could not run counts as one failure).
# Works on a fresh Debian 12 as root, where `make up` never ran.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WHARF_REPO" || exit 1

WHARF_COUNTS=$(mktemp)
export WHARF_COUNTS
trap 'rm -f "$WHARF_COUNTS"' EXIT
broken=()

# stage NAME COUNTS CMD...: run CMD; a stage whose runner records counts (COUNTS=yes) but that
# failed without recording any, or a plain stage (COUNTS=no) that failed, adds "NAME 0 1".
stage() {
	local name=$1 counts=$2 before after rc
	shift 2
	printf '\n=====> %s: %s\n' "$name" "$*"
	before=$(wc -l <"$WHARF_COUNTS")
	"$@"
	rc=$?
	after=$(wc -l <"$WHARF_COUNTS")
	if [ "$rc" -ne 0 ] && { [ "$counts" = no ] || [ "$after" -eq "$before" ]; }; then
		printf ' !     stage %s could not run (exit %d)\n' "$name" "$rc"
		printf '%s 0 1 0\n' "$name" >>"$WHARF_COUNTS"
		broken+=("$name")
	fi
}

stage deps no ./scripts/deps.sh --test
stage build no make
stage unit yes make unit
stage fuzz-replay yes make fuzz-replay
stage e2e yes make e2e

printf '\n=====> Summary\n'
awk '{ printf "       %-12s %d passed, %d failed%s\n", $1, $2, $3, ($4 ? ", " $4 " skipped" : "") }' "$WHARF_COUNTS"
[ ${#broken[@]} -eq 0 ] || printf ' !     stages that could not run: %s\n' "${broken[*]}"
read -r passed failed skipped < <(awk '{ p += $2; f += $3; s += $4 } END { print p + 0, f + 0, s + 0 }' "$WHARF_COUNTS")
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
