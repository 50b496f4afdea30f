/* test_state_env.c - the state helpers the commands added: an app's environment (global
 * config under the app's) and global domains (the list, the older single "domain"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-unit-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(root);
}

static void app_env_merges_global_under_app(void **state)
{
	json_t *g = json_pack("{s:{s:s,s:s}}", "config", "A", "global", "G", "shared");
	json_t *app = NULL, *env = NULL;

	(void)state;
	assert_int_equal(state_app_env("web", &env), -1); /* no such app */
	assert_int_equal(state_app_create("web"), 0);
	assert_int_equal(state_app_env("web", &env), 0);
	assert_int_equal(json_object_size(env), 0); /* no global.json yet */
	json_decref(env);
	assert_int_equal(state_global_save(g), 0);
	assert_int_equal(state_app_load("web", &app), 0);
	json_object_set_new(json_object_get(app, "config"), "A", json_string("app"));
	assert_int_equal(state_app_save("web", app), 0);
	assert_int_equal(state_app_env("web", &env), 0);
	assert_string_equal(json_str(env, "A", "?"), "app");
	assert_string_equal(json_str(env, "G", "?"), "shared");
	assert_int_equal(json_object_size(env), 2);
	json_decref(env);
	json_decref(app);
	json_decref(g);
}

static void global_domains_and_default_domains(void **state)
{
	json_t *g = json_pack("{s:s}", "domain", "old.test"), *list = NULL, *app = NULL, *d = NULL;

	(void)state;
	assert_int_equal(state_global_save(g), 0);
	assert_int_equal(state_global_domains(&list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "old.test");
	json_decref(list);
	json_object_set_new(g, "domains", json_pack("[s,s]", "a.test", "b.test"));
	assert_int_equal(state_global_save(g), 0);
	assert_int_equal(state_app_create("api"), 0);
	assert_int_equal(state_app_load("api", &app), 0);
	json_array_append_new(json_object_get(app, "domains"), json_string("api.a.test"));
	json_array_append_new(json_object_get(app, "domains"), json_string("www.example.com"));
	assert_int_equal(state_app_domains("api", app, &d), 0);
	assert_int_equal(json_array_size(d), 3); /* no duplicate api.a.test */
	assert_string_equal(json_string_value(json_array_get(d, 0)), "api.a.test");
	assert_string_equal(json_string_value(json_array_get(d, 1)), "api.b.test");
	assert_string_equal(json_string_value(json_array_get(d, 2)), "www.example.com");
	json_decref(d);
	json_object_set_new(app, "default_domain", json_false());
	assert_int_equal(state_app_domains("api", app, &d), 0);
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "api.a.test");
	json_decref(d);
	json_decref(app);
	json_decref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(app_env_merges_global_under_app),
		cmocka_unit_test(global_domains_and_default_domains),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
