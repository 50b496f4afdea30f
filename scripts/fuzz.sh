#!/usr/bin/env bash
# scripts/fuzz.sh - `make fuzz`: build every tests/fuzz/fuzz_*.c as a libFuzzer binary with
# ASan and UBSan (clang), and run each for FUZZ_SECONDS (default 60) seeded with its corpus
# tests/fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/<target>/ (the repo's corpus
# is only read: add an input there by hand when it covers something new); crashes are written
# as tests/fuzz/crash-<target>-*, which `make fuzz-replay` can then replay.
#   FUZZ_SECONDS=300 make fuzz       FUZZ_TARGETS="ssh_command" make fuzz
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$WHARF_REPO" || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
OUT=build/fuzz
LLHTTP=${LLHTTP:-/usr/share/llhttp}
PKGS="libgit2 libcurl jansson libuv openssl libarchive"

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe/t.c"
if ! command -v "$CLANG" >/dev/null || ! "$CLANG" -fsanitize=fuzzer -o "$probe/t" "$probe/t.c" 2>/dev/null; then
	die "clang with libFuzzer is needed for make fuzz: apt-get install clang (make fuzz-replay needs only cc)"
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# shellcheck disable=SC2086 # PKGS is a list of package names
cflags="-std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -Isrc/common -I/usr/share/include/llhttp $(pkg-config --cflags $PKGS)"
# shellcheck disable=SC2086 # PKGS is a list of package names
libs="$(pkg-config --libs $PKGS libnghttp2) -lpthread"

# The sources (not build/libwharf.a) compiled once, instrumented for coverage
# (fuzzer-no-link) and the sanitizers, then linked into each target.
say "Compiling the sources with $CLANG, ASan, UBSan and fuzzer instrumentation"
objs=()
for src in src/*/*.c "$LLHTTP"/llhttp.c "$LLHTTP"/api.c "$LLHTTP"/http.c; do
	[ "$src" != src/cli/main.c ] || continue
	obj=$OUT/obj/$(echo "${src#/}" | tr / _).o
	mkdir -p "$OUT/obj"
	if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src -name '*.h' -newer "$obj" -print -quit)" ]; then
		# shellcheck disable=SC2086
		"$CLANG" $cflags $san -fsanitize=fuzzer-no-link -w -c -o "$obj" "$src" || die "cannot compile $src"
	fi
	objs+=("$obj")
done
# An archive, like the Makefile's libwharf.a, so a target links only the objects it needs.
rm -f "$OUT/libwharf-fuzz.a"
ar rcs "$OUT/libwharf-fuzz.a" "${objs[@]}" || die "ar failed"

failed=0
targets=${FUZZ_TARGETS:-$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)}
for t in $targets; do
	bin=$OUT/fuzz_$t
	say "fuzz_$t: building"
	# shellcheck disable=SC2086
	"$CLANG" $cflags $san -fsanitize=fuzzer -o "$bin" "tests/fuzz/fuzz_$t.c" "$OUT/libwharf-fuzz.a" $libs ||
		{ note "cannot build fuzz_$t"; failed=$((failed + 1)); continue; }
	mkdir -p "$OUT/corpus/$t" "tests/fuzz/corpus/$t"
	say "fuzz_$t: fuzzing for ${FUZZ_SECONDS}s"
	if ! "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="tests/fuzz/crash-$t-" "$OUT/corpus/$t" "tests/fuzz/corpus/$t"; then
		note "fuzz_$t found a crash: tests/fuzz/crash-$t-*"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] || die "$failed fuzz target(s) failed"
say "No crashes"
