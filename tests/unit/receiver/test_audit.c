/* test_audit.c - what the audit log records of a command: config values masked,
 * everything else as the client sent it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "receiver/receiver.h"

static const char *masked(const char *cmd)
{
	static char out[1024];
	struct buf b = BUF_INIT;

	assert_int_equal(receiver_audit_mask(&b, cmd), 0);
	strncpy(out, b.buf, sizeof(out) - 1);
	buf_release(&b);
	return out;
}

static void config_values_masked(void **state)
{
	(void)state;
	assert_string_equal(masked("config:set shop A=1"), "config:set shop A=***");
	assert_string_equal(masked("config:set shop --no-restart 'GREETING=hi there' B=x=y"),
			    "config:set shop --no-restart GREETING=*** B=***");
	assert_string_equal(masked("config:set --global --encoded S=c2VjcmV0"),
			    "config:set --global --encoded S=***");
	assert_string_equal(masked("--app shop config:set 'K=it'\\''s'"),
			    "--app shop config:set K=***");
	/* A line that does not split still loses what follows its first '='. */
	assert_string_equal(masked("config:set shop A=secret;rm"), "config:set shop A=***");
}

static void others_unchanged(void **state)
{
	(void)state;
	assert_string_equal(masked("config:get shop A"), "config:get shop A");
	assert_string_equal(masked("git-receive-pack '/shop'"), "git-receive-pack '/shop'");
	assert_string_equal(masked("apps:destroy shop --force"), "apps:destroy shop --force");
	assert_string_equal(masked("run shop env A=1"), "run shop env A=1");
	assert_string_equal(masked("config:unset shop 'A B'"), "config:unset shop 'A B'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_values_masked),
		cmocka_unit_test(others_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
