/* test_buf.c - buffers grow, stay terminated, and respect their cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void grows_and_terminates(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	(void)state;
	assert_string_equal(b.buf, "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_addf(&b, "%d,", i), 0);
	assert_int_equal(b.buf[b.len], '\0');
	assert_int_equal(strncmp(b.buf, "0,1,2,", 6), 0);
	buf_remove_front(&b, 2);
	assert_int_equal(strncmp(b.buf, "1,2,", 4), 0);
	buf_setlen(&b, 1);
	assert_string_equal(b.buf, "1");
	buf_release(&b);
	assert_string_equal(b.buf, "");
}

static void cap_is_enforced(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, 'x'), -1);
	assert_non_null(strstr(err_msg(), "too large"));
	assert_string_equal(b.buf, "12345678");
	buf_release(&b);
}

static void detach_hands_over(void **state)
{
	struct buf b = BUF_INIT;
	size_t n;
	char *s;

	(void)state;
	s = buf_detach(&b, &n);
	assert_string_equal(s, "");
	free(s);
	buf_addstr(&b, "abc");
	s = buf_detach(&b, &n);
	assert_int_equal(n, 3);
	assert_string_equal(s, "abc");
	assert_string_equal(b.buf, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_and_terminates),
		cmocka_unit_test(cap_is_enforced),
		cmocka_unit_test(detach_hands_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
