/* test_lock.c - a lock handed over by fd is adopted only when that fd holds the
 * lock file's flock; a forged number, another file or a free lock is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static char dir[] = "/tmp/wharf-test-lock.XXXXXX";
static char path[256], other[256];

static void hand(int fd)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", fd);
	setenv(LOCK_FD_ENV, v, 1);
}

static void holder_is_adopted_once(void **state)
{
	struct lock held = LOCK_INIT, got = LOCK_INIT;
	int fd;

	(void)state;
	assert_int_equal(lock_take(&held, path, NULL), 0);
	/* dup: the child's copy of the same open file description. */
	fd = dup(held.fd);
	hand(fd);
	assert_int_equal(lock_adopt(&got, path), 1);
	assert_int_equal(got.fd, fd);
	assert_null(getenv(LOCK_FD_ENV));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Borrowed: releasing it leaves the holder's lock in place. */
	lock_release(&got);
	fd = open(path, O_RDONLY);
	hand(fd);
	assert_int_equal(lock_adopt(&got, path), 0);   /* not the holder */
	close(fd);
	lock_release(&held);
}

static void forged_handovers_are_refused(void **state)
{
	struct lock got = LOCK_INIT, held = LOCK_INIT;
	int fd = open(path, O_RDONLY);

	(void)state;
	hand(fd);
	assert_int_equal(lock_adopt(&got, path), 0);   /* nobody holds it */
	assert_int_equal(got.fd, -1);
	close(fd);
	assert_int_equal(lock_take(&held, other, NULL), 0);
	hand(held.fd);
	assert_int_equal(lock_adopt(&got, path), 0);   /* another file's lock */
	lock_release(&held);
	setenv(LOCK_FD_ENV, "1", 1);
	assert_int_equal(lock_adopt(&got, path), 0);
	setenv(LOCK_FD_ENV, "12x", 1);
	assert_int_equal(lock_adopt(&got, path), 0);
	setenv(LOCK_FD_ENV, "999", 1);
	assert_int_equal(lock_adopt(&got, path), 0);   /* not open */
	assert_int_equal(lock_adopt(&got, path), 0);   /* unset now */
}

static void children_get_neither_fd_nor_variable(void **state)
{
	struct lock held = LOCK_INIT;
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT, script = BUF_INIT;

	(void)state;
	assert_int_equal(lock_take(&held, path, NULL), 0);
	assert_int_equal(fcntl(held.fd, F_SETFD, 0), 0);   /* even if not CLOEXEC */
	hand(held.fd);
	buf_addf(&script, "echo ${%s-none}; [ -e /proc/self/fd/%d ] && echo open || echo closed",
		 LOCK_FD_ENV, held.fd);
	o.argv = (const char *[]){ "/bin/sh", "-c", script.buf, NULL };
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	assert_int_equal(proc_run(&o), 0);
	assert_string_equal(out.buf, "none\nclosed\n");
	unsetenv(LOCK_FD_ENV);
	lock_release(&held);
	buf_release(&out);
	buf_release(&script);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/deploy.lock", dir);
	snprintf(other, sizeof(other), "%s/other.lock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(other);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(holder_is_adopted_once),
		cmocka_unit_test(forged_handovers_are_refused),
		cmocka_unit_test(children_get_neither_fd_nor_variable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
