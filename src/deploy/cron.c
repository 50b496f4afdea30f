/* cron.c - runs of an app's cron entries (app.json "cron", recorded with each
 * release): one-off processes of the current release, one at a time per entry,
 * with their last run kept in apps/<app>/cron.json so that neither a daemon
 * restart nor a second daemon runs a scheduled minute twice. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CRON_LOG_MAX (1L << 20)

/* apps/<app>/cron[/<leaf>], the directory made on the way. */
static int cron_path(struct buf *out, const char *app, const char *leaf)
{
	if (wharf_app_path(out, app, "cron") < 0 || fs_mkdir_p(out->buf, 0700) < 0)
		return -1;
	return leaf ? buf_addf(out, "/%s", leaf) : 0;
}

/* An id from a user (cron:run) names a file: 12 hex digits only. */
static int id_ok(const char *id)
{
	if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12)
		return err_set("'%s' is not a cron id (12 hex digits; see cron:list)", id);
	return 0;
}

int deploy_cron_entries(const char *app, json_t **out)
{
	json_t *rels = NULL, *cron;

	*out = NULL;
	if (app_releases_load(app, &rels) < 0)
		return -1;
	cron = app_get(app_release_current(rels), APP_CRON);
	*out = cron ? json_deep_copy(cron) : json_array();
	json_decref(rels);
	return *out ? 0 : err_set("out of memory");
}

const json_t *deploy_cron_find(const json_t *entries, const char *app, const char *id)
{
	const json_t *e;
	size_t i;

	json_array_foreach(entries, i, e)
		if (!strcmp(json_str(e, "id", ""), id))
			return e;
	err_set("%s has no cron entry '%s' in its current release (see `wharf cron:list %s`)", app,
		id, app);
	return NULL;
}

int deploy_cron_log_path(struct buf *out, const char *app, const char *id)
{
	if (id_ok(id) < 0 || cron_path(out, app, NULL) < 0)
		return -1;
	return buf_addf(out, "/%s.log", id);
}

int deploy_cron_log_open(const char *app, const char *id)
{
	struct buf p = BUF_INIT, old = BUF_INIT;
	struct stat st;
	int fd = -1;

	if (deploy_cron_log_path(&p, app, id) < 0)
		goto out;
	/* One old generation: the log of an entry stays under 2 MiB. */
	if (stat(p.buf, &st) == 0 && st.st_size > CRON_LOG_MAX &&
	    (buf_addf(&old, "%s.1", p.buf) < 0 || rename(p.buf, old.buf) < 0))
		say_warn("could not rotate %s: %s", p.buf, strerror(errno));
	fd = open(p.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		err_set_errno("cannot open %s", p.buf);
out:
	buf_release(&p);
	buf_release(&old);
	return fd;
}

int deploy_cron_state_load(const char *app, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret;

	*out = NULL;
	ret = wharf_app_path(&p, app, "cron.json") < 0 ? -1 : json_load_object(out, p.buf, 1);
	buf_release(&p);
	return ret;
}

/* fn changes the entry's object of cron.json under apps/<app>/cron.lock (short:
 * never held across a run); returns fn's value (1 saves), or -1. */
typedef int state_fn(json_t *entry, void *data);
static int state_update(const char *app, const char *id, state_fn *fn, void *data)
{
	struct lock l = LOCK_INIT;
	struct buf lp = BUF_INIT, sp = BUF_INIT;
	json_t *st = NULL, *e;
	int ret = -1, r;

	if (wharf_app_path(&lp, app, "cron.lock") < 0 ||
	    wharf_app_path(&sp, app, "cron.json") < 0 || lock_take(&l, lp.buf, NULL) < 0 ||
	    json_load_object(&st, sp.buf, 1) < 0)
		goto out;
	if (!json_is_object(e = json_object_get(st, id))) {
		if (json_object_set_new(st, id, e = json_object()) < 0 || !e) {
			err_set("out of memory");
			goto out;
		}
	}
	if ((r = fn(e, data)) < 0 || (r == 1 && json_save_atomic(sp.buf, st) < 0))
		goto out;
	ret = r;
out:
	lock_release(&l);
	json_decref(st);
	buf_release(&lp);
	buf_release(&sp);
	return ret;
}

static int claim(json_t *e, void *data)
{
	long long minute = *(long long *)data;

	if (json_int(e, "last_scheduled", 0) >= minute)
		return 0;
	return json_object_set_new(e, "last_scheduled", json_integer(minute)) < 0
		       ? err_set("out of memory")
		       : 1;
}

int deploy_cron_claim(const char *app, const char *id, long long minute)
{
	return state_update(app, id, claim, &minute);
}

struct outcome {
	long long started, finished, code; /* finished 0: the run starts */
};

static int record(json_t *e, void *data)
{
	const struct outcome *o = data;

	if (!o->finished)
		return json_object_set_new(e, "last_started", json_integer(o->started)) < 0
			       ? err_set("out of memory")
			       : 1;
	if (json_object_set_new(e, "last_finished", json_integer(o->finished)) < 0 ||
	    json_object_set_new(e, "last_exit", json_integer(o->code)) < 0)
		return err_set("out of memory");
	return 1;
}

/* The entry's run lock, without waiting: 1 taken (*fd holds it), 0 busy. */
static int run_lock(const char *app, const char *id, int *fd)
{
	struct buf p = BUF_INIT, leaf = BUF_INIT;
	int ret = -1;

	*fd = -1;
	if (id_ok(id) < 0 || buf_addf(&leaf, "%s.lock", id) < 0 || cron_path(&p, app, leaf.buf) < 0)
		goto out;
	if ((*fd = open(p.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		err_set_errno("cannot open %s", p.buf);
		goto out;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
		ret = 1;
		goto out;
	}
	if (errno != EWOULDBLOCK) {
		err_set_errno("cannot lock %s", p.buf);
		goto out;
	}
	ret = 0;
out:
	if (ret != 1 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	buf_release(&p);
	buf_release(&leaf);
	return ret;
}

int deploy_cron_running(const char *app, const char *id)
{
	int fd, r = run_lock(app, id, &fd);

	if (r == 1)
		close(fd);
	return r == 0;
}

/* "2026-12-04T10:40:00Z cron[ID] …" lines around a run, in its output. */
static void mark(const char *id, const char *fmt, ...) WHARF_PRINTF(2, 3);
static void mark(const char *id, const char *fmt, ...)
{
	struct buf now = BUF_INIT;
	va_list ap;

	clock_utc_iso8601(&now);
	printf("%s cron[%s] ", now.buf, id);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	buf_release(&now);
}

int deploy_cron_exec(const struct deploy_request *req, const char *id, long long *code, int *busy)
{
	const char *cmd[4] = { "/bin/sh", "-c", NULL, NULL };
	struct sched_io io = { 0 };
	struct outcome o = { 0 };
	const json_t *e;
	json_t *entries = NULL;
	double t0;
	int fd = -1, ret = -1, r;

	*code = -1;
	if (busy)
		*busy = 0;
	if (deploy_cron_entries(req->app, &entries) < 0 ||
	    !(e = deploy_cron_find(entries, req->app, id)) || (r = run_lock(req->app, id, &fd)) < 0)
		goto out;
	if (!r) {
		if (busy)
			*busy = 1;
		err_set("cron entry %s of %s is still running: one run at a time", id, req->app);
		goto out;
	}
	cmd[2] = json_str(e, "command", "");
	o.started = (long long)time(NULL);
	if (state_update(req->app, id, record, &o) < 0)
		goto out;
	mark(id, "start: %s", cmd[2]);
	io.no_stdin = 1;
	t0 = clock_now_s();
	r = deploy__run_current(req, "cron", cmd, &io, code);
	o.finished = (long long)time(NULL);
	o.code = r < 0 ? -1 : *code;
	if (r < 0)
		mark(id, "could not run (%.1fs): %s", clock_now_s() - t0, err_msg());
	else
		mark(id, "exit %lld (%.1fs)", *code, clock_now_s() - t0);
	/* The outcome is recorded even when the run failed to start. */
	{
		struct err_saved why;
		err_save(&why);
		if (state_update(req->app, id, record, &o) < 0)
			say_warn("could not record the run of %s: %s", id, err_msg());
		err_restore(&why);
	}
	if (r < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(entries);
	return ret;
}
