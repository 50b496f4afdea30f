/* test_mount.c - the bind mount syntax of storage:mount: accepted forms and every
 * refusal (relative paths, dot components, separators Docker would split on). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli.h"

static void parse_ok(const char *spec, const char *host, const char *ctr, int ro)
{
	struct buf h = BUF_INIT, c = BUF_INIT;
	int r = -1;

	assert_int_equal(cli_mount_parse(spec, &h, &c, &r), 0);
	assert_string_equal(h.buf, host);
	assert_string_equal(c.buf, ctr);
	assert_int_equal(r, ro);
	buf_release(&h);
	buf_release(&c);
}

static void accepted(void **state)
{
	(void)state;
	parse_ok("/var/lib/data:/data", "/var/lib/data", "/data", 0);
	parse_ok("/srv/x:/app/storage:ro", "/srv/x", "/app/storage", 1);
	parse_ok("/:/host", "/", "/host", 0);
	parse_ok("/a b/c:/d e", "/a b/c", "/d e", 0);
	parse_ok("/srv/..x/.y:/z...", "/srv/..x/.y", "/z...", 0);
}

static void refused(void **state)
{
	const char *bad[] = { "",
			      "/data",
			      "data:/data",
			      "/data:data",
			      "/data:",
			      ":/data",
			      "/data:/data:rw",
			      "/data:/data:ro:x",
			      "/data:/data:",
			      "/a/../b:/c",
			      "/a/..:/c",
			      "/a:/c/./d",
			      "/a//b:/c",
			      "/a/:/c",
			      "/a:/c/",
			      "/a,b:/c",
			      "/a:/c\nX",
			      "/a\t:/c",
			      "/a:/",
			      "/a\\b:/c",
			      "/a:/b/..",
			      NULL };
	const char **p;

	(void)state;
	for (p = bad; *p; p++) {
		struct buf h = BUF_INIT, c = BUF_INIT;
		int ro;
		assert_int_equal(cli_mount_parse(*p, &h, &c, &ro), -1);
		buf_release(&h);
		buf_release(&c);
	}
}

static void messages(void **state)
{
	struct buf h = BUF_INIT, c = BUF_INIT;
	int ro;

	(void)state;
	assert_int_equal(cli_mount_parse("data:/data", &h, &c, &ro), -1);
	assert_string_equal(err_msg(), "the host dir in 'data:/data' must be an absolute path");
	assert_int_equal(cli_mount_parse("/d:/x/../y", &h, &c, &ro), -1);
	assert_string_equal(err_msg(), "the container dir in '/d:/x/../y' must be a plain absolute "
				       "path (no '.', '..', '//' or trailing '/')");
	assert_int_equal(cli_mount_parse("/d", &h, &c, &ro), -1);
	assert_string_equal(err_msg(), "'/d' is not HOSTDIR:CONTAINERDIR[:ro]");
	assert_int_equal(cli_mount_parse("/d:/e:rw", &h, &c, &ro), -1);
	assert_string_equal(err_msg(), "'/d:/e:rw' is not HOSTDIR:CONTAINERDIR[:ro] (the only "
				       "option is ro)");
	assert_int_equal(cli_mount_parse("/d:/", &h, &c, &ro), -1);
	assert_string_equal(err_msg(), "cannot mount over the container's /");
	buf_release(&h);
	buf_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(refused),
		cmocka_unit_test(messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
