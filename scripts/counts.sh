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
