/* apps.c - apps:create, list, exists, destroy, report, lock, unlock, locked,
 * rename, clone. */
#include "cli.h"
#include "plugins/plugins.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses argv with no flags but `allowed` and needs exactly npos words, the
 * first an app name (existing when must_exist). */
static int app_args(struct cli_opts *o, int argc, char **argv, const char *allowed, int npos,
		    int must_exist)
{
	if (cli_opts_parse(o, argc, argv, allowed, NULL) < 0)
		return -1;
	if (o->npos != npos)
		return cli_usage(argv[0]);
	return cli_opts_app(o, must_exist);
}

int cli_app_create(const char *app, int need_docker)
{
	struct scheduler *sched = NULL;
	struct buf exe = BUF_INIT, dir = BUF_INIT;
	int created, made = 0, ret = -1;

	if (valid_app_name(app) < 0)
		return -1;
	if (app_exists(app))
		return err_set("app '%s' already exists", app);
	/* A push is about to build: with dockerd down nothing is created and the
	 * message says why. apps:create only writes wharf's own state, which an
	 * admin may prepare (config, domains, router options) before Docker runs. */
	if (need_docker && scheduler_new(&sched, NULL) < 0)
		goto out;
	say_step("Creating %s...", app);
	if (app_create(app) < 0)
		goto out;
	made = 1;
	if (cli_self_exe(&exe) < 0 || receiver_repo_ensure(app, exe.buf, &created) < 0)
		goto out;
	plugins_post("post-create", app, (const char *[]){ app, NULL });
	ret = 0;
out:
	if (ret < 0 && made) {
		/* No app without its repository: the next try starts afresh. */
		struct err_saved why;
		err_save(&why);
		if (wharf_app_path(&dir, app, NULL) == 0)
			fs_rm_rf(dir.buf);
		err_restore(&why);
	}
	scheduler_free(sched);
	buf_release(&exe);
	buf_release(&dir);
	return ret;
}

int cmd_apps_create(int argc, char **argv)
{
	struct cli_opts o;

	if (app_args(&o, argc, argv, "", 1, 0) < 0)
		return -1;
	return cli_app_create(o.pos[0], 0);
}

int cmd_apps_list(int argc, char **argv)
{
	struct cli_opts o;
	json_t *apps = NULL, *v;
	size_t i;
	int json;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos)
		return cli_usage(argv[0]);
	if (app_list(&apps) < 0)
		return -1;
	if (json) {
		char *s = json_dumps(apps, JSON_COMPACT);
		printf("%s\n", s ? s : "[]");
		free(s);
	} else {
		say_section("My Apps");
		json_array_foreach(apps, i, v)
			printf("%s\n", json_string_value(v));
	}
	json_decref(apps);
	return 0;
}

int cmd_apps_exists(int argc, char **argv)
{
	struct cli_opts o;

	if (app_args(&o, argc, argv, "", 1, 0) < 0)
		return -1;
	if (!app_exists(o.pos[0]))
		return err_set("App %s does not exist", o.pos[0]);
	return 0;
}

/* Dokku's guard: a destroy must be confirmed by typing the app's name. */
static int confirm(const char *app)
{
	char line[128];

	say_warn("WARNING: Potentially Destructive Action");
	say_warn("This command will destroy app %s.", app);
	say_warn("To proceed, type \"%s\"", app);
	if (!fgets(line, sizeof(line), stdin))
		return err_set("Confirmation did not match %s. Aborted.", app);
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, app))
		return err_set("Confirmation did not match %s. Aborted.", app);
	return 0;
}

int cmd_apps_destroy(int argc, char **argv)
{
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	struct scheduler *sched = NULL;
	struct buf dir = BUF_INIT;
	const char *app;
	int ret = -1;

	if (app_args(&o, argc, argv, "--force", 1, 1) < 0)
		return -1;
	app = o.pos[0];
	if (!o.force && !cli_force && confirm(app) < 0)
		return -1;
	if (plugins_pre("pre-delete", app, (const char *[]){ app, NULL }) < 0)
		return -1;
	if (scheduler_new(&sched, NULL) < 0)
		goto out;
	if (app_lock(&l, app) < 0)
		goto out;
	/* Grants go first: if anything below fails half-way, no deployer is left
	 * with a grant an app made later under this name would inherit. */
	if (receiver_acl_app_gone(app) < 0)
		goto out;
	say_step("Destroying %s", app);
	if (router_client_delete(app) < 0)
		say_warn("%s", err_msg());
	/* Else an app made later under this name would get its certificate. */
	if (cli_cert_forget(app) < 0)
		say_warn("the router keeps the certificate of %s: %s", app, err_msg());
	/* Its processes, release images, dependency layer and build cache. */
	if (deploy_remove_app(&(struct deploy_request){ .app = app, .sched = sched }, 1) < 0)
		goto out;
	if (wharf_app_path(&dir, app, NULL) < 0 || fs_rm_rf(dir.buf) < 0)
		goto out;
	plugins_post("post-delete", app, (const char *[]){ app, NULL });
	ret = 0;
out:
	lock_release(&l);
	scheduler_free(sched);
	buf_release(&dir);
	return ret;
}

/* ---- report ------------------------------------------------------------------ */

/* Reports one app: printed (stdout, JSON or one flag), or added to all under its name. */
static int app_report(const char *app, const char *flag, int json, json_t *all)
{
	struct buf dir = BUF_INIT, title = BUF_INIT, ver = BUF_INIT;
	json_t *obj = NULL, *rels = NULL, *cur;
	const char *rev;
	int ret = -1;

	if (app_load(app, &obj) < 0 || app_releases_load(app, &rels) < 0 ||
	    wharf_app_path(&dir, app, NULL) < 0 || buf_addf(&title, "%s apps information", app) < 0)
		goto out;
	cur = app_release_current(rels);
	rev = app_get_str_or(cur, APP_GIT_REV, "");
	if (cur)
		buf_addf(&ver, "v%lld", app_get_int(cur, APP_VERSION));
	{
		struct cli_report_row rows[] = {
			{ "Apps created at", app_get_str(obj, APP_CREATED_AT) },
			{ "Apps current release", ver.buf },
			{ "Apps deploy source", *rev ? "git" : "" },
			{ "Apps deploy source metadata", rev },
			{ "Apps dir", dir.buf },
			{ "Apps locked", app_get_bool(obj, APP_LOCKED) ? "true" : "false" },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, app, title.buf, rows, n, flag, json);
	}
out:
	json_decref(obj);
	json_decref(rels);
	buf_release(&dir);
	buf_release(&title);
	buf_release(&ver);
	return ret;
}

int cmd_apps_report(int argc, char **argv)
{
	struct cli_opts o;
	int json;

	if (cli_opts_parse(&o, argc, argv, "--format", "--apps-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1)
		return cli_opts_app(&o, 1) < 0 ? -1 : app_report(o.pos[0], o.flag, json, NULL);
	if (o.flag)
		return err_set("%s needs an app: wharf apps:report <app> %s", o.flag, o.flag);
	return cli_report_every_app(app_report, json);
}

/* ---- deploy lock --------------------------------------------------------------- */

static int store_locked(const char *app, json_t *doc, void *data)
{
	(void)app;
	return app_set_bool(doc, APP_LOCKED, *(int *)data) < 0 ? -1 : 1;
}

static int set_locked(int argc, char **argv, int locked)
{
	struct cli_opts o;

	if (app_args(&o, argc, argv, "", 1, 1) < 0 ||
	    app_update(o.pos[0], store_locked, &locked) < 0)
		return -1;
	say_step(locked ? "Deploy lock created" : "Deploy lock removed");
	return 0;
}

int cmd_apps_lock(int argc, char **argv)
{
	return set_locked(argc, argv, 1);
}

int cmd_apps_unlock(int argc, char **argv)
{
	return set_locked(argc, argv, 0);
}

int cmd_apps_locked(int argc, char **argv)
{
	struct cli_opts o;
	json_t *obj = NULL;
	int locked;

	if (app_args(&o, argc, argv, "", 1, 1) < 0 || app_load(o.pos[0], &obj) < 0)
		return -1;
	locked = app_get_bool(obj, APP_LOCKED);
	json_decref(obj);
	if (!locked)
		return err_set("Deploy lock does not exist");
	say_step("Deploy lock exists");
	return 0;
}

/* ---- rename and clone ------------------------------------------------------------ */

/* Both take <old> <new> [--skip-deploy]: old exists, new is a valid name nobody uses. */
static int two_apps(struct cli_opts *o, int argc, char **argv)
{
	if (app_args(o, argc, argv, "--skip-deploy", 2, 1) < 0 || valid_app_name(o->pos[1]) < 0)
		return -1;
	if (!strcmp(o->pos[0], o->pos[1]))
		return err_set("the new name is the old one");
	if (app_exists(o->pos[1]))
		return err_set("app '%s' already exists", o->pos[1]);
	return 0;
}

/* Runs argv (a fixed program with derived, validated paths: no shell). */
static int run_quiet(const char *const *args)
{
	struct proc_opts o = PROC_OPTS_INIT;
	int status;

	o.argv = args;
	if ((status = proc_run(&o)) < 0)
		return -1;
	if (status)
		return err_set("%s %s failed", args[0], args[1]);
	return 0;
}

/* The hook of a moved or copied repo still names the old app: rewrite it. */
static int refresh_hook(const char *app)
{
	struct buf exe = BUF_INIT;
	int created,
		ret = cli_self_exe(&exe) < 0 ? -1 : receiver_repo_ensure(app, exe.buf, &created);
	buf_release(&exe);
	return ret;
}

/* Renames <root>/cache/<old> too when it exists (buildpack caches). */
static int move_cache(const char *from, const char *to)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	int ret = -1;

	if (buf_addf(&a, "%s/cache/%s", wharf_root(), from) < 0 ||
	    buf_addf(&b, "%s/cache/%s", wharf_root(), to) < 0)
		goto out;
	if (fs_exists(a.buf) && rename(a.buf, b.buf) < 0) {
		err_set_errno("cannot move %s to %s", a.buf, b.buf);
		goto out;
	}
	ret = 0;
out:
	buf_release(&a);
	buf_release(&b);
	return ret;
}

/* Dokku's apps:rename: the app's state, repository, config, domains and
 * releases move to the new name; the old containers and route go, and the
 * current release is deployed again under the new name (a short gap in service,
 * as with Dokku: the custom domains must leave the old route before the new
 * one may claim them). */
int cmd_apps_rename(int argc, char **argv)
{
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	struct scheduler *sched = NULL, *renamed = NULL, *where = NULL;
	struct buf from = BUF_INIT, to = BUF_INIT, ticket = BUF_INIT;
	const char *old, *new;
	int ret = -1;

	if (two_apps(&o, argc, argv) < 0)
		return -1;
	old = o.pos[0];
	new = o.pos[1];
	if (scheduler_new(&sched, NULL) < 0 || wharf_app_path(&from, old, NULL) < 0 ||
	    wharf_app_path(&to, new, NULL) < 0)
		goto out;
	if (app_lock(&l, old) < 0)
		goto out;
	say_step("Renaming %s to %s", old, new);
	if (fs_exists(to.buf)) {
		err_set("'%s' exists", to.buf);
		goto out;
	}
	if (rename(from.buf, to.buf) < 0) {
		err_set_errno("cannot move %s to %s", from.buf, to.buf);
		goto out;
	}
	/* Our queue ticket moved with the directory: drop it there, or the new
	 * name's queue would wait for us forever. */
	if (buf_addf(&ticket, "%s/queue/%s", to.buf, strrchr(l.ticket, '/') + 1) == 0)
		unlink(ticket.buf);
	lock_release(&l);
	/* The deployers of the app follow it to its new name. */
	if (receiver_acl_app_renamed(old, new) < 0 || move_cache(old, new) < 0 ||
	    refresh_hook(new) < 0)
		goto out;
	plugins_post("post-rename", new, (const char *[]){ old, new, NULL });
	if (router_client_delete(old) < 0)
		say_warn("%s", err_msg());
	/* The certificate moved with the app's state: the router gets it under the
	 * new name (the deploy below sends it again with the route, and the router
	 * options of app.json), and forgets the old name's. */
	if (cli_cert_sync(new) < 0)
		say_warn("the router did not get the certificate of %s: %s", new, err_msg());
	if (cli_cert_forget(old) < 0)
		say_warn("the router keeps the certificate of %s: %s", old, err_msg());
	/* The old name's processes run where the app runs (its scheduler:set moved with
	 * its state): on the swarm, its services go. */
	if (deploy_scheduler(new, sched, &renamed, &where) < 0 ||
	    deploy_remove_app(&(struct deploy_request){ .app = old, .sched = where }, 0) < 0)
		goto out;
	if (o.skip_deploy) {
		say_detail("%s is stopped: `ps:restart %s` deploys it", new, new);
		ret = 0;
	} else {
		ret = deploy_redeploy(
			&(struct deploy_request){ .app = new, .why = "rename", .sched = sched });
	}
out:
	lock_release(&l);
	scheduler_free(renamed);
	scheduler_free(sched);
	buf_release(&from);
	buf_release(&to);
	buf_release(&ticket);
	return ret;
}

struct settings_copy {
	const char *old;
	json_t *src; /* a copy of old's app.json */
};

/* app_update() callback of new: old's settings replace new's. Custom domains stay
 * with old (two apps cannot serve one host), the deploy lock too; new gets its
 * own default domain. */
static int take_settings(const char *new, json_t *dst, void *data)
{
	const struct settings_copy *sc = data;
	struct buf now = BUF_INIT;
	int ret = -1;

	(void)new;
	if (clock_utc_iso8601(&now) < 0)
		goto out;
	json_object_clear(dst);
	if (json_object_update(dst, sc->src) < 0) {
		err_set("out of memory");
		goto out;
	}
	app_unset(dst, APP_LOCKED);
	if (app_set(dst, APP_DOMAINS, json_array()) < 0 ||
	    app_set_str(dst, APP_CREATED_AT, now.buf) < 0 ||
	    app_set_str(dst, APP_CLONED_FROM, sc->old) < 0)
		goto out;
	ret = 1;
out:
	buf_release(&now);
	return ret;
}

/* Copies old's settings (config, formation, checks, builder …) into new's
 * app.json (see take_settings()). */
static int copy_settings(const char *old, const char *new)
{
	json_t *src = NULL, *copy = NULL;
	int ret = -1;

	if (app_load(old, &src) < 0)
		goto out;
	copy = json_deep_copy(src);
	if (!copy) {
		err_set("out of memory");
		goto out;
	}
	ret = app_update(new, take_settings, &(struct settings_copy){ old, copy }) < 0 ? -1 : 0;
out:
	json_decref(src);
	json_decref(copy);
	return ret;
}

/* Seeds new's releases.json with old's current release as v0 so that
 * deploy_redeploy() deploys its image (with new's config) as new's v1; the seed is
 * dropped once v1 exists. Returns 1 when there was a release to seed. */
static int seed_release(const char *old, const char *new)
{
	json_t *rels = NULL, *seed = NULL, *cur;
	int ret = -1;

	if (app_releases_load(old, &rels) < 0)
		return -1;
	cur = app_release_current(rels);
	if (!cur || app_get_bool(cur, APP_PRUNED)) {
		ret = 0;
		goto out;
	}
	seed = json_object();
	if (!seed || app_set(seed, APP_RELEASES, json_pack("[O]", cur)) < 0)
		goto out;
	{
		json_t *r = json_array_get(app_releases(seed), 0);
		char desc[128];
		snprintf(desc, sizeof(desc), "cloned from %s v%lld", old,
			 app_get_int(cur, APP_VERSION));
		if (app_set_int(r, APP_VERSION, 0) < 0 || app_set_str(r, APP_DESCRIPTION, desc) < 0)
			goto out;
	}
	ret = app_releases_save(new, seed) < 0 ? -1 : 1;
out:
	json_decref(rels);
	json_decref(seed);
	return ret;
}

static void drop_seed(const char *app)
{
	json_t *rels = NULL, *arr;

	if (app_releases_load(app, &rels) < 0)
		return;
	arr = app_releases(rels);
	if (json_array_size(arr) > 1 &&
	    json_is_integer(json_object_get(json_array_get(arr, 0), app_key_name(APP_VERSION))) &&
	    app_get_int(json_array_get(arr, 0), APP_VERSION) == 0) {
		json_array_remove(arr, 0);
		if (app_releases_save(app, rels) < 0)
			say_warn("%s", err_msg());
	}
	json_decref(rels);
}

/* Dokku's apps:clone: a new app with old's settings and repository, running
 * old's current image (no rebuild) under its own name and config. */
int cmd_apps_clone(int argc, char **argv)
{
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	struct buf from = BUF_INIT, to = BUF_INIT, dir = BUF_INIT;
	const char *old, *new;
	int seeded, ret = -1;

	if (two_apps(&o, argc, argv) < 0)
		return -1;
	old = o.pos[0];
	new = o.pos[1];
	if (wharf_app_path(&from, old, "repo.git") < 0 || wharf_app_path(&to, new, "repo.git") < 0)
		goto out;
	say_step("Cloning %s to %s", old, new);
	/* Old's lock: no push changes its repository or release while we copy. */
	if (app_lock(&l, old) < 0 || app_create(new) < 0)
		goto out;
	if (copy_settings(old, new) < 0)
		goto fail;
	if (fs_exists(from.buf)) {
		const char *cp[] = { "cp", "-a", "--", from.buf, to.buf, NULL };
		if (run_quiet(cp) < 0 || refresh_hook(new) < 0)
			goto fail;
	} else if (refresh_hook(new) < 0) {
		goto fail;
	}
	seeded = seed_release(old, new);
	lock_release(&l);
	if (seeded < 0)
		goto fail;
	if (!seeded) {
		say_detail("%s has no release yet: push to %s to deploy it", old, new);
		ret = 0;
		goto out;
	}
	if (o.skip_deploy) {
		say_detail("not deployed: `ps:restart %s` deploys %s's image", new, old);
		ret = 0;
		goto out;
	}
	if (deploy_redeploy(&(struct deploy_request){ .app = new, .why = "clone" }) < 0)
		goto out; /* new stays, with the seed: `ps:restart` retries */
	drop_seed(new);
	ret = 0;
	goto out;
fail:
	/* A half-made clone would block the name: remove it. */
	{
		struct err_saved e;
		err_save(&e);
		if (wharf_app_path(&dir, new, NULL) == 0)
			fs_rm_rf(dir.buf);
		err_restore(&e);
	}
out:
	lock_release(&l);
	buf_release(&from);
	buf_release(&to);
	buf_release(&dir);
	return ret;
}
