#!/usr/bin/env bats
# tests/e2e/acl.bats - access control over ssh: a deployer key pushes to and runs app commands
# for the apps it is granted and nothing else; admins (alice, keys without a role) may do
# everything; a user-auth plugin may refuse more; the audit log records every request.

load lib/harness

setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
	KEYS_MADE=()
	PLUGINS_MADE=()
}

teardown() {
	local k
	for k in "${KEYS_MADE[@]}"; do
		wharf ssh-keys:remove "$k" >/dev/null 2>&1 || true
	done
	for k in "${PLUGINS_MADE[@]}"; do
		wharf plugin:uninstall "$k" >/dev/null 2>&1 || true
	done
	harness_test_teardown
}

# add_key NAME [ROLE]: a new key T/keys/NAME, registered (as ROLE when given).
add_key() {
	ssh-keygen -q -t ed25519 -N '' -C "$1@wharf-e2e" -f "$WHARF_KEYS/$1"
	KEYS_MADE+=("$1")
	if [ -n "${2:-}" ]; then
		wharf ssh-keys:add "$1" --role "$2" <"$WHARF_KEYS/$1.pub"
	else
		wharf ssh-keys:add "$1" <"$WHARF_KEYS/$1.pub"
	fi
}

# audit_has KEY COMMAND EXIT: the audit log holds that record.
audit_has() {
	wharf events -n 200 --format json |
		jq -e --arg k "$1" --arg c "$2" --argjson e "$3" \
			'any(.[]; .key == $k and .command == $c and .exit == $e)' >/dev/null
}

@test "a deployer pushes and runs app commands for its app only; an admin may do it all" {
	dep=dep$$
	mine=$(new_app_name mine)
	other=$(new_app_name other)
	run add_key "$dep" deployer
	assert_success
	assert_output "-----> Added key '$dep' ($(ssh-keygen -l -f "$WHARF_KEYS/$dep.pub" | awk '{print $2}')) as a deployer: grant it apps with acl:add"
	run wharf ssh-keys:list
	assert_output --partial "NAME=\"$dep\" TYPE=\"ssh-ed25519\" ROLE=\"deployer\""
	assert_output --partial "NAME=\"alice\" TYPE=\"ssh-ed25519\" ROLE=\"admin\""
	run wharf_ssh apps:create "$mine"
	assert_success
	run wharf_ssh apps:create "$other"
	assert_success
	run wharf_ssh acl:add "$mine" "$dep"
	assert_success
	assert_output "-----> Granted $dep access to $mine"
	run wharf_ssh acl:list
	assert_line "$(printf '%-20s %-9s %s' "$dep" deployer "$mine")"
	run wharf_ssh acl:list "$mine"
	assert_output "=====> $mine access (admins may use every app)
       $dep"
	run wharf_ssh acl:add "$mine" alice
	assert_failure 1
	assert_output --partial " !     key 'alice' is not a deployer"

	make_app_repo "$TEST_TMP/app" "deployer page"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$mine"
	assert_success
	run app_url_get "$mine"
	assert_output "deployer page"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$other"
	assert_failure
	assert_output --partial " !     refused: key '$dep' (deployer) has no access to app '$other'"
	[ "$(jq '.releases | length' "$WHARF_ROOT/apps/$other/releases.json" 2>/dev/null || echo 0)" = 0 ]
	newapp=$(new_app_name new)
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$newapp"
	assert_failure
	assert_output --partial "has no access to app '$newapp'"
	[ ! -e "$WHARF_ROOT/apps/$newapp" ]

	run wharf_ssh_key "$dep" config:set "$mine" --no-restart A=1
	assert_success
	run wharf_ssh_key "$dep" config:get "$mine" A
	assert_success
	assert_output "1"
	# One word with a leading space: ssh would take a word starting with "-" as its own option.
	run wharf_ssh_key "$dep" " --app $other config:show"
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) has no access to app '$other'"
	run wharf_ssh_key "$dep" apps:destroy "$other" --force
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) has no access to app '$other'"
	run wharf_ssh_key "$dep" config:set --global A=1
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) may not change global settings"
	run wharf_ssh_key "$dep" plugin:install "$WHARF_REPO/plugins/maintenance"
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) may not run \`plugin:install\`; deployers run app commands for their own apps"
	run wharf_ssh_key "$dep" ssh-keys:add "sneaky$$" <"$WHARF_KEYS/mallory.pub"
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) may not run \`ssh-keys:add\`; deployers run app commands for their own apps"
	run wharf_ssh_key "$dep" apps:create "x$$"
	assert_failure 1
	run wharf_ssh_key "$dep" events
	assert_failure 1
	[ -e "$WHARF_ROOT/apps/$other" ]

	# An admin may do each of those.
	adm=adm$$
	ssh-keygen -q -t ed25519 -N '' -C "$adm@wharf-e2e" -f "$WHARF_KEYS/$adm"
	KEYS_MADE+=("$adm")
	run wharf_ssh ssh-keys:add "$adm" <"$WHARF_KEYS/$adm.pub"
	assert_success
	run wharf_ssh_key "$adm" apps:destroy "$other" --force
	assert_success
	[ ! -e "$WHARF_ROOT/apps/$other" ]
	pname=acl$$
	PLUGINS_MADE+=("$pname")
	run wharf_ssh_key "$adm" plugin:install "$WHARF_REPO/plugins/maintenance" --name "$pname"
	assert_success

	# The audit log has each request: key, command as sent, exit code.
	audit_has "$dep" "git-receive-pack '/$mine'" 0
	audit_has "$dep" "git-receive-pack '/$other'" 1
	audit_has "$dep" "apps:destroy $other --force" 1
	audit_has "$dep" "plugin:install $WHARF_REPO/plugins/maintenance" 1
	audit_has "$dep" "ssh-keys:add sneaky$$" 1
	audit_has "$dep" "config:get $mine A" 0
	audit_has alice "acl:add $mine $dep" 0
	audit_has "$adm" "apps:destroy $other --force" 0
	audit_has "$adm" "plugin:install $WHARF_REPO/plugins/maintenance --name $pname" 0
	audit_has alice "ssh-keys:add $adm" 0
	run wharf events -n 1
	assert_success
	assert_output --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z $adm +exit=0   plugin:install "

	# Taking the app away closes the door again.
	run wharf acl:remove "$mine" "$dep"
	assert_success
	assert_output "-----> Removed the access of $dep to $mine"
	app_change "$TEST_TMP/app" "after removal"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$mine"
	assert_failure
	run app_url_get "$mine"
	assert_output "deployer page"
	wharf apps:destroy "$mine" --force >/dev/null
}

@test "a user-auth plugin may refuse a command; keys without a role stay admins" {
	app=$(new_app_name)
	old=old$$
	run add_key "$old"
	assert_success
	run wharf ssh-keys:list
	assert_output --partial "NAME=\"$old\" TYPE=\"ssh-ed25519\" ROLE=\"admin\""
	run wharf_ssh_key "$old" apps:create "$app"
	assert_success

	pname=auth$$
	mkdir -p "$TEST_TMP/auth"
	cat >"$TEST_TMP/auth/user-auth" <<-EOF
		#!/bin/sh
		# user-auth KEY ROLE COMMAND [ARGS…]
		[ "\$1" = "$old" ] && [ "\$3" = "apps:report" ] || exit 0
		echo "\$1 may not see reports (role \$2)" >&2
		exit 1
	EOF
	chmod 755 "$TEST_TMP/auth/user-auth"
	PLUGINS_MADE+=("$pname")
	run wharf plugin:install "$TEST_TMP/auth" --name "$pname"
	assert_success
	run wharf_ssh_key "$old" apps:report "$app"
	assert_failure 1
	assert_output " !     refused by plugin $pname user-auth: $old may not see reports (role admin)"
	run wharf_ssh apps:report "$app" --apps-locked
	assert_success
	assert_output "false"
	run wharf_ssh_key "$old" apps:exists "$app"
	assert_success
	audit_has "$old" "apps:report $app" 1
	run wharf ssh-keys:add "bad$$" --role root <"$WHARF_KEYS/mallory.pub"
	assert_failure 1
	assert_output " !     unknown role 'root': use admin or deployer"
	wharf apps:destroy "$app" --force >/dev/null
}
