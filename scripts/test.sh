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

# router_asan: the router's end-to-end files (tests/e2e/router*.bats) again, against an
# ASan/UBSan build of wharf: objects in build-san/ (as `make check`), the binary at
# build-san/wharf, given to the tests as WHARF_BIN (bin/wharf is left alone). Those files
# start their own routers and backends, so they run from a copy outside tests/e2e, without
# the whole-wharf suite. A sanitizer report from any wharf process fails the stage even
# when the test that ran it passed. Before them, the router's unit tests (tests/unit/router/)
# and every fuzz corpus replay run against the same objects, with leak checks and UBSan
# fatal; their passes and failures count in this stage's line too.
router_asan() {
	local san=address,undefined tdir log rc ldlibs plan oks failed f sub p fl
	local units=() replays=()
	. "$WHARF_REPO/scripts/counts.sh"
	make -s SANITIZE=$san build-san/libwharf.a build-san/src/cli/main.o || return 1
	for f in tests/unit/router/test_*.c; do
		f=${f#tests/unit/}
		units+=("build-san/tests/unit/${f%.c}")
	done
	for f in tests/fuzz/fuzz_*.c; do
		f=${f#tests/fuzz/}
		replays+=("build-san/tests/fuzz/replay_${f%.c}")
	done
	make -s SANITIZE=$san "${units[@]}" "${replays[@]}" || return 1
	sub=$(mktemp)
	WHARF_COUNTS=$sub UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		./scripts/run-unit.sh "${units[@]}"
	WHARF_COUNTS=$sub UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		./scripts/run-fuzz-replay.sh "${replays[@]}"
	read -r p fl < <(awk '{ p += $2; f += $3 } END { print p + 0, f + 0 }' "$sub")
	rm -f "$sub"
	# shellcheck disable=SC2016 # $(LDLIBS) is make's, not the shell's
	ldlibs=$(make -s --no-print-directory --eval 'print-ldlibs: ; @echo $(LDLIBS)' print-ldlibs) ||
		return 1
	# shellcheck disable=SC2086 # ldlibs is a list of linker flags
	cc -fsanitize=$san -o build-san/wharf build-san/src/cli/main.o build-san/libwharf.a \
		$ldlibs || return 1
	tdir=$(mktemp -d /tmp/wharf-router-asan.XXXXXX)
	log=$tdir/tap
	cp tests/e2e/router*.bats "$tdir/"
	mkdir "$tdir/san"
	# Leaks are not checked: libcurl, OpenSSL and libgit2 keep process-lifetime state.
	WHARF_BIN=$WHARF_REPO/build-san/wharf \
		ASAN_OPTIONS=detect_leaks=0:log_path=$tdir/san/asan \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$tdir/san/ubsan \
		bats --tap "$tdir"/router*.bats 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
	oks=$(grep -cE '^ok [0-9]+' "$log")
	failed=$(grep -cE '^not ok [0-9]+' "$log")
	[ -z "$plan" ] || [ $((oks + failed)) -ge "$plan" ] || failed=$((failed + plan - oks - failed))
	[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
	for f in "$tdir"/san/*; do
		[ -e "$f" ] || continue
		printf ' !     sanitizer report %s:\n' "${f##*/}"
		cat "$f"
		failed=$((failed + 1))
	done
	oks=$((oks + p))
	failed=$((failed + fl))
	counts_record router-asan "$oks" "$failed"
	rm -rf "$tdir"
	[ "$failed" -eq 0 ]
}

stage deps no ./scripts/deps.sh --test
stage build no make
stage unit yes make unit
stage fuzz-replay yes make fuzz-replay
stage e2e yes make e2e
stage router-asan yes router_asan

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
