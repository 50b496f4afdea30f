#!/usr/bin/env bats
# tests/e2e/plugins.bats - plugins: install from a path and from a git repo, triggers around a
# real deploy (pre-deploy refuses, post-deploy gets its arguments), a disabled plugin stays
# silent, plugin commands over ssh, and the bundled maintenance plugin against the router.
# The suite shares one wharf: every plugin here acts only on this test's app and is
# uninstalled in teardown.

load lib/harness

setup() {
	harness_test_setup
	# Plugin sources are read by the wharf user (wharf drops to WHARF_ROOT's owner).
	chmod 755 "$TEST_TMP"
	PLUGINS_MADE=()
}

teardown() {
	local p
	for p in "${PLUGINS_MADE[@]}"; do
		wharf plugin:uninstall "$p" >/dev/null 2>&1 || true
	done
	harness_test_teardown
}

# plugin_name [SUFFIX]: a plugin name unique to this test.
# shellcheck disable=SC2120 # the suffix is optional
plugin_name() {
	echo "p$$-${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}${1:+-$1}"
}

# write_exe FILE <<'EOF' … : an executable shell script.
write_exe() {
	cat >"$1"
	chmod 755 "$1"
}

@test "plugin:install from a path: listed, install trigger run, triggers get args and env" {
	name=$(plugin_name)
	src=$TEST_TMP/src
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	cat >"$src/plugin.toml" <<-EOF
		# a test plugin
		name = "$name"
		version = "1.2.3"
		description = "says \"hi\""
		[data]
		name = 5
	EOF
	write_exe "$src/install" <<-'EOF'
		#!/bin/sh
		echo "install ran in $(pwd)"
	EOF
	write_exe "$src/uninstall" <<-'EOF'
		#!/bin/sh
		echo "uninstall ran"
	EOF
	write_exe "$src/hello-$name" <<-'EOF'
		#!/bin/sh
		echo "args=$* APP=$APP TRIGGER=$WHARF_TRIGGER"
		echo "root=$WHARF_ROOT path=$WHARF_PLUGIN_PATH dir=$WHARF_PLUGIN_DIR"
		read -r line || true
		echo "stdin=$line"
	EOF
	run wharf plugin:install "$src"
	assert_success
	assert_line --index 0 "-----> Installing plugin from $src"
	assert_line --index 1 "install ran in $WHARF_ROOT/plugins/available/$name"
	assert_line --index 2 "-----> Plugin $name installed and enabled"
	run wharf plugin:list
	assert_success
	assert_line "$(printf '  %-20s %-10s %-9s %s' "$name" 1.2.3 enabled 'says "hi"')"
	run wharf plugin:installed "$name"
	assert_success
	run wharf plugin:trigger "hello-$name" one 'two words'
	assert_success
	assert_line --index 0 "args=one two words APP= TRIGGER=hello-$name"
	assert_line --index 1 "root=$WHARF_ROOT path=$WHARF_ROOT/plugins dir=$WHARF_ROOT/plugins/available/$name"
	assert_line --index 2 "stdin="
	run wharf plugin:install "$src"
	assert_failure 1
	assert_output --partial " !     plugin '$name' is already installed"
	run wharf plugin:uninstall "$name"
	assert_success
	assert_output "uninstall ran
-----> Plugin $name uninstalled"
	run wharf plugin:installed "$name"
	assert_failure 1
	[ ! -e "$WHARF_ROOT/plugins/available/$name" ]
	[ ! -e "$WHARF_ROOT/plugins/enabled/$name" ]
}

@test "plugin:install from a local git repo, with --name; bad names and symlinks are refused" {
	name=$(plugin_name)
	repo=$TEST_TMP/repo
	h_git_init "$repo"
	PLUGINS_MADE+=("$name" "$name-b")
	printf '{"name": "%s", "version": "0.2", "description": "from git"}\n' "$name" >"$repo/plugin.json"
	write_exe "$repo/hello-$name" <<-'EOF'
		#!/bin/sh
		echo "from git: $*"
	EOF
	h_git_commit "$repo" "plugin"
	# libgit2 clones a local repo only for its owner (safe.directory): wharf, who runs it.
	chown -R wharf: "$repo"
	run wharf plugin:install "file://$repo"
	assert_success
	assert_output --partial "-----> Plugin $name installed and enabled"
	[ ! -e "$WHARF_ROOT/plugins/available/$name/.git" ]
	run wharf plugin:trigger "hello-$name" x
	assert_success
	assert_output "from git: x"
	run wharf plugin:install "file://$repo" --name "$name-b"
	assert_success
	run wharf plugin:list --format json
	jq -e --arg n "$name-b" '.[] | select(.name == $n) | .version == "0.2" and .enabled' <<<"$output"

	# A new commit arrives with plugin:update.
	write_exe "$repo/hello-$name" <<-'EOF'
		#!/bin/sh
		echo "updated: $*"
	EOF
	runuser -u wharf -- git -C "$repo" -c user.name=e2e -c user.email=e2e@wharf.test commit -qam "plugin v2"
	run wharf plugin:update "$name"
	assert_success
	run wharf plugin:trigger "hello-$name" y
	assert_output --partial "updated: y"

	run wharf plugin:install "file://$repo" --name 'Bad/Name'
	assert_failure 1
	assert_output --partial "invalid plugin name 'Bad/Name'"
	mkdir -p "$TEST_TMP/evil"
	ln -s /etc "$TEST_TMP/evil/etc"
	run wharf plugin:install "$TEST_TMP/evil" --name "$name-evil"
	assert_failure 1
	assert_line --index 1 " !     refused: 'etc' in the plugin is a symlink; a plugin may hold only files and directories"
	run wharf plugin:installed "$name-evil"
	assert_failure 1
	run wharf plugin:install "$TEST_TMP/nope"
	assert_failure 1
	assert_line --index 1 " !     cannot find '$TEST_TMP/nope': No such file or directory"
}

@test "pre-deploy exit 1 stops a deploy, post-deploy gets its args, a disabled plugin is not called" {
	app=$(new_app_name)
	name=$(plugin_name)
	src=$TEST_TMP/gate
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	# Acts on this test's app only: the suite's other apps deploy while this is installed.
	write_exe "$src/pre-deploy" <<-EOF
		#!/bin/sh
		[ "\$1" = "$app" ] || exit 0
		[ -e "\$WHARF_PLUGIN_DIR/block" ] || exit 0
		echo "checking \$1" >&2
		echo "deploys of \$1 are frozen by the gate" >&2
		exit 1
	EOF
	write_exe "$src/post-deploy" <<-EOF
		#!/bin/sh
		[ "\$1" = "$app" ] || exit 0
		echo "\$# \$*" >"\$WHARF_PLUGIN_DIR/post-deploy.args"
		echo "post-deploy saw \$1"
	EOF
	run wharf plugin:install "$src" --name "$name"
	assert_success
	pdir=$WHARF_ROOT/plugins/available/$name

	make_app_repo "$TEST_TMP/app" "gate one"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "remote: post-deploy saw $app"
	rev=$(git -C "$TEST_TMP/app" rev-parse HEAD)
	image=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$app/releases.json")
	run cat "$pdir/post-deploy.args"
	assert_output "4 $app 1 $image $rev"

	runuser -u wharf -- touch "$pdir/block"
	rm -f "$pdir/post-deploy.args"
	app_change "$TEST_TMP/app" "gate two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "remote: checking $app"
	assert_output --partial "deploy of $app failed: $name pre-deploy: deploys of $app are frozen by the gate; the previous release keeps serving"
	[ ! -e "$pdir/post-deploy.args" ]
	run app_url_get "$app"
	assert_output "gate one"

	run wharf plugin:disable "$name"
	assert_success
	assert_output "-----> Plugin $name disabled"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	refute_output --partial "post-deploy saw"
	[ ! -e "$pdir/post-deploy.args" ]
	run app_url_get "$app"
	assert_output "gate two"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "a plugin command works over ssh; exit 10 passes it on; unknown commands still fail" {
	name=$(plugin_name)
	src=$TEST_TMP/cmd
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	write_exe "$src/commands" <<-EOF
		#!/bin/sh
		case "\$1" in
		$name:greet) shift; echo "-----> hello \$*"; exit 0 ;;
		$name:fail) echo " !     no luck" >&2; exit 3 ;;
		*) exit 10 ;;
		esac
	EOF
	run wharf plugin:install "$src" --name "$name"
	assert_success
	run wharf_ssh "$name:greet" bob "'and alice'"
	assert_success
	assert_output "-----> hello bob and alice"
	run wharf_ssh "$name:fail"
	assert_failure 3
	assert_output " !     no luck"
	run wharf_ssh "$name:other"
	assert_failure 1
	assert_output " !     \`$name:other\` is not a wharf command; see \`wharf help\`"
	run wharf plugin:disable "$name"
	run wharf_ssh "$name:greet" bob
	assert_failure 1
	assert_output " !     \`$name:greet\` is not a wharf command; see \`wharf help\`"
}

@test "maintenance:on makes the app answer 503 and maintenance:off restores it" {
	app=$(new_app_name)
	if ! wharf plugin:installed maintenance; then
		PLUGINS_MADE+=(maintenance)
		run wharf plugin:install "$WHARF_REPO/plugins/maintenance"
		assert_success
	fi
	make_app_repo "$TEST_TMP/app" "open for business"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh maintenance:on "$app" "'back at five'"
	assert_success
	assert_output "-----> Maintenance on for $app: requests get 503"
	run curl -sS --max-time 10 -o "$TEST_TMP/body" -w '%{http_code}' -H "Host: $app.$WHARF_TEST_DOMAIN" \
		"http://127.0.0.1:$ROUTER_PORT/"
	assert_output 503
	run cat "$TEST_TMP/body"
	assert_output "back at five"
	run wharf_ssh maintenance:report "$app"
	assert_line --index 1 "       Maintenance enabled:   true"
	run wharf_ssh maintenance:off "$app"
	assert_success
	assert_output "-----> Maintenance off for $app"
	run app_url_get "$app"
	assert_output "open for business"
	run wharf_ssh maintenance:on no-such-app-$$
	assert_failure 1
	assert_output " !     app 'no-such-app-$$' does not exist"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "redirect:set answers a domain with 301 to a URL through the router; unset stops it" {
	domain=old$$-${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}.$WHARF_TEST_DOMAIN
	if ! wharf plugin:installed redirect; then
		PLUGINS_MADE+=(redirect)
		run wharf plugin:install "$WHARF_REPO/plugins/redirect"
		assert_success
	fi
	run wharf_ssh redirect:set "$domain" https://new.example.com/
	assert_success
	assert_output "-----> Redirecting $domain to https://new.example.com"
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $domain" \
		"http://127.0.0.1:$ROUTER_PORT/a/b?c=1"
	assert_output "301 https://new.example.com/a/b?c=1"
	run wharf_ssh redirect:list
	assert_line "$domain -> https://new.example.com"
	run wharf_ssh redirect:set "$domain" "'javascript:alert(1)'"
	assert_failure 1
	assert_output " !     invalid URL 'javascript:alert(1)': http(s)://host[:port][/path] without spaces or quotes"
	run wharf_ssh redirect:unset "$domain"
	assert_success
	assert_output "-----> Removed the redirect of $domain"
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $domain" "http://127.0.0.1:$ROUTER_PORT/"
	assert_output 404
	[ -z "$(docker ps -aq --filter "label=wharf.redirect=$domain")" ]
}

@test "docker-args-deploy adds allowed container options; a key outside the allow-list fails the deploy" {
	app=$(new_app_name)
	name=$(plugin_name)
	src=$TEST_TMP/args
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	write_exe "$src/docker-args-deploy" <<-EOF
		#!/bin/sh
		[ "\$1" = "$app" ] || exit 0
		if [ -e "\$WHARF_PLUGIN_DIR/bad" ]; then
			echo '{"HostConfig": {"Privileged": true}}'
		else
			printf '{"Config": {"Env": ["GREETING=from-plugin-v%s"], "Labels": {"team": "ops"}}, "HostConfig": {"Memory": 268435456}}\n' "\$2"
		fi
	EOF
	run wharf plugin:install "$src" --name "$name"
	assert_success
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "greeting=from-plugin-v1"
	id=$(docker ps -q --filter "label=wharf.app=$app" --filter "label=wharf.root=$WHARF_ROOT" | head -n 1)
	run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NetworkMode}} {{index .Config.Labels "team"}} {{index .Config.Labels "wharf.app"}}' "$id"
	assert_output "268435456 wharf-$app ops $app"

	runuser -u wharf -- touch "$WHARF_ROOT/plugins/available/$name/bad"
	run wharf ps:restart "$app"
	assert_failure 1
	assert_output --partial " !     plugin $name: docker args: HostConfig.Privileged is not allowed; see docs/plugins.md"
	run app_url_get "$app"
	assert_output "greeting=from-plugin-v1"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "app triggers: post-create, post-config-update, post-domains-update, pre-restart, post-stop, post-start, post-rename, pre/post-delete" {
	app=$(new_app_name)
	name=$(plugin_name)
	src=$TEST_TMP/log
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	# One script under every name; it logs only what concerns this test's apps.
	write_exe "$src/log" <<-EOF
		#!/bin/sh
		case "\$*" in *"$app"*) ;; *) exit 0 ;; esac
		echo "\$WHARF_TRIGGER APP=\$APP \$*" >>"\$WHARF_PLUGIN_DIR/log.txt"
		[ "\$WHARF_TRIGGER" = pre-delete ] && [ -e "\$WHARF_PLUGIN_DIR/keep" ] && { echo "\$1 is kept" >&2; exit 1; }
		exit 0
	EOF
	for t in post-create post-config-update post-domains-update pre-restart post-stop post-start post-rename pre-delete post-delete; do
		cp "$src/log" "$src/$t"
	done
	rm "$src/log"
	run wharf plugin:install "$src" --name "$name"
	assert_success
	pdir=$WHARF_ROOT/plugins/available/$name
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh config:set "$app" --no-restart A=1
	assert_success
	run wharf_ssh domains:add "$app" "$app.example.com"
	assert_success
	run wharf_ssh ps:restart "$app"
	assert_success
	run wharf_ssh ps:stop "$app"
	assert_success
	run wharf_ssh ps:start "$app"
	assert_success
	runuser -u wharf -- touch "$pdir/keep"
	run wharf_ssh apps:destroy "$app" --force
	assert_failure 1
	assert_output " !     $name pre-delete: $app is kept"
	[ -d "$WHARF_ROOT/apps/$app" ]
	rm -f "$pdir/keep"
	run wharf_ssh apps:rename "$app" "$app-new"
	assert_success
	run wharf_ssh apps:destroy "$app-new" --force
	assert_success
	run cat "$pdir/log.txt"
	assert_output "post-create APP=$app $app
post-config-update APP=$app $app set
post-domains-update APP=$app $app add $app.example.com
pre-restart APP=$app $app
post-stop APP=$app $app
post-start APP=$app $app
pre-delete APP=$app $app
post-rename APP=$app-new $app $app-new
pre-delete APP=$app-new $app-new
post-delete APP=$app-new $app-new"
}

@test "push triggers: pre-receive-app, post-extract changes the tree, builder-detect, pre/post-build, pre-release, check-deploy, post-release" {
	app=$(new_app_name)
	name=$(plugin_name)
	src=$TEST_TMP/push
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	write_exe "$src/log" <<-EOF
		#!/bin/sh
		[ "\$APP" = "$app" ] || exit 0
		echo "\$WHARF_TRIGGER \$*" >>"\$WHARF_PLUGIN_DIR/log.txt"
		case \$WHARF_TRIGGER in
		post-extract) echo "changed by a plugin" >"\$2/index.html" ;;
		builder-detect) echo dockerfile ;;
		check-deploy) curl -fsS "http://\$5:\$4/" >"\$WHARF_PLUGIN_DIR/checked.txt" ;;
		esac
		exit 0
	EOF
	for t in pre-receive-app post-extract builder-detect pre-build post-build pre-release check-deploy post-release; do
		cp "$src/log" "$src/$t"
	done
	rm "$src/log"
	run wharf plugin:install "$src" --name "$name"
	assert_success
	pdir=$WHARF_ROOT/plugins/available/$name
	make_app_repo "$TEST_TMP/app" "as pushed"
	rev=$(git -C "$TEST_TMP/app" rev-parse HEAD)
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "changed by a plugin"
	run cat "$pdir/checked.txt"
	assert_output "changed by a plugin"
	image=$(jq -r '.releases[-1].image' "$WHARF_ROOT/apps/$app/releases.json")
	run cat "$pdir/log.txt"
	assert_line --index 0 "pre-receive-app $app $rev refs/heads/main"
	assert_line --index 1 --regexp "^post-extract $app $WHARF_ROOT/tmp/build-${app}_[A-Za-z0-9]+ $rev\$"
	assert_line --index 2 --regexp "^builder-detect $app $WHARF_ROOT/tmp/build-${app}_[A-Za-z0-9]+\$"
	assert_line --index 3 --regexp "^pre-build $app dockerfile $WHARF_ROOT/tmp/build-${app}_[A-Za-z0-9]+\$"
	assert_line --index 4 "post-build $app dockerfile $image"
	assert_line --index 5 "pre-release $app $image $rev"
	assert_line --index 6 --regexp "^check-deploy $app [0-9a-f]{64} web [0-9]+ [0-9.]+\$"
	assert_line --index 7 "post-release $app 1"
	wharf apps:destroy "$app" --force >/dev/null
}

@test "docker-args-build options reach the buildpack builder container; a refused key rejects the push" {
	h_stack_image
	app=$(new_app_name)
	name=$(plugin_name)
	src=$TEST_TMP/bargs
	mkdir -p "$src"
	PLUGINS_MADE+=("$name")
	write_exe "$src/docker-args-build" <<-EOF
		#!/bin/sh
		[ "\$1" = "$app" ] || exit 0
		echo "\$*" >"\$WHARF_PLUGIN_DIR/args.txt"
		if [ -e "\$WHARF_PLUGIN_DIR/bad" ]; then
			echo '{"HostConfig": {"Binds": ["/:/host"]}}'
		else
			echo '{"HostConfig": {"Memory": 536870912}}'
		fi
	EOF
	run wharf plugin:install "$src" --name "$name"
	assert_success
	pdir=$WHARF_ROOT/plugins/available/$name
	h_git_init "$TEST_TMP/app"
	mkdir -p "$TEST_TMP/app/public"
	echo "built with args" >"$TEST_TMP/app/public/index.html"
	h_git_commit "$TEST_TMP/app" "static site"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run cat "$pdir/args.txt"
	assert_output "$app buildpacks"
	run app_url_get "$app"
	assert_output "built with args"

	runuser -u wharf -- touch "$pdir/bad"
	echo "second" >"$TEST_TMP/app/public/index.html"
	h_git_commit "$TEST_TMP/app" "second"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "plugin $name: docker args: HostConfig.Binds is not allowed; see docs/plugins.md"
	run app_url_get "$app"
	assert_output "built with args"
	wharf apps:destroy "$app" --force >/dev/null
}
