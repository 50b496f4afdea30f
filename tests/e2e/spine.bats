#!/usr/bin/env bats
# tests/e2e/spine.bats - the spine of wharf: git push over ssh builds a Dockerfile app, the
# router serves it, redeploys replace it, failures keep the old release serving.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# build_dirs APP: the temp build dirs of APP left under WHARF_ROOT/tmp (none, normally).
build_dirs() {
	find "$WHARF_ROOT/tmp" -mindepth 1 -maxdepth 1 -name "build-$1_*" 2>/dev/null
}

# deploy_ok DIR APP BODY: push DIR as APP and check the page is BODY.
deploy_ok() {
	run git_push_app "$1" "$2"
	assert_success
	assert_output --partial "=====> Application deployed:"
	run app_url_get "$2"
	assert_success
	assert_output "$3"
}

@test "push a Dockerfile app over ssh; the router serves its page" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "hello from $app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	# The steps docs/getting-started.md shows, in this order (other lines may come between).
	rev=$(git -C "$TEST_TMP/app" rev-parse HEAD | cut -c1-7)
	printf '%s\n' "-----> Creating $app..." "remote: -----> Deploying $app ($rev)" \
		"remote: -----> dockerfile app detected" "remote: -----> Building image wharf/$app:1" \
		"remote:        Step 1/6 : FROM wharf/debian:bookworm" \
		"remote: -----> Starting web container for release 1 on port PORT" \
		"remote:        default check: answered HTTP 200" \
		"remote: -----> Switching the router to ADDRESS:PORT" \
		"remote: -----> Retiring old containers" "remote: =====> Application deployed: v1" \
		"remote:        http://$app.$WHARF_TEST_DOMAIN" >"$TEST_TMP/steps"
	# (git pads each remote line with spaces when stderr is not a terminal.)
	sed -E 's/ +$//; s/port [0-9]+$/port PORT/; s/to 10\.[0-9.]+:[0-9]+$/to ADDRESS:PORT/' <<<"$output" |
		awk -v want="$TEST_TMP/steps" 'BEGIN { i = 0; n = 0; while ((getline l < want) > 0) w[n++] = l }
			i < n && $0 == w[i] { i++ } END { if (i < n) { print "missing: " w[i]; exit 1 } }' ||
		{ printf '%s\n' "$output" | cat -A >&2; false; }
	run app_url_get "$app"
	assert_success
	assert_output "hello from $app"
	run docker ps -q --filter "label=wharf.app=$app" --filter label=wharf.process=web \
		--filter "label=wharf.root=$WHARF_ROOT"
	assert_success
	[ -n "$output" ]
}

@test "pushing a change serves the new page and leaves one container" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "version one"
	deploy_ok "$TEST_TMP/app" "$app" "version one"
	app_change "$TEST_TMP/app" "version two"
	deploy_ok "$TEST_TMP/app" "$app" "version two"
	# Old containers are retired after the swap, possibly after a grace period.
	one_container() { [ "$(app_containers "$app" | wc -l)" -eq 1 ]; }
	if ! eventually 60 one_container; then
		docker ps -a --filter "label=wharf.app=$app" >&2
		false
	fi
}

@test "a failing build is rejected and the previous release keeps serving" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "good page"
	deploy_ok "$TEST_TMP/app" "$app" "good page"
	cat >"$TEST_TMP/app/Dockerfile" <<-'DOCKERFILE'
		FROM wharf/debian:bookworm
		RUN false
		COPY index.html /www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	DOCKERFILE
	app_change "$TEST_TMP/app" "broken page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "returned a non-zero code"
	assert_output --partial "; the previous release keeps serving"
	refute_output --partial "=====> Application deployed:"
	run app_url_get "$app"
	assert_success
	assert_output "good page"
	# The exported tree's temp dir is gone after the success and after the failure.
	run build_dirs "$app"
	assert_output ""
}

@test "config:set over ssh redeploys with the new environment" {
	app=$(new_app_name)
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "greeting="
	run wharf_ssh config:set "$app" GREETING=hello
	assert_success
	run app_url_get "$app"
	assert_success
	assert_output "greeting=hello"
	run wharf_ssh config:get "$app" GREETING
	assert_success
	assert_output "hello"
}

@test "a repo nothing can build is refused with a message naming the builders" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	echo "no build instructions here" >"$TEST_TMP/app/README"
	h_git_commit "$TEST_TMP/app" "no Dockerfile"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "remote:  !     deploy of $app failed: no Dockerfile found in the pushed tree; wharf can build: dockerfile (add a Dockerfile at the repo root), buildpacks (add package.json, requirements.txt, index.html or a Procfile, or name a buildpack with buildpacks:add); nothing was deployed"
	assert_output --partial "[remote rejected] main -> main (pre-receive hook declined)"
	refute_output --partial "=====> Application deployed:"
	run build_dirs "$app"
	assert_output ""
	# The push was refused: the repository did not take the commit.
	run git -c safe.directory='*' --git-dir "$WHARF_ROOT/apps/$app/repo.git" rev-parse --verify -q refs/heads/main
	assert_failure
	# A commit with an empty tree is refused the same way.
	app2=$(new_app_name empty)
	h_git_init "$TEST_TMP/empty"
	git -C "$TEST_TMP/empty" commit -q --allow-empty -m "empty tree"
	run git_push_app "$TEST_TMP/empty" "$app2"
	assert_failure
	assert_output --partial "deploy of $app2 failed: no Dockerfile found in the pushed tree; wharf can build: dockerfile"
	[ -z "$(app_containers "$app2")" ]
}

@test "pushing another branch does not deploy" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "main page"
	deploy_ok "$TEST_TMP/app" "$app" "main page"
	git -C "$TEST_TMP/app" checkout -q -b feature
	app_change "$TEST_TMP/app" "feature page"
	run git_push_app "$TEST_TMP/app" "$app" feature
	assert_success
	assert_output --partial "remote: -----> Not deploying refs/heads/feature: only the deploy branch deploys (main or master)"
	refute_output --partial "=====> Application deployed:"
	refute_output --partial "Deploying $app"
	run app_url_get "$app"
	assert_output "main page"
	# The branch is stored all the same.
	[ "$(git -c safe.directory='*' --git-dir "$WHARF_ROOT/apps/$app/repo.git" rev-parse refs/heads/feature)" = \
		"$(git -C "$TEST_TMP/app" rev-parse feature)" ]
	# Deleting the deploy branch is refused; the app keeps serving.
	GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice" \
		run timeout 60 git -C "$TEST_TMP/app" push "ssh://wharf@127.0.0.1:$SSH_PORT/$app" :main
	assert_failure
	assert_output --partial "refused: deleting the deploy branch refs/heads/main is not allowed"
	run app_url_get "$app"
	assert_output "main page"
}

@test "a push of master deploys like main" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "master page"
	git -C "$TEST_TMP/app" branch -q -m main master
	run git_push_app "$TEST_TMP/app" "$app" master
	assert_success
	assert_output --partial "remote: -----> Deploying $app ($(git -C "$TEST_TMP/app" rev-parse HEAD | cut -c1-7))"
	assert_output --partial "=====> Application deployed: v1"
	run app_url_get "$app"
	assert_output "master page"
}

@test "an empty push is harmless" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "steady page"
	deploy_ok "$TEST_TMP/app" "$app" "steady page"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "up-to-date"
	run app_url_get "$app"
	assert_success
	assert_output "steady page"
}

@test "invalid app names in the remote path are refused, for push and clone" {
	make_app_repo "$TEST_TMP/app" "should never deploy"
	long=$(printf 'a%.0s' $(seq 64))
	for name in Hello a_b ../x a/b 'a;id' "$long"; do
		run git_push_app "$TEST_TMP/app" "$name"
		assert_failure
		assert_output --partial " !     refused: '/$name' is not an app (app names use lowercase letters, digits, '.' and '-')"
		refute_output --partial "=====> Application deployed:"
		GIT_SSH_COMMAND="ssh ${SSH_OPTS[*]} -i $WHARF_KEYS/alice" \
			run timeout 60 git clone -q "ssh://wharf@127.0.0.1:$SSH_PORT/$name" "$TEST_TMP/clone"
		assert_failure
		assert_output --partial " !     refused: '/$name' is not an app"
	done
	[ ! -e "$WHARF_ROOT/apps/Hello" ]
	[ ! -e "$WHARF_ROOT/apps/a_b" ]
	[ ! -e "$WHARF_ROOT/apps/a" ]
	[ ! -e "$WHARF_ROOT/apps/$long" ]
	[ ! -e "$WHARF_ROOT/x" ]
	[ ! -e "$WHARF_T/x" ]
	run wharf apps:list
	refute_output --partial "Hello"
}

@test "the web container: labels, the app's network, PORT, config vars, restart on-failure, Init" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh config:set "$app" GREETING=shaped
	assert_success
	make_config_app_repo "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	id=$(app_containers "$app")
	[ "$(wc -l <<<"$id")" -eq 1 ]
	run docker inspect -f '{{index .Config.Labels "wharf.app"}} {{index .Config.Labels "wharf.process"}} {{index .Config.Labels "wharf.release"}} {{index .Config.Labels "wharf.managed"}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Init}}' "$id"
	assert_output "$app web 1 1 wharf-$app on-failure true"
	port=$(docker inspect -f '{{index .Config.Labels "wharf.port"}}' "$id")
	[ "$port" -ge 20000 ] && [ "$port" -le 29999 ]
	run docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id"
	assert_line "PORT=$port"
	assert_line "GREETING=shaped"
	assert_line "WHARF_APP=$app"
	assert_line "GIT_REV=$(git -C "$TEST_TMP/app" rev-parse HEAD)"
	# The router serves exactly that container's PORT at its address on the app's network.
	ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"wharf-$app\").IPAddress}}" "$id")
	run curl -sS --unix-socket "$WHARF_ROUTER_SOCKET" "http://x/apps/$app"
	assert_success
	[ "$(jq -r '.targets | join(",")' <<<"$output")" = "$ip:$port" ]
	run app_url_get "$app"
	assert_output "greeting=shaped"
	# Init: docker-init is PID 1 and the app runs under it.
	run docker exec "$id" cat /proc/1/comm
	assert_output "docker-init"
}

@test "a redeploy sends the old container SIGTERM, SIGKILL after the grace period, and removes it" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	printf 'stubborn\n' >"$TEST_TMP/app/index.html"
	# This version ignores SIGTERM: only the SIGKILL after the grace period ends it.
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		COPY index.html /www/index.html
		CMD ["/bin/sh", "-c", "trap '' TERM; busybox httpd -p \"$PORT\" -h /www; while :; do sleep 1; done"]
	EOF
	h_git_commit "$TEST_TMP/app" "ignores TERM"
	deploy_ok "$TEST_TMP/app" "$app" "stubborn"
	old=$(app_containers "$app")
	since=$(date +%s)
	make_app_repo "$TEST_TMP/app" "polite"
	deploy_ok "$TEST_TMP/app" "$app" "polite"
	# The push returns once the old container is retired.
	run docker inspect "$old"
	assert_failure
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]
	run docker events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$old" \
		--format '{{.Action}} {{index .Actor.Attributes "signal"}} {{.TimeNano}}'
	assert_success
	term=$(awk '$1 == "kill" && $2 == 15 { print $3; exit }' <<<"$output")
	kill=$(awk '$1 == "kill" && $2 == 9 { print $3; exit }' <<<"$output")
	[ -n "$term" ] && [ -n "$kill" ]
	# Docker's grace is 10 s; allow for clock granularity.
	[ $(((kill - term) / 1000000)) -ge 9500 ]
	assert_line --regexp '^destroy '
}

@test "build output reaches the pusher while the build runs" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "streamed"
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		RUN echo first-line-of-the-build && sleep 4 && echo second-line-of-the-build
		COPY index.html /www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	EOF
	h_git_commit "$TEST_TMP/app" "slow build"
	# Each line of the push's output, stamped with the time it arrived.
	git_push_app "$TEST_TMP/app" "$app" | while IFS= read -r line; do
		printf '%s %s\n' "$(date +%s%N)" "$line"
	done >"$TEST_TMP/timed"
	# (The builder's "Step 2/4 : RUN echo first-line…" line does not match.)
	first=$(sed -n 's/^\([0-9]*\) remote: *first-line-of-the-build.*/\1/p' "$TEST_TMP/timed")
	second=$(sed -n 's/^\([0-9]*\) remote: *second-line-of-the-build.*/\1/p' "$TEST_TMP/timed")
	if [ -z "$first" ] || [ -z "$second" ]; then
		cat "$TEST_TMP/timed" >&2
		false
	fi
	# The first line arrived while the RUN still slept, not with the rest at the end.
	[ $(((second - first) / 1000000)) -ge 3000 ]
	grep -q "=====> Application deployed: v1" "$TEST_TMP/timed"
}

@test "wharf speaks the daemon's API version (Debian's 1.41 as is; newer ones at 1.47)" {
	app=$(new_app_name)
	run wharf apps:create "$app"
	assert_success
	api=$(docker version --format '{{.Server.APIVersion}}')
	want=$(printf '%s\n1.47\n' "$api" | sort -t. -k1,1n -k2,2n | head -n 1)
	run wharf --trace cleanup "$app"
	assert_success
	assert_output --regexp " GET /v$want/containers/json[?].*: 200 in "
}

@test "a web process that speaks no HTTP passes the default check by staying up" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	# It accepts connections on $PORT and closes them at once: no HTTP answer.
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		CMD ["/bin/sh", "-c", "exec busybox nc -ll -p \"$PORT\" -e /bin/true"]
	EOF
	h_git_commit "$TEST_TMP/app" "no HTTP"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	assert_output --partial "remote:        default check: no HTTP answer, but up for 3 s"
	assert_output --partial "=====> Application deployed: v1"
	# One that exits at once fails the deploy instead.
	cat >"$TEST_TMP/app/Dockerfile" <<-'EOF'
		FROM wharf/debian:bookworm
		CMD ["/bin/sh", "-c", "echo giving up; exit 3"]
	EOF
	h_git_commit "$TEST_TMP/app" "exits"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "the new container exited (code 3) before it listened on PORT"
	assert_output --partial "remote:        | giving up"
	[ "$(app_containers "$app" | wc -l)" -eq 1 ]
}
