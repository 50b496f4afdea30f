/* state.c - the JSON files under WHARF_ROOT that describe apps and releases. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int app_file(struct buf *out, const char *app, const char *leaf)
{
	return wharf_app_path(out, app, leaf);
}

int state_app_exists(const char *app)
{
	struct buf p = BUF_INIT;
	int r = app_file(&p, app, "app.json") == 0 && fs_exists(p.buf);
	buf_release(&p);
	return r;
}

int state_now(struct buf *out)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf_addstr(out, t);
}

/* apps/ and apps/<app> are 0700: config, repository and certificate are the
 * app's secrets. Roots an older wharf made 0755 are closed on the next write. */
static int app_dirs_private(const char *app)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (buf_addf(&p, "%s/apps", wharf_root()) < 0 || fs_private_dir(p.buf) < 0 ||
	    buf_addf(&p, "/%s", app) < 0 || fs_private_dir(p.buf) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int state_app_create(const char *app)
{
	struct buf dir = BUF_INIT, now = BUF_INIT;
	json_t *obj = NULL;
	int ret = -1;

	if (valid_app_name(app) < 0)
		goto out;
	if (state_app_exists(app)) {
		err_set("app '%s' already exists", app);
		goto out;
	}
	if (wharf_app_path(&dir, app, NULL) < 0 || app_dirs_private(app) < 0 ||
	    state_now(&now) < 0)
		goto out;
	obj = json_pack("{s:{},s:[],s:s}", "config", "domains", "created_at", now.buf);
	if (!obj) {
		err_set("out of memory");
		goto out;
	}
	ret = state_app_save(app, obj);
out:
	json_decref(obj);
	buf_release(&dir);
	buf_release(&now);
	return ret;
}

int state_app_load(const char *app, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (valid_app_name(app) < 0)
		goto out;
	if (!state_app_exists(app)) {
		err_set("app '%s' does not exist", app);
		goto out;
	}
	if (app_file(&p, app, "app.json") < 0 || json_load_object(out, p.buf, 0) < 0)
		goto out;
	/* Fill what older or hand-edited files may lack, so callers need no checks. */
	if (!json_is_object(json_object_get(*out, "config")))
		json_object_set_new(*out, "config", json_object());
	if (!json_is_array(json_object_get(*out, "domains")))
		json_object_set_new(*out, "domains", json_array());
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int state_app_save(const char *app, const json_t *obj)
{
	struct buf p = BUF_INIT;
	int ret = app_file(&p, app, "app.json") < 0 || app_dirs_private(app) < 0
		  ? -1 : json_save_atomic(p.buf, obj);
	buf_release(&p);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_app_list(json_t **out)
{
	struct buf dir = BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;
	DIR *d = NULL;
	struct dirent *e;
	int ret = -1;

	*out = json_array();
	if (buf_addf(&dir, "%s/apps", wharf_root()) < 0)
		goto out;
	d = opendir(dir.buf);
	if (!d) {
		ret = 0;                /* no apps yet */
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		char **nn;
		err_clear();
		if (valid_app_name(e->d_name) < 0 || !state_app_exists(e->d_name))
			continue;
		nn = realloc(names, sizeof(*names) * (n + 1));
		if (!nn)
			goto out;
		names = nn;
		names[n++] = strdup(e->d_name);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		json_array_append_new(*out, json_string(names[i]));
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	buf_release(&dir);
	return ret;
}

int state_releases_load(const char *app, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (app_file(&p, app, "releases.json") < 0 || json_load_object(out, p.buf, 1) < 0)
		goto out;
	if (!json_is_array(json_object_get(*out, "releases")))
		json_object_set_new(*out, "releases", json_array());
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int state_releases_save(const char *app, const json_t *obj)
{
	struct buf p = BUF_INIT;
	int ret = app_file(&p, app, "releases.json") < 0 ? -1 : json_save_atomic(p.buf, obj);
	buf_release(&p);
	return ret;
}

json_t *state_current_release(const json_t *releases)
{
	json_t *arr = json_object_get(releases, "releases");
	size_t n = json_array_size(arr);
	return n ? json_array_get(arr, n - 1) : NULL;
}

static int global_file(struct buf *p)
{
	return buf_addf(p, "%s/global.json", wharf_root());
}

int state_global_load(json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = global_file(&p) < 0 ? -1 : json_load_object(out, p.buf, 1);
	buf_release(&p);
	return ret;
}

int state_global_save(const json_t *obj)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (global_file(&p) < 0 || fs_mkdir_p(wharf_root(), 0755) < 0)
		goto out;
	ret = json_save_atomic(p.buf, obj);
out:
	buf_release(&p);
	return ret;
}

int state_global_domain(struct buf *out)
{
	json_t *g = NULL;
	char host[256];
	const char *d;
	int ret = -1;

	if (state_global_load(&g) < 0)
		return -1;
	d = json_str(g, "domain", NULL);
	if (d && *d) {
		ret = buf_addstr(out, d);
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		ret = buf_addstr(out, host);
	}
	json_decref(g);
	return ret;
}

int state_global_domains(json_t **out)
{
	json_t *g = NULL, *list, *v;
	const char *one;
	size_t i;

	*out = json_array();
	if (state_global_load(&g) < 0)
		return -1;
	list = json_object_get(g, "domains");
	one = json_str(g, "domain", NULL);
	if (json_is_array(list)) {
		json_array_foreach(list, i, v)
			if (json_is_string(v) && *json_string_value(v))
				json_array_append(*out, v);
	} else if (one && *one) {
		json_array_append_new(*out, json_string(one));
	}
	json_decref(g);
	return 0;
}

static int array_has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}

int state_app_domains(const char *app, const json_t *appobj, json_t **out)
{
	struct buf def = BUF_INIT;
	json_t *extra = json_object_get(appobj, "domains");
	json_t *globals = NULL, *v;
	size_t i;
	int ret = -1;

	*out = json_array();
	if (!json_is_false(json_object_get(appobj, "default_domain"))) {
		/* One default domain per global domain; the host's name without any. */
		if (state_global_domains(&globals) < 0)
			goto out;
		if (!json_array_size(globals)) {
			if (buf_addf(&def, "%s.", app) < 0 || state_global_domain(&def) < 0)
				goto out;
			json_array_append_new(*out, json_string(def.buf));
		}
		json_array_foreach(globals, i, v) {
			buf_reset(&def);
			if (buf_addf(&def, "%s.%s", app, json_string_value(v)) < 0)
				goto out;
			if (!array_has_str(*out, def.buf))
				json_array_append_new(*out, json_string(def.buf));
		}
	}
	json_array_foreach(extra, i, v) {
		if (json_is_string(v) && !array_has_str(*out, json_string_value(v)))
			json_array_append(*out, v);
	}
	ret = 0;
out:
	json_decref(globals);
	buf_release(&def);
	return ret;
}

int state_app_env(const char *app, json_t **out)
{
	json_t *g = NULL, *appobj = NULL, *gc;
	int ret = -1;

	*out = NULL;
	if (state_global_load(&g) < 0 || state_app_load(app, &appobj) < 0)
		goto out;
	gc = json_object_get(g, "config");
	*out = json_is_object(gc) ? json_deep_copy(gc) : json_object();
	if (!*out || json_object_update(*out, json_object_get(appobj, "config")) < 0) {
		json_decref(*out);
		*out = NULL;
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(g);
	json_decref(appobj);
	return ret;
}

/* A ticket is alive while its owner holds a flock on it; one nobody holds
 * belongs to a process that is gone (a dropped ssh session, SIGKILL). */
static int ticket_alive(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), alive = 1;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		alive = 0;
	close(fd);
	return alive;
}

/* The oldest live ticket in the queue dir, or "" when none; stale ones go. */
static int queue_head(const char *dir, char *head, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	head[0] = '\0';
	if (!d)
		return err_set_errno("cannot read the deploy queue '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		struct buf p = BUF_INIT;
		if (e->d_name[0] == '.' || strspn(e->d_name, "0123456789.") != strlen(e->d_name))
			continue;       /* not a ticket (or one still being made) */
		if (buf_addf(&p, "%s/%s", dir, e->d_name) == 0 && !ticket_alive(p.buf)) {
			unlink(p.buf);
		} else if ((!head[0] || strcmp(e->d_name, head) < 0) && strlen(e->d_name) < size) {
			strcpy(head, e->d_name);
		}
		buf_release(&p);
	}
	closedir(d);
	return 0;
}

/* Makes the ticket under a temporary name, flocks it, then renames it into the
 * queue: nobody can see it unheld and take it for stale. */
static int ticket_take(struct lock *l, struct buf *ticket, const char *dir)
{
	struct buf tmp = BUF_INIT;
	struct timespec now;
	int fd = -1, ret = -1;

	clock_gettime(CLOCK_REALTIME, &now);
	if (buf_addf(ticket, "%s/%013lld%09ld.%ld", dir, (long long)now.tv_sec, (long)now.tv_nsec,
		     (long)getpid()) < 0 || buf_addf(&tmp, "%s.new", ticket->buf) < 0)
		goto out;
	fd = open(tmp.buf, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_SH) < 0 || rename(tmp.buf, ticket->buf) < 0) {
		err_set_errno("cannot join the deploy queue in '%s'", dir);
		goto out;
	}
	l->ticket_fd = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.buf);
	}
	buf_release(&tmp);
	return ret;
}

int state_app_lock(struct lock *l, const char *app)
{
	struct buf lockp = BUF_INIT, dir = BUF_INIT, ticket = BUF_INIT, msg = BUF_INIT;
	char head[128];
	const char *mine;
	int said = 0, ret = -1;

	if (wharf_app_path(&lockp, app, "deploy.lock") < 0 ||
	    wharf_app_path(&dir, app, "queue") < 0 || fs_mkdir_p(dir.buf, 0755) < 0 ||
	    buf_addf(&msg, "Waiting for another deploy or change of '%s' to finish", app) < 0 ||
	    ticket_take(l, &ticket, dir.buf) < 0)
		goto out;
	mine = strrchr(ticket.buf, '/') + 1;
	for (;;) {
		int waited = lock_take(l, lockp.buf, said ? NULL : msg.buf);
		if (waited < 0 || queue_head(dir.buf, head, sizeof(head)) < 0)
			break;
		said |= waited;
		if (!strcmp(head, mine)) {
			l->ticket = buf_detach(&ticket, NULL);
			ret = 0;
			break;
		}
		/* Someone who came earlier is still waiting: let them go first. */
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		if (!said++)
			say_step("%s", msg.buf);
		usleep(100 * 1000);
	}
out:
	if (ret < 0) {
		if (ticket.len)
			unlink(ticket.buf);
		lock_release(l);
	}
	buf_release(&lockp);
	buf_release(&dir);
	buf_release(&ticket);
	buf_release(&msg);
	return ret;
}
