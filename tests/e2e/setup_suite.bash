# tests/e2e/setup_suite.bash - bats loads this once for the whole e2e run: one private wharf
# (dockerd, router, sshd, WHARF_ROOT) under a temp dir, shared by every .bats file.
# shellcheck source=lib/harness.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib/harness.bash"

setup_suite() {
	harness_suite_setup
}

teardown_suite() {
	harness_suite_teardown
}
