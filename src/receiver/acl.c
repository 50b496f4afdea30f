/* acl.c - who may do what over ssh: each key is an admin (everything) or a
 * deployer limited to the apps it is granted. */
#include "receiver.h"

#include <string.h>

static int acl_path(struct buf *out, const char *leaf)
{
	return buf_addf(out, "%s/.ssh/%s", wharf_root(), leaf);
}

int receiver_acl_load(json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (acl_path(&p, "acl.json") < 0 || json_load_object(out, p.buf, 1) < 0)
		goto out;
	if (!json_is_object(json_object_get(*out, "keys")))
		json_object_set_new(*out, "keys", json_object());
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

const char *receiver_acl_role(const json_t *acl, const char *key)
{
	const char *role = json_str(json_object_get(json_object_get(acl, "keys"), key), "role", "");

	return !strcmp(role, "deployer") ? "deployer" : "admin";
}

/* Loads, lets change() edit, saves; under the lock. key NULL: every key's entry
 * is change()'s to edit. */
typedef int acl_change_fn(json_t *keys, const char *key, const void *arg);

static int acl_update(const char *key, acl_change_fn *change, const void *arg)
{
	struct lock l = LOCK_INIT;
	struct buf p = BUF_INIT, dir = BUF_INIT;
	json_t *acl = NULL;
	int ret = -1;

	if (key && valid_key_name(key) < 0)
		return -1;
	if (buf_addf(&dir, "%s/.ssh", wharf_root()) < 0 || fs_mkdir_p(dir.buf, 0700) < 0 ||
	    acl_path(&p, "acl.lock") < 0 || lock_take(&l, p.buf, NULL) < 0)
		goto out;
	buf_reset(&p);
	if (receiver_acl_load(&acl) < 0 || acl_path(&p, "acl.json") < 0)
		goto out;
	if (change(json_object_get(acl, "keys"), key, arg) < 0)
		goto out;
	ret = json_save_atomic(p.buf, acl);
out:
	lock_release(&l);
	json_decref(acl);
	buf_release(&p);
	buf_release(&dir);
	return ret;
}

static int set_role(json_t *keys, const char *key, const void *arg)
{
	json_t *k = json_object_get(keys, key);

	if (!k) {
		k = json_pack("{s:[]}", "apps");
		json_object_set_new(keys, key, k);
	}
	json_object_set_new(k, "role", json_string(arg));
	return 0;
}

int receiver_acl_set_role(const char *key, const char *role)
{
	if (!role || (strcmp(role, "admin") && strcmp(role, "deployer")))
		return err_set("unknown role '%s': use admin or deployer", role ? role : "");
	return acl_update(key, set_role, role);
}

static int forget(json_t *keys, const char *key, const void *arg)
{
	(void)arg;
	json_object_del(keys, key);
	return 0;
}

int receiver_acl_forget(const char *key)
{
	return acl_update(key, forget, NULL);
}

struct grant_arg {
	const char *app;
	int         grant;
};

static int grant(json_t *keys, const char *key, const void *arg)
{
	const struct grant_arg *g = arg;
	json_t *k = json_object_get(keys, key), *apps, *v;
	size_t i;

	if (!k || strcmp(json_str(k, "role", ""), "deployer"))
		return err_set("key '%s' is not a deployer (admins may use every app; add a "
			       "deployer with `ssh-keys:add NAME --role deployer`)", key);
	apps = json_object_get(k, "apps");
	if (!json_is_array(apps)) {
		apps = json_array();
		json_object_set_new(k, "apps", apps);
	}
	json_array_foreach(apps, i, v)
		if (!strcmp(json_string_value(v), g->app)) {
			if (g->grant)
				return 0;
			return json_array_remove(apps, i);
		}
	if (!g->grant)
		return err_set("key '%s' has no access to %s", key, g->app);
	return json_array_append_new(apps, json_string(g->app));
}

int receiver_acl_grant(const char *app, const char *key, int grant_it)
{
	struct grant_arg g = { app, grant_it };

	if (valid_app_name(app) < 0)
		return -1;
	return acl_update(key, grant, &g);
}

struct move_arg {
	const char *from, *to;          /* to NULL: the app is gone */
};

/* Every grant of from becomes a grant of to, or goes. */
static int move_grants(json_t *keys, const char *unused, const void *arg)
{
	const struct move_arg *m = arg;
	const char *key;
	json_t *k, *apps, *v;
	size_t i;

	(void)unused;
	json_object_foreach(keys, key, k) {
		apps = json_object_get(k, "apps");
		for (i = json_array_size(apps); i-- > 0;) {
			v = json_array_get(apps, i);
			if (!json_is_string(v) || strcmp(json_string_value(v), m->from))
				continue;
			if (m->to)
				json_array_set_new(apps, i, json_string(m->to));
			else
				json_array_remove(apps, i);
		}
	}
	return 0;
}

int receiver_acl_app_gone(const char *app)
{
	struct move_arg m = { app, NULL };

	if (valid_app_name(app) < 0)
		return -1;
	return acl_update(NULL, move_grants, &m);
}

int receiver_acl_app_renamed(const char *from, const char *to)
{
	struct move_arg m = { from, to };

	if (valid_app_name(from) < 0 || valid_app_name(to) < 0)
		return -1;
	return acl_update(NULL, move_grants, &m);
}

static int granted(const json_t *acl, const char *key, const char *app)
{
	json_t *apps = json_object_get(json_object_get(json_object_get(acl, "keys"), key), "apps");
	json_t *v;
	size_t i;

	json_array_foreach(apps, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), app))
			return 1;
	return 0;
}

int receiver_acl_check_app(const json_t *acl, const char *key, const char *app)
{
	if (!strcmp(receiver_acl_role(acl, key), "admin") || granted(acl, key, app))
		return 0;
	return err_set("refused: key '%s' (deployer) has no access to app '%s'", key, app);
}

int receiver_acl_check_command(const json_t *acl, const char *key, enum receiver_access access,
			       int argc, char **argv, const char *app_flag)
{
	const char *name = argv[0];
	int i, apps = 0;

	if (access == ACCESS_LOCAL)
		return err_set("refused: `%s` cannot be run over ssh", name);
	if (!strcmp(receiver_acl_role(acl, key), "admin"))
		return 0;
	if (access == ACCESS_ANYONE ||
	    (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ":help")))
		return 0;
	if (access != ACCESS_DEPLOYER)
		return err_set("refused: key '%s' (deployer) may not run `%s`; deployers run "
			       "app commands for their own apps", key, name);
	/* Every word that names an existing app must name one of this key's: which
	 * word a command takes as its app varies (options before it), so none may
	 * point elsewhere. */
	for (i = 0; i <= argc; i++) {
		const char *w = i < argc ? (i ? argv[i] : NULL) : app_flag;
		if (!w)
			continue;
		if (!strcmp(w, "--global"))
			return err_set("refused: key '%s' (deployer) may not change global "
				       "settings", key);
		if (w[0] == '-' || valid_app_name(w) < 0 || !state_app_exists(w)) {
			err_clear();    /* handled: a word that names no app is not an app word */
			continue;
		}
		if (!granted(acl, key, w))
			return err_set("refused: key '%s' (deployer) has no access to app '%s'", key,
				       w);
		apps++;
	}
	if (!apps)
		return err_set("refused: key '%s' (deployer) may run `%s` only for its own apps",
			       key, name);
	return 0;
}
