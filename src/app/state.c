/* state.c - the JSON files under WHARF_ROOT that describe apps, their releases and
 * every app's global settings; app_update(). The lock queue is in queue.c. */
#include "app.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int app_file(struct buf *out, const char *app, const char *leaf)
{
	return wharf_app_path(out, app, leaf);
}

int app_exists(const char *app)
{
	struct buf p = BUF_INIT;
	int r = app_file(&p, app, "app.json") == 0 && fs_exists(p.buf);
	buf_release(&p);
	return r;
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

int app_create(const char *app)
{
	struct buf dir = BUF_INIT, now = BUF_INIT;
	json_t *obj = NULL;
	int ret = -1;

	if (valid_app_name(app) < 0)
		goto out;
	if (app_exists(app)) {
		err_set("app '%s' already exists", app);
		goto out;
	}
	if (wharf_app_path(&dir, app, NULL) < 0 || app_dirs_private(app) < 0 ||
	    clock_utc_iso8601(&now) < 0)
		goto out;
	obj = json_object();
	if (!obj || !app_ensure(obj, APP_CONFIG) || !app_ensure(obj, APP_DOMAINS) ||
	    app_set_str(obj, APP_CREATED_AT, now.buf) < 0) {
		err_set("out of memory");
		goto out;
	}
	ret = app_save(app, obj);
out:
	json_decref(obj);
	buf_release(&dir);
	buf_release(&now);
	return ret;
}

/* Loads apps/<app>/<leaf> into *out (set only on success), with the keys k1 and
 * k2 (APP_KEY_COUNT: none) made when missing, so callers need no checks. */
static int load_file(json_t **out, const char *app, const char *leaf, int missing_ok,
		     enum app_key k1, enum app_key k2)
{
	struct buf p = BUF_INIT;
	json_t *doc = NULL;
	int ret = -1;

	*out = NULL;
	if (app_file(&p, app, leaf) < 0 || json_load_object(&doc, p.buf, missing_ok) < 0)
		goto out;
	if ((k1 < APP_KEY_COUNT && !app_ensure(doc, k1)) ||
	    (k2 < APP_KEY_COUNT && !app_ensure(doc, k2)))
		goto out;
	*out = doc;
	doc = NULL;
	ret = 0;
out:
	json_decref(doc);
	buf_release(&p);
	return ret;
}

static int save_file(const char *app, const char *leaf, const json_t *doc)
{
	struct buf p = BUF_INIT;
	int ret = app_file(&p, app, leaf) < 0 ? -1 : json_save_atomic(p.buf, doc);
	buf_release(&p);
	return ret;
}

int app_load(const char *app, json_t **out)
{
	*out = NULL;
	if (valid_app_name(app) < 0)
		return -1;
	if (!app_exists(app))
		return err_set("app '%s' does not exist", app);
	/* Fill what older or hand-edited files may lack. */
	return load_file(out, app, "app.json", 0, APP_CONFIG, APP_DOMAINS);
}

int app_save(const char *app, const json_t *obj)
{
	return app_dirs_private(app) < 0 ? -1 : save_file(app, "app.json", obj);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int app_list(json_t **out)
{
	struct buf dir = BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;
	DIR *d = NULL;
	struct dirent *e;
	json_t *list = json_array();
	int ret = -1;

	*out = NULL;
	if (!list || buf_addf(&dir, "%s/apps", wharf_root()) < 0)
		goto out;
	d = opendir(dir.buf);
	if (!d)
		goto done; /* no apps yet */
	while ((e = readdir(d)) != NULL) {
		char **nn;
		err_clear();
		if (valid_app_name(e->d_name) < 0 || !app_exists(e->d_name))
			continue;
		nn = realloc(names, sizeof(*names) * (n + 1));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			err_set("out of memory");
			goto out;
		}
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		if (json_array_append_new(list, json_string(names[i])) < 0) {
			err_set("out of memory");
			goto out;
		}
done:
	*out = list;
	list = NULL;
	ret = 0;
out:
	json_decref(list);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	buf_release(&dir);
	return ret;
}

int app_list_or_one(const char *app, json_t **out)
{
	if (!app)
		return app_list(out);
	*out = json_pack("[s]", app);
	return *out ? 0 : err_set("out of memory");
}

int app_releases_load(const char *app, json_t **out)
{
	return load_file(out, app, "releases.json", 1, APP_RELEASES, APP_KEY_COUNT);
}

int app_releases_save(const char *app, const json_t *obj)
{
	return save_file(app, "releases.json", obj);
}

json_t *app_releases(const json_t *rels)
{
	return app_get(rels, APP_RELEASES);
}

json_t *app_release_current(const json_t *rels)
{
	json_t *arr = app_releases(rels);
	size_t n = json_array_size(arr);
	return n ? json_array_get(arr, n - 1) : NULL;
}

json_t *app_release_find(const json_t *rels, long long version)
{
	json_t *arr = app_releases(rels), *r;
	size_t i;

	for (i = json_array_size(arr); i-- > 0;)
		if (app_get_int(r = json_array_get(arr, i), APP_VERSION) == version)
			return r;
	return NULL;
}

/* Stores a shared object (a new reference) when there is one. */
static int set_shared(json_t *doc, enum app_key k, const json_t *v)
{
	return v ? app_set(doc, k, json_incref((json_t *)v)) : 0;
}

int app_release_append(json_t *rels, const struct app_release *r)
{
	json_t *rel = json_object(), *arr = app_ensure(rels, APP_RELEASES);

	if (!rel || !arr || app_set_int(rel, APP_VERSION, r->version) < 0 ||
	    app_set_str(rel, APP_IMAGE, r->image) < 0 ||
	    app_set(rel, APP_GIT_REV, r->git_rev ? json_string(r->git_rev) : json_null()) < 0 ||
	    set_shared(rel, APP_CONFIG, r->config) < 0 ||
	    set_shared(rel, APP_FORMATION, r->formation) < 0 ||
	    app_set_str(rel, APP_CREATED_AT, r->created_at) < 0 ||
	    app_set_str(rel, APP_DESCRIPTION, r->description) < 0 ||
	    app_set_str(rel, APP_BY, r->by) < 0 ||
	    set_shared(rel, APP_PROCESSES, r->processes) < 0 ||
	    set_shared(rel, APP_CHECKS, r->checks) < 0 || app_set_str(rel, APP_WHAT, r->what) < 0 ||
	    app_set_str(rel, APP_SOURCE_IMAGE, r->source_image) < 0 ||
	    app_set_bool(rel, APP_PRUNED, r->pruned) < 0 ||
	    set_shared(rel, APP_CRON, r->cron) < 0 ||
	    set_shared(rel, APP_SCRIPTS, r->scripts) < 0 || json_array_append_new(arr, rel) < 0) {
		json_decref(rel);
		return err_set("out of memory");
	}
	return 0;
}

void app_release_read(const json_t *rel, struct app_release *out)
{
	out->version = app_get_int(rel, APP_VERSION);
	out->image = app_get_str(rel, APP_IMAGE);
	out->git_rev = app_get_str(rel, APP_GIT_REV);
	out->config = app_get(rel, APP_CONFIG);
	out->formation = app_get(rel, APP_FORMATION);
	out->created_at = app_get_str(rel, APP_CREATED_AT);
	out->description = app_get_str(rel, APP_DESCRIPTION);
	out->by = app_get_str(rel, APP_BY);
	out->processes = app_get(rel, APP_PROCESSES);
	out->checks = app_get(rel, APP_CHECKS);
	out->what = app_get_str(rel, APP_WHAT);
	out->source_image = app_get_str(rel, APP_SOURCE_IMAGE);
	out->pruned = app_get_bool(rel, APP_PRUNED);
	out->cron = app_get(rel, APP_CRON);
	out->scripts = app_get(rel, APP_SCRIPTS);
}

static int global_file(struct buf *p)
{
	return buf_addf(p, "%s/global.json", wharf_root());
}

int app_global_load(json_t **out)
{
	struct buf p = BUF_INIT;
	int ret;

	*out = NULL;
	ret = global_file(&p) < 0 ? -1 : json_load_object(out, p.buf, 1);
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
	}
	buf_release(&p);
	return ret;
}

int app_global_save(const json_t *obj)
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

int app_global_domain(struct buf *out)
{
	json_t *g = NULL;
	char host[256];
	const char *d;
	int ret = -1;

	if (app_global_load(&g) < 0)
		return -1;
	d = app_get_str(g, APP_DOMAIN);
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

int app_global_domains(json_t **out)
{
	json_t *g = NULL, *list, *v, *res = NULL;
	const char *one;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (app_global_load(&g) < 0)
		return -1;
	if (!(res = json_array())) {
		err_set("out of memory");
		goto out;
	}
	list = app_get(g, APP_DOMAINS);
	one = app_get_str(g, APP_DOMAIN);
	if (list) {
		json_array_foreach(list, i, v)
			if (json_is_string(v) && *json_string_value(v))
				json_array_append(res, v);
	} else if (one && *one) {
		json_array_append_new(res, json_string(one));
	}
	*out = res;
	res = NULL;
	ret = 0;
out:
	json_decref(res);
	json_decref(g);
	return ret;
}

int app_global_set_domains(json_t *gdoc, json_t *list)
{
	if (app_set(gdoc, APP_DOMAINS, json_incref(list)) < 0)
		return -1;
	if (!json_array_size(list)) {
		app_unset(gdoc, APP_DOMAIN);
		return 0;
	}
	return app_set(gdoc, APP_DOMAIN, json_incref(json_array_get(list, 0)));
}

int app_domains(const char *app, const json_t *appobj, json_t **out)
{
	struct buf def = BUF_INIT;
	json_t *extra = app_get(appobj, APP_DOMAINS);
	json_t *globals = NULL, *v, *res = json_array();
	size_t i;
	int ret = -1;

	*out = NULL;
	if (!res) {
		err_set("out of memory");
		goto out;
	}
	if (app_get_bool(appobj, APP_DEFAULT_DOMAIN)) {
		/* One default domain per global domain; the host's name without any. */
		if (app_global_domains(&globals) < 0)
			goto out;
		if (!json_array_size(globals)) {
			if (buf_addf(&def, "%s.", app) < 0 || app_global_domain(&def) < 0)
				goto out;
			json_array_append_new(res, json_string(def.buf));
		}
		json_array_foreach(globals, i, v) {
			buf_reset(&def);
			if (buf_addf(&def, "%s.%s", app, json_string_value(v)) < 0)
				goto out;
			if (!json_array_has_str(res, def.buf))
				json_array_append_new(res, json_string(def.buf));
		}
	}
	json_array_foreach(extra, i, v) {
		if (json_is_string(v) && !json_array_has_str(res, json_string_value(v)))
			json_array_append(res, v);
	}
	*out = res;
	res = NULL;
	ret = 0;
out:
	json_decref(res);
	json_decref(globals);
	buf_release(&def);
	return ret;
}

int app_env(const char *app, json_t **out)
{
	json_t *g = NULL, *appobj = NULL, *gc;
	int ret = -1;

	*out = NULL;
	if (app_global_load(&g) < 0 || app_load(app, &appobj) < 0)
		goto out;
	gc = app_get(g, APP_CONFIG);
	*out = gc ? json_deep_copy(gc) : json_object();
	if (!*out || json_object_update(*out, app_get(appobj, APP_CONFIG)) < 0) {
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

/* Runs fn on doc (loaded by the caller under the lock) and saves it when fn asks. */
static int update_locked(const char *app, json_t *doc, app_update_fn *fn, void *data)
{
	int r = fn(app, doc, data);

	if (r < 0)
		return -1;
	if (r > 0 && (app ? app_save(app, doc) : app_global_save(doc)) < 0)
		return -1;
	return r;
}

int app_update_held(struct lock *l, const char *app, app_update_fn *fn, void *data)
{
	json_t *doc = NULL;
	int ret = -1;

	if (app_lock(l, app) < 0 || app_load(app, &doc) < 0)
		goto out;
	ret = update_locked(app, doc, fn, data);
out:
	json_decref(doc);
	return ret;
}

int app_update(const char *app, app_update_fn *fn, void *data)
{
	struct lock l = LOCK_INIT;
	int ret = app_update_held(&l, app, fn, data);

	lock_release(&l);
	return ret;
}

static int store_key(const char *app, json_t *doc, void *data)
{
	const struct {
		enum app_key k;
		json_t *v;
	} *kv = data;

	(void)app;
	if (!kv->v) {
		app_unset(doc, kv->k);
		return 1;
	}
	return app_set(doc, kv->k, json_incref(kv->v)) < 0 ? -1 : 1;
}

int app_update_key(const char *app, enum app_key k, json_t *v)
{
	struct {
		enum app_key k;
		json_t *v;
	} kv = { k, v };
	int ret = app_update(app, store_key, &kv);

	json_decref(v);
	return ret;
}

int app_global_lock(struct lock *l)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (buf_addf(&p, "%s/global.lock", wharf_root()) < 0 ||
	    fs_mkdir_p(wharf_root(), 0755) < 0 || lock_take(l, p.buf, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int app_global_update(app_update_fn *fn, void *data)
{
	struct lock l = LOCK_INIT;
	json_t *doc = NULL;
	int ret = -1;

	if (app_global_lock(&l) < 0 || app_global_load(&doc) < 0)
		goto out;
	ret = update_locked(NULL, doc, fn, data);
out:
	lock_release(&l);
	json_decref(doc);
	return ret;
}
