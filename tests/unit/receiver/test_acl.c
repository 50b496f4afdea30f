/* test_acl.c - who may run what over ssh: admins everything, deployers the app commands
 * of their granted apps, with every app word checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "receiver/receiver.h"

static char root[] = "/tmp/wharf-test-acl.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	if (app_create("mine") < 0 || app_create("other") < 0 ||
	    receiver_acl_set_role("dora", "deployer") < 0 || receiver_acl_grant("mine", "dora", 1) < 0)
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
	ret = receiver_acl_check_command(acl, key, argc, argv, app_flag);
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
	assert_string_equal(err_msg(), "refused: key 'dora' (deployer) has no access to app 'other'");
	/* Whichever word a command takes as its app, none may name another one. */
	assert_int_equal(check("dora", "buildpacks:add --index mine other x", NULL), -1);
	assert_int_equal(check("dora", "config:show mine", "other"), -1);
	assert_int_equal(check("dora", "config:set --global A=1", NULL), -1);
	assert_string_equal(err_msg(), "refused: key 'dora' (deployer) may not change global settings");
	assert_int_equal(check("dora", "config:keys", NULL), -1);
	assert_int_equal(check("dora", "apps:create x", NULL), -1);
	assert_int_equal(check("dora", "domains:add-global x.example.com", NULL), -1);
	assert_int_equal(check("dora", "plugin:install /x", NULL), -1);
	assert_string_equal(err_msg(), "refused: key 'dora' (deployer) may not run `plugin:install`; "
				       "deployers run app commands for their own apps");
	assert_int_equal(check("dora", "ssh-keys:add x", NULL), -1);
	assert_int_equal(check("dora", "events", NULL), -1);
	assert_int_equal(check("dora", "maintenance:on mine", NULL), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 0), 0);
	assert_int_equal(check("dora", "config:show mine", NULL), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 0), -1);
	assert_int_equal(receiver_acl_grant("mine", "dora", 1), 0);
}

static void roles(void **state)
{
	(void)state;
	assert_int_equal(receiver_acl_set_role("x", "root"), -1);
	assert_string_equal(err_msg(), "unknown role 'root': use admin or deployer");
	assert_int_equal(receiver_acl_set_role("bad name", "admin"), -1);
	assert_int_equal(receiver_acl_set_role("eve", "deployer"), 0);
	assert_int_equal(receiver_acl_forget("eve"), 0);
	assert_int_equal(check("eve", "plugin:list", NULL), 0);    /* no record: admin */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(admins_and_unknown_keys),
		cmocka_unit_test(deployer_own_app),
		cmocka_unit_test(deployer_refused),
		cmocka_unit_test(roles),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
