#!/usr/bin/env bash
# bench/buildpacks.sh - buildpack build times for a Node.js app with a few npm dependencies
# (bench/buildpacks-app: express, lodash, dayjs, ms; 73 packages in its package-lock.json,
# fetched from the npm registry): the first push (cold), a push with only app code changed
# (warm), and a push with package-lock.json unchanged after `repo:purge-cache` (purged).
# Prints push-to-deployed and build times, their ratios, the image's size and how much of it
# is the stack. Runs a whole private wharf (dockerd, sshd, router) like the e2e tests; needs
# root and the cached stack tarball (`wharf stack:build` makes it once).
#   ROUNDS=3 bench/buildpacks.sh      # warm pushes to take the median of (default 3)
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}

# shellcheck source=../tests/e2e/lib/harness.bash
. "$REPO/tests/e2e/lib/harness.bash"
[ -x "$REPO/bin/wharf" ] || make -C "$REPO" -s
harness_suite_setup 3>/dev/null || { echo "bench: could not start a private wharf" >&2; exit 1; }
trap harness_suite_teardown EXIT
"$REPO/scripts/stack-image.sh" --docker-host "$DOCKER_HOST" --import-only >>"$WHARF_T/suite.log" 2>&1 ||
	{ echo "bench: no cached stack tarball: run \`wharf stack:build\` once" >&2; exit 1; }
TEST_TMP=$(mktemp -d "$WHARF_T/bench.XXXXXX")
APP=bpbench
DIR=$TEST_TMP/app
LOG=$TEST_TMP/push.log

now() { date +%s.%N; }
# push LABEL: pushes DIR, checks that the app serves the new body, records the push's wall
# time in T_<LABEL> and the builder's own "built … in Xs" figure in B_<LABEL>.
push() {
	local label=$1 t0 t body
	t0=$(now)
	if ! git_push_app "$DIR" "$APP" >"$LOG" 2>&1; then
		echo "bench: the $label push failed:" >&2
		cat "$LOG" >&2
		exit 1
	fi
	t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	body=$(app_url_get "$APP" 2>/dev/null)
	case $body in "$(cat "$DIR/body.txt") "*) ;; *)
		echo "bench: after the $label push the app answers '$body'" >&2
		exit 1 ;;
	esac
	printf -v "T_$label" %s "$t"
	printf -v "B_$label" %s "$(sed -n 's/.*built [0-9a-f]* in \([0-9.]*\)s.*/\1/p' "$LOG" | tail -n1)"
	{ echo "=== $label push: $t s"; cat "$LOG"; } >>"$TEST_TMP/all.log"
	echo "bench: $label push $t s (build $(eval echo "\$B_$label") s)" >&2
}
change() {
	echo "$1" >"$DIR/body.txt"
	h_git_commit "$DIR" "$1"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "?" }'; }

h_git_init "$DIR"
cp "$REPO"/bench/buildpacks-app/{package.json,package-lock.json,server.js,body.txt} "$DIR/"
h_git_commit "$DIR" "bench app"

push cold
warm_t=() warm_b=()
for i in $(seq 1 "$ROUNDS"); do
	change "warm $i"
	push warm
	warm_t+=("$T_warm") warm_b+=("$B_warm")
done
T_warm=$(median "${warm_t[@]}") B_warm=$(median "${warm_b[@]}")
wharf_ssh repo:purge-cache "$APP" >/dev/null || { echo "bench: repo:purge-cache failed" >&2; exit 1; }
change "purged"
push purged

image=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$APP/releases.json")
mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f", $1 / 1048576 }'; }
img_mb=$(mb "$image") stack_mb=$(mb wharf/stack:bookworm)
app_mb=$(awk -v a="$img_mb" -v b="$stack_mb" 'BEGIN { printf "%.0f", a - b }')

# shellcheck disable=SC2154 # T_* and B_* are set by push() with printf -v
cat <<REPORT

=====> wharf buildpacks benchmark ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), Docker $(docker version -f '{{.Server.Version}}'))
       App:                  bench/buildpacks-app (Node.js, $(jq '.packages | length - 1' "$REPO/bench/buildpacks-app/package-lock.json") npm packages from the registry)
       Cold push:            $T_cold s (build $B_cold s)
       Warm push:            $T_warm s (build $B_warm s; median of $ROUNDS, app code changed only)
       Purged-cache push:    $T_purged s (build $B_purged s; package-lock.json unchanged)
       Cold / warm:          $(ratio "$T_cold" "$T_warm")x push, $(ratio "$B_cold" "$B_warm")x build   (target >= 3x)
       Purged / warm:        $(ratio "$T_purged" "$T_warm")x push, $(ratio "$B_purged" "$B_warm")x build
       Image:                $img_mb MB: the stack's $stack_mb MB (shared by every buildpack app) + $app_mb MB for the app
       Push logs:            ${KEEP_LOG:-set KEEP_LOG=FILE to keep them}
REPORT
if [ -n "${KEEP_LOG:-}" ]; then cp "$TEST_TMP/all.log" "$KEEP_LOG"; fi
