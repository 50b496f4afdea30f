/* test_timeout.c - which build timeouts wharf accepts (WHARF_BUILD_TIMEOUT). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "build/build.h"

static long parsed(const char *s)
{
	long secs = -1;

	assert_int_equal(build_timeout_parse(s, &secs), 0);
	return secs;
}

static void rejected(const char *s)
{
	long secs = 42;

	assert_int_equal(build_timeout_parse(s, &secs), -1);
	assert_int_equal(secs, 42);
	assert_non_null(strstr(err_msg(), "bad build timeout"));
}

static void seconds_minutes_hours(void **state)
{
	(void)state;
	assert_int_equal(parsed("1"), 1);
	assert_int_equal(parsed("90"), 90);
	assert_int_equal(parsed("90s"), 90);
	assert_int_equal(parsed("20m"), 1200);
	assert_int_equal(parsed("1h"), 3600);
	assert_int_equal(parsed("24h"), 86400);
	assert_int_equal(parsed("86400"), 86400);
}

static void bad_values(void **state)
{
	(void)state;
	rejected(NULL);
	rejected("");
	rejected("0");
	rejected("0m");
	rejected("-5");
	rejected("+5");
	rejected(" 5");
	rejected("5 ");
	rejected("5x");
	rejected("5mm");
	rejected("1.5h");
	rejected("soon");
	rejected("86401");
	rejected("25h");
	rejected("1441m");
	rejected("99999999999999999999999");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seconds_minutes_hours),
		cmocka_unit_test(bad_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
