/* test_limits.c - restart policies, memory sizes and CPU counts as users type them:
 * every accepted form and the refusals (units, bounds, typos). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime/runtime.h"

static void restart_policies(void **state)
{
	struct buf n = BUF_INIT;
	int retry = -1;

	(void)state;
	assert_int_equal(runtime_parse_restart_policy("always", &n, &retry), 0);
	assert_string_equal(n.buf, "always");
	assert_int_equal(retry, 0);
	buf_reset(&n);
	assert_int_equal(runtime_parse_restart_policy("unless-stopped", &n, &retry), 0);
	assert_string_equal(n.buf, "unless-stopped");
	buf_reset(&n);
	assert_int_equal(runtime_parse_restart_policy("no", &n, &retry), 0);
	assert_string_equal(n.buf, "no");
	buf_reset(&n);
	assert_int_equal(runtime_parse_restart_policy("on-failure", &n, &retry), 0);
	assert_string_equal(n.buf, "on-failure");
	assert_int_equal(retry, 0);
	buf_reset(&n);
	assert_int_equal(runtime_parse_restart_policy("on-failure:10", &n, &retry), 0);
	assert_string_equal(n.buf, "on-failure");
	assert_int_equal(retry, 10);
	assert_int_equal(runtime_parse_restart_policy("on-failure:1000", NULL, &retry), 0);
	assert_int_equal(retry, 1000);
	buf_release(&n);
}

static void restart_policy_refusals(void **state)
{
	const char *bad[] = { "",
			      "sometimes",
			      "Always",
			      "on-failure:",
			      "on-failure:0",
			      "on-failure:1001",
			      "on-failure:-1",
			      "on-failure:+3",
			      "on-failure:03",
			      "on-failure:3x",
			      "no:3",
			      "always:2",
			      " always",
			      "on-failure: 3",
			      NULL };
	const char **p;
	int retry;

	(void)state;
	for (p = bad; *p; p++) {
		assert_int_equal(runtime_parse_restart_policy(*p, NULL, &retry), -1);
		assert_non_null(strstr(err_msg(), "invalid restart policy"));
	}
	assert_int_equal(runtime_parse_restart_policy(NULL, NULL, &retry), -1);
	runtime_parse_restart_policy("sometimes", NULL, &retry);
	assert_string_equal(err_msg(),
			    "invalid restart policy 'sometimes': use no, always, "
			    "unless-stopped, on-failure or on-failure:N (N from 1 to 1000)");
}

static void memory_sizes(void **state)
{
	long long b = 0;

	(void)state;
	assert_int_equal(runtime_parse_memory("256m", &b), 0);
	assert_int_equal(b, 256LL << 20);
	assert_int_equal(runtime_parse_memory("256MB", &b), 0);
	assert_int_equal(b, 256LL << 20);
	assert_int_equal(runtime_parse_memory("1g", &b), 0);
	assert_int_equal(b, 1LL << 30);
	assert_int_equal(runtime_parse_memory("6m", &b), 0);
	assert_int_equal(b, 6LL << 20);
	assert_int_equal(runtime_parse_memory("10240k", &b), 0);
	assert_int_equal(b, 10240LL << 10);
	assert_int_equal(runtime_parse_memory("67108864", &b), 0);
	assert_int_equal(b, 67108864LL);
	assert_int_equal(runtime_parse_memory("67108864b", &b), 0);
	assert_int_equal(b, 67108864LL);
	assert_int_equal(runtime_parse_memory("1024g", &b), 0);
	assert_int_equal(b, 1024LL << 30);
}

static void memory_refusals(void **state)
{
	const char *bad[] = { "",      "m",     "-1m",   "1.5g",  "256 m", "256t",
			      "256mm", "256bb", "0x10m", " 256m", "256m ", NULL };
	const char **p;
	long long b = 1;

	(void)state;
	for (p = bad; *p; p++) {
		assert_int_equal(runtime_parse_memory(*p, &b), -1);
		assert_int_equal(b, 0);
		assert_non_null(strstr(err_msg(), "invalid memory"));
	}
	assert_int_equal(runtime_parse_memory("5m", &b), -1);
	assert_string_equal(err_msg(), "memory '5m' is less than 6m, the least Docker accepts");
	assert_int_equal(runtime_parse_memory("1025g", &b), -1);
	assert_string_equal(err_msg(), "memory '1025g' is more than 1024g");
	assert_int_equal(runtime_parse_memory("9999999999999g", &b), -1);
	assert_int_equal(runtime_parse_memory("99999999999999g", &b), -1);
}

static void cpus(void **state)
{
	long long n = 0;

	(void)state;
	assert_int_equal(runtime_parse_cpus("0.5", &n), 0);
	assert_int_equal(n, 500000000LL);
	assert_int_equal(runtime_parse_cpus("2", &n), 0);
	assert_int_equal(n, 2000000000LL);
	assert_int_equal(runtime_parse_cpus("1.25", &n), 0);
	assert_int_equal(n, 1250000000LL);
	assert_int_equal(runtime_parse_cpus("0.01", &n), 0);
	assert_int_equal(n, 10000000LL);
	assert_int_equal(runtime_parse_cpus("0.123456789", &n), 0);
	assert_int_equal(n, 123456789LL);
	assert_int_equal(runtime_parse_cpus("1024", &n), 0);
}

static void cpu_refusals(void **state)
{
	const char *bad[] = { "",     ".5",   "0.",  "1.2.3",        "-1",    "+1", "1e3",
			      "half", "0.5 ", "1,5", "0.1234567891", "10000", NULL };
	const char **p;
	long long n = 1;

	(void)state;
	for (p = bad; *p; p++) {
		assert_int_equal(runtime_parse_cpus(*p, &n), -1);
		assert_non_null(strstr(err_msg(), "invalid cpu"));
	}
	assert_int_equal(runtime_parse_cpus("0", &n), -1);
	assert_string_equal(err_msg(), "cpu '0' is less than 0.01, the least Docker accepts");
	assert_int_equal(runtime_parse_cpus("0.009", &n), -1);
	assert_int_equal(runtime_parse_cpus("1024.5", &n), -1);
	assert_string_equal(err_msg(), "cpu '1024.5' is more than 1024 CPUs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restart_policies),
		cmocka_unit_test(restart_policy_refusals),
		cmocka_unit_test(memory_sizes),
		cmocka_unit_test(memory_refusals),
		cmocka_unit_test(cpus),
		cmocka_unit_test(cpu_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
