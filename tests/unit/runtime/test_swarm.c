/* test_swarm.c - the swarm scheduler's services (SWARM.md): names of at most 63 bytes of
 * [a-zA-Z0-9-] (a hash when cut), and the ServiceSpec of a web and a worker type: labels
 * on the service and its containers, PORT from the task's slot, host networking for web,
 * the image pinned as given, limits, restart policy, log rotation and capabilities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static void names(void **state)
{
	struct buf b = BUF_INIT, c = BUF_INIT;
	char app[64];
	size_t i;

	(void)state;
	assert_int_equal(runtime_swarm_service_name(&b, "my.app", "web", 12, 1, 0xabcd), 0);
	assert_string_equal(b.buf, "wharf-my-app-web-v12b-abcd");
	assert_int_equal(runtime_swarm_service_name(&b, "a", "clock_worker", 3, 0, 0x1), 0);
	assert_string_equal(b.buf, "wharf-a-clock-worker-v3a-0001");
	/* The longest app name: cut to 63 with a hash of the whole, which tells apart two
	 * names that share the first 54 bytes. */
	memset(app, 'a', 63);
	app[63] = '\0';
	assert_int_equal(runtime_swarm_service_name(&b, app, "web", 1, 0, 0), 0);
	assert_int_equal(runtime_swarm_service_name(&c, app, "worker", 1, 0, 0), 0);
	assert_int_equal(b.len, 63);
	assert_int_equal(c.len, 63);
	assert_string_not_equal(b.buf, c.buf);
	for (i = 0; i < b.len; i++)
		assert_non_null(
			strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
			       b.buf[i]));
	buf_release(&b);
	buf_release(&c);
}

static struct deploy_req req_of(json_t *config, json_t *resources)
{
	struct deploy_req r = { 0 };

	r.app = "shop";
	r.image = "10.61.0.1:5000/wharf/shop@sha256:0123";
	r.release = 7;
	r.git_rev = "abc";
	r.config = config;
	r.resources = resources;
	r.restart_policy = "on-failure:4";
	r.log_max_size = "20m";
	return r;
}

static void web_spec(void **state)
{
	json_t *config = json_pack("{s:s}", "GREETING", "hi"),
	       *res = json_pack("{s:s, s:{s:{s:s}}}", "memory", "256m", "process", "web", "cpu",
				"0.5"),
	       *spec = NULL, *cs, *tt, *env;
	struct deploy_req r = req_of(config, res);
	char *envs;

	(void)state;
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 3, 1234, "svc"), 0);
	assert_string_equal(json_str(spec, "Name", ""), "svc");
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_object_get(spec, "Mode"), "Replicated"), "Replicas")),
		3);
	assert_string_equal(json_str(json_object_get(spec, "Labels"), "wharf.port-base", ""),
			    "1234");
	assert_string_equal(json_str(json_object_get(spec, "Labels"), "wharf.release", ""), "7");
	assert_string_equal(json_str(json_object_get(spec, "Labels"), "wharf.app", ""), "shop");
	tt = json_object_get(spec, "TaskTemplate");
	cs = json_object_get(tt, "ContainerSpec");
	assert_string_equal(json_str(cs, "Image", ""), r.image);
	assert_true(json_equal(json_object_get(cs, "Labels"), json_object_get(spec, "Labels")));
	assert_true(json_is_true(json_object_get(cs, "Init")));
	assert_null(json_object_get(cs, "Args")); /* the image's CMD */
	env = json_object_get(cs, "Env");
	envs = json_dumps(env, JSON_COMPACT);
	assert_non_null(strstr(envs, "\"PORT=1234{{.Task.Slot}}\""));
	assert_non_null(strstr(envs, "\"GREETING=hi\""));
	assert_non_null(strstr(envs, "\"WHARF_PROCESS=web\""));
	assert_non_null(strstr(envs, "\"GIT_REV=abc\""));
	free(envs);
	assert_string_equal(
		json_str(json_array_get(json_object_get(tt, "Networks"), 0), "Target", ""), "host");
	assert_string_equal(json_str(json_object_get(tt, "RestartPolicy"), "Condition", ""),
			    "on-failure");
	assert_int_equal(json_int(json_object_get(tt, "RestartPolicy"), "MaxAttempts", 0), 4);
	assert_int_equal(json_int(json_object_get(json_object_get(tt, "Resources"), "Limits"),
				  "MemoryBytes", 0),
			 256LL << 20);
	assert_int_equal(json_int(json_object_get(json_object_get(tt, "Resources"), "Limits"),
				  "NanoCPUs", 0),
			 500000000LL);
	assert_string_equal(json_str(json_object_get(json_object_get(tt, "LogDriver"), "Options"),
				     "max-size", ""),
			    "20m");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(cs, "CapabilityDrop"), 0)), "ALL");
	json_decref(spec);
	json_decref(config);
	json_decref(res);
}

static void worker_spec(void **state)
{
	json_t *config = json_object(), *cmd = json_pack("[s,s]", "run", "worker"), *spec = NULL;
	struct deploy_req r = req_of(config, NULL);
	json_t *cs;
	char *envs;

	(void)state;
	r.restart_policy = "no";
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "worker", cmd, 2, 0, "w"), 0);
	cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	assert_true(json_equal(json_object_get(cs, "Args"), cmd));
	assert_null(json_object_get(json_object_get(spec, "Labels"), "wharf.port-base"));
	envs = json_dumps(json_object_get(cs, "Env"), JSON_COMPACT);
	assert_null(strstr(envs, "PORT="));
	free(envs);
	assert_string_equal(
		json_str(json_object_get(json_object_get(spec, "TaskTemplate"), "RestartPolicy"),
			 "Condition", ""),
		"none");
	json_decref(spec);
	/* A restart policy that is none of Docker's is refused. */
	r.restart_policy = "sometimes";
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "worker", cmd, 2, 0, "w"), -1);
	assert_null(spec);
	json_decref(config);
	json_decref(cmd);
}

/* storage:mount's binds are bind mounts of the task's node; docker-args-deploy's options
 * go where Swarm's spec has them (wharf's own settings win), the others are refused by
 * name. */
static void mounts_and_docker_args(void **state)
{
	const char *binds[] = { "/srv/data:/data", "/srv/conf:/etc/app:ro", NULL };
	json_t *config = json_object(), *res = json_pack("{s:s}", "memory", "256m"), *spec = NULL;
	json_t *extra = json_pack(
		"{s:{s:[s], s:{s:s}, s:s, s:s}, s:{s:I, s:I, s:b, s:[{s:s,s:i,s:i}], s:[s], s:I, "
		"s:[s]}}",
		"Config", "Env", "FROM_PLUGIN=1", "Labels", "team", "ops", "User", "1000",
		"WorkingDir", "/app", "HostConfig", "Memory", (json_int_t)1 << 30, "NanoCpus",
		(json_int_t)250000000, "ReadonlyRootfs", 1, "Ulimits", "Name", "nofile", "Soft",
		1024, "Hard", 2048, "ExtraHosts", "db.internal:10.0.0.5", "PidsLimit",
		(json_int_t)99999, "CapDrop", "NET_RAW");
	struct deploy_req r = req_of(config, res);
	json_t *cs, *limits, *m;
	char *envs;

	(void)state;
	r.binds = binds;
	r.extra = extra;
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 1, 1234, "svc"), 0);
	cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	limits = json_object_get(
		json_object_get(json_object_get(spec, "TaskTemplate"), "Resources"), "Limits");
	m = json_array_get(json_object_get(cs, "Mounts"), 0);
	assert_string_equal(json_str(m, "Type", ""), "bind");
	assert_string_equal(json_str(m, "Source", ""), "/srv/data");
	assert_string_equal(json_str(m, "Target", ""), "/data");
	assert_true(json_is_false(json_object_get(m, "ReadOnly")));
	m = json_array_get(json_object_get(cs, "Mounts"), 1);
	assert_string_equal(json_str(m, "Source", ""), "/srv/conf");
	assert_string_equal(json_str(m, "Target", ""), "/etc/app");
	assert_true(json_is_true(json_object_get(m, "ReadOnly")));
	envs = json_dumps(json_object_get(cs, "Env"), JSON_COMPACT);
	assert_non_null(strstr(envs, "\"FROM_PLUGIN=1\""));
	assert_non_null(strstr(envs, "\"PORT=1234{{.Task.Slot}}\""));
	free(envs);
	assert_string_equal(json_str(json_object_get(cs, "Labels"), "team", ""), "ops");
	assert_string_equal(json_str(json_object_get(cs, "Labels"), "wharf.app", ""), "shop");
	assert_string_equal(json_str(cs, "User", ""), "1000");
	assert_string_equal(json_str(cs, "Dir", ""), "/app");
	assert_true(json_is_true(json_object_get(cs, "ReadOnly")));
	assert_string_equal(json_str(json_array_get(json_object_get(cs, "Ulimits"), 0), "Name", ""),
			    "nofile");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Hosts"), 0)),
			    "10.0.0.5 db.internal");
	/* resource:limit over the plugin's memory; the plugin's CPU where wharf has none;
	 * wharf's pids limit and capabilities stay. */
	assert_int_equal(json_int(limits, "MemoryBytes", 0), 256LL << 20);
	assert_int_equal(json_int(limits, "NanoCPUs", 0), 250000000LL);
	assert_int_equal(json_int(limits, "Pids", 0), 512);
	assert_int_equal(json_array_size(json_object_get(cs, "CapabilityDrop")), 1);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(cs, "CapabilityDrop"), 0)), "ALL");
	json_decref(spec);
	json_decref(extra);
	/* What Swarm's spec cannot say fails the deploy, naming the option. */
	extra = json_pack("{s:{s:I}}", "HostConfig", "MemorySwap", (json_int_t)1 << 30);
	r.extra = extra;
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 1, 1234, "svc"), -1);
	assert_null(spec);
	assert_non_null(strstr(err_msg(), "HostConfig.MemorySwap cannot apply to a swarm task"));
	json_decref(extra);
	extra = json_pack("{s:{s:[s]}}", "HostConfig", "Dns", "1.1.1.1");
	r.extra = extra;
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 1, 1234, "svc"), -1);
	assert_non_null(strstr(err_msg(), "HostConfig.Dns"));
	err_clear();
	json_decref(extra);
	json_decref(config);
	json_decref(res);
}

/* A task runs its command under setpriv --no-new-privs: the image's Entrypoint after it,
 * the process type's command (or the image's Cmd, which an explicit Entrypoint drops) as
 * Args. */
static void nnp_spec(void **state)
{
	json_t *config = json_object(), *spec = NULL, *cs,
	       *img = json_pack("{s:[s], s:[s,s]}", "Entrypoint", "/start", "Cmd", "web", "--fast"),
	       *cmd = json_pack("[s,s]", "bin/worker", "-v"), *want;
	struct deploy_req r = req_of(config, NULL);

	(void)state;
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 1, 1234, "s"), 0);
	assert_int_equal(runtime_swarm_spec_nnp(spec, img), 0);
	cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	want = json_pack("[s,s,s,s]", SWARM_SETPRIV, "--no-new-privs", "--", "/start");
	assert_true(json_equal(json_object_get(cs, "Command"), want));
	json_decref(want);
	want = json_pack("[s,s]", "web", "--fast");
	assert_true(json_equal(json_object_get(cs, "Args"), want));
	json_decref(want);
	json_decref(spec);
	/* A Procfile command stays the Args; no Entrypoint: setpriv runs it directly. */
	json_object_del(img, "Entrypoint");
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "worker", cmd, 1, 0, "w"), 0);
	assert_int_equal(runtime_swarm_spec_nnp(spec, img), 0);
	cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	assert_int_equal(json_array_size(json_object_get(cs, "Command")), 3);
	assert_true(json_equal(json_object_get(cs, "Args"), cmd));
	json_decref(spec);
	/* Nothing to run, or an Entrypoint that is not strings: refused. */
	json_object_del(img, "Cmd");
	assert_int_equal(runtime_swarm_service_spec(&spec, &r, "web", NULL, 1, 1234, "s"), 0);
	assert_int_equal(runtime_swarm_spec_nnp(spec, img), -1);
	assert_non_null(strstr(err_msg(), "no command"));
	json_object_set_new(img, "Entrypoint", json_pack("[i]", 3));
	assert_int_equal(runtime_swarm_spec_nnp(spec, img), -1);
	assert_non_null(strstr(err_msg(), "not a list of strings"));
	json_decref(spec);
	json_decref(img);
	json_decref(cmd);
	json_decref(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),       cmocka_unit_test(web_spec),
		cmocka_unit_test(worker_spec), cmocka_unit_test(mounts_and_docker_args),
		cmocka_unit_test(nnp_spec),
	};
	setenv("WHARF_ROOT", "/nonexistent/wharf-unit", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
