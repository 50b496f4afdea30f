/* test_update.c - app_update() saves only when its callback says so, under the app's
 * lock queue (arrival order, stale tickets dropped); out-parameters are NULL on
 * failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/root.h"

struct change {
	int ret; /* what the callback returns */
	int calls;
	const char *app;
};

static int set_branch(const char *app, json_t *doc, void *data)
{
	struct change *c = data;

	c->calls++;
	c->app = app;
	app_set_str(doc, APP_DEPLOY_BRANCH, "prod");
	if (c->ret < 0)
		return err_set("refused");
	return c->ret;
}

static const char *branch_on_disk(const char *app)
{
	static char out[64];
	json_t *doc = NULL;

	assert_int_equal(app_load(app, &doc), 0);
	snprintf(out, sizeof(out), "%s", app_get_str_or(doc, APP_DEPLOY_BRANCH, "-"));
	json_decref(doc);
	return out;
}

static void update_saves_only_when_asked(void **state)
{
	struct change c = { 0 };

	(void)state;
	assert_int_equal(app_create("up"), 0);
	c.ret = 0; /* changed in memory, not saved */
	assert_int_equal(app_update("up", set_branch, &c), 0);
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.app, "up");
	assert_string_equal(branch_on_disk("up"), "-");
	c.ret = -1; /* an error: nothing saved */
	assert_int_equal(app_update("up", set_branch, &c), -1);
	assert_string_equal(err_msg(), "refused");
	assert_string_equal(branch_on_disk("up"), "-");
	c.ret = 1;
	assert_int_equal(app_update("up", set_branch, &c), 1);
	assert_string_equal(branch_on_disk("up"), "prod");
	/* No app: fn never runs. */
	c.calls = 0;
	assert_int_equal(app_update("nope", set_branch, &c), -1);
	assert_int_equal(c.calls, 0);
	assert_non_null(strstr(err_msg(), "does not exist"));
	/* One key, set and removed. */
	assert_int_equal(app_update_key("up", APP_DEPLOY_BRANCH, json_string("main")), 1);
	assert_string_equal(branch_on_disk("up"), "main");
	assert_int_equal(app_update_key("up", APP_DEPLOY_BRANCH, NULL), 1);
	assert_string_equal(branch_on_disk("up"), "-");
}

static int set_stack(const char *app, json_t *doc, void *data)
{
	assert_null(app);
	return app_set_str(doc, APP_STACK, data) < 0 ? -1 : 1;
}

static void global_update(void **state)
{
	json_t *g = NULL;

	(void)state;
	assert_int_equal(app_global_update(set_stack, "wharf/stack:1"), 1);
	assert_int_equal(app_global_load(&g), 0);
	assert_string_equal(app_get_str(g, APP_STACK), "wharf/stack:1");
	json_decref(g);
}

/* The lock stays held after app_update_held() until the caller releases it. */
static void update_held_keeps_the_lock(void **state)
{
	struct lock l = LOCK_INIT;
	struct change c = { .ret = 1 };
	struct buf p = BUF_INIT;
	int fd;

	(void)state;
	assert_int_equal(app_create("held"), 0);
	assert_int_equal(app_update_held(&l, "held", set_branch, &c), 1);
	assert_true(l.fd >= 0);
	assert_int_equal(wharf_app_path(&p, "held", "deploy.lock"), 0);
	fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1); /* still ours */
	lock_release(&l);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	buf_release(&p);
}

/* Failed loads and lists leave no live object behind: *out is NULL. */
static void out_is_null_on_failure(void **state)
{
	json_t *sentinel = json_object(), *out = sentinel;
	struct buf p = BUF_INIT, g = BUF_INIT;

	(void)state;
	assert_int_equal(app_load("missing", &out), -1);
	assert_null(out);
	assert_int_equal(app_create("bad"), 0);
	assert_int_equal(wharf_app_path(&p, "bad", "releases.json"), 0);
	assert_int_equal(fs_write_atomic(p.buf, "[1]", 3, 0644), 0);
	out = sentinel;
	assert_int_equal(app_releases_load("bad", &out), -1);
	assert_null(out);
	/* A broken global.json fails everything that reads it, leaving nothing. */
	assert_int_equal(buf_addf(&g, "%s/global.json", root), 0);
	assert_int_equal(fs_write_atomic(g.buf, "{", 1, 0644), 0);
	out = sentinel;
	assert_int_equal(app_global_load(&out), -1);
	assert_null(out);
	out = sentinel;
	assert_int_equal(app_global_domains(&out), -1);
	assert_null(out);
	{
		json_t *doc = NULL;
		assert_int_equal(app_load("bad", &doc), 0);
		out = sentinel;
		assert_int_equal(app_domains("bad", doc, &out), -1);
		assert_null(out);
		json_decref(doc);
	}
	out = sentinel;
	assert_int_equal(app_env("bad", &out), -1);
	assert_null(out);
	unlink(g.buf);
	/* The list is made whole before it is handed over. */
	out = NULL;
	assert_int_equal(app_list(&out), 0);
	assert_true(json_is_array(out));
	json_decref(out);
	json_decref(sentinel);
	buf_release(&p);
	buf_release(&g);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Appends word to the app's "order" config var, under app_update(). */
static int append_word(const char *app, json_t *doc, void *data)
{
	json_t *config = app_get(doc, APP_CONFIG);
	char s[256];

	(void)app;
	snprintf(s, sizeof(s), "%s%s", json_str(config, "order", ""), (const char *)data);
	json_object_set_new(config, "order", json_string(s));
	return 1;
}

static pid_t spawn_holder(const char *app, int hold_ms, int ready_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct lock l = LOCK_INIT;
		if (app_lock(&l, app) < 0)
			_exit(1);
		if (write(ready_fd, "x", 1) != 1)
			_exit(1);
		usleep(hold_ms * 1000);
		lock_release(&l);
		_exit(0);
	}
	return pid;
}

static pid_t spawn_updater(const char *app, const char *word)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(app_update(app, append_word, (void *)word) == 1 ? 0 : 1);
	return pid;
}

static void wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A change waits for the holder; waiters go in arrival order. */
static void lock_queue_order(void **state)
{
	int fds[2];
	char c;
	pid_t holder, a, b;
	double t0;
	json_t *doc = NULL;

	(void)state;
	assert_int_equal(app_create("q"), 0);
	assert_int_equal(pipe(fds), 0);
	holder = spawn_holder("q", 400, fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	t0 = now_s();
	a = spawn_updater("q", "a");
	usleep(100 * 1000); /* a's ticket is older than b's */
	b = spawn_updater("q", "b");
	wait_ok(a);
	wait_ok(b);
	wait_ok(holder);
	assert_true(now_s() - t0 > 0.25); /* they waited for the holder */
	assert_int_equal(app_load("q", &doc), 0);
	assert_string_equal(json_str(app_get(doc, APP_CONFIG), "order", ""), "ab");
	json_decref(doc);
	close(fds[0]);
	close(fds[1]);
}

/* A ticket nobody holds (its owner was killed) does not block the queue. */
static void stale_ticket_is_dropped(void **state)
{
	struct buf dir = BUF_INIT, t = BUF_INIT;
	struct lock l = LOCK_INIT;
	int fd;

	(void)state;
	assert_int_equal(app_create("st"), 0);
	assert_int_equal(wharf_app_path(&dir, "st", "queue"), 0);
	assert_int_equal(fs_mkdir_p(dir.buf, 0755), 0);
	assert_int_equal(buf_addf(&t, "%s/0000000000001000000000.1", dir.buf), 0);
	fd = open(t.buf, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(app_lock(&l, "st"), 0);
	assert_false(fs_exists(t.buf));
	lock_release(&l);
	buf_release(&dir);
	buf_release(&t);
}

/* app_lock_try(): taken when free; 0 (never a wait) while a holder has it or a live
 * ticket is queued for it. */
static void lock_try_never_waits(void **state)
{
	struct lock l = LOCK_INIT, l2 = LOCK_INIT;
	struct buf dir = BUF_INIT, t = BUF_INIT;
	int fds[2], fd;
	char c;
	pid_t holder;
	double t0;

	(void)state;
	assert_int_equal(app_create("try"), 0);
	assert_int_equal(app_lock_try(&l, "try"), 1);
	assert_int_equal(app_lock_try(&l2, "try"), 0); /* held (by us, on another open) */
	lock_release(&l);
	assert_int_equal(pipe(fds), 0);
	holder = spawn_holder("try", 300, fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	t0 = now_s();
	assert_int_equal(app_lock_try(&l, "try"), 0);
	assert_true(now_s() - t0 < 0.2);
	wait_ok(holder);
	/* A live ticket (its owner waits for the lock): it goes first. */
	assert_int_equal(wharf_app_path(&dir, "try", "queue"), 0);
	assert_int_equal(buf_addf(&t, "%s/0000000000002000000000.1", dir.buf), 0);
	fd = open(t.buf, O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	assert_int_equal(app_lock_try(&l, "try"), 0);
	close(fd); /* its owner gone: the ticket is stale and dropped */
	assert_int_equal(app_lock_try(&l, "try"), 1);
	lock_release(&l);
	close(fds[0]);
	close(fds[1]);
	buf_release(&dir);
	buf_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(update_saves_only_when_asked),
		cmocka_unit_test(global_update),
		cmocka_unit_test(update_held_keeps_the_lock),
		cmocka_unit_test(out_is_null_on_failure),
		cmocka_unit_test(lock_queue_order),
		cmocka_unit_test(stale_ticket_is_dropped),
		cmocka_unit_test(lock_try_never_waits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
