#!/usr/bin/env bats
# tests/e2e/commands.bats - the spine's commands through a real sshd: apps, config,
# domains, urls, logs, version, help; refusals; a dockerd that is not running.

load lib/harness

bats_require_minimum_version 1.5.0      # run --separate-stderr

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# A Dockerfile app that logs a line at start and serves $GREETING.
make_logging_app() {
	local dir=$1
	h_git_init "$dir"
	cat >"$dir/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www
		CMD ["/bin/sh","-c","echo \"booting $WHARF_APP on port $PORT\"; echo \"greeting=$GREETING\" > /www/index.html; exec busybox httpd -f -p $PORT -h /www"]
	EOF
	h_git_commit "$dir" "logging app"
}

router_get() {
	curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Host: $1" \
		"http://127.0.0.1:$ROUTER_PORT/"
}

@test "apps:destroy asks for the name, then removes containers, route and repository" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "to be destroyed"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh apps:destroy "$app" </dev/null
	assert_failure
	assert_output --partial 'To proceed, type'
	run wharf_ssh apps:exists "$app"
	assert_success
	run app_url_get "$app"
	assert_output "to be destroyed"
	run wharf_ssh apps:destroy "$app" --force
	assert_success
	assert_output --partial "-----> Destroying $app"
	run wharf_ssh apps:exists "$app"
	assert_failure
	[ ! -e "$WHARF_ROOT/apps/$app" ]
	[ -z "$(app_containers "$app")" ]
	run router_get "$app.$WHARF_TEST_DOMAIN"
	assert_output 404
}

@test "apps:create, apps:list and a clone of a pushed app" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	assert_output --partial "-----> Creating $app"
	run wharf_ssh apps:create "$app"
	assert_failure
	assert_output --partial "already exists"
	run wharf_ssh apps:list
	assert_line --index 0 "=====> My Apps"
	assert_line "$app"
	make_app_repo "$TEST_TMP/app" "cloned page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice" \
		run timeout 60 git clone -q "ssh://wharf@127.0.0.1:$SSH_PORT/$app" "$TEST_TMP/clone"
	assert_success
	[ "$(git -C "$TEST_TMP/clone" rev-parse HEAD)" = "$(git -C "$TEST_TMP/app" rev-parse HEAD)" ]
}

@test "domains:add routes a new host, domains:remove stops it, bad domains are refused" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "domain page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run router_get "www.$app.example"
	assert_output 404
	run wharf_ssh domains:add "$app" "www.$app.example"
	assert_success
	run curl -sS --max-time 10 -H "Host: www.$app.example" "http://127.0.0.1:$ROUTER_PORT/"
	assert_output "domain page"
	run wharf_ssh domains:report "$app" --domains-app-vhosts
	assert_output "$app.$WHARF_TEST_DOMAIN www.$app.example"
	run wharf_ssh urls "$app"
	assert_output "http://$app.$WHARF_TEST_DOMAIN
http://www.$app.example"
	run wharf_ssh domains:remove "$app" "www.$app.example"
	assert_success
	run router_get "www.$app.example"
	assert_output 404
	run app_url_get "$app"
	assert_output "domain page"
	for bad in "http://x" "a..b" "x.com:80"; do
		run wharf_ssh domains:add "$app" "$bad"
		assert_failure
		assert_output --partial "invalid domain"
	done
	run wharf_ssh "domains:add $app 'a b'"
	assert_failure
}

@test "config values round-trip, unset redeploys, bad keys change nothing" {
	app=$(new_app_name)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh "config:set $app 'GREETING=hi there \"friend\" a=b'"
	assert_success
	assert_output --partial "-----> Setting config vars"
	run wharf_ssh config:get "$app" GREETING
	assert_output 'hi there "friend" a=b'
	run app_url_get "$app"
	assert_output 'greeting=hi there "friend" a=b'
	run wharf_ssh config:set "$app" 1BAD=x
	assert_failure
	assert_output --partial "invalid config key"
	run wharf_ssh config:set "$app" NOEQUALS
	assert_failure
	run wharf_ssh config:get "$app" GREETING
	assert_output 'hi there "friend" a=b'
	run wharf_ssh config:unset "$app" GREETING
	assert_success
	run app_url_get "$app"
	assert_output "greeting="
	run wharf_ssh config:get "$app" GREETING
	assert_failure
	# Every deploy and change made a release: push, set, unset.
	run jq -r '[.releases[].version] | join(",")' "$WHARF_ROOT/apps/$app/releases.json"
	assert_output "1,2,3"
}

@test "logs shows the app's output; version, help and unknown commands" {
	app=$(new_app_name)
	make_logging_app "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh logs "$app" -n 10
	assert_success
	assert_output --regexp "booting $app on port [0-9]+"
	run wharf_ssh version
	assert_output --regexp '^wharf [0-9]+\.[0-9]+\.[0-9]+$'
	run wharf_ssh help
	assert_success
	assert_output --partial "config:set"
	assert_output --partial "apps:destroy"
	run wharf_ssh config:help
	assert_output --partial "config:get"
	refute_output --partial "apps:create"
	run wharf_ssh frobnicate
	assert_failure
	assert_output --partial "frobnicate"
	run wharf logs "Bad_Name"
	assert_failure
	assert_output --partial "invalid app name"
	run wharf logs nosuchapp
	assert_failure
	assert_output --partial "does not exist"
}

@test "a push while dockerd is not reachable is refused and creates nothing" {
	app=$(new_app_name)
	down="unix://$WHARF_T/nobody-$app.sock"
	ssh-keygen -q -t ed25519 -N '' -C down -f "$TEST_TMP/down"
	# A key added while DOCKER_HOST names a socket nobody listens on: its pushes
	# reach a wharf whose Docker is down.
	DOCKER_HOST=$down run wharf ssh-keys:add down <"$TEST_TMP/down.pub"
	assert_success
	make_app_repo "$TEST_TMP/app" "never deployed"
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $TEST_TMP/down" \
		run timeout 60 git -C "$TEST_TMP/app" push "ssh://wharf@127.0.0.1:$SSH_PORT/$app" main:main
	assert_failure
	assert_output --partial " !     cannot reach Docker at $down: is dockerd running?"
	refute_output --partial "Creating"
	[ ! -e "$WHARF_ROOT/apps/$app" ]
	# An app that exists and serves: the push is rejected, the repository keeps its
	# old commit and the app keeps serving.
	app_change "$TEST_TMP/app" "deployed"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	served=$(git -C "$TEST_TMP/app" rev-parse HEAD)
	app_change "$TEST_TMP/app" "pushed while Docker is down"
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $TEST_TMP/down" \
		run timeout 60 git -C "$TEST_TMP/app" push "ssh://wharf@127.0.0.1:$SSH_PORT/$app" main:main
	assert_failure
	assert_output --partial "remote:  !     deploy of $app failed: cannot reach Docker at $down: is dockerd running?; the previous release keeps serving"
	[ "$(git -c safe.directory='*' --git-dir "$WHARF_ROOT/apps/$app/repo.git" rev-parse refs/heads/main)" = "$served" ]
	run app_url_get "$app"
	assert_output "deployed"
	run jq -r '[.releases[].version] | join(",")' "$WHARF_ROOT/apps/$app/releases.json"
	assert_output "1"
	run wharf ssh-keys:remove down
	assert_success
}

@test "config changes while dockerd is not reachable change nothing; apps:create needs no Docker" {
	app=$(new_app_name)
	down="unix://$WHARF_T/nobody-$app.sock"
	# apps:create writes only wharf's state: an admin may prepare an app before Docker runs.
	DOCKER_HOST=$down run wharf apps:create "$app-early"
	assert_success
	run wharf apps:exists "$app-early"
	assert_success
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf config:set "$app" GREETING=up
	assert_success
	cp "$WHARF_ROOT/apps/$app/app.json" "$TEST_TMP/app.json"
	cp "$WHARF_ROOT/apps/$app/releases.json" "$TEST_TMP/releases.json"
	# Each of these would redeploy: refused before anything is saved.
	for change in "config:set $app GREETING=down" "config:unset $app GREETING" \
		"config:clear $app"; do
		# shellcheck disable=SC2086 # the words of the command
		DOCKER_HOST=$down run wharf $change
		assert_failure 1
		assert_output " !     cannot reach Docker at $down: is dockerd running?"
		cmp "$TEST_TMP/app.json" "$WHARF_ROOT/apps/$app/app.json"
		cmp "$TEST_TMP/releases.json" "$WHARF_ROOT/apps/$app/releases.json"
	done
	DOCKER_HOST=$down run wharf config:import "$app" <<<'{"GREETING": "imported"}'
	assert_failure 1
	run wharf config:get "$app" GREETING
	assert_output "up"
	run app_url_get "$app"
	assert_output "greeting=up"
	# --no-restart needs no Docker: the value waits for the next deploy.
	DOCKER_HOST=$down run wharf config:set --no-restart "$app" LATER=1
	assert_success
	run wharf config:get "$app" LATER
	assert_output "1"
}

@test "an app is never left half-made: a failed repository creation removes it" {
	app=$(new_app_name)
	# A wharf binary at a path a git hook cannot carry: creating the hook fails.
	mkdir -p "$TEST_TMP/odd dir"
	cp "$WHARF_REPO/bin/wharf" "$TEST_TMP/odd dir/wharf"
	chmod 755 "$TEST_TMP" "$TEST_TMP/odd dir"
	run "$TEST_TMP/odd dir/wharf" apps:create "$app"
	assert_failure 1
	assert_output --partial " !     wharf's path '$TEST_TMP/odd dir/wharf' has characters a hook cannot carry"
	[ ! -e "$WHARF_ROOT/apps/$app" ]
	run wharf apps:exists "$app"
	assert_failure
	run wharf apps:create "$app"
	assert_success
	[ -x "$WHARF_ROOT/apps/$app/repo.git/hooks/pre-receive" ]
}

@test "every command that takes an app refuses invalid names and creates nothing" {
	# Every name of the issue is refused by valid_app_name() (tests/unit/common/
	# test_validate.c); here each command shows it asks that function: every command with
	# one bad name, every eighth with all three (each run of wharf costs a process start).
	long=$(printf 'a%.0s' $(seq 64))
	all_bad=(../x Hello "$long")
	n=0 missing=""
	for c in $(wharf help --commands | sort -u); do
		usage=$(wharf "$c" --help | head -n 1)
		case $usage in *"<app>"* | *"<old-app>"*) ;; *) continue ;; esac
		n=$((n + 1))
		bad_names=("${all_bad[@]:0:1}")
		[ $((n % 8)) -ne 1 ] || bad_names=("${all_bad[@]}")
		for bad in "${bad_names[@]}"; do
			refused=0
			# The name first, then as many other words as the command needs.
			for rest in "" "x" "K=v" "x y" "x y z"; do
				# shellcheck disable=SC2086 # rest is a list of words
				out=$(wharf "$c" "$bad" $rest 2>&1 </dev/null) &&
					missing+="$c '$bad' $rest: exit 0: $out"$'\n'
				case $out in *"invalid app name '$bad'"* | *"app name is too long"*)
					refused=1
					break ;;
				esac
			done
			[ "$refused" = 1 ] || missing+="$c '$bad': never said invalid app name: $out"$'\n'
		done
	done
	out=$(wharf --app Hello config:show 2>&1) && missing+="--app Hello config:show: exit 0"$'\n'
	case $out in *"invalid app name 'Hello'"*) ;; *) missing+="--app Hello: $out"$'\n' ;; esac
	[ -z "$missing" ] || { printf '%s' "$missing" >&2; false; }
	# Every family with apps was seen (the loop did not run empty).
	[ "$n" -ge 60 ]
	[ ! -e "$WHARF_ROOT/apps/Hello" ] && [ ! -e "$WHARF_ROOT/apps/a" ] &&
		[ ! -e "$WHARF_ROOT/apps/$long" ] && [ ! -e "$WHARF_ROOT/x" ]
}

@test "url prints the first URL; report shows every family's report of an app" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	run wharf_ssh url "$app"
	assert_success
	assert_output "http://$app.$WHARF_TEST_DOMAIN"
	run wharf_ssh domains:add "$app" "www.$app.example"
	run wharf_ssh domains:disable "$app"
	run wharf_ssh url "$app"
	assert_output "http://www.$app.example"
	run wharf_ssh domains:clear "$app"
	run wharf_ssh url "$app"
	assert_failure 1
	assert_output " !     $app has no domains: see \`wharf domains:report $app\`"
	run wharf_ssh report "$app"
	assert_success
	# Every `FAMILY:report [<app>]` of the table, in table order.
	families=$(wharf help --commands | sed -n 's/^\([a-z-]*\):report$/\1/p')
	for f in $families; do
		grep -q "^$f:report \[<app>\]" < <(wharf help "$f" | sed 's/^    //') || continue
		assert_line "=====> $app $f information"
	done
	assert_line "=====> $app checks information"
	assert_line "=====> $app ports information"
	run wharf_ssh report
	assert_success
	assert_line "=====> $app apps information"
	for bad in TestApp test_app 'test;id' 'test$cmd' test/app; do
		run wharf_ssh "report '$bad'"
		assert_failure 1
		assert_output --partial "invalid app name '$bad'"
		run wharf_ssh "url '$bad'"
		assert_failure 1
		assert_output --partial "invalid app name '$bad'"
	done
	run wharf_ssh url
	assert_failure 1
	assert_output " !     usage: wharf url <app>"
	run wharf_ssh report "$app" other
	assert_failure 1
	assert_output " !     usage: wharf report [<app>]"
}

@test "cleanup removes exited wharf containers and dangling wharf images, and says so" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "clean me"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	serving=$(app_containers "$app")
	labels=(--label wharf.managed=1 --label "wharf.root=$WHARF_ROOT" --label "wharf.app=$app")
	dead=$(docker create "${labels[@]}" --label wharf.process=web --label wharf.release=0 \
		--name "$app.web.0.dead" wharf/debian:bookworm true)
	docker start "$dead" >/dev/null
	eventually 20 test "$(docker inspect -f '{{.State.Status}}' "$dead")" = exited
	# An untagged image with wharf's labels: what a retagged failed build leaves.
	img=$(docker commit --change "LABEL wharf.managed=1" --change "LABEL wharf.root=$WHARF_ROOT" \
		--change "LABEL wharf.app=$app" "$dead")
	# Another wharf's container is not ours.
	other=$(docker create --label wharf.managed=1 --label wharf.root=/elsewhere \
		--label "wharf.app=$app" wharf/debian:bookworm true)
	docker start "$other" >/dev/null
	run wharf_ssh cleanup "$app"
	assert_success
	assert_line --index 0 "-----> Cleaning up $app"
	assert_line "       removed container ${dead:0:12} ($app.web.0.dead, exited)"
	assert_line "       removed dangling image ${img:0:19}"
	assert_line "-----> Removed 1 container and 1 image"
	[ "$(app_containers "$app")" = "$serving" ]
	run app_url_get "$app"
	assert_output "clean me"
	docker inspect "$other" >/dev/null
	docker rm -f "$other" >/dev/null
	# Every app: earlier tests may have left dangling images of their own; a second run
	# finds nothing left.
	run wharf_ssh cleanup
	assert_success
	assert_line --index 0 "-----> Cleaning up"
	assert_line --regexp "^-----> Removed [0-9]+ containers? and [0-9]+ images?$"
	run wharf_ssh cleanup
	assert_success
	assert_line "-----> Removed 0 containers and 0 images"
	run wharf_ssh cleanup "$app" extra
	assert_failure 1
	assert_output " !     usage: wharf cleanup [<app>]"
	run wharf_ssh "cleanup 'test;id'"
	assert_failure 1
	assert_output --partial "invalid app name 'test;id'"
}

@test "a bare family over ssh shows its help; COMMAND --help works for every command" {
	run wharf_ssh apps
	assert_success
	assert_line --index 0 "Usage: wharf apps[:COMMAND]"
	assert_line --index 1 "Manage apps"
	run wharf_ssh checks
	assert_success
	assert_line --index 0 "Usage: wharf checks[:COMMAND]"
	run wharf_ssh nosuchfamily
	assert_failure 1
	assert_output " !     \`nosuchfamily\` is not a wharf command; see \`wharf help\`"
	# A name wharf lacks goes to the plugins' commands first (docs/plugins.md).
	run wharf_ssh 'nosuch:thing'
	assert_failure 1
	assert_output " !     \`nosuch:thing\` is not a wharf command; see \`wharf help\`"
	# Help runs nothing, so every command's --help works over ssh, local-only ones too.
	for c in $(wharf help --commands); do
		[ "$c" = router ] && continue
		run wharf_ssh "$c" --help
		assert_success
		assert_line --index 0 --partial "Usage: wharf $c"
	done
	run wharf_ssh certs:add --help
	assert_success
	assert_line --index 0 "Usage: wharf certs:add <app> CRT-FILE KEY-FILE"
	run wharf_ssh certs:add x y z
	assert_failure 1
	assert_output " !     refused: \`certs:add\` cannot be run over ssh"
}

@test "bash completion: fixed words of the new commands; make install installs it" {
	# shellcheck disable=SC1091
	. "$WHARF_REPO/contrib/wharf-completion.bash"
	PATH=$WHARF_REPO/bin:$PATH
	COMP_WORDS=(wharf chec)
	COMP_CWORD=1
	_wharf
	[ "${COMPREPLY[*]}" = "checks:disable checks:enable checks:report checks:run checks:skip" ]
	COMP_WORDS=(wharf builder:set myapp s)
	COMP_CWORD=3
	_wharf
	[ "${COMPREPLY[*]}" = "selected" ]
	COMP_WORDS=(wharf builder:set myapp selected d)
	COMP_CWORD=4
	_wharf
	[ "${COMPREPLY[*]}" = "dockerfile" ]
	COMP_WORDS=(wharf --app myapp ports:add myapp https)
	COMP_CWORD=5
	_wharf
	[ "${COMPREPLY[*]}" = "https:443:5000" ]
	run make -s -C "$WHARF_REPO" install DESTDIR="$TEST_TMP/inst" PREFIX=/usr/local
	assert_success
	cmp "$WHARF_REPO/contrib/wharf-completion.bash" "$TEST_TMP/inst/usr/local/share/bash-completion/completions/wharf"
}

@test "Dokku's output: steps on stdout, ' !     ' errors on stderr with exit 1, locally and over ssh" {
	app=$(new_app_name)
	run --separate-stderr wharf apps:create "$app"
	assert_success
	assert_output "-----> Creating $app..."
	[ -z "$stderr" ]
	run --separate-stderr wharf apps:create Bad_Name
	assert_failure 1
	assert_output ""
	# (bats reads $stderr with `read`, which drops the leading space of " !     ".)
	[ "$stderr" = "!     invalid app name 'Bad_Name': use lowercase letters, digits, '.' and '-', starting with a letter or digit" ]
	run --separate-stderr wharf_ssh apps:create "$app"
	assert_failure 1
	assert_output ""
	[ "$stderr" = "!     app '$app' already exists" ]
	run --separate-stderr wharf_ssh domains:report "$app" --domains-app-vhosts
	assert_success
	assert_output "$app.$WHARF_TEST_DOMAIN"
	[ -z "$stderr" ]
}
