#!/usr/bin/env bash
# scripts/test.sh - `make test`, everything CI runs: dependencies, build, lint (clang-format,
# cppcheck, shellcheck), unit tests, fuzz corpus replays, end-to-end tests, and the same
# again under ASan/UBSan (unit tests, fuzz replays, the router's e2e files, spine.bats).
# Every stage runs even after an earlier one failed; the last line is the sum over all
# stages, "N passed, N failed", and the exit status is non-zero when anything failed or a
# stage could not run (a stage that could not run counts as one failure).
# Works on a fresh Debian 12 as root, where `make up` never ran.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WHARF_REPO" || exit 1

WHARF_COUNTS=$(mktemp)
export WHARF_COUNTS
broken=()
only=("$@")

# stage NAME COUNTS CMD...: run CMD; a stage whose runner records counts (COUNTS=yes) but that
# failed without recording any, or a plain stage (COUNTS=no) that failed, adds "NAME 0 1".
# `scripts/test.sh STAGE...` runs only the stages named (e.g. `scripts/test.sh asan`).
stage() {
	local name=$1 counts=$2 before after rc
	shift 2
	[ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $name "* ]] || return 0
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

# asan: the sanitizer stage, against an ASan/UBSan build in build-san/ (`make bin-san`, as
# `make check`; bin/wharf is left alone), given to the tests as WHARF_BIN:
#   - every unit test (tests/unit/) and every fuzz corpus replay, with leak checks and
#     UBSan fatal;
#   - the router's end-to-end files (tests/e2e/router*.bats), which start their own routers
#     and backends: they run from a copy outside tests/e2e, without the whole-wharf suite;
#   - tests/e2e/spine.bats, the push -> build -> deploy path (the git hook, the Docker
#     client, the runtime and the router) with the whole-wharf harness: sshd passes the
#     sanitizer options on to the forced command (tests/e2e/lib/harness.bash).
# A sanitizer report from any wharf process fails the stage even when the test that ran it
# passed. Leaks are not checked in the end-to-end runs: libcurl, OpenSSL and libgit2 keep
# process-lifetime state. Every pass and failure counts in this stage's line.
asan() {
	local san=address,undefined tdir rc f p fl sk oks=0 failed=0 skipped=0
	local units=() replays=()
	. "$WHARF_REPO/scripts/counts.sh"
	make -s SANITIZE=$san bin-san || return 1
	for f in tests/unit/*/test_*.c; do
		f=${f#tests/unit/}
		units+=("build-san/tests/unit/${f%.c}")
	done
	for f in tests/fuzz/fuzz_*.c; do
		f=${f#tests/fuzz/}
		replays+=("build-san/tests/fuzz/replay_${f%.c}")
	done
	make -s SANITIZE=$san "${units[@]}" "${replays[@]}" || return 1
	tdir=$(mktemp -d /tmp/wharf-asan.XXXXXX)
	# The wharf user (the ssh forced command) writes its reports here too.
	chmod 755 "$tdir"
	mkdir -m 1777 "$tdir/san"
	WHARF_COUNTS=$tdir/sub UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		./scripts/run-unit.sh "${units[@]}"
	WHARF_COUNTS=$tdir/sub UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		./scripts/run-fuzz-replay.sh "${replays[@]}"
	read -r oks failed < <(awk '{ p += $2; f += $3 } END { print p + 0, f + 0 }' "$tdir/sub")
	mkdir "$tdir/router"
	cp tests/e2e/router*.bats "$tdir/router/"
	export WHARF_BIN=$WHARF_REPO/build-san/wharf \
		ASAN_OPTIONS=detect_leaks=0:log_path=$tdir/san/asan \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$tdir/san/ubsan
	bats --tap "$tdir"/router/router*.bats 2>&1 | tee "$tdir/router.tap"
	rc=${PIPESTATUS[0]}
	read -r p fl sk < <(tap_counts "$tdir/router.tap" "$rc" "router files")
	oks=$((oks + p)) failed=$((failed + fl)) skipped=$((skipped + sk))
	WHARF_E2E_TDIR_FILE=$tdir/e2e-root BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-900} \
		bats --tap tests/e2e/spine.bats 2>&1 | tee "$tdir/spine.tap"
	rc=${PIPESTATUS[0]}
	# Safety net, as in run-e2e.sh: if bats died before teardown_suite, stop what it started.
	f=$(cat "$tdir/e2e-root" 2>/dev/null || true)
	if [ -n "$f" ] && [ -d "$f" ]; then
		# shellcheck source=../tests/e2e/lib/harness.bash
		(. tests/e2e/lib/harness.bash && harness_stop_all "$f")
	fi
	read -r p fl sk < <(tap_counts "$tdir/spine.tap" "$rc" spine.bats)
	oks=$((oks + p)) failed=$((failed + fl)) skipped=$((skipped + sk))
	unset WHARF_BIN ASAN_OPTIONS UBSAN_OPTIONS
	for f in "$tdir"/san/*; do
		[ -e "$f" ] || continue
		printf ' !     sanitizer report %s:\n' "${f##*/}"
		cat "$f"
		failed=$((failed + 1))
	done
	counts_record asan "$oks" "$failed" "$skipped"
	rm -rf "$tdir"
	[ "$failed" -eq 0 ]
}

# stage_bg NAME CMD...: as `stage NAME yes CMD`, but in the background beside what follows:
# its output goes to a log and its counts to a file of its own, both added by stage_wait.
declare -A bg_pid=()
bgdir=$(mktemp -d)
trap 'rm -f "$WHARF_COUNTS"; rm -rf "$bgdir"' EXIT
stage_bg() {
	local name=$1
	shift
	[ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $name "* ]] || return 0
	printf '\n=====> %s: %s (in the background; its output follows the other stages)\n' "$name" "$*"
	: >"$bgdir/$name.counts"
	(WHARF_COUNTS=$bgdir/$name.counts "$@") >"$bgdir/$name.log" 2>&1 </dev/null &
	bg_pid[$name]=$!
}

# stage_wait NAME: wait for a stage_bg stage, show its output, add its counts.
stage_wait() {
	local name=$1 rc
	[ -n "${bg_pid[$name]:-}" ] || return 0
	wait "${bg_pid[$name]}"
	rc=$?
	printf '\n=====> %s (ran in the background)\n' "$name"
	cat "$bgdir/$name.log"
	cat "$bgdir/$name.counts" >>"$WHARF_COUNTS"
	if [ "$rc" -ne 0 ] && [ ! -s "$bgdir/$name.counts" ]; then
		printf ' !     stage %s could not run (exit %d)\n' "$name" "$rc"
		printf '%s 0 1 0\n' "$name" >>"$WHARF_COUNTS"
		broken+=("$name")
	fi
}

# asan_beside_e2e: the asan stage on an address pool of its own, a /16 in 10.200-249 that no
# route on this machine uses (run-e2e.sh's shards take theirs from 10.100-199).
asan_beside_e2e() {
	local n
	for _ in $(seq 100); do
		n=$((200 + RANDOM % 50))
		ip -4 route | grep -q "^10\.$n\." || break
	done
	WHARF_E2E_POOL=10.$n.0.0/16 asan
}

stage deps no ./scripts/deps.sh --test
stage build no make
stage lint yes make lint
stage unit yes make unit
stage fuzz-replay yes make fuzz-replay
# The sanitizer stage has its own routers and its own whole wharf (tests/e2e/spine.bats): it
# runs beside the end-to-end shards, on an address pool of its own (run-e2e.sh takes its
# pools from 10.100-199).
stage_bg asan asan_beside_e2e
stage e2e yes make e2e
stage_wait asan

printf '\n=====> Summary\n'
awk '{ printf "       %-12s %d passed, %d failed%s\n", $1, $2, $3, ($4 ? ", " $4 " skipped" : "") }' "$WHARF_COUNTS"
[ ${#broken[@]} -eq 0 ] || printf ' !     stages that could not run: %s\n' "${broken[*]}"
read -r passed failed skipped < <(awk '{ p += $2; f += $3; s += $4 } END { print p + 0, f + 0, s + 0 }' "$WHARF_COUNTS")
# The last line is always exactly "N passed, N failed" (CI reads it); skips go above it.
[ "$skipped" -eq 0 ] || echo "($skipped skipped, counted in neither)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
