/* test_persist.c - the router's table on disk: the journal replayed onto the table at
 * start, a torn last line, generations that do not match, compaction, and an append that
 * fails (truncated back, the change undone). The writer runs on a real libuv loop and
 * thread pool against files in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "router/internal.h"

struct fixture {
	struct buf dir, table, journal;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	buf_init(&f->dir, 0);
	buf_init(&f->table, 0);
	buf_init(&f->journal, 0);
	if (fs_mkdtemp(&f->dir, "/tmp", "wharf-persist") < 0 ||
	    buf_addf(&f->table, "%s/table.json", f->dir.buf) < 0 ||
	    router__journal_path(&f->journal, f->table.buf) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_rm_rf(f->dir.buf);
	buf_release(&f->dir);
	buf_release(&f->table);
	buf_release(&f->journal);
	free(f);
	return 0;
}

static void put_file(const char *path, const char *text)
{
	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0600), 0);
}

static char *read_text(const char *path)
{
	struct buf b = BUF_INIT;

	assert_int_equal(fs_read_file(path, &b, 1 << 24), 0);
	return buf_detach(&b, NULL);
}

/* Rewrites path: its text up to cut (NULL: all of it), then tail. */
static void rewrite(const char *path, const char *cut, const char *tail)
{
	char *text = read_text(path);
	struct buf t = BUF_INIT;

	if (cut)
		*strstr(text, cut) = 0;
	assert_int_equal(buf_addf(&t, "%s%s", text, tail), 0);
	put_file(path, t.buf);
	buf_release(&t);
	free(text);
}

static const struct route_def *find(const struct route_def *specs, size_t n, const char *app)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(specs[i].app, app))
			return &specs[i];
	return NULL;
}

static void specs_free(struct route_def *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		router__route_release(&specs[i]);
	free(specs);
}

#define TABLE_AB(gen)                                                                     \
	"{\"apps\": {\"a\": {\"domains\": [\"a.com\"], \"targets\": [\"127.0.0.1:1\"]}, " \
	"\"b\": {\"domains\": [\"b.com\"], \"targets\": []}}, \"generation\": " #gen      \
	", \"version\": 1}"

static void test_replay(void **state)
{
	struct fixture *f = *state;
	struct router_disk disk;
	struct route_def *specs;
	const struct route_def *a;
	size_t n;

	/* No files: an empty table, generation 0, no journal yet. */
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 0);
	assert_int_equal(disk.journal_ok, 0);
	free(specs);

	put_file(f->table.buf, TABLE_AB(2));
	put_file(f->journal.buf,
		 "{\"generation\": 2, \"journal\": 1}\n"
		 "{\"a\": {\"domains\": [\"a.com\"], \"targets\": [\"127.0.0.1:2\"], "
		 "\"redirect_https\": true}}\n"
		 "{\"b\": null}\n"
		 "{\"c\": {\"domains\": [\"c.com\"],\"drain_timeout_ms\": 5,\"targets\": []}}\n");
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 2);
	assert_int_equal(disk.generation, 2);
	assert_int_equal(disk.records, 3);
	assert_int_equal(disk.journal_ok, 1);
	assert_int_equal(disk.torn, 0);
	assert_non_null(a = find(specs, n, "a"));
	assert_string_equal(a->targets[0], "127.0.0.1:2");
	assert_true(a->redirect_set && a->redirect_https);
	assert_null(find(specs, n, "b"));
	assert_int_equal(find(specs, n, "c")->drain_timeout_ms, 5);
	specs_free(specs, n);
}

static void test_torn_and_malformed(void **state)
{
	static const char *const bad[] = {
		"{\"a\": {\"domains\": [\"a.com\"], \"targets\": [\"x\"]}}\n", /* bad target */
		"{\"a\": null, \"b\": null}\n",                                /* two apps */
		"not json\n",
		"{\"Bad\": null}\n", /* not an app name */
		"{\"a\": {\"domains\": [], \"targets\": [], \"health\": {}}}\n",
		"\n",
		NULL
	};
	static const char head[] = "{\"generation\": 0, \"journal\": 1}\n{\"b\": null}\n";
	struct fixture *f = *state;
	struct router_disk disk;
	struct route_def *specs;
	struct buf text = BUF_INIT;
	size_t n, i;

	put_file(f->table.buf, TABLE_AB(0));
	/* A last line without its newline: a write cut short, never acknowledged. */
	buf_addf(&text, "%s{\"a\": {\"domains\": [\"a.c", head);
	put_file(f->journal.buf, text.buf);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 1);
	assert_string_equal(specs[0].targets[0], "127.0.0.1:1");
	assert_int_equal(disk.torn, 1);
	assert_int_equal(disk.records, 1);
	assert_int_equal(disk.bytes, strlen(head));
	specs_free(specs, n);

	/* Any malformed whole line fails, naming the file and the line, last line too. */
	for (i = 0; bad[i]; i++) {
		buf_reset(&text);
		buf_addf(&text, "%s%s{\"b\": null}\n", head, bad[i]);
		put_file(f->journal.buf, text.buf);
		if (router__table_load(&specs, &n, &disk, f->table.buf) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err_msg(), f->journal.buf));
		assert_non_null(strstr(err_msg(), "line 3: "));
		buf_reset(&text);
		buf_addf(&text, "%s%s", head, bad[i]);
		put_file(f->journal.buf, text.buf);
		assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), -1);
	}
	put_file(f->journal.buf, "{\"generation\": 0}\n");
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), -1);
	assert_non_null(strstr(err_msg(), "line 1: "));
	buf_release(&text);
}

static void test_generations(void **state)
{
	static const char journal[] = "{\"generation\": %d, \"journal\": 1}\n{\"a\": null}\n";
	struct fixture *f = *state;
	struct router_disk disk;
	struct route_def *specs;
	char text[128];
	size_t n;
	int gen;

	put_file(f->table.buf, TABLE_AB(5));
	/* Table 5, journal 4: a crash between a compaction's renames. The table was written
	 * from everything the journal held: the journal is ignored (not replayed). */
	snprintf(text, sizeof(text), journal, 4);
	put_file(f->journal.buf, text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 2);
	assert_int_equal(disk.journal_ok, 0);
	assert_int_equal(disk.records, 0);
	specs_free(specs, n);
	/* Anything else does not belong together: loud, nothing dropped silently. */
	for (gen = 0; gen < 10; gen++) {
		if (gen == 4 || gen == 5)
			continue;
		snprintf(text, sizeof(text), journal, gen);
		put_file(f->journal.buf, text);
		assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), -1);
		assert_non_null(strstr(err_msg(), "they do not belong together"));
		assert_non_null(strstr(err_msg(), f->journal.buf));
	}
	/* A table from before journals (no "generation") takes a journal of 0. */
	put_file(f->table.buf, "{\"apps\": {}, \"version\": 1}");
	snprintf(text, sizeof(text), journal, 0);
	put_file(f->journal.buf, text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(disk.records, 1);
	specs_free(specs, n);
}

/* ---- the writer, on a loop -------------------------------------------------------- */

struct session {
	uv_loop_t loop;
	struct router r;
	int done, failed;
	char why[512];
};

static void on_done(struct router *r, int status, const char *why, void *data)
{
	struct session *s = data;

	(void)r;
	s->done++;
	if (status < 0) {
		s->failed++;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
}

/* A router as restore() leaves it: the table and journal loaded, the writer started. */
static void session_start(struct session *s, const struct fixture *f)
{
	struct router_disk disk;
	struct route_def *specs;
	size_t n;

	memset(s, 0, sizeof(*s));
	assert_int_equal(uv_loop_init(&s->loop), 0);
	s->r.loop = &s->loop;
	s->r.opts.state_file = f->table.buf;
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(router__persist_init(&s->r, specs, n, &disk), 0);
	specs_free(specs, n);
}

static void session_put(struct session *s, const char *app, const char *body)
{
	struct route_def rs = ROUTE_DEF_INIT;

	assert_int_equal(router__route_parse(&rs, app, body, strlen(body)), 0);
	assert_int_equal(router__persist_submit(&s->r, ROUTER_PERSIST_ROUTE, &rs, on_done, s), 0);
	router__route_release(&rs);
}

static void session_stop(struct session *s)
{
	uv_run(&s->loop, UV_RUN_DEFAULT);
	router__persist_free(&s->r);
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void test_writer_appends(void **state)
{
	struct fixture *f = *state;
	struct session s;
	struct route_def *specs, rm = ROUTE_DEF_INIT;
	struct router_disk disk;
	char *text;
	size_t n;

	session_start(&s, f);
	session_put(&s, "web", "{\"domains\": [\"web.com\"], \"targets\": [\"127.0.0.1:1\"]}");
	session_put(&s, "api", "{\"domains\": [\"api.com\"], \"targets\": []}");
	session_put(&s, "web", "{\"domains\": [\"web.com\"], \"targets\": [\"127.0.0.1:2\"]}");
	rm.app = strdup("api");
	assert_int_equal(router__persist_submit(&s.r, ROUTER_PERSIST_REMOVE, &rm, on_done, &s), 0);
	router__route_release(&rm);
	session_stop(&s);
	assert_int_equal(s.done, 4);
	assert_int_equal(s.failed, 0);
	/* No table written: a fresh journal, then one line per change. */
	assert_false(fs_exists(f->table.buf));
	text = read_text(f->journal.buf);
	assert_int_equal(count_lines(text), 5);
	assert_int_equal(strncmp(text, "{\"generation\": 0, \"journal\": 1}\n", 32), 0);
	assert_non_null(strstr(text, "\n{\"api\": null}\n"));
	/* The record is the table's piece of the app, on one line. */
	assert_non_null(strstr(text,
			       "\n{\"web\": {\"domains\": [\"web.com\"],\"drain_timeout_ms\": "
			       "30000,\"targets\": [\"127.0.0.1:2\"]}}\n"));
	free(text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 1);
	assert_string_equal(specs[0].targets[0], "127.0.0.1:2");
	assert_int_equal(disk.records, 4);
	specs_free(specs, n);
}

static void test_compaction(void **state)
{
	struct fixture *f = *state;
	struct session s;
	struct route_def *specs;
	struct router_disk disk;
	char body[128], app[16], *text;
	size_t n, i;

	/* More records than max(1024, apps): the table is written whole with the next
	 * generation, then a fresh journal of it. */
	session_start(&s, f);
	for (i = 0; i < 1100; i++) {
		snprintf(app, sizeof(app), "app%zu", i % 10);
		snprintf(body, sizeof(body),
			 "{\"domains\": [\"%s.com\"], \"targets\": [\"127.0.0.1:%zu\"]}", app,
			 1000 + i);
		session_put(&s, app, body);
	}
	session_stop(&s);
	assert_int_equal(s.done, 1100);
	assert_int_equal(s.failed, 0);
	text = read_text(f->journal.buf);
	assert_string_equal(text, "{\"generation\": 1, \"journal\": 1}\n");
	free(text);
	text = read_text(f->table.buf);
	assert_non_null(strstr(text, "\"generation\": 1,"));
	free(text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 10);
	assert_int_equal(disk.generation, 1);
	assert_string_equal(find(specs, n, "app9")->targets[0], "127.0.0.1:2099");
	specs_free(specs, n);

	/* A crash between the renames of the next compaction: table 2 would hold it all,
	 * journal 1 is stale. Made here by putting a stale journal beside the table. */
	rewrite(f->table.buf, "\"generation\": 1,", "\"generation\": 2,\n  \"version\": 1\n}");
	put_file(f->journal.buf, "{\"generation\": 1, \"journal\": 1}\n{\"app0\": null}\n");
	session_start(&s, f);
	session_put(&s, "new", "{\"domains\": [], \"targets\": []}");
	session_stop(&s);
	assert_int_equal(s.failed, 0);
	/* The stale journal was replaced by a fresh one of the table's generation first. */
	text = read_text(f->journal.buf);
	assert_int_equal(count_lines(text), 2);
	assert_non_null(strstr(text, "{\"generation\": 2, \"journal\": 1}\n{\"new\": ") == text
				? text
				: NULL);
	free(text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 11); /* app0 kept: the stale journal's removal was not replayed */
	specs_free(specs, n);

	/* A torn last line read at start: the first write compacts (so nothing is ever
	 * appended after it) and the torn bytes are gone. */
	rewrite(f->journal.buf, NULL, "{\"app1\": nu");
	session_start(&s, f);
	session_put(&s, "new2", "{\"domains\": [], \"targets\": []}");
	session_stop(&s);
	text = read_text(f->journal.buf);
	assert_non_null(strstr(text, "{\"generation\": 3, \"journal\": 1}\n{\"new2\": ") == text
				? text
				: NULL);
	assert_null(strstr(text, "nu\n"));
	free(text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 12);
	assert_int_equal(disk.torn, 0);
	specs_free(specs, n);
}

static void test_failed_append(void **state)
{
	struct fixture *f = *state;
	struct session s;
	struct route_def *specs;
	struct router_disk disk;
	struct rlimit old, lim;
	struct stat st;
	off_t before;
	char *text;
	size_t n;

	session_start(&s, f);
	session_put(&s, "keep", "{\"domains\": [\"keep.com\"], \"targets\": [\"127.0.0.1:1\"]}");
	uv_run(&s.loop, UV_RUN_DEFAULT);
	assert_int_equal(s.failed, 0);
	assert_int_equal(stat(f->journal.buf, &st), 0);
	before = st.st_size;
	/* The disk is full 10 bytes further: a record is written in part, then EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	session_put(&s, "keep", "{\"domains\": [\"keep.com\"], \"targets\": [\"127.0.0.1:2\"]}");
	session_put(&s, "other", "{\"domains\": [\"other.com\"], \"targets\": []}");
	uv_run(&s.loop, UV_RUN_DEFAULT);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(s.done, 3);
	assert_true(s.failed >= 1);
	assert_non_null(strstr(s.why, "cannot append to"));
	/* Truncated back: exactly what was there. */
	assert_int_equal(stat(f->journal.buf, &st), 0);
	assert_int_equal(st.st_size, before);
	/* The writer's table was put back too: the next write keeps keep's first route and
	 * knows nothing of the failed changes. */
	s.failed = 0;
	session_put(&s, "third", "{\"domains\": [], \"targets\": []}");
	session_stop(&s);
	assert_int_equal(s.failed, 0);
	text = read_text(f->journal.buf);
	assert_int_equal(count_lines(text), 3);
	assert_null(strstr(text, "127.0.0.1:2"));
	free(text);
	assert_int_equal(router__table_load(&specs, &n, &disk, f->table.buf), 0);
	assert_int_equal(n, 2);
	assert_string_equal(find(specs, n, "keep")->targets[0], "127.0.0.1:1");
	assert_null(find(specs, n, "other"));
	specs_free(specs, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_append, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
