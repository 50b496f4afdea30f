#!/usr/bin/env bats
# tests/e2e/cmd_storage.bats - storage:mount/unmount/list/report (bind mounts applied to every
# later deploy, rollback and run, surviving deploys) and resource:limit/limit-clear/report
# (HostConfig.Memory and NanoCpus of deployed containers); refusals.

load lib/harness

setup() {
	harness_test_setup
}

teardown() {
	harness_test_teardown
}

# host_dir NAME: a directory the wharf user can see (TEST_TMP is root's alone), which root
# allows apps to mount.
host_dir() {
	install -d -m 0755 "$WHARF_T/host-$1"
	wharf storage:allow "$WHARF_T/host-$1" >/dev/null
	echo "$WHARF_T/host-$1"
}

@test "storage:mount binds a host dir into every later deploy, rollback and run" {
	app=$(new_app_name)
	dir=$(host_dir "$app")
	echo "from host" >"$dir/index.html"
	make_app_repo "$TEST_TMP/app" "from image"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success

	run wharf_ssh storage:mount "$app" "$dir:/www:ro"
	assert_success
	assert_output "-----> Mounting $dir:/www:ro for $app
       applies from the next deploy (ps:restart $app)"
	run wharf_ssh storage:list "$app"
	assert_success
	assert_output "=====> $app volume bind-mounts:
       $dir:/www:ro"
	run wharf_ssh storage:list "$app" --format json
	assert_output "[{\"container_path\":\"/www\",\"host_path\":\"$dir\",\"readonly\":true}]"
	run wharf_ssh storage:report "$app"
	assert_success
	assert_line --index 0 "=====> $app storage information"
	assert_line --index 1 "       Storage mounts:                $dir:/www:ro"
	assert_line --index 2 "       Storage mount count:           1"
	run wharf_ssh storage:report "$app" --storage-mount-count
	assert_output "1"
	run app_url_get "$app"
	assert_output "from image"

	run wharf_ssh ps:restart "$app"
	assert_success
	run app_url_get "$app"
	assert_output "from host"
	[ "$(docker inspect -f '{{json .HostConfig.Binds}}' "$(app_containers "$app")")" = "[\"$dir:/www:ro\"]" ]
	# A push keeps it.
	app_change "$TEST_TMP/app" "image two"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	run app_url_get "$app"
	assert_output "from host"
	# So do a rollback and a one-off container.
	run wharf_ssh releases:rollback "$app" 1
	assert_success
	run app_url_get "$app"
	assert_output "from host"
	run wharf_ssh run "$app" cat /www/index.html
	assert_success
	assert_output "from host"
	run wharf_ssh run "$app" sh -c "'echo x > /www/new'"
	assert_failure
	[ ! -e "$dir/new" ]

	run wharf_ssh storage:unmount "$app" "$dir:/www:ro"
	assert_success
	assert_output "-----> Unmounting $dir:/www:ro for $app
       applies from the next deploy (ps:restart $app)"
	run wharf_ssh storage:list "$app"
	assert_output "=====> $app volume bind-mounts:"
	run wharf_ssh ps:restart "$app"
	assert_success
	run app_url_get "$app"
	assert_output "from image"
}

@test "storage commands refuse bad mounts, bad names and missing arguments" {
	app=$(new_app_name)
	dir=$(host_dir "$app")
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh storage:mount "$app" "relative:/data"
	assert_failure 1
	assert_output " !     the host dir in 'relative:/data' must be an absolute path"
	run wharf_ssh storage:mount "$app" "$dir:data"
	assert_failure 1
	assert_output " !     the container dir in '$dir:data' must be an absolute path"
	run wharf_ssh storage:mount "$app" "$dir/../x:/data"
	assert_failure 1
	assert_output " !     the host dir in '$dir/../x:/data' must be a plain absolute path (no '.', '..', '//' or trailing '/')"
	run wharf_ssh storage:mount "$app" "$dir:/data,x"
	assert_failure 1
	assert_output " !     the container dir in '$dir:/data,x' contains a character a mount cannot carry"
	run wharf_ssh storage:mount "$app" "$dir:/data:rw"
	assert_failure 1
	assert_output " !     '$dir:/data:rw' is not HOSTDIR:CONTAINERDIR[:ro] (the only option is ro)"
	run wharf_ssh storage:mount "$app" "$dir"
	assert_failure 1
	assert_output " !     '$dir' is not HOSTDIR:CONTAINERDIR[:ro]"
	run wharf storage:mount "$app" "$dir:/da"$'\n'"ta"
	assert_failure 1
	assert_output " !     a mount cannot contain a line break"
	run wharf_ssh storage:mount "$app" "$dir-missing:/data"
	assert_failure 1
	assert_output " !     the host dir $dir-missing does not exist (or is not a directory): create it first"
	run wharf_ssh storage:mount "$app" "$dir:/data"
	assert_success
	run wharf_ssh storage:mount "$app" "$dir:/data:ro"
	assert_failure 1
	assert_output " !     $app already has a mount on /data; storage:unmount it first"
	run wharf_ssh storage:unmount "$app" "$dir:/other"
	assert_failure 1
	assert_output " !     $app has no mount $dir:/other; see \`wharf storage:list $app\`"
	run wharf_ssh storage:mount "$app"
	assert_failure 1
	assert_output " !     usage: wharf storage:mount <app> HOSTDIR:CONTAINERDIR[:ro]"
	run wharf_ssh storage:unmount
	assert_failure 1
	assert_output " !     usage: wharf storage:unmount <app> HOSTDIR:CONTAINERDIR[:ro]"
	run wharf_ssh storage:list
	assert_failure 1
	assert_output " !     usage: wharf storage:list <app> [--format json]"
	run wharf_ssh storage:mount "nosuch-$app" "$dir:/data"
	assert_failure 1
	assert_output " !     app 'nosuch-$app' does not exist"
	for bad in TestApp test_app test/app; do
		run wharf_ssh storage:mount "$bad" "$dir:/data"
		assert_failure 1
		assert_output --regexp "^ !     invalid app name '"
	done
	run wharf_ssh "storage:list 'test;id'"
	assert_failure 1
	refute_output --partial "uid="
	run wharf_ssh 'storage:list test$cmd'
	assert_failure 1
	assert_output --partial "refused: shell syntax"
	# The refusals changed nothing.
	run wharf_ssh storage:list "$app"
	assert_output "=====> $app volume bind-mounts:
       $dir:/data"
}

@test "resource:limit sets Memory and NanoCpus of the next deploy, per process type" {
	app=$(new_app_name)
	make_app_repo "$TEST_TMP/app" "limits"
	run git_push_app "$TEST_TMP/app" "$app"
	assert_success
	[ "$(docker inspect -f '{{.HostConfig.Memory}}/{{.HostConfig.NanoCpus}}' "$(app_containers "$app")")" = 0/0 ]

	run wharf_ssh resource:limit "$app" --memory 256m --cpu 0.5
	assert_success
	assert_output "-----> Setting resource limits for $app (all processes)
       memory: 256m
       cpu: 0.5
       applies from the next deploy (ps:restart $app)"
	run wharf_ssh resource:report "$app"
	assert_success
	assert_output "=====> $app resource information
       Resource limit memory:         256m
       Resource limit cpu:            0.5"
	run wharf_ssh ps:restart "$app"
	assert_success
	[ "$(docker inspect -f '{{.HostConfig.Memory}}/{{.HostConfig.NanoCpus}}' "$(app_containers "$app")")" = 268435456/500000000 ]
	# A one-off container gets them too (cgroup v2 or v1, whichever the host has).
	run wharf_ssh run "$app" sh -c "'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'"
	assert_success
	assert_output "268435456"

	# A process type's own value wins over the app's.
	run wharf_ssh resource:limit "$app" --process web --memory=128m
	assert_success
	assert_line --index 0 "-----> Setting resource limits for $app (web)"
	run wharf_ssh resource:report "$app" --resource-limit-web-memory
	assert_output "128m"
	run wharf_ssh resource:report "$app" --format json
	assert_output '{"resource-limit-cpu":"0.5","resource-limit-memory":"256m","resource-limit-web-cpu":"","resource-limit-web-memory":"128m"}'
	run wharf_ssh ps:restart "$app"
	assert_success
	[ "$(docker inspect -f '{{.HostConfig.Memory}}/{{.HostConfig.NanoCpus}}' "$(app_containers "$app")")" = 134217728/500000000 ]
	run app_url_get "$app"
	assert_output "limits"

	run wharf_ssh resource:limit-clear "$app" --process web
	assert_success
	assert_output "-----> Clearing resource limits for $app (web)
       applies from the next deploy (ps:restart $app)"
	run wharf_ssh resource:limit-clear "$app"
	assert_success
	run wharf_ssh resource:report "$app" --resource-limit-memory
	assert_output ""
	run wharf_ssh ps:restart "$app"
	assert_success
	[ "$(docker inspect -f '{{.HostConfig.Memory}}/{{.HostConfig.NanoCpus}}' "$(app_containers "$app")")" = 0/0 ]
}

@test "resource commands refuse bad values, bad names and missing arguments" {
	app=$(new_app_name)
	run wharf_ssh apps:create "$app"
	assert_success
	run wharf_ssh resource:limit "$app" --memory 5m
	assert_failure 1
	assert_output " !     memory '5m' is less than 6m, the least Docker accepts"
	run wharf_ssh resource:limit "$app" --memory 1.5g
	assert_failure 1
	assert_output " !     invalid memory '1.5g': use a whole number with an optional unit b, k, m or g (256m, 1g)"
	run wharf_ssh resource:limit "$app" --cpu 0
	assert_failure 1
	assert_output " !     cpu '0' is less than 0.01, the least Docker accepts"
	run wharf_ssh resource:limit "$app" --cpu half
	assert_failure 1
	assert_output " !     invalid cpu 'half': use a number of CPUs such as 0.5, 1 or 2"
	run wharf_ssh resource:limit "$app" --cpu 1000
	assert_failure 1
	assert_output " !     cpu '1000' is more than the $(nproc) CPUs of this host"
	run wharf_ssh resource:limit "$app"
	assert_failure 1
	assert_output " !     nothing to limit: give --memory and/or --cpu"
	run wharf_ssh resource:limit "$app" --memory
	assert_failure 1
	assert_output " !     --memory needs a value"
	run wharf_ssh resource:limit "$app" --swap 1g
	assert_failure 1
	assert_output " !     unknown flag '--swap' for resource:limit; see \`wharf resource:limit --help\`"
	run wharf_ssh resource:limit "$app" --process a.b --memory 1g
	assert_failure 1
	assert_output " !     invalid process type 'a.b'"
	run wharf_ssh resource:limit --memory 1g
	assert_failure 1
	assert_output " !     usage: wharf resource:limit <app> [--memory SIZE] [--cpu N] [--process TYPE]"
	run wharf_ssh resource:limit-clear
	assert_failure 1
	assert_output " !     usage: wharf resource:limit-clear <app> [--process TYPE]"
	for bad in TestApp test_app test/app; do
		run wharf_ssh resource:limit "$bad" --memory 1g
		assert_failure 1
		assert_output --regexp "^ !     invalid app name '"
	done
	run wharf_ssh "resource:report 'test;id'"
	assert_failure 1
	refute_output --partial "uid="
	run wharf_ssh 'resource:report test$cmd'
	assert_failure 1
	assert_output --partial "refused: shell syntax"
	run wharf_ssh resource:report "$app" --format json
	assert_output '{"resource-limit-cpu":"","resource-limit-memory":""}'
}
