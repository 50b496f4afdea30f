/* test_cron.c - cron schedules: what parses, what is refused with which message,
 * and the next run after a given time (UTC). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "common.h"

/* Seconds since the epoch of a UTC date. */
static long long utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (long long)timegm(&tm);
}

static long long next_of(const char *expr, long long after)
{
	struct cron_expr e;
	long long t = -1;

	assert_int_equal(cron_parse(&e, expr), 0);
	assert_int_equal(cron_next(&e, after, &t), 0);
	return t;
}

static void accepted(void **state)
{
	const char *good[] = { "* * * * *",
			       "*/5 * * * *",
			       "0 0 * * *",
			       "0,30 9-17 * * 1-5",
			       "15 3 1 jan,JUL *",
			       "0 0 * * sun",
			       "0 0 * * 7",
			       "5/15 * * * *",
			       "0-59/20 */2 1-31/3 * *",
			       "@hourly",
			       "@daily",
			       "@midnight",
			       "@weekly",
			       "@monthly",
			       "@yearly",
			       "@annually",
			       "  1 2 3 4 5  ",
			       "0 12 * * mon-fri",
			       "0 0 29 2 *",
			       NULL };
	struct cron_expr e;
	int i;

	(void)state;
	for (i = 0; good[i]; i++) {
		if (cron_parse(&e, good[i]) < 0)
			fail_msg("'%s' refused: %s", good[i], err_msg());
	}
}

static void refused(void **state)
{
	const struct {
		const char *expr, *msg;
	} bad[] = {
		{ "", "empty" },
		{ "* * * *", "4 fields, expected 5" },
		{ "* * * * * *", "more than 5 fields" },
		{ "60 * * * *", "minute 60 is out of range" },
		{ "* 24 * * *", "hour 24 is out of range" },
		{ "* * 0 * *", "day of month 0 is out of range" },
		{ "* * * 13 *", "month 13 is out of range" },
		{ "* * * * 8", "day of week 8 is out of range" },
		{ "5-1 * * * *", "goes backwards" },
		{ "*/0 * * * *", "step 0 is out of range" },
		{ "a * * * *", "minute: expected a number" },
		{ "* * * foo *", "unknown month name" },
		{ "1,,2 * * * *", "expected a number" },
		{ "1;2 * * * *", "unexpected ';'" },
		{ "@reboot", "unknown macro" },
		{ "@daily extra", "unexpected text after @daily" },
		{ "0 0 30 2 *", "never fires" },
		{ "0 0 31 4,6,9,11 *", "never fires" },
		{ "00001 * * * *", "expected a number" },
		{ "-1 * * * *", "expected a number" },
	};
	struct cron_expr e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		if (cron_parse(&e, bad[i].expr) == 0)
			fail_msg("'%s' accepted", bad[i].expr);
		if (!strstr(err_msg(), bad[i].msg))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].expr, err_msg(),
				 bad[i].msg);
	}
}

static void next_runs(void **state)
{
	long long t0 = utc(2026, 12, 4, 10, 37) + 12; /* Friday 10:37:12 */

	(void)state;
	assert_true(next_of("* * * * *", t0) == utc(2026, 12, 4, 10, 38));
	assert_true(next_of("*/5 * * * *", t0) == utc(2026, 12, 4, 10, 40));
	assert_true(next_of("@hourly", t0) == utc(2026, 12, 4, 11, 0));
	assert_true(next_of("@daily", t0) == utc(2026, 12, 5, 0, 0));
	assert_true(next_of("@weekly", t0) == utc(2026, 12, 6, 0, 0)); /* Sunday */
	assert_true(next_of("@monthly", t0) == utc(2027, 1, 1, 0, 0));
	assert_true(next_of("@yearly", t0) == utc(2027, 1, 1, 0, 0));
	assert_true(next_of("30 9 * * mon-fri", t0) == utc(2026, 12, 7, 9, 30));
	assert_true(next_of("0 0 29 2 *", t0) == utc(2028, 2, 29, 0, 0));
	/* Both day fields restricted: the 13th or a Friday, whichever comes first. */
	assert_true(next_of("0 0 13 * fri", t0) == utc(2026, 12, 11, 0, 0));
	/* Only one restricted: the 13th that is also any day, i.e. the 13th. */
	assert_true(next_of("0 0 13 * *", t0) == utc(2026, 12, 13, 0, 0));
	/* 7 is Sunday too. */
	assert_true(next_of("0 0 * * 7", t0) == utc(2026, 12, 6, 0, 0));
	/* Strictly after the minute that holds `after`, even at its first second. */
	assert_true(next_of("* * * * *", utc(2026, 12, 4, 10, 37)) == utc(2026, 12, 4, 10, 38));
}

static void matches(void **state)
{
	struct cron_expr e;

	(void)state;
	assert_int_equal(cron_parse(&e, "0,30 9-17 * * 1-5"), 0);
	assert_true(cron_matches(&e, utc(2026, 12, 4, 9, 30) + 59));
	assert_false(cron_matches(&e, utc(2026, 12, 5, 9, 30))); /* Saturday */
	assert_false(cron_matches(&e, utc(2026, 12, 4, 18, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(refused),
		cmocka_unit_test(next_runs),
		cmocka_unit_test(matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
