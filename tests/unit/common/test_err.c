/* test_err.c - the error slot: arguments pointing into the message, a prefix
 * added in place, save/restore around cleanup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common.h"

static void err_msg_may_be_an_argument(void **state)
{
	(void)state;
	err_set("no such app '%s'", "a");
	assert_int_equal(err_set("deploy failed: %s; kept", err_msg()), -1);
	assert_string_equal(err_msg(), "deploy failed: no such app 'a'; kept");
	/* A pointer into the middle of the message, too. */
	err_set("%s", err_msg() + strlen("deploy failed: "));
	assert_string_equal(err_msg(), "no such app 'a'; kept");
	errno = ENOENT;
	err_set_errno("again: %s", err_msg());
	assert_string_equal(err_msg(), "again: no such app 'a'; kept: No such file or directory");
}

static void prefix_rewrites_in_place(void **state)
{
	(void)state;
	err_set("exit 3");
	assert_int_equal(err_prefix("plugin %s: ", "gate"), -1);
	assert_string_equal(err_msg(), "plugin gate: exit 3");
	err_clear();
	assert_string_equal(err_msg(), "unknown error");
}

static void long_messages_are_cut_not_overflowed(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set("%s", big);
	assert_int_equal(strlen(err_msg()), ERR_MAX - 1);
	err_prefix("p: ");
	assert_int_equal(strlen(err_msg()), ERR_MAX - 1);
	assert_int_equal(strncmp(err_msg(), "p: xxx", 6), 0);
}

static void save_and_restore_around_cleanup(void **state)
{
	struct err_saved saved;

	(void)state;
	err_set("the build failed");
	err_save(&saved);
	err_set("cleanup failed too");
	assert_int_equal(err_restore(&saved), -1);
	assert_string_equal(err_msg(), "the build failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(err_msg_may_be_an_argument),
		cmocka_unit_test(prefix_rewrites_in_place),
		cmocka_unit_test(long_messages_are_cut_not_overflowed),
		cmocka_unit_test(save_and_restore_around_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
