#!/usr/bin/env bash
# scripts/lint.sh - `make lint`: the static checks, each run even after another failed, each
# counted as one check: format (clang-format --dry-run against .clang-format), cppcheck and
# the shell check (scripts, benches, buildpacks, plugins, bats files) and the layer check
# (scripts/layers.sh: who may include whom). The commands and file
# lists are the Makefile's lint-* targets. Exit status: 0 when every check passed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counts.sh"
cd "$WHARF_REPO" || exit 1

passed=0 failed=0
for check in format cppcheck shell layers; do
	say "lint-$check"
	if make -s --no-print-directory "lint-$check"; then
		passed=$((passed + 1))
	else
		note "lint-$check failed"
		failed=$((failed + 1))
	fi
done
counts_record lint "$passed" "$failed"
[ "$failed" -eq 0 ]
