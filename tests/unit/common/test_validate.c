/* test_validate.c - names from users: apps, config keys, domains, key names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common.h"

static void app_names_accepted(void **state)
{
	(void)state;
	assert_int_equal(valid_app_name("hello"), 0);
	assert_int_equal(valid_app_name("my-app.v2"), 0);
	assert_int_equal(valid_app_name("0day"), 0);
	assert_int_equal(valid_app_name("a"), 0);
}

static void app_names_refused(void **state)
{
	const char *bad[] = { "",     "Hello", "TestApp", "test_app", "a/b",      "../x",
			      "..",   "a..b",  "a;id",    "test$cmd", "test/app", "-lead",
			      ".dot", "a b",   "a\nb",    "é",        NULL };
	char long64[65];
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		err_clear();
		assert_int_equal(valid_app_name(bad[i]), -1);
		assert_non_null(strstr(err_msg(), *bad[i] ? "invalid app name" : "required"));
	}
	memset(long64, 'a', 64);
	long64[64] = '\0';
	assert_int_equal(valid_app_name(long64), -1);
	assert_non_null(strstr(err_msg(), "too long"));
	long64[63] = '\0';
	assert_int_equal(valid_app_name(long64), 0);
}

static void config_keys(void **state)
{
	(void)state;
	assert_int_equal(valid_config_key("DATABASE_URL"), 0);
	assert_int_equal(valid_config_key("_x1"), 0);
	assert_int_equal(valid_config_key("lower"), 0);
	assert_int_equal(valid_config_key("1ABC"), -1);
	assert_int_equal(valid_config_key("A-B"), -1);
	assert_int_equal(valid_config_key("A B"), -1);
	assert_int_equal(valid_config_key("A=B"), -1);
	assert_int_equal(valid_config_key(""), -1);
}

static void domains(void **state)
{
	(void)state;
	assert_int_equal(valid_domain("example.com"), 0);
	assert_int_equal(valid_domain("a-b.c.example.com"), 0);
	assert_int_equal(valid_domain("*.example.com"), 0);
	assert_int_equal(valid_domain("localhost"), 0);
	assert_int_equal(valid_domain("http://x"), -1);
	assert_int_equal(valid_domain("a b.com"), -1);
	assert_int_equal(valid_domain("x.com:80"), -1);
	assert_int_equal(valid_domain("x.com/path"), -1);
	assert_int_equal(valid_domain("-x.com"), -1);
	assert_int_equal(valid_domain("x-.com"), -1);
	assert_int_equal(valid_domain("x..com"), -1);
	assert_int_equal(valid_domain(".x.com"), -1);
	assert_int_equal(valid_domain("a.*.com"), -1);
}

static void key_names(void **state)
{
	(void)state;
	assert_int_equal(valid_key_name("alice"), 0);
	assert_int_equal(valid_key_name("alice@laptop.home"), 0);
	assert_int_equal(valid_key_name("ci_bot-2"), 0);
	assert_int_equal(valid_key_name("a\"b"), -1);
	assert_int_equal(valid_key_name("a b"), -1);
	assert_int_equal(valid_key_name("-x"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(app_names_accepted), cmocka_unit_test(app_names_refused),
		cmocka_unit_test(config_keys),        cmocka_unit_test(domains),
		cmocka_unit_test(key_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
