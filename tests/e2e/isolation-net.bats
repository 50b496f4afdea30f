#!/usr/bin/env bats
# tests/e2e/isolation-net.bats - issue 12, containers and networks: from inside an app
# container (`wharf run`, a pushed app's web process), a Dockerfile RUN step and a buildpack
# build, the attacks of the issue are made for real (tests/e2e/lib/netprobe.py) and must
# fail: capturing another app's traffic, reaching the host's loopback services, another
# app's container, dockerd, the router's control socket, wharf's state or the internet,
# holding the host's ports. Containers drop their capabilities, gain no privileges, have a
# pids limit and rotated logs; buildpack apps run unprivileged, Dockerfile apps keep USER.

load lib/harness

setup_file() {
	# shellcheck disable=SC1091
	. "$WHARF_T/env"
	h_stack_image || return 1
	NI=$WHARF_T/netiso
	mkdir -p "$NI"
	chmod 755 "$NI"
	# A service on the host's loopback (as dockerd on 2375 or a database would be).
	HOST_PORT=$(free_port)
	mkdir -p "$NI/www"
	echo "HOST-SECRET-$$" >"$NI/www/index.html"
	busybox httpd -f -p "127.0.0.1:$HOST_PORT" -h "$NI/www" 3>&- &
	echo $! >"$NI/httpd.pid"
	echo "$HOST_PORT" >"$NI/host_port"
	# The victim: another app, whose traffic carries a secret cookie.
	VICTIM=iso-victim-$$
	h_git_init "$NI/victim"
	cat >"$NI/victim/Dockerfile" <<-'DF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo victim >/www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	DF
	h_git_commit "$NI/victim" victim
	git_push_app "$NI/victim" "$VICTIM" >"$NI/victim.log" 2>&1 || { cat "$NI/victim.log" >&2; return 1; }
	echo "$VICTIM" >"$NI/victim_name"
}

teardown_file() {
	[ -z "${WHARF_T:-}" ] || kill "$(cat "$WHARF_T/netiso/httpd.pid" 2>/dev/null)" 2>/dev/null || true
}

setup() {
	harness_test_setup
	chmod 755 "$TEST_TMP"
	NI=$WHARF_T/netiso
	VICTIM=$(cat "$NI/victim_name")
	HOST_PORT=$(cat "$NI/host_port")
	victim_id=$(docker ps -q --filter "label=wharf.app=$VICTIM" --filter label=wharf.process=web \
		--filter "label=wharf.root=$WHARF_ROOT" | head -n 1)
	VICTIM_IP=$(docker inspect -f "{{(index .NetworkSettings.Networks \"wharf-$VICTIM\").IPAddress}}" "$victim_id")
	VICTIM_PORT=$(docker inspect -f '{{index .Config.Labels "wharf.port"}}' "$victim_id")
	BIND_PORT=$(free_port)
}

teardown() {
	[ -z "${LOAD_PID:-}" ] || kill "$LOAD_PID" 2>/dev/null || true
	harness_test_teardown
}

# probe_files DIR: the probe and its targets into DIR.
probe_files() {
	cp "$WHARF_REPO/tests/e2e/lib/netprobe.py" "$1/netprobe.py"
	jq -n --arg secret "cookie-secret-$$" --arg hs "HOST-SECRET-$$" --argjson hp "$HOST_PORT" \
		--arg vip "$VICTIM_IP" --argjson vp "$VICTIM_PORT" --argjson bp "$BIND_PORT" \
		--arg ds "${DOCKER_HOST#unix://}" --arg rs "$WHARF_ROUTER_SOCKET" --arg st "$WHARF_ROOT" \
		'{secret: $secret, host_secret: $hs, host_port: $hp, victim_ip: $vip, victim_port: $vp,
		  bind_port: $bp, egress_ip: "203.0.113.80", docker_sock: $ds, router_sock: $rs,
		  state: $st, capture_s: 4}' >"$1/netprobe.json"
}

# load_victim: requests with the secret cookie to the victim, through the router, until killed.
load_victim() {
	(while :; do
		curl -s -o /dev/null --max-time 2 -H "Host: $VICTIM.$WHARF_TEST_DOMAIN" \
			-H "Cookie: s=cookie-secret-$$" "http://127.0.0.1:$ROUTER_PORT/"
		sleep 0.05
	done) 3>&- &
	LOAD_PID=$!
}

# assert_isolated: what every probe output must show.
assert_isolated() {
	assert_output --partial "probe host_loopback=blocked"
	assert_output --partial "probe victim=blocked"
	assert_output --partial "probe egress=blocked"
	assert_output --partial "probe docker_sock=absent"
	assert_output --partial "probe docker_sock_default=absent"
	assert_output --partial "probe router_sock=absent"
	assert_output --partial "probe state=absent"
	refute_output --partial "=LEAKED"
	refute_output --partial "=REACHED"
	refute_output --partial "=PRESENT"
	# The victim's traffic is still served (the probe did not disturb it).
	[ "$(app_url_get "$VICTIM")" = victim ]
}

# assert_proxy_refuses: a build's egress proxy was there and refused the host's loopback,
# the victim and the metadata address (docs/security.md, Builds).
assert_proxy_refuses() {
	assert_output --partial "probe proxy_loopback=refused(403)"
	assert_output --partial "probe proxy_victim=refused(403)"
	assert_output --partial "probe proxy_metadata=refused(403)"
}

make_stack_app() {
	h_git_init "$1"
	probe_files "$1"
	cat >"$1/Dockerfile" <<-'DF'
		FROM wharf/stack:bookworm
		COPY netprobe.py netprobe.json /probe/
		RUN mkdir -p /www && echo app >/www/index.html
		CMD ["/bin/sh", "-c", "python3 /probe/netprobe.py hold 3600 >/www/probe.txt 2>&1 & exec busybox httpd -f -p \"$PORT\" -h /www"]
	DF
	h_git_commit "$1" "stack app"
}

@test "a one-off container (wharf run): no capture, no host loopback, no other app, no dockerd, router or state, no egress" {
	app=$(new_app_name)
	make_stack_app "$TEST_TMP/app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	load_victim
	run wharf_ssh run "$app" python3 /probe/netprobe.py
	echo "$output"
	assert_success
	# No raw sockets at all: NET_RAW is dropped.
	assert_output --partial "probe capture=blocked(Operation not permitted)"
	assert_isolated
	# Capabilities: only CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID (0xfb) are
	# left in the bounding set (no NET_RAW, no NET_BIND_SERVICE), and no new privileges.
	assert_output --partial "probe CapBnd=00000000000000fb"
	assert_output --partial "probe NoNewPrivs=1"
}

@test "a pushed app's web process: the same attacks fail; the ports it binds are its own, not the host's" {
	app=$(new_app_name)
	make_stack_app "$TEST_TMP/app"
	load_victim
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	eventually 30 bash -c "app_url_get $app probe.txt | grep -q 'probe uid='" ||
		eventually 30 bash -c "curl -s -H 'Host: $app.$WHARF_TEST_DOMAIN' http://127.0.0.1:$ROUTER_PORT/probe.txt | grep -q 'probe uid='"
	run curl -s -H "Host: $app.$WHARF_TEST_DOMAIN" "http://127.0.0.1:$ROUTER_PORT/probe.txt"
	echo "$output"
	assert_output --partial "probe capture=blocked(Operation not permitted)"
	assert_output --partial "probe bind_443=own-namespace"
	assert_output --partial "probe bind_80=own-namespace"
	assert_output --partial "probe bind_$BIND_PORT=own-namespace"
	assert_isolated
	# The app holds BIND_PORT in its namespace; on the host nothing listens there.
	run curl -s --max-time 3 "http://127.0.0.1:$BIND_PORT/"
	assert_failure
	run bash -c "ss -Hltn 'sport = :$BIND_PORT' | wc -l"
	assert_output 0
	# The router reaches the app at its address on the app's own network.
	run curl -s --unix-socket "$WHARF_ROUTER_SOCKET" "http://x/apps/$app"
	assert_output --regexp '"targets":\["10\.[0-9.]+:[0-9]+"\]'
	id=$(docker ps -q --filter "label=wharf.app=$app" --filter label=wharf.process=web --filter "label=wharf.root=$WHARF_ROOT")
	run docker inspect -f '{{.HostConfig.NetworkMode}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.PidsLimit}} {{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$id"
	assert_output "wharf-$app [ALL] [no-new-privileges] 512 json-file 10m 3"
	run docker network inspect -f '{{.Internal}} {{.Driver}}' "wharf-$app"
	assert_output "true bridge"
}

@test "a Dockerfile RUN step: on the app's network, not the host's; sees none of another app's traffic" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	probe_files "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'DF'
		FROM wharf/stack:bookworm
		COPY netprobe.py netprobe.json /probe/
		RUN python3 /probe/netprobe.py
		RUN mkdir -p /www && echo app >/www/index.html
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	DF
	h_git_commit "$TEST_TMP/app" "run-step probe"
	load_victim
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_success
	# Docker's legacy builder gives RUN steps its default capabilities (NET_RAW among
	# them), but on the app's own network a capture holds nothing of another app's.
	assert_output --regexp "probe capture=(clean|blocked)"
	assert_output --partial "probe bind_$BIND_PORT=own-namespace"
	assert_isolated
	assert_proxy_refuses
}

@test "a buildpack build: the builder is on the app's network, unprivileged, with no route to other apps or the host" {
	app=$(new_app_name)
	bp=$TEST_TMP/bp
	h_git_init "$bp"
	mkdir -p "$bp/bin"
	probe_files "$bp"
	printf '#!/bin/sh\necho Prober\n' >"$bp/bin/detect"
	cat >"$bp/bin/compile" <<-'EOF'
		#!/bin/sh
		here=$(cd "$(dirname "$0")/.." && pwd)
		python3 "$here/netprobe.py"
		mkdir -p "$1/www" && echo built >"$1/www/index.html"
	EOF
	cat >"$bp/bin/release" <<-'EOF'
		#!/bin/sh
		printf -- '---\ndefault_process_types:\n  web: exec busybox httpd -f -p "$PORT" -h /app/www\n'
	EOF
	chmod +x "$bp"/bin/*
	h_git_commit "$bp" "prober buildpack"
	chown -R wharf "$bp"
	h_git_init "$TEST_TMP/app"
	echo "an app for the prober" >"$TEST_TMP/app/README"
	h_git_commit "$TEST_TMP/app" "app"
	run wharf apps:create "$app"
	run wharf buildpacks:add "$app" "$bp"
	assert_success
	load_victim
	run git_push_app "$TEST_TMP/app" "$app"
	echo "$output"
	assert_success
	# The build user has no capabilities at all; the builder's bounding set is the app's.
	assert_output --partial "probe capture=blocked(Operation not permitted)"
	assert_output --partial "probe CapEff=0000000000000000"
	assert_output --partial "probe CapBnd=00000000000000fb"
	assert_output --partial "probe NoNewPrivs=1"
	assert_isolated
	assert_proxy_refuses
	# The app runs as the stack's unprivileged user and reads what the build made.
	run app_url_get "$app"
	assert_output built
	run wharf_ssh run "$app" id -u
	assert_output 10001
	# It may write to /tmp, not to what the build made in /app.
	run wharf_ssh run "$app" touch /tmp/x
	assert_success
	run wharf_ssh run "$app" touch /app/www/index.html
	assert_failure
	assert_output --partial "Permission denied"
}

@test "a Dockerfile app keeps its USER; every container of an app is on its network and no other" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'DF'
		FROM wharf/debian:bookworm
		RUN mkdir -p /www && echo user >/www/index.html
		USER nobody
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /www"]
	DF
	h_git_commit "$TEST_TMP/app" "user app"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run wharf_ssh run "$app" id -un
	assert_output nobody
	run app_url_get "$app"
	assert_output user
	# The victim's network holds the victim alone (and the host's bridge address).
	run docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "wharf-$VICTIM"
	refute_output --partial "$app"
	# apps:destroy takes the network with the app.
	run wharf apps:destroy "$app" --force
	assert_success
	run docker network inspect "wharf-$app"
	assert_failure
}

@test "builds are held to WHARF_BUILD_TIMEOUT and WHARF_BUILD_MAX_SIZE" {
	app=$(new_app_name)
	h_git_init "$TEST_TMP/app"
	cat >"$TEST_TMP/app/Dockerfile" <<-'DF'
		FROM wharf/debian:bookworm
		RUN sleep 30
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /"]
	DF
	h_git_commit "$TEST_TMP/app" "slow"
	run wharf apps:create "$app"
	run wharf config:set --no-restart "$app" WHARF_BUILD_TIMEOUT=5
	assert_success
	start=$SECONDS
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --partial "the build took longer than 5 s (the app's WHARF_BUILD_TIMEOUT) and was stopped"
	[ $((SECONDS - start)) -lt 25 ]
	# The killed RUN step left no container behind (its sleep would run for 25 s more).
	no_sleeper() { ! docker ps --no-trunc --format '{{.Command}}' | grep -q 'sleep 30'; }
	eventually 15 no_sleeper
	run wharf config:set --no-restart "$app" WHARF_BUILD_TIMEOUT=60 WHARF_BUILD_MAX_SIZE=1m
	assert_success
	cat >"$TEST_TMP/app/Dockerfile" <<-'DF'
		FROM wharf/debian:bookworm
		RUN head -c 3000000 /dev/urandom >/big
		CMD ["/bin/sh", "-c", "exec busybox httpd -f -p \"$PORT\" -h /"]
	DF
	h_git_commit "$TEST_TMP/app" "big"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_failure
	assert_output --regexp "the image is [0-9]+ MB, over the limit of 1 MB \(the app's WHARF_BUILD_MAX_SIZE\)"
	run docker image ls -q "wharf/$app"
	assert_output ""
}
