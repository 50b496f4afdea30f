#!/usr/bin/env bats
# tests/e2e/ssh.bats - the ssh door: only registered keys get in, and they get wharf commands
# and git-receive-pack of valid apps, never a shell.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

@test "an unregistered key is refused" {
	run wharf_ssh_key mallory apps:list
	assert_failure
	assert_output --partial "Permission denied"
}

@test "authorized_keys lines force wharf ssh-command and restrict the session" {
	run cat "$WHARF_ROOT/.ssh/authorized_keys"
	assert_success
	assert_output --regexp 'command="[^"]*wharf ssh-command --key alice",restrict,pty ssh-ed25519 AAAA'
	run stat -c %U "$WHARF_ROOT/.ssh/authorized_keys"
	assert_output wharf
}

@test "a shell command over ssh is refused" {
	run wharf_ssh 'ls; id'
	assert_failure
	refute_output --partial "uid="
	assert_output --partial ' !     '
}

@test "an interactive shell over ssh is refused" {
	run wharf_ssh bash
	assert_failure
	run wharf_ssh 'sh -c id'
	assert_failure
	refute_output --partial "uid="
}

@test "git-receive-pack outside the apps is refused" {
	for path in "'../x'" "'/etc/passwd'" "'/../x'" "'x/../../y'"; do
		run wharf_ssh "git-receive-pack $path"
		assert_failure
	done
	[ ! -e "$WHARF_T/x" ]
	[ ! -e "$WHARF_ROOT/x" ]
}

@test "wharf commands work over ssh" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh apps:list
	assert_success
	assert_output --partial "$app"
	run wharf_ssh apps:exists "$app"
	assert_success
	run wharf_ssh apps:destroy "$app" --force
	assert_success
	run wharf_ssh apps:exists "$app"
	assert_failure
}

@test "ssh-keys:list shows alice" {
	run wharf ssh-keys:list
	assert_success
	assert_output --partial alice
}

@test "a removed key can no longer push" {
	app=$(new_app_name)
	ssh-keygen -q -t ed25519 -N '' -C bob@wharf-e2e -f "$WHARF_KEYS/bob"
	run wharf ssh-keys:add bob <"$WHARF_KEYS/bob.pub"
	assert_success
	run wharf ssh-keys:list
	assert_output --partial bob
	make_app_repo "$TEST_TMP/app" "bob's page"
	PUSH_KEY=bob run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf ssh-keys:remove bob
	assert_success
	run wharf ssh-keys:list
	refute_output --partial bob
	app_change "$TEST_TMP/app" "bob's second page"
	PUSH_KEY=bob run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	run app_url_get "$app"
	assert_output "bob's page"
}

@test "a key with options smuggled into its comment or type is refused" {
	run wharf ssh-keys:add 'evil"name' <"$WHARF_KEYS/mallory.pub"
	assert_failure
	printf 'command="sh" %s\n' "$(cat "$WHARF_KEYS/mallory.pub")" >"$TEST_TMP/evil.pub"
	run wharf ssh-keys:add evil <"$TEST_TMP/evil.pub"
	assert_failure
	run wharf_ssh_key mallory apps:list
	assert_failure
}
