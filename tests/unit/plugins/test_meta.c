/* test_meta.c - plugin names, plugin.toml and plugin.json metadata, the docker-args
 * allow-list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/plugins.h"

static int toml(struct plugin_meta *m, const char *text)
{
	err_clear();
	return plugin_toml_parse(m, text, strlen(text));
}

static void names(void **state)
{
	const char *bad[] = { "", "Hello", "-x", "_x", "a/b", "a.b", "..", "a b", "é", NULL };
	int i;

	(void)state;
	assert_int_equal(plugins_valid_name("maintenance"), 0);
	assert_int_equal(plugins_valid_name("my_plugin-2"), 0);
	assert_int_equal(plugins_valid_trigger("post-deploy"), 0);
	for (i = 0; bad[i]; i++)
		assert_int_equal(plugins_valid_name(bad[i]), -1);
}

static void toml_keys(void **state)
{
	struct plugin_meta m;

	(void)state;
	assert_int_equal(toml(&m,
			      "# c\nname = \"hello\"\r\nversion='1.0' # note\n"
			      "description = \"say \\\"hi\\\"\"\nother = 5\n[t]\nname = \"no\"\n"),
			 0);
	assert_string_equal(m.name, "hello");
	assert_string_equal(m.version, "1.0");
	assert_string_equal(m.description, "say \"hi\"");
}

static void toml_refused(void **state)
{
	struct plugin_meta m;

	(void)state;
	assert_int_equal(toml(&m, "name = \"open\n"), -1);
	assert_string_equal(err_msg(), "plugin.toml line 1: unterminated string");
	assert_int_equal(toml(&m, "name = 5\n"), -1);
	assert_string_equal(err_msg(), "plugin.toml line 1: name must be a string");
	assert_int_equal(toml(&m, "\n\nwhat\n"), -1);
	assert_string_equal(err_msg(), "plugin.toml line 3: expected `key = \"value\"`");
	assert_int_equal(toml(&m, "name = \"x\" y\n"), -1);
	assert_int_equal(toml(&m, "name = \"\"\"\nx\n\"\"\"\n"), -1);
	assert_int_equal(toml(&m, "name = \"\\u0041\"\n"), -1);
}

static void json_meta(void **state)
{
	struct plugin_meta m;
	const char *ok = "{\"name\": \"j\", \"version\": \"2\", \"x\": 1}";
	const char *bad = "{\"name\": 5}";

	(void)state;
	assert_int_equal(plugin_json_parse(&m, ok, strlen(ok)), 0);
	assert_string_equal(m.name, "j");
	assert_string_equal(m.version, "2");
	assert_int_equal(plugin_json_parse(&m, bad, strlen(bad)), -1);
}

/* deployer_commands: read from the metadata, and matched as whole words of an
 * enabled plugin's list only. */
static void deployer_commands(void **state)
{
	char root[] = "/tmp/wharf-test-meta.XXXXXX", path[256];
	struct plugin_meta m;
	FILE *f;

	(void)state;
	assert_int_equal(toml(&m, "name = \"svc\"\ndeployer_commands = \"db:link db:info\"\n"), 0);
	assert_string_equal(m.deployer_commands, "db:link db:info");
	assert_non_null(mkdtemp(root));
	setenv("WHARF_ROOT", root, 1);
	snprintf(path, sizeof(path), "%s/plugins/available/svc", root);
	assert_int_equal(fs_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/plugins/available/svc/plugin.toml", root);
	assert_non_null(f = fopen(path, "w"));
	fputs("deployer_commands = \"db:link db:info\"\n", f);
	fclose(f);
	assert_int_equal(plugins_deployer_command("db:link"), 0); /* not enabled yet */
	snprintf(path, sizeof(path), "%s/plugins/enabled", root);
	assert_int_equal(fs_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/plugins/enabled/svc", root);
	assert_int_equal(symlink("../available/svc", path), 0);
	assert_int_equal(plugins_deployer_command("db:link"), 1);
	assert_int_equal(plugins_deployer_command("db:info"), 1);
	assert_int_equal(plugins_deployer_command("db:lin"), 0);
	assert_int_equal(plugins_deployer_command("db:link:x"), 0);
	assert_int_equal(plugins_deployer_command("link"), 0);
	assert_int_equal(plugins_deployer_command("db:destroy"), 0);
	assert_int_equal(plugins_deployer_command(""), 0);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
	unsetenv("WHARF_ROOT");
}

static int args(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	int ret;

	assert_non_null(j);
	err_clear();
	ret = plugins_docker_args_check(j);
	json_decref(j);
	return ret;
}

static void docker_args(void **state)
{
	(void)state;
	assert_int_equal(args("{\"HostConfig\": {\"Memory\": 1048576, \"CapDrop\": [\"ALL\"],"
			      " \"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 2}]},"
			      " \"Config\": {\"Env\": [\"A=1\"], \"Labels\": {\"team\": \"x\"}}}"),
			 0);
	assert_int_equal(args("{\"HostConfig\": {\"NetworkMode\": \"bridge\"}}"), -1);
	assert_string_equal(
		err_msg(),
		"docker args: HostConfig.NetworkMode is not allowed; see docs/plugins.md");
	assert_int_equal(args("{\"HostConfig\": {\"Binds\": [\"/:/host\"]}}"), -1);
	assert_int_equal(args("{\"HostConfig\": {\"Privileged\": true}}"), -1);
	assert_int_equal(args("{\"HostConfig\": {\"Memory\": -1}}"), -1);
	assert_string_equal(err_msg(), "docker args: HostConfig.Memory must be an integer >= 0");
	assert_int_equal(args("{\"Config\": {\"Env\": [\"PORT=1\"]}}"), -1);
	assert_int_equal(args("{\"Config\": {\"Labels\": {\"wharf.app\": \"x\"}}}"), -1);
	assert_int_equal(args("{\"Image\": \"x\"}"), -1);
	assert_int_equal(args("[]"), -1);
}

/* Nothing that gives a container the host passes the allow-list. */
static void docker_args_host_access(void **state)
{
	static const char *const refused[] = {
		"{\"HostConfig\": {\"CapAdd\": [\"SYS_ADMIN\"]}}",
		"{\"HostConfig\": {\"CapAdd\": [\"NET_RAW\"]}}",
		"{\"HostConfig\": {\"Privileged\": true}}",
		"{\"HostConfig\": {\"Devices\": [{\"PathOnHost\": \"/dev/sda\"}]}}",
		"{\"HostConfig\": {\"DeviceRequests\": []}}",
		"{\"HostConfig\": {\"PidMode\": \"host\"}}",
		"{\"HostConfig\": {\"IpcMode\": \"host\"}}",
		"{\"HostConfig\": {\"NetworkMode\": \"host\"}}",
		"{\"HostConfig\": {\"UTSMode\": \"host\"}}",
		"{\"HostConfig\": {\"UsernsMode\": \"host\"}}",
		"{\"HostConfig\": {\"CgroupnsMode\": \"host\"}}",
		"{\"HostConfig\": {\"Mounts\": []}}",
		"{\"HostConfig\": {\"VolumesFrom\": [\"x\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"seccomp=unconfined\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"seccomp:unconfined\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"apparmor=unconfined\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"apparmor:unconfined\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"label=disable\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"label:disable\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges:false\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"seccomp={}\"]}}",
		"{\"HostConfig\": {\"SecurityOpt\": [\"systempaths=unconfined\"]}}",
		"{\"HostConfig\": {\"Sysctls\": {\"kernel.x\": \"1\"}}}",
		"{\"HostConfig\": {\"CgroupParent\": \"/\"}}",
		NULL
	};
	int i;

	(void)state;
	for (i = 0; refused[i]; i++) {
		if (args(refused[i]) != -1)
			fail_msg("accepted: %s", refused[i]);
	}
	assert_int_equal(args("{\"HostConfig\": {\"CapAdd\": [\"SYS_PTRACE\"]}}"), -1);
	assert_string_equal(err_msg(),
			    "docker args: HostConfig.CapAdd is not allowed; see docs/plugins.md");
	assert_int_equal(args("{\"HostConfig\": {\"SecurityOpt\": [\"no-new-privileges\","
			      " \"no-new-privileges:true\", \"apparmor=docker-default\","
			      " \"label=type:svirt_lxc_net_t\"]}}"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(toml_keys),
		cmocka_unit_test(toml_refused),
		cmocka_unit_test(json_meta),
		cmocka_unit_test(docker_args),
		cmocka_unit_test(docker_args_host_access),
		cmocka_unit_test(deployer_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
