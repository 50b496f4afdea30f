/* test_acl.c - who may run what over ssh: admins everything, deployers the app commands
 * of their granted apps, with every app word checked; the command table is the one
 * place that says which commands are whose. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "cli/cli.h"
#include "receiver/receiver.h"

static char root[] = "/tmp/wharf-test-acl.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	if (app_create("mine") < 0 || app_create("other") < 0 ||
	    receiver_acl_set_role("dora", "deployer") < 0 ||
	    receiver_acl_grant("mine", "dora", 1) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(root);
}

/* Runs the check on a space-separated command. */
static int check(const char *key, const char *cmdline, const char *app_flag)
{
	char **argv = NULL;
	json_t *acl = NULL;
	int argc = 0, ret;

	assert_int_equal(receiver_split_words(&argv, &argc, cmdline), 0);
	assert_int_equal(receiver_acl_load(&acl), 0);
	err_clear();
	ret = receiver_acl_check_command(acl, key, cli_command_access(command_find(argv[0])), argc,
					 argv, app_flag);
	receiver_words_free(argv);
	json_decref(acl);
	return ret;
}

static void admins_and_unknown_keys(void **state)
{
	(void)state;
	assert_int_equal(check("alice", "plugin:install /x", NULL), 0);
	assert_int_equal(check("alice", "apps:destroy other --force", NULL), 0);
	assert_int_equal(receiver_acl_grant("mine", "alice", 1), -1);
	assert_non_null(strstr(err_msg(), "is not a deployer"));
}

static void deployer_own_app(void **state)
{
	json_t *acl = NULL;

	(void)state;
	assert_int_equal(check("dora", "config:set mine A=1", NULL), 0);
	assert_int_equal(check("dora", "ps:restart mine", NULL), 0);
	assert_int_equal(check("dora", "config:show", "mine"), 0);
	assert_int_equal(check("dora", "help", NULL), 0);
	assert_int_equal(check("dora", "config:help", NULL), 0);
	assert_int_equal(receiver_acl_load(&acl), 0);
	assert_string_equal(receiver_acl_role(acl, "dora"), "deployer");
	assert_string_equal(receiver_acl_role(acl, "alice"), "admin");
	assert_int_equal(receiver_acl_check_app(acl, "dora", "mine"), 0);
	assert_int_equal(receiver_acl_check_app(acl, "dora", "other"), -1);
	assert_int_equal(receiver_acl_check_app(acl, "dora", "brand-new"), -1);
	json_decref(acl);
}

static void deployer_refused(void **state)
{
	(void)state;
	assert_int_equal(check("dora", "apps:destroy other --force", NULL), -1);
	assert_string_equal(err_msg(),
			    "refused: key 'dora' (deployer) has no access to app 'other'");
	/* Whichever word a command takes as its app, none may name another one. */
	assert_int_equal(check("dora", "buildpacks:add --index mine other x", NULL), -1);
	assert_int_equal(check("dora", "config:show mine", "other"), -1);
	assert_int_equal(check("dora", "config:set --global A=1", NULL), -1);
	assert_string_equal(err_msg(),
			    "refused: key 'dora' (deployer) may not change global settings");
	assert_int_equal(check("dora", "config:keys", NULL), -1);
	assert_int_equal(check("dora", "apps:create x", NULL), -1);
	assert_int_equal(check("dora", "domains:add-global x.example.com", NULL), -1);
	assert_int_equal(check("dora", "plugin:install /x", NULL), -1);
	assert_string_equal(err_msg(),
			    "refused: key 'dora' (deployer) may not run `plugin:install`; "
			    "deployers run app commands for their own apps");
	assert_int_equal(check("dora", "ssh-keys:add x", NULL), -1);
	assert_int_equal(check("dora", "events", NULL), -1);
	assert_int_equal(check("dora", "maintenance:on mine", NULL), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 0), 0);
	assert_int_equal(check("dora", "config:show mine", NULL), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 0), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 1), 0);
}

/* The table, command by command: what deployers may run is exactly this list, a
 * command the table does not mark is admin-only (a future ps:* too), and a few
 * commands never run over ssh. */
static void the_table_says_who(void **state)
{
	static const char *const deployer[] = { "apps:destroy",
						"apps:exists",
						"apps:lock",
						"apps:locked",
						"apps:report",
						"apps:unlock",
						"builder:report",
						"builder:set",
						"buildpacks:add",
						"buildpacks:clear",
						"buildpacks:list",
						"buildpacks:remove",
						"certs:report",
						"checks:disable",
						"checks:enable",
						"checks:report",
						"checks:run",
						"checks:skip",
						"config:clear",
						"config:export",
						"config:get",
						"config:import",
						"config:keys",
						"config:set",
						"config:show",
						"config:unset",
						"cron:list",
						"cron:report",
						"cron:run",
						"domains:add",
						"domains:clear",
						"domains:disable",
						"domains:enable",
						"domains:remove",
						"domains:report",
						"domains:reset",
						"domains:set",
						"git:from-image",
						"git:report",
						"git:set",
						"letsencrypt:disable",
						"letsencrypt:enable",
						"letsencrypt:report",
						"logs",
						"logs:failed",
						"logs:report",
						"logs:set",
						"ports:add",
						"ports:clear",
						"ports:list",
						"ports:remove",
						"ports:report",
						"ports:set",
						"ps:rebuild",
						"ps:restart",
						"ps:restore",
						"ps:events",
						"ps:report",
						"ps:scale",
						"ps:set",
						"ps:start",
						"ps:stats",
						"ps:stop",
						"ps:top",
						"releases",
						"releases:info",
						"releases:rollback",
						"releases:set",
						"repo:purge-cache",
						"resource:limit",
						"resource:limit-clear",
						"resource:report",
						"router:stats",
						"run",
						"urls",
						NULL };
	static const char *const local[] = { "certs:add",     "certs:remove", "cron:exec",
					     "daemon",        "git-hook",     "letsencrypt:hook",
					     "metrics:serve", "router",       "ssh-command",
					     "stack:build",   "stack:set",    NULL };
	const struct command *c;
	size_t i, n = 0;

	(void)state;
	for (i = 0; deployer[i]; i++) {
		assert_non_null(command_find(deployer[i]));
		assert_int_equal(cli_command_access(command_find(deployer[i])), ACCESS_DEPLOYER);
	}
	for (c = commands; c->name; c++)
		n += cli_command_access(c) == ACCESS_DEPLOYER;
	assert_int_equal(n, i); /* each deployer command once: no other, and no line twice */
	for (i = 0; local[i]; i++)
		assert_int_equal(cli_command_access(command_find(local[i])), ACCESS_LOCAL);
	assert_int_equal(cli_command_access(command_find("help")), ACCESS_ANYONE);
	assert_int_equal(cli_command_access(command_find("plugin:install")), ACCESS_ADMIN);
	/* The CA account's settings (server: a URL the host fetches) and revocation. */
	assert_int_equal(cli_command_access(command_find("letsencrypt:set")), ACCESS_ADMIN);
	assert_int_equal(cli_command_access(command_find("letsencrypt:revoke")), ACCESS_ADMIN);
	assert_int_equal(cli_command_access(command_find("ps:fork-bomb")), ACCESS_ADMIN);
	/* A command that is not in the table (a future one, a plugin's) is admins' only. */
	assert_int_equal(check("dora", "ps:fork-bomb mine", NULL), -1);
	assert_string_equal(err_msg(), "refused: key 'dora' (deployer) may not run `ps:fork-bomb`; "
				       "deployers run app commands for their own apps");
	assert_int_equal(check("alice", "ps:fork-bomb mine", NULL), 0);
	assert_int_equal(check("alice", "certs:add mine a b", NULL), -1);
	assert_string_equal(err_msg(), "refused: `certs:add` cannot be run over ssh");
	assert_int_equal(check("dora", "version", NULL), 0);
}

static void roles(void **state)
{
	(void)state;
	assert_int_equal(receiver_acl_set_role("x", "root"), -1);
	assert_string_equal(err_msg(), "unknown role 'root': use admin or deployer");
	assert_int_equal(receiver_acl_set_role("bad name", "admin"), -1);
	assert_int_equal(receiver_acl_set_role("eve", "deployer"), 0);
	assert_int_equal(receiver_acl_forget("eve"), 0);
	assert_int_equal(check("eve", "plugin:list", NULL), 0); /* no record: admin */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(admins_and_unknown_keys),
		cmocka_unit_test(deployer_own_app),
		cmocka_unit_test(deployer_refused),
		cmocka_unit_test(the_table_says_who),
		cmocka_unit_test(roles),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
