/* test_state.c - app state files: create, load, save, list, domains, atomic writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/root.h"

static void create_load_save(void **state)
{
	json_t *app = NULL, *list = NULL;

	(void)state;
	assert_int_equal(app_exists("web"), 0);
	assert_int_equal(app_create("web"), 0);
	assert_int_equal(app_create("web"), -1);
	assert_non_null(strstr(err_msg(), "already exists"));
	assert_int_equal(app_create("Bad"), -1);
	assert_int_equal(app_load("web", &app), 0);
	json_object_set_new(json_object_get(app, "config"), "K", json_string("a b=\"c\"\nd"));
	assert_int_equal(app_save("web", app), 0);
	json_decref(app);
	assert_int_equal(app_load("web", &app), 0);
	assert_string_equal(json_str(json_object_get(app, "config"), "K", ""), "a b=\"c\"\nd");
	json_decref(app);
	assert_int_equal(app_load("nope", &app), -1);
	assert_non_null(strstr(err_msg(), "does not exist"));
	assert_int_equal(app_create("api"), 0);
	assert_int_equal(app_list(&list), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "api");
	json_decref(list);
	/* One app as given (not looked up), or every app. */
	assert_int_equal(app_list_or_one("only", &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "only");
	json_decref(list);
	assert_int_equal(app_list_or_one(NULL, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
}

static void domains_follow_global(void **state)
{
	json_t *app = NULL, *g = json_object(), *d = NULL;

	(void)state;
	assert_int_equal(app_create("dom"), 0);
	json_object_set_new(g, "domain", json_string("example.com"));
	assert_int_equal(app_global_save(g), 0);
	assert_int_equal(app_load("dom", &app), 0);
	json_array_append_new(json_object_get(app, "domains"), json_string("www.dom.io"));
	assert_int_equal(app_domains("dom", app, &d), 0);
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "dom.example.com");
	assert_string_equal(json_string_value(json_array_get(d, 1)), "www.dom.io");
	json_decref(d);
	json_decref(app);
	json_decref(g);
}

static void releases_and_bad_json(void **state)
{
	json_t *r = NULL;
	struct buf p = BUF_INIT;

	(void)state;
	assert_int_equal(app_create("rel"), 0);
	assert_int_equal(app_releases_load("rel", &r), 0);
	assert_null(app_release_current(r));
	json_array_append_new(json_object_get(r, "releases"), json_pack("{s:i}", "version", 1));
	json_array_append_new(json_object_get(r, "releases"), json_pack("{s:i}", "version", 2));
	assert_int_equal(app_releases_save("rel", r), 0);
	json_decref(r);
	assert_int_equal(app_releases_load("rel", &r), 0);
	assert_int_equal(json_int(app_release_current(r), "version", 0), 2);
	json_decref(r);
	/* A corrupt file is an error with the path, never silently empty. */
	wharf_app_path(&p, "rel", "releases.json");
	assert_int_equal(fs_write_atomic(p.buf, "{nope", 5, 0644), 0);
	assert_int_equal(app_releases_load("rel", &r), -1);
	assert_non_null(strstr(err_msg(), "not valid JSON"));
	buf_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_load_save),
		cmocka_unit_test(domains_follow_global),
		cmocka_unit_test(releases_and_bad_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
