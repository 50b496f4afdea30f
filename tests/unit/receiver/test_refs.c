/* test_refs.c - parsing pre-receive input lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "receiver/receiver.h"

#define A "0123456789abcdef0123456789abcdef01234567"
#define Z "0000000000000000000000000000000000000000"

static void parses_a_push(void **state)
{
	struct push_ref r;
	const char *line = Z " " A " refs/heads/main";

	(void)state;
	assert_int_equal(receiver_parse_ref_line(&r, line, strlen(line)), 0);
	assert_string_equal(r.old_oid, Z);
	assert_string_equal(r.new_oid, A);
	assert_string_equal(r.ref, "refs/heads/main");
	assert_true(receiver_oid_is_zero(r.old_oid));
	assert_false(receiver_oid_is_zero(r.new_oid));
}

static void refuses_malformed_lines(void **state)
{
	const char *bad[] = { "",
			      Z " " A,
			      Z " " A " ",
			      Z "  " A " refs/heads/main",
			      "0123456789ABCDEF0123456789abcdef01234567 " A " refs/heads/x",
			      Z " " A " refs/heads/a b",
			      Z " " A " refs/heads/\x01",
			      NULL };
	struct push_ref r;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++)
		assert_int_equal(receiver_parse_ref_line(&r, bad[i], strlen(bad[i])), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_push),
		cmocka_unit_test(refuses_malformed_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
