# shellcheck shell=bash
# scripts/counts.sh - shared by the runners: record a stage's counts where test.sh reads them.
# counts_record STAGE PASSED FAILED [SKIPPED]: append "STAGE PASSED FAILED SKIPPED" to
# $WHARF_COUNTS when it is set, and print the stage's own summary line.
counts_record() {
	local stage=$1 passed=$2 failed=$3 skipped=${4:-0}
	[ -z "${WHARF_COUNTS:-}" ] || printf '%s %d %d %d\n' "$stage" "$passed" "$failed" "$skipped" >>"$WHARF_COUNTS"
	printf -- '-----> %s: %d passed, %d failed%s\n' "$stage" "$passed" "$failed" \
		"$([ "$skipped" -eq 0 ] || printf ', %d skipped' "$skipped")"
}

# tap_counts LOG RC [WHAT]: "PASSED FAILED SKIPPED" of a bats --tap log whose bats exited RC.
# "ok" lines pass unless they carry "# skip"; "not ok" lines fail; tests the plan announced
# but that never reported fail, and a bats that failed without a failing test counts one
# failure. WHAT (e.g. "shard 2") names the log in the note printed for either case.
tap_counts() {
	local plan oks failed skipped
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$1" | head -n 1)
	oks=$(grep -cE '^ok [0-9]+' "$1")
	skipped=$(grep -cE '^ok [0-9]+ .*# (skip|SKIP)' "$1")
	failed=$(grep -cE '^not ok [0-9]+' "$1")
	if [ -n "$plan" ] && [ $((oks + failed)) -lt "$plan" ]; then
		printf -- '       %s: bats announced %d tests but reported %d\n' "${3:-$1}" "$plan" \
			$((oks + failed)) >&2
		failed=$((plan - oks))
	fi
	if [ "$2" -ne 0 ] && [ "$failed" -eq 0 ]; then
		printf -- '       %s: bats exited %d\n' "${3:-$1}" "$2" >&2
		failed=1
	fi
	echo "$((oks - skipped)) $failed $skipped"
}
