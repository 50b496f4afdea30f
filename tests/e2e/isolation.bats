#!/usr/bin/env bats
# tests/e2e/isolation.bats - what a deployer key (and an admin key) must not be able to do to
# other apps and to the host, each attack performed for real: over the real sshd with a
# deployer key, with real git pushes and real curls through the router. docs/security.md names
# these tests line by line.

load lib/harness

setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
	KEYS_MADE=()
	PLUGINS_MADE=()
	APPS_MADE=()
	DIRS_ALLOWED=()
}

teardown() {
	local x
	for x in "${APPS_MADE[@]}"; do
		wharf apps:destroy "$x" --force >/dev/null 2>&1 || true
	done
	for x in "${KEYS_MADE[@]}"; do
		wharf ssh-keys:remove "$x" >/dev/null 2>&1 || true
	done
	for x in "${PLUGINS_MADE[@]}"; do
		wharf plugin:uninstall "$x" >/dev/null 2>&1 || true
	done
	for x in "${DIRS_ALLOWED[@]}"; do
		wharf storage:disallow "$x" >/dev/null 2>&1 || true
	done
	wharf git:set --global max-push-size >/dev/null 2>&1 || true
	harness_test_teardown
}

# deployer NAME APP...: a new deployer key T/keys/NAME granted the apps.
deployer() {
	local k=$1 a
	shift
	ssh-keygen -q -t ed25519 -N '' -C "$k@wharf-e2e" -f "$WHARF_KEYS/$k"
	KEYS_MADE+=("$k")
	wharf ssh-keys:add "$k" --role deployer <"$WHARF_KEYS/$k.pub" >/dev/null
	for a in "$@"; do
		wharf acl:add "$a" "$k" >/dev/null
	done
}

# made_apps NAME...: destroy these apps in teardown.
made_apps() {
	APPS_MADE+=("$@")
}

# host_get HOST: the body the router serves for Host: HOST (curl fails on nothing served).
host_get() {
	curl -sS --max-time 10 -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT/"
}

host_status() {
	curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT/"
}

# deployer_and_admin_apps DEP A B BODY-A BODY-B: app B pushed by the admin alice; app A created
# by alice, granted to a new deployer key DEP, and pushed by DEP.
deployer_and_admin_apps() {
	make_app_repo "$TEST_TMP/a" "$4"
	make_app_repo "$TEST_TMP/b" "$5"
	git_push_app "$TEST_TMP/b" "$3" >/dev/null || return 1
	wharf_ssh apps:create "$2" >/dev/null || return 1
	deployer "$1" "$2"
	PUSH_KEY=$1 git_push_app "$TEST_TMP/a" "$2" >/dev/null
}

@test "isolation: a deployer cannot take another app's domains, wildcards, global domains or public suffixes" {
	dep=dom$$
	a=$(new_app_name a)
	b=$(new_app_name b)
	b2=$(new_app_name b2)
	made_apps "$a" "$b"
	deployer_and_admin_apps "$dep" "$a" "$b" "page of a" "page of b"
	run wharf domains:add "$b" "shop-$$.example.com"
	assert_success

	# The default domain of an app that does not exist yet is reserved for it.
	run wharf_ssh_key "$dep" domains:add "$a" "$b2.$WHARF_TEST_DOMAIN"
	assert_failure 1
	assert_output " !     refused: $b2.$WHARF_TEST_DOMAIN is the default domain of app '$b2' (reserved for it even before it exists); deployers may not add it"
	run wharf_ssh_key "$dep" domains:add "$a" "${b2^^}.$WHARF_TEST_DOMAIN"
	assert_failure 1
	run wharf_ssh_key "$dep" domains:add "$a" "$b.$WHARF_TEST_DOMAIN"
	assert_failure 1
	assert_output --partial "is the default domain of app '$b'"
	run wharf_ssh_key "$dep" domains:add "$a" "'*.$WHARF_TEST_DOMAIN'"
	assert_failure 1
	assert_output " !     refused: deployers may not add the wildcard domain *.$WHARF_TEST_DOMAIN (an admin may)"
	run wharf_ssh_key "$dep" domains:add "$a" "'*.com'"
	assert_failure 1
	run wharf_ssh_key "$dep" domains:set "$a" "$WHARF_TEST_DOMAIN"
	assert_failure 1
	assert_output " !     refused: $WHARF_TEST_DOMAIN is a global domain; deployers may not add it"
	for suffix in com co.uk github.io; do
		run wharf_ssh_key "$dep" domains:add "$a" "$suffix"
		assert_failure 1
		assert_output " !     refused: $suffix is a public suffix; deployers may not add it"
	done
	# A domain another app serves: refused before anything is saved, naming that app.
	run wharf_ssh_key "$dep" domains:add "$a" "ok-$$.example.net" "shop-$$.example.com"
	assert_failure 1
	assert_output " !     domain 'shop-$$.example.com' is already served by app '$b'; remove it there first"
	[ "$(jq -c .domains "$WHARF_ROOT/apps/$a/app.json")" = '[]' ]

	# The router serves none of it to a.
	run host_status "$b2.$WHARF_TEST_DOMAIN"
	assert_output 404
	run host_get "shop-$$.example.com"
	assert_output "page of b"
	run host_status "anything.com"
	assert_output 404

	# A name nobody serves or reserves is the deployer's to add.
	run wharf_ssh_key "$dep" domains:add "$a" "ok-$$.example.net"
	assert_success
	run host_get "ok-$$.example.net"
	assert_output "page of a"

	# Admins may add reserved names and wildcards, but not what another app serves.
	run wharf_ssh domains:add "$a" "shop-$$.example.com"
	assert_failure 1
	assert_output " !     domain 'shop-$$.example.com' is already served by app '$b'; remove it there first"
	run wharf_ssh domains:add "$a" "$b2.$WHARF_TEST_DOMAIN" "'*.wild-$$.test'" com
	assert_success
	run host_get "$b2.$WHARF_TEST_DOMAIN"
	assert_output "page of a"
}

@test "isolation: git:from-image and FROM by a deployer take only images built for its app" {
	dep=img$$
	a=$(new_app_name a)
	b=$(new_app_name b)
	c=$(new_app_name c)
	made_apps "$a" "$b" "$c"
	deployer_and_admin_apps "$dep" "$a" "$b" "code of a" "secret code of b"
	bimage=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$b/releases.json")
	bid=$(docker image inspect -f '{{.Id}}' "$bimage")

	for ref in "$bimage" "$bid" "${bid#sha256:}"; do
		run wharf_ssh_key "$dep" git:from-image "$a" "$ref"
		assert_failure 1
		assert_output --partial "refused: deployers may deploy only images built for $a"
	done
	run app_url_get "$a"
	assert_output "code of a"
	# A Dockerfile whose FROM is b's image is the same attack.
	printf 'FROM %s\nCMD ["/bin/sh","-c","exec busybox httpd -f -p $PORT -h /www"]\n' "$bimage" \
		>"$TEST_TMP/a/Dockerfile"
	h_git_commit "$TEST_TMP/a" "from b"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/a" "$a"
	assert_failure
	assert_output --partial "refused: FROM $bimage is an image of app '$b'"
	run app_url_get "$a"
	assert_output "code of a"
	# And so is copying out of it.
	printf 'FROM wharf/debian:bookworm\nCOPY --from=%s /www /www\nCMD ["/bin/sh","-c","exec busybox httpd -f -p $PORT -h /www"]\n' "$bid" \
		>"$TEST_TMP/a/Dockerfile"
	h_git_commit "$TEST_TMP/a" "copy from b"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/a" "$a"
	assert_failure
	assert_output --partial "refused: FROM $bid is an image of app '$b'"
	run app_url_get "$a"
	assert_output "code of a"

	# Its own image is fine; an admin may deploy any local image.
	aimage=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$a/releases.json")
	run wharf_ssh_key "$dep" git:from-image "$a" "$aimage"
	assert_success
	run wharf_ssh apps:create "$c"
	assert_success
	run wharf_ssh git:from-image "$c" "$bimage"
	assert_success
	run app_url_get "$c"
	assert_output "secret code of b"
}

@test "isolation: state is readable by the wharf user and root only; the audit log masks config values" {
	dep=sec$$
	a=$(new_app_name a)
	made_apps "$a"
	run wharf_ssh apps:create "$a"
	assert_success
	deployer "$dep" "$a"
	run wharf_ssh_key "$dep" config:set "$a" --no-restart "SECRET=hunter2-$$"
	assert_success
	run wharf_ssh_key "$dep" config:unset "$a" --no-restart SECRET
	assert_success
	# An older wharf's 0755 roots are closed on the next write.
	chmod 0755 "$WHARF_ROOT/apps" "$WHARF_ROOT/apps/$a"
	run wharf_ssh_key "$dep" config:set "$a" --no-restart "OTHER=x"
	assert_success

	[ "$(stat -c %a "$WHARF_ROOT/apps")" = 700 ]
	[ "$(stat -c %a "$WHARF_ROOT/apps/$a")" = 700 ]
	for f in "apps/$a/app.json" "apps/$a/releases.json" .ssh/acl.json global.json audit.log; do
		[ ! -e "$WHARF_ROOT/$f" ] || [ "$(stat -c %a "$WHARF_ROOT/$f")" = 600 ] ||
			{ echo "$f is $(stat -c %a "$WHARF_ROOT/$f")"; false; }
	done
	# Another user of the host reads none of it.
	run runuser -u nobody -- cat "$WHARF_ROOT/apps/$a/app.json"
	assert_failure
	run runuser -u nobody -- cat "$WHARF_ROOT/apps/$a/releases.json"
	assert_failure
	run runuser -u nobody -- ls "$WHARF_ROOT/apps/$a/repo.git"
	assert_failure
	run runuser -u nobody -- cat "$WHARF_ROOT/audit.log"
	assert_failure

	# The audit log never holds the value.
	run wharf events -n 50
	assert_output --partial "config:set $a --no-restart SECRET=***"
	refute_output --partial "hunter2"
	run grep -c "hunter2-$$" "$WHARF_ROOT/audit.log"
	assert_output 0
}

@test "isolation: grants go with apps:destroy and follow apps:rename" {
	dep=gr$$
	x=$(new_app_name x)
	y=$(new_app_name y)
	made_apps "$x" "$y"
	run wharf_ssh apps:create "$x"
	assert_success
	deployer "$dep" "$x"
	run wharf_ssh_key "$dep" config:set "$x" --no-restart A=1
	assert_success
	run wharf_ssh apps:destroy "$x" --force
	assert_success
	run wharf_ssh apps:create "$x"
	assert_success
	run wharf_ssh_key "$dep" config:show "$x"
	assert_failure 1
	assert_output " !     refused: key '$dep' (deployer) has no access to app '$x'"
	make_app_repo "$TEST_TMP/app" "not yours"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$x"
	assert_failure
	assert_output --partial "refused: key '$dep' (deployer) has no access to app '$x'"

	# Rename: the grant follows the app, and the old name is no longer granted.
	run wharf acl:add "$x" "$dep"
	assert_success
	run wharf_ssh apps:rename "$x" "$y" --skip-deploy
	assert_success
	run wharf_ssh_key "$dep" config:set "$y" --no-restart B=2
	assert_success
	run wharf acl:list "$y"
	assert_output --partial "$dep"
	[ "$(jq -c --arg k "$dep" '.keys[$k].apps' "$WHARF_ROOT/.ssh/acl.json")" = "[\"$y\"]" ]
	run wharf_ssh apps:create "$x"
	assert_success
	run wharf_ssh_key "$dep" config:show "$x"
	assert_failure 1
}

@test "isolation: pushes are limited in size and in refs; a deleted branch's objects are collected" {
	dep=push$$
	a=$(new_app_name a)
	made_apps "$a"
	run wharf_ssh apps:create "$a"
	assert_success
	deployer "$dep" "$a"
	make_app_repo "$TEST_TMP/app" "small"
	repo=$WHARF_ROOT/apps/$a/repo.git

	run wharf_ssh git:set --global max-push-size 1m
	assert_success
	assert_output "-----> Setting max-push-size to 1m (from each app's next push)"
	git -C "$TEST_TMP/app" checkout -q -b big
	head -c 3000000 /dev/urandom >"$TEST_TMP/app/blob.bin"
	h_git_commit "$TEST_TMP/app" "3 MB"
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$a" big
	assert_failure
	assert_output --partial "pack exceeds maximum allowed size"
	[ "$(git -c safe.directory='*' --git-dir "$repo" config receive.maxInputSize)" = 1048576 ]
	run git -c safe.directory='*' --git-dir "$repo" rev-parse --verify -q refs/heads/big
	assert_failure
	# The default is back without the setting.
	run wharf_ssh git:set --global max-push-size
	assert_success
	run wharf_ssh git:report "$a" --git-max-push-size
	assert_output 209715200

	# Kept while the branch exists, collected as soon as it is deleted.
	PUSH_KEY=$dep run git_push_app "$TEST_TMP/app" "$a" big
	assert_success
	assert_output --partial "Not deploying refs/heads/big"
	blob=$(git -C "$TEST_TMP/app" rev-parse HEAD:blob.bin)
	git -c safe.directory='*' --git-dir "$repo" cat-file -e "$blob"
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/$dep" \
		run timeout 60 git -C "$TEST_TMP/app" push "ssh://wharf@127.0.0.1:$SSH_PORT/$a" :big
	assert_success
	run git -c safe.directory='*' --git-dir "$repo" cat-file -e "$blob"
	assert_failure

	# At most 50 refs: one push of 60 branches is refused, naming the deploy branch.
	for i in $(seq 60); do git -C "$TEST_TMP/app" branch -f "b$i" big; done
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/$dep" \
		run timeout 60 git -C "$TEST_TMP/app" push "ssh://wharf@127.0.0.1:$SSH_PORT/$a" 'refs/heads/b*:refs/heads/b*'
	assert_failure
	assert_output --partial "refused: $a keeps at most 50 branches and tags; only main deploys"
}

@test "isolation: admin keys are warned they are root; mounts only under root's allow-list" {
	a=$(new_app_name a)
	made_apps "$a"
	adm=adm$$
	ssh-keygen -q -t ed25519 -N '' -C "$adm@wharf-e2e" -f "$WHARF_KEYS/$adm"
	KEYS_MADE+=("$adm")
	run wharf ssh-keys:add "$adm" --role admin <"$WHARF_KEYS/$adm.pub"
	assert_success
	assert_output --partial " !     '$adm' is an admin key: whoever holds it is root on this host"

	make_app_repo "$TEST_TMP/app" "mounts"
	run git_push_app "$TEST_TMP/app" "$a"
	assert_success
	dir=$WHARF_T/iso-allowed-$$
	other=$WHARF_T/iso-other-$$
	install -d -m 0755 "$dir" "$dir/data" "$other"
	ln -s /etc "$dir/etc-link"

	for spec in /:/host /etc:/x /var/run:/x /run:/x /proc:/x /sys:/x /dev:/x \
		"$WHARF_ROOT:/x" "$WHARF_ROOT/apps:/x" "$dir/data:/x" "$dir/etc-link:/x"; do
		run wharf_ssh storage:mount "$a" "$spec"
		assert_failure 1
		assert_output --partial " !     refused:"
	done
	# Only root on the host widens the list, never to the host's own dirs.
	run wharf_ssh storage:allow "$dir"
	assert_failure 1
	assert_output " !     refused: \`storage:allow\` cannot be run over ssh"
	run runuser -u wharf -- "$WHARF_REPO/bin/wharf" storage:allow "$dir"
	assert_failure 1
	for bad in / /etc /var /run "$WHARF_ROOT" "$WHARF_T"; do
		run wharf storage:allow "$bad"
		assert_failure 1
		assert_output --partial " !     refused:"
	done
	run wharf storage:allow "$dir"
	assert_success
	DIRS_ALLOWED+=("$dir")
	run wharf_ssh storage:report --global
	assert_output --partial "Storage allowed dirs:"
	assert_output --partial "$dir"
	run wharf_ssh storage:mount "$a" "$dir/etc-link:/x"
	assert_failure 1
	assert_output --partial "would expose /etc of the host"
	run wharf_ssh storage:mount "$a" "$other:/x"
	assert_failure 1
	run wharf_ssh storage:mount "$a" "$dir/data:/data"
	assert_success
	# Even under an allowed dir, never the Docker socket (DOCKER_HOST) or a dir holding it.
	sockdir=$(dirname "${DOCKER_HOST#unix://}")
	run wharf storage:allow "$sockdir"
	assert_success
	DIRS_ALLOWED+=("$sockdir")
	run wharf_ssh storage:mount "$a" "$sockdir:/x"
	assert_failure 1
	assert_output --partial "would expose the Docker socket"
	run wharf_ssh ps:restart "$a"
	assert_success

	# A mount made before the list (here: written into app.json) stops the next deploy.
	jq --arg m "/etc:/hostetc" '.storage += [$m]' "$WHARF_ROOT/apps/$a/app.json" >"$TEST_TMP/app.json"
	install -o wharf -g wharf -m 0600 "$TEST_TMP/app.json" "$WHARF_ROOT/apps/$a/app.json"
	run wharf_ssh ps:restart "$a"
	assert_failure 1
	assert_output --partial "mount /etc:/hostetc: refused: /etc would expose /etc of the host"
	run app_url_get "$a"
	assert_output "mounts"
	run wharf_ssh storage:unmount "$a" /etc:/hostetc
	assert_success
	# So does one whose dir root has disallowed since.
	run wharf storage:disallow "$dir"
	assert_success
	run wharf_ssh ps:restart "$a"
	assert_failure 1
	assert_output --partial "is not under a host dir root allowed for mounts"
}

@test "isolation: docker-args from a plugin cannot give a container the host" {
	a=$(new_app_name a)
	made_apps "$a"
	name=p$$-iso
	src=$TEST_TMP/args
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	cat >"$src/docker-args-deploy" <<-EOF
		#!/bin/sh
		[ "\$1" = "$a" ] || exit 0
		cat "\$WHARF_PLUGIN_DIR/args" 2>/dev/null
		exit 0
	EOF
	chmod 755 "$src/docker-args-deploy"
	run wharf plugin:install "$src" --name "$name"
	assert_success
	make_app_repo "$TEST_TMP/app" "args"
	run git_push_app "$TEST_TMP/app" "$a"
	assert_success
	for args in '{"HostConfig": {"CapAdd": ["SYS_ADMIN"]}}' \
		'{"HostConfig": {"Privileged": true}}' \
		'{"HostConfig": {"SecurityOpt": ["seccomp=unconfined"]}}' \
		'{"HostConfig": {"SecurityOpt": ["apparmor=unconfined"]}}' \
		'{"HostConfig": {"Devices": [{"PathOnHost": "/dev/mem", "PathInContainer": "/dev/mem", "CgroupPermissions": "rwm"}]}}' \
		'{"HostConfig": {"PidMode": "host"}}' \
		'{"HostConfig": {"IpcMode": "host"}}' \
		'{"HostConfig": {"NetworkMode": "host"}}' \
		'{"HostConfig": {"UTSMode": "host"}}' \
		'{"HostConfig": {"UsernsMode": "host"}}' \
		'{"HostConfig": {"Binds": ["/:/host"]}}'; do
		printf '%s\n' "$args" | runuser -u wharf -- tee "$WHARF_ROOT/plugins/available/$name/args" >/dev/null
		run wharf ps:restart "$a"
		assert_failure 1
		assert_output --partial " !     plugin $name: docker args: HostConfig."
	done
	run app_url_get "$a"
	assert_output "args"
	id=$(docker ps -q --filter "label=wharf.app=$a" --filter "label=wharf.root=$WHARF_ROOT" | head -n 1)
	# wharf's own set (docs/security.md): every capability dropped but seven, none added.
	run docker inspect -f '{{.HostConfig.Privileged}}/{{json .HostConfig.CapDrop}}/{{json .HostConfig.CapAdd}}/{{.HostConfig.PidMode}}' "$id"
	assert_output 'false/["ALL"]/["CHOWN","DAC_OVERRIDE","FOWNER","FSETID","KILL","SETGID","SETUID"]/'
}
