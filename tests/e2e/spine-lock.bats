#!/usr/bin/env bats
# tests/e2e/spine-lock.bats - the deploy lock is handed to the push's hook explicitly (an fd
# checked against the lock file), never through a variable children inherit: a plugin that
# runs `wharf ps:rebuild` for the same app during a deploy waits for the lock instead of
# deploying beside the push, and a plugin sees neither the lock's fd nor a lock variable.

load lib/harness

setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
	PLUGIN=""
}

teardown() {
	[ -z "$PLUGIN" ] || wharf plugin:uninstall "$PLUGIN" >/dev/null 2>&1 || true
	harness_test_teardown
}

@test "a plugin's ps:rebuild during a deploy waits for the lock; plugins get no lock" {
	app=$(new_app_name)
	PLUGIN="p$$-lock"
	src=$TEST_TMP/lockplugin
	mkdir -p "$src"
	# pre-release runs while the push holds the app's lock. The rebuild is bounded here
	# (as the plugin timeout would bound it): it must still be waiting when that ends.
	cat >"$src/pre-release" <<-EOF
		#!/bin/sh
		[ "\$1" = "$app" ] && [ -e "\$WHARF_PLUGIN_DIR/armed" ] || exit 0
		out=\$WHARF_PLUGIN_DIR/seen
		{
			echo "lockvar=\${WHARF_LOCK_FD-none} applocked=\${WHARF_APP_LOCKED-none}"
			echo "key=\${WHARF_SSH_KEY-none}"
			for fd in /proc/\$\$/fd/*; do readlink "\$fd"; done | grep -c 'deploy.lock' || true
		} >"\$out"
		timeout 8 "\$WHARF_BIN" ps:rebuild "\$1" >"\$WHARF_PLUGIN_DIR/rebuild.out" 2>&1
		echo "rebuild-exit=\$?" >>"\$out"
		exit 0
	EOF
	chmod 755 "$src/pre-release"
	run wharf plugin:install "$src" --name "$PLUGIN"
	assert_success
	pdir=$WHARF_ROOT/plugins/available/$PLUGIN

	# A first release, so that ps:rebuild has a pushed commit to rebuild.
	make_app_repo "$TEST_TMP/app" "locked zero"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	runuser -u wharf -- touch "$pdir/armed"
	app_change "$TEST_TMP/app" "locked one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "=====> Application deployed:"

	run cat "$pdir/seen"
	assert_line --index 0 "lockvar=none applocked=none"
	assert_line --index 1 "key=alice"
	assert_line --index 2 "0"
	# 124: timeout ended it while it waited; it never deployed on its own.
	assert_line --index 3 "rebuild-exit=124"
	run cat "$pdir/rebuild.out"
	assert_output --partial "Waiting for another deploy or change of '$app' to finish"
	refute_output --partial "Deploying $app"
	run jq '.releases | length' "$WHARF_ROOT/apps/$app/releases.json"
	assert_output "2"
	run app_url_get "$app"
	assert_output "locked one"

	# The lock is free again: the same command now deploys.
	rm -f "$pdir/armed"
	run wharf ps:rebuild "$app"
	assert_success
	run jq '.releases | length' "$WHARF_ROOT/apps/$app/releases.json"
	assert_output "3"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "a lock fd that does not hold the app's lock is not adopted" {
	app=$(new_app_name)
	wharf apps:create "$app" >/dev/null
	# fd 7 is the lock file itself, but nobody holds the lock: a forged hand-over is
	# ignored and the deploy takes the lock as usual (and fails only for lack of a push).
	exec 7<"$WHARF_ROOT/apps/$app/deploy.lock" 2>/dev/null || exec 7</dev/null
	WHARF_LOCK_FD=7 run wharf ps:rebuild "$app"
	exec 7<&-
	assert_failure
	assert_output --partial "has no pushed commit to rebuild"
	wharf apps:destroy "$app" --force >/dev/null
}
