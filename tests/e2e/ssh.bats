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
	# The test wharf's non-default paths travel with the key (see ssh-keys:add).
	assert_output --partial "command=\"env WHARF_ROOT=$WHARF_ROOT DOCKER_HOST=$DOCKER_HOST WHARF_ROUTER_SOCKET=$WHARF_ROUTER_SOCKET $WHARF_REPO/bin/wharf ssh-command --key alice\""
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

@test "shell syntax over ssh is refused with a clear message, exit 1, and nothing runs" {
	# shellcheck disable=SC2016 # literal $ and backquotes: they must reach wharf as is
	for cmd in 'apps:list; touch X' 'apps:list && touch X' 'apps:list | touch X' \
		'apps:list $(touch X)' 'apps:list `touch X`' 'apps:list > X' 'apps:list < X' \
		'apps:list & touch X' '(touch X)'; do
		char=$(sed 's/^[a-z:]* *//; s/^\(.\).*/\1/' <<<"$cmd")
		run wharf_ssh "${cmd//X/$WHARF_T/ssh-made-this}"
		assert_failure 1
		assert_output " !     refused: shell syntax '$char' is not accepted; wharf runs no shell (quote the value if it is data)"
	done
	[ ! -e "$WHARF_T/ssh-made-this" ]
	run wharf_ssh "$(printf 'apps:list\nid')"
	assert_failure 1
	assert_output " !     refused: the command contains a line break"
}

@test "unknown commands, programs and paths over ssh are refused by name" {
	for cmd in frobnicate /bin/sh ../../bin/sh 'scp -t /tmp' 'sh -c id' 'rsync --server .'; do
		run wharf_ssh "$cmd"
		assert_failure 1
		assert_output " !     \`${cmd%% *}\` is not a wharf command; see \`wharf help\`"
	done
	for cmd in "git upload-pack 'x'" 'git-receive-pack' "git-receive-pack 'a' 'b'" \
		"git-upload-archive 'x'"; do
		run wharf_ssh "$cmd"
		assert_failure 1
		assert_output " !     refused: only \`git-receive-pack '<app>'\` and \`git-upload-pack '<app>'\` are accepted"
	done
	for path in "'../x'" "'/etc/passwd'" "'x/../../y'"; do
		run wharf_ssh "git-upload-pack $path"
		assert_failure 1
		assert_output " !     refused: $path is not an app (app names use lowercase letters, digits, '.' and '-')"
	done
	# Local-only commands say so; their --help is harmless.
	run wharf_ssh stack:build
	assert_failure 1
	assert_output " !     refused: \`stack:build\` cannot be run over ssh"
	run wharf_ssh ssh-command --key alice
	assert_failure 1
	assert_output " !     refused: \`ssh-command\` cannot be run over ssh"
	run wharf_ssh git-hook x
	assert_failure 1
	assert_output " !     refused: only \`git-receive-pack '<app>'\` and \`git-upload-pack '<app>'\` are accepted"
	run wharf_ssh
	assert_failure
	assert_output --partial " !     no command given; try \`ssh wharf@HOST help\`"
}
