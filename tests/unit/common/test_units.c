/* test_units.c - sizes, durations and times as users type them: the one size
 * parser every part uses, logs --since's durations and timestamps, and the
 * bounds logs:set puts on rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common.h"
#include "deploy/deploy.h"

static void sizes(void **state)
{
	long long b = -1;

	(void)state;
	assert_int_equal(size_parse("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(size_parse("512", &b), 0);
	assert_int_equal(b, 512);
	assert_int_equal(size_parse("512b", &b), 0);
	assert_int_equal(b, 512);
	assert_int_equal(size_parse("10k", &b), 0);
	assert_int_equal(b, 10240);
	assert_int_equal(size_parse("20m", &b), 0);
	assert_int_equal(b, 20LL << 20);
	assert_int_equal(size_parse("20MB", &b), 0);
	assert_int_equal(b, 20LL << 20);
	assert_int_equal(size_parse("2G", &b), 0);
	assert_int_equal(b, 2LL << 30);
	assert_int_equal(size_parse("1048576g", &b), 0);
	assert_int_equal(b, 1LL << 50);
}

static void size_refusals(void **state)
{
	const char *bad[] = { "",    "m",   "-1m", "1.5g", "20 m", "20t",  "20mm", "20bb",
			      "0x1", " 1m", "1m ", "+1",   "1mbb", "1kib", NULL };
	const char **p;
	long long b = 1;

	(void)state;
	for (p = bad; *p; p++) {
		assert_int_equal(size_parse(*p, &b), -1);
		assert_int_equal(b, 0);
		assert_non_null(strstr(err_msg(), "invalid size"));
	}
	assert_int_equal(size_parse(NULL, &b), -1);
	assert_int_equal(size_parse("1048577g", &b), -1);
	assert_non_null(strstr(err_msg(), "too large"));
	assert_int_equal(size_parse("99999999999999999", &b), -1);
}

static void size_formats(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	size_format(&b, 512);
	assert_string_equal(b.buf, "512B");
	buf_reset(&b);
	size_format(&b, 1536);
	assert_string_equal(b.buf, "1.50KiB");
	buf_reset(&b);
	size_format(&b, 20LL << 30);
	assert_string_equal(b.buf, "20.0GiB");
	buf_reset(&b);
	size_format(&b, 300LL << 20);
	assert_string_equal(b.buf, "300MiB");
	buf_release(&b);
}

static void durations(void **state)
{
	long long s = -1;

	(void)state;
	assert_int_equal(duration_parse("90s", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(duration_parse("10m", &s), 0);
	assert_int_equal(s, 600);
	assert_int_equal(duration_parse("1h30m", &s), 0);
	assert_int_equal(s, 5400);
	assert_int_equal(duration_parse("2d", &s), 0);
	assert_int_equal(s, 172800);
	assert_int_equal(duration_parse("", &s), -1);
	assert_int_equal(duration_parse("10", &s), -1);
	assert_int_equal(duration_parse("10x", &s), -1);
	assert_int_equal(duration_parse("m", &s), -1);
	assert_int_equal(duration_parse("-5m", &s), -1);
	assert_int_equal(duration_parse("1.5h", &s), -1);
	assert_int_equal(duration_parse("999999999d", &s), -1);
	assert_non_null(strstr(err_msg(), "100 years"));
}

static void since(void **state)
{
	long long t = -1, now = 1764844800; /* 2025-12-04T10:40:00Z */

	(void)state;
	assert_int_equal(time_parse_since("10m", now, &t), 0);
	assert_int_equal(t, now - 600);
	assert_int_equal(time_parse_since("1700000000", now, &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(time_parse_since("2025-12-04T10:00:00Z", now, &t), 0);
	assert_int_equal(t, now - 2400);
	assert_int_equal(time_parse_since("2025-12-04T10:00", now, &t), 0);
	assert_int_equal(t, now - 2400);
	assert_int_equal(time_parse_since("2025-12-04", now, &t), 0);
	assert_int_equal(t, now - 38400);
	assert_int_equal(time_parse_since("1h", 1000, &t), 0); /* before 1970: 0 */
	assert_int_equal(t, 0);
	assert_int_equal(time_parse_since("yesterday", now, &t), -1);
	assert_int_equal(time_parse_since("2025-13-04", now, &t), -1);
	assert_int_equal(time_parse_since("2025-12-04T10:00:00+02:00", now, &t), -1);
	assert_int_equal(time_parse_since("", now, &t), -1);
}

static void log_rotation_bounds(void **state)
{
	long long b;
	int n;

	(void)state;
	assert_int_equal(deploy_log_max_size_parse("20m", &b), 0);
	assert_int_equal(b, 20LL << 20);
	assert_int_equal(deploy_log_max_size_parse("100k", &b), 0);
	assert_int_equal(deploy_log_max_size_parse("99k", &b), -1);
	assert_non_null(strstr(err_msg(), "out of range"));
	assert_int_equal(deploy_log_max_size_parse("101g", &b), -1);
	assert_int_equal(deploy_log_max_size_parse("20 m", &b), -1);
	assert_int_equal(deploy_log_max_file_parse("5", &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(deploy_log_max_file_parse("100", &n), 0);
	assert_int_equal(deploy_log_max_file_parse("0", &n), -1);
	assert_int_equal(deploy_log_max_file_parse("101", &n), -1);
	assert_int_equal(deploy_log_max_file_parse("05", &n), -1);
	assert_int_equal(deploy_log_max_file_parse("-1", &n), -1);
	assert_int_equal(deploy_log_max_file_parse("", &n), -1);
}

static void numbers(void **state)
{
	long long n = 7;

	(void)state;
	assert_int_equal(num_parse("0", 0, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(num_parse("10", 0, 10, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(num_parse("-3", -5, 5, &n), 0);
	assert_int_equal(n, -3);
	assert_int_equal(num_parse("9223372036854775807", 0, 1LL << 62, &n), -1);
	assert_int_equal(num_parse("4611686018427387904", 0, 1LL << 62, &n), 0);
	n = 7;
	/* Refused, and *out untouched. */
	assert_int_equal(num_parse("11", 0, 10, &n), -1);
	assert_int_equal(num_parse("-1", 0, 10, &n), -1);
	assert_int_equal(num_parse("", 0, 10, &n), -1);
	assert_int_equal(num_parse("-", 0, 10, &n), -1);
	assert_int_equal(num_parse(" 1", 0, 10, &n), -1);
	assert_int_equal(num_parse("+1", 0, 10, &n), -1);
	assert_int_equal(num_parse("1 ", 0, 10, &n), -1);
	assert_int_equal(num_parse("0x1", 0, 10, &n), -1);
	assert_int_equal(num_parse("1.0", 0, 10, &n), -1);
	assert_int_equal(num_parse("99999999999999999999999", 0, 10, &n), -1);
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),        cmocka_unit_test(size_refusals),
		cmocka_unit_test(size_formats), cmocka_unit_test(durations),
		cmocka_unit_test(since),        cmocka_unit_test(log_rotation_bounds),
		cmocka_unit_test(numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
