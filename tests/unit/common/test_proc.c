/* test_proc.c - the process runner: captures, environment, exit statuses, and a
 * timeout that ends the child's grandchildren too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static int sh(struct proc_opts *o, const char *script)
{
	static const char *argv[4];

	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = NULL;
	o->argv = argv;
	return proc_run(o);
}

static void captures_both_streams_and_exit_code(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT, err = BUF_INIT;

	(void)state;
	o.out = o.err = PROC_CAPTURE;
	o.out_buf = &out;
	o.err_buf = &err;
	assert_int_equal(sh(&o, "echo hello; echo oops >&2; exit 3"), 3);
	assert_string_equal(out.buf, "hello\n");
	assert_string_equal(err.buf, "oops\n");
	buf_reset(&out);
	assert_int_equal(sh(&o, "exit 0"), 0);
	assert_int_equal(sh(&o, "kill -TERM $$"), 128 + SIGTERM);
	buf_release(&out);
	buf_release(&err);
}

static void capture_is_capped_and_drained(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out;
	struct proc p;

	(void)state;
	buf_init(&out, 1000);
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	o.argv = (const char *[]){ "/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x", NULL };
	assert_int_equal(proc_start(&p, &o), 0);
	assert_int_equal(proc_wait(&p), 0);
	assert_true(p.truncated);
	assert_true(out.len <= 1000);
	buf_release(&out);
}

static void environment_is_set_and_unset(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	setenv("PROC_TEST_SECRET", "inherited", 1);
	setenv("PROC_TEST_KEEP", "kept", 1);
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	o.env_set = (const char *[]){ "PROC_TEST_NEW=new", "PROC_TEST_KEEP=over", NULL };
	o.env_unset = (const char *[]){ "PROC_TEST_SECRET", NULL };
	assert_int_equal(sh(&o, "echo \"${PROC_TEST_SECRET-unset} $PROC_TEST_NEW $PROC_TEST_KEEP\""), 0);
	assert_string_equal(out.buf, "unset new over\n");
	buf_reset(&out);
	o.clear_env = 1;
	o.env_set = (const char *[]){ "ONLY=1", NULL };
	assert_int_equal(sh(&o, "env | grep -v '^PWD=\\|^SHLVL=\\|^_='"), 0);
	assert_string_equal(out.buf, "ONLY=1\n");
	unsetenv("PROC_TEST_SECRET");
	unsetenv("PROC_TEST_KEEP");
	buf_release(&out);
}

static void cwd_stdin_and_null(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	o.cwd = "/tmp";
	o.in = PROC_DATA;
	o.in_data = "from stdin";
	o.in_len = 10;
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	o.err = PROC_NULL;
	assert_int_equal(sh(&o, "pwd; cat; echo lost >&2"), 0);
	assert_string_equal(out.buf, "/tmp\nfrom stdin");
	buf_release(&out);
}

static void collect_line(int stream, const char *line, size_t len, void *data)
{
	buf_addf(data, "%d:%.*s|", stream, (int)len, line);
}

static void lines_reach_the_callback(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf got = BUF_INIT;

	(void)state;
	o.out = PROC_LINES;
	o.on_line = collect_line;
	o.data = &got;
	assert_int_equal(sh(&o, "echo one; printf 'two\\nthree'"), 0);
	assert_string_equal(got.buf, "1:one|1:two|1:three|");
	buf_release(&got);
}

static void exec_failure_is_an_error(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct proc p;

	(void)state;
	o.argv = (const char *[]){ "/nonexistent/wharf-test", NULL };
	assert_int_equal(proc_start(&p, &o), -1);
	assert_int_equal(p.exec_errno, ENOENT);
	assert_non_null(strstr(err_msg(), "cannot run /nonexistent/wharf-test"));
	o.argv = (const char *[]){ "wharf-no-such-program-anywhere", NULL };
	assert_int_equal(proc_run(&o), -1);
}

/* Alive and not a zombie (init in a container may be slow to reap). */
static int alive(pid_t pid)
{
	char path[64], text[256] = "", *close_paren;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	close_paren = strrchr(text, ')');
	return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

/* The child starts a grandchild that ignores nothing and would outlive it; on
 * the timeout both are gone, though the grandchild holds no pipe of ours. */
static void timeout_kills_the_group(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT;
	char path[] = "/tmp/wharf-proc-test.XXXXXX";
	int fd = mkstemp(path), n;
	char pidtext[32] = "";
	double t0 = clock_now_s();
	struct buf script = BUF_INIT;

	(void)state;
	assert_true(fd >= 0);
	buf_addf(&script, "sleep 60 </dev/null >/dev/null 2>&1 & echo $! >%s; trap '' TERM; "
		 "sleep 60", path);
	o.timeout_ms = 300;
	o.grace_ms = 200;
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	assert_int_equal(sh(&o, script.buf), PROC_TIMED_OUT);
	assert_true(clock_now_s() - t0 < 5);
	n = (int)read(fd, pidtext, sizeof(pidtext) - 1);
	assert_true(n > 0);
	pidtext[n] = '\0';
	/* The grandchild was reparented to init (or a subreaper): give it a moment
	 * to be reaped after SIGKILL. */
	for (n = 0; n < 100 && alive(atoi(pidtext)); n++)
		usleep(20 * 1000);
	assert_false(alive(atoi(pidtext)));
	close(fd);
	unlink(path);
	buf_release(&out);
	buf_release(&script);
}

static void only_kept_fds_reach_the_child(void **state)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT, script = BUF_INIT;
	int kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int other = open("/dev/null", O_RDONLY);

	(void)state;
	o.keep_fds[0] = kept;
	o.out = PROC_CAPTURE;
	o.out_buf = &out;
	buf_addf(&script, "[ -e /proc/self/fd/%d ] && echo kept; [ -e /proc/self/fd/%d ] || "
		 "echo closed", kept, other);
	assert_int_equal(sh(&o, script.buf), 0);
	assert_string_equal(out.buf, "kept\nclosed\n");
	close(kept);
	close(other);
	buf_release(&out);
	buf_release(&script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(captures_both_streams_and_exit_code),
		cmocka_unit_test(capture_is_capped_and_drained),
		cmocka_unit_test(environment_is_set_and_unset),
		cmocka_unit_test(cwd_stdin_and_null),
		cmocka_unit_test(lines_reach_the_callback),
		cmocka_unit_test(exec_failure_is_an_error),
		cmocka_unit_test(timeout_kills_the_group),
		cmocka_unit_test(only_kept_fds_reach_the_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
