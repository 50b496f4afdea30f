/* deploy.c - deploys of a push, of a change (config, scale) and of a rollback:
 * receiver → build → release → scheduler. The only code that drives those parts
 * together, and the keeper of releases.json. */
#include "internal.h"
#include "build/build.h"
#include "plugins/plugins.h"
#include "receiver/receiver.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int deploy__sched(const struct deploy_request *req, struct scheduler **owned,
		  struct scheduler **out)
{
	return deploy_scheduler(req->app, req->sched, owned, out);
}

/* What a release runs, wherever it came from (a build, the current release, an
 * old one). Borrowed pointers. */
struct release_src {
	const char *image;
	const char *git_rev;
	const json_t *processes;
	const json_t *checks;
	const json_t *config;  /* NULL: the app's current config */
	const char *what;      /* "from-image" for git:from-image; NULL: a push's build */
	const char *source;    /* the image reference git:from-image was given */
	const json_t *cron;    /* app.json's cron entries, kept with the release */
	const json_t *scripts; /* app.json's scripts.dokku, kept with the release */
	/* A push: scripts.dokku.postdeploy runs once the release serves. A redeploy
	 * of an image (config change, restart, rollback) runs no deploy script. */
	int run_scripts;
	int scale; /* a new formation: the scheduler's scale, not its deploy */
};

/* A deploy being assembled from the app's state: what runtime's deploy_req
 * borrows from, owned here. */
struct assembly {
	json_t *appobj, *releases, *domains, *global, *env, *extra, *ropts, *cert;
	struct buf log_size, log_files; /* logs:set's rotation, in Docker's terms */
	const json_t *config;           /* what the release records (borrowed) */
	json_t *formation;              /* borrowed from appobj */
	const char **binds;
	struct deploy_req req;
	long version;
	int stopped;
	char vs[32]; /* the version as a trigger argument */
};

static void assembly_release(struct assembly *a)
{
	json_decref(a->appobj);
	json_decref(a->releases);
	json_decref(a->domains);
	json_decref(a->global);
	json_decref(a->env);
	json_decref(a->extra);
	json_decref(a->ropts);
	json_decref(a->cert);
	free(a->binds);
	buf_release(&a->log_size);
	buf_release(&a->log_files);
}

/* The config var `name` as whole seconds from min to max; -1 when it is unset, or
 * when it is no such number (reported, naming what applies instead). */
static long config_seconds(const json_t *env, const char *name, long min, long max,
			   const char *otherwise)
{
	const char *v = json_string_value(json_object_get(env, name));
	char *end;
	long n;

	if (!v)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		say_warn("%s=%s is not a number of seconds (%ld to %ld); %s", name, v, min, max,
			 otherwise);
		return -1;
	}
	return n;
}

/* The release command's time limit from the app's WHARF_RELEASE_TIMEOUT (seconds;
 * "0" means none) in deploy_req's terms; a value that is no number is reported and
 * the default (an hour, as Heroku's release phase) applies. */
static long release_timeout(const json_t *env)
{
	long n = config_seconds(env, "WHARF_RELEASE_TIMEOUT", 0, 7 * 86400,
				"the release command gets the default hour");

	return n < 0 ? 0 : n == 0 ? -1 : n;
}

/* Loads what the deploy of src needs and fills a->req; runs the pre-deploy
 * trigger unless the app is stopped. */
static int assemble(struct assembly *a, const char *app, const struct release_src *src)
{
	if (app_load(app, &a->appobj) < 0 || app_releases_load(app, &a->releases) < 0 ||
	    app_domains(app, a->appobj, &a->domains) < 0 || app_global_load(&a->global) < 0 ||
	    deploy_router_options(a->appobj, &a->ropts) < 0 || deploy_cert_load(app, &a->cert) < 0)
		return -1;
	/* The release records the app's own config; its containers get the global
	 * config (config:set --global) with the app's over it. */
	a->config = src->config ? src->config : app_get(a->appobj, APP_CONFIG);
	a->env = app_get(a->global, APP_CONFIG) ? json_deep_copy(app_get(a->global, APP_CONFIG))
						: json_object();
	if (!a->env || json_object_update(a->env, (json_t *)a->config) < 0)
		return err_set("out of memory");
	if (!(a->formation = app_ensure(a->appobj, APP_FORMATION)))
		return -1;
	a->version = deploy__next_version(a->releases);
	a->req.app = app;
	a->req.image = src->image;
	a->req.release = a->version;
	a->req.git_rev = src->git_rev;
	a->req.config = a->env;
	a->req.domains = a->domains;
	a->req.processes = src->processes;
	a->req.formation = a->formation;
	a->req.checks = src->checks;
	a->req.release_timeout_s = release_timeout(a->env);
	/* How long a new web container may take to listen on PORT: WHARF_LISTEN_TIMEOUT. */
	a->req.listen_wait_s = (int)config_seconds(a->env, "WHARF_LISTEN_TIMEOUT", 1, 3600,
						   "the web container gets the default 60 s");
	a->req.restart_policy = app_get_str_or(a->appobj, APP_RESTART_POLICY, NULL);
	a->req.resources = app_get(a->appobj, APP_RESOURCES);
	if (deploy_log_settings(a->appobj, a->global, &a->log_size, &a->log_files) < 0)
		return -1;
	a->req.log_max_size = a->log_size.len ? a->log_size.buf : NULL;
	a->req.log_max_file = a->log_files.len ? a->log_files.buf : NULL;
	if (deploy_storage_binds(a->appobj, &a->binds) < 0)
		return -1;
	a->req.binds = a->binds;
	/* A stopped app (ps:stop) stays stopped through every deploy: the release
	 * is made and recorded, and ps:start runs it. */
	a->stopped = app_get_bool(a->appobj, APP_STOPPED);
	deploy__checks_apply(a->appobj, &a->req);     /* checks:skip / checks:disable */
	a->req.web_port = deploy_web_port(a->appobj); /* ports:set, used without overlap */
	/* Whatever deleted the route (a rename, ps:stop, a release without web)
	 * or lost it, the new one gets the app's options and certificate. */
	a->req.router_options = a->ropts;
	a->req.router_cert = a->cert;
	snprintf(a->vs, sizeof(a->vs), "%ld", a->version);
	if (a->stopped)
		return 0;
	if (plugins_pre("pre-deploy", app, (const char *[]){ app, src->image, a->vs, NULL }) < 0 ||
	    plugins_docker_args(&a->extra, "docker-args-deploy", app,
				(const char *[]){ app, a->vs, NULL }) < 0)
		return -1;
	a->req.extra = a->extra;
	a->req.check_fn = deploy__check_deploy;
	a->req.check_data = (void *)app;
	return 0;
}

/* Records the release that now serves (or, for a stopped app, waits) as N, and
 * removes the images retention lets go. Failures here are warnings: the new
 * release serves and must not be reported as if the old one still did. */
static int record(struct assembly *a, struct scheduler *s, const char *app,
		  const struct release_src *src, const char *description, const char *by)
{
	struct app_release r = { 0 };
	struct buf now = BUF_INIT, who = BUF_INIT;
	int ret = -1;

	if (clock_utc_iso8601(&now) < 0)
		goto out;
	deploy__who(&who, by);
	r.version = a->version;
	r.image = src->image;
	r.git_rev = src->git_rev;
	r.config = a->config;
	r.formation = a->formation;
	r.created_at = now.buf;
	r.description = description;
	r.by = who.buf;
	r.processes = src->processes;
	r.checks = src->checks;
	r.what = src->what;
	r.source_image = src->source;
	r.cron = src->cron;
	r.scripts = src->scripts;
	if (app_release_append(a->releases, &r) < 0)
		goto out;
	/* The next deploy keeps the containers the router serves. */
	if (app_releases_save(app, a->releases) < 0) {
		say_warn("v%ld serves, but could not be recorded: %s", a->version, err_msg());
	} else {
		long retain = app_get_int(a->appobj, APP_RETAIN);

		deploy__registry_retain(s, app, a->appobj, a->releases, retain);
		if (deploy__prune_images(s, a->releases, retain) &&
		    app_releases_save(app, a->releases) < 0)
			say_warn("could not record which images were removed: %s", err_msg());
	}
	/* A rollback brings the old config back as the app's config. */
	if (src->config) {
		if (app_set(a->appobj, APP_CONFIG, json_incref((json_t *)src->config)) < 0 ||
		    app_save(app, a->appobj) < 0)
			say_warn("could not restore the config of the release: %s", err_msg());
	}
	ret = 0;
out:
	buf_release(&now);
	buf_release(&who);
	return ret;
}

/* Runs app.json's scripts.dokku.<which> (a predeploy or postdeploy command) in a
 * one-off process of image, its output streaming to the pusher. 0 when the app
 * has none; -1 with the reason when it could not run or exited non-zero. */
static int deploy_script(struct scheduler *s, const char *app, const json_t *scripts,
			 const char *which, const char *image, const char *rev)
{
	struct deploy_request r = DEPLOY_REQUEST_INIT;
	struct sched_io io = { 0 };
	const char *cmd[4] = { "/bin/sh", "-c", NULL, NULL };
	long long code = -1;

	if (!(cmd[2] = json_string_value(json_object_get(scripts, which))))
		return 0;
	say_step("Running %s: %s", which, cmd[2]);
	r.app = app;
	r.sched = s;
	io.no_stdin = 1;
	if (deploy__run_image(&r, image, rev, which, cmd, &io, &code) < 0)
		return err_prefix("the %s command could not run: ", which);
	if (code != 0)
		return err_set("the %s command failed (exit code %lld)", which, code);
	return 0;
}

/* After the swap: a failing postdeploy is reported, and the deploy stands (as
 * Dokku's): the new release already serves. */
static void postdeploy(struct scheduler *s, const char *app, const struct release_src *src)
{
	if (deploy_script(s, app, src->scripts, "postdeploy", src->image, src->git_rev) < 0)
		say_warn("%s; the deploy stands", err_msg());
}

/* Runs the release through the scheduler and records it as release N; prints
 * the URLs. The caller holds the app's lock. */
static int release_and_run(struct scheduler *s, const char *app, const struct release_src *src,
			   const char *description, const char *by)
{
	struct assembly a = { .log_size = BUF_INIT, .log_files = BUF_INIT };
	struct deploy__swarm sw = DEPLOY__SWARM_INIT;
	size_t i;
	json_t *v;
	int ret = -1;

	if (assemble(&a, app, src) < 0)
		goto out;
	/* A swarm app's nodes pull the release from the cluster's registry. */
	if (!a.stopped && deploy__is_swarm(s) &&
	    deploy__swarm_prepare(s, app, a.appobj, a.version, &sw, &a.req) < 0)
		goto out;
	if (!a.stopped &&
	    (src->scale ? scheduler_scale(s, &a.req) : scheduler_deploy(s, &a.req)) < 0)
		goto out;
	if (!a.stopped)
		deploy__swarm_left(s, app);
	if (record(&a, s, app, src, description, by) < 0)
		goto out;
	plugins_post("post-release", app, (const char *[]){ app, a.vs, NULL });
	if (a.stopped) {
		say_step("%s is stopped: v%ld is recorded but not started; `ps:start %s` runs it",
			 app, a.version, app);
		ret = 0;
		goto out;
	}
	say_section("Application deployed: v%ld", a.version);
	json_array_foreach(a.domains, i, v)
		say_detail("http://%s", json_string_value(v));
	if (src->run_scripts)
		postdeploy(s, app, src);
	plugins_post("post-deploy", app,
		     (const char *[]){ app, a.vs, src->image, src->git_rev, NULL });
	ret = 0;
out:
	assembly_release(&a);
	deploy__swarm_release(&sw);
	return ret;
}

/* Removes build dirs an interrupted deploy of this app left (the caller holds
 * the app's lock, so none is in use). '_' cannot occur in app names, so the
 * prefix never matches another app's dirs. */
static void remove_stale_build_dirs(const char *app, const char *tmproot)
{
	struct buf prefix = BUF_INIT;
	DIR *dir = opendir(tmproot);
	struct dirent *e;

	buf_addf(&prefix, "build-%s_", app);
	while (dir && (e = readdir(dir)) != NULL) {
		struct buf p = BUF_INIT;
		if (strncmp(e->d_name, prefix.buf, prefix.len))
			continue;
		if (buf_addf(&p, "%s/%s", tmproot, e->d_name) == 0 && fs_rm_rf(p.buf) < 0)
			say_warn("%s", err_msg());
		buf_release(&p);
	}
	if (dir)
		closedir(dir);
	buf_release(&prefix);
}

/* Before a deploy: what an interrupted one left behind goes. */
static int clean_leftovers(struct scheduler *s, const char *app, const json_t *releases)
{
	struct buf tmproot = BUF_INIT;

	if (buf_addf(&tmproot, "%s/tmp", wharf_root()) == 0)
		remove_stale_build_dirs(app, tmproot.buf);
	buf_release(&tmproot);
	return scheduler_cleanup(s, app, app_get_int(app_release_current(releases), APP_VERSION));
}

/* Keeps the deploy's message and says what still serves: the push is rejected. */
static void push_failed(const char *app, const json_t *releases)
{
	struct buf why = BUF_INIT;

	buf_addstr(&why, err_msg());
	/* A first push has no previous release to keep serving. */
	if (app_release_current(releases))
		err_set("deploy of %s failed: %s; the previous release keeps serving", app,
			why.buf);
	else
		err_set("deploy of %s failed: %s; nothing was deployed", app, why.buf);
	buf_release(&why);
}

/* Builds rev into an image in a fresh build dir and deploys it. */
static int build_and_run(struct scheduler *s, const struct deploy_request *req,
			 const json_t *releases)
{
	struct buf tmp = BUF_INIT, tmproot = BUF_INIT, desc = BUF_INIT, prefix = BUF_INIT;
	struct deploy__build built = DEPLOY__BUILD_INIT;
	struct release_src src = { 0 };
	json_t *checks = NULL;
	const char *app = req->app, *rev = req->rev;
	int ret = -1;

	if (buf_addf(&tmproot, "%s/tmp", wharf_root()) < 0 ||
	    buf_addf(&prefix, "build-%s_", app) < 0 || fs_private_dir(tmproot.buf) < 0 ||
	    clean_leftovers(s, app, releases) < 0 || fs_mkdtemp(&tmp, tmproot.buf, prefix.buf) < 0)
		goto out;
	if (deploy__build_tree(scheduler_builder(s), req, tmp.buf, deploy__next_version(releases),
			       &built) < 0 ||
	    runtime_checks_from_dir(&checks, tmp.buf) < 0)
		goto out;
	if (json_array_size(built.cron))
		say_step("Using %zu cron entr%s from app.json", json_array_size(built.cron),
			 json_array_size(built.cron) == 1 ? "y" : "ies");
	if (checks)
		say_step("Using %zu startup check%s from the app", json_array_size(checks),
			 json_array_size(checks) == 1 ? "" : "s");
	if (plugins_pre("pre-release", app, (const char *[]){ app, built.image.buf, rev, NULL }) <
	    0)
		goto out;
	/* Before any container of the release starts, and before the release
	 * phase: a failure leaves the previous release serving. */
	if (deploy_script(s, app, built.scripts, "predeploy", built.image.buf, rev) < 0)
		goto out;
	src.image = built.image.buf;
	src.git_rev = rev;
	src.processes = built.processes;
	src.checks = checks;
	src.cron = built.cron;
	src.scripts = built.scripts;
	src.run_scripts = 1;
	if (buf_addf(&desc, "deploy %.7s", rev) < 0 ||
	    release_and_run(s, app, &src, req->why ? req->why : desc.buf, req->by) < 0)
		goto out;
	ret = 0;
out:
	if (tmp.len && fs_rm_rf(tmp.buf) < 0)
		say_warn("could not remove %s: %s", tmp.buf, err_msg());
	json_decref(checks);
	deploy__build_release(&built);
	buf_release(&tmp);
	buf_release(&tmproot);
	buf_release(&prefix);
	buf_release(&desc);
	return ret;
}

int deploy_push(const struct deploy_request *req)
{
	struct buf output = BUF_INIT;
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	json_t *releases = NULL;
	double t0 = clock_now_s();
	int ret = -1;

	/* A push over ssh already holds the app's lock and hands it over (sshcmd.c). */
	if (!req->locked && !lock_adopt_app(&l, req->app) && app_lock(&l, req->app) < 0)
		goto out;
	/* What the pusher sees is kept for logs:failed should the deploy fail. */
	buf_init(&output, DEPLOY_FAILED_LOG_MAX);
	say_tap(&output);
	say_step("Deploying %s (%.7s)", req->app, req->rev);
	if (app_releases_load(req->app, &releases) < 0)
		goto out;
	if (deploy__sched(req, &owned, &s) < 0 || build_and_run(s, req, releases) < 0)
		goto out;
	say_detail("deployed in %.1fs", clock_now_s() - t0);
	ret = 0;
out:
	say_tap(NULL);
	if (ret < 0)
		push_failed(req->app, releases);
	if (ret < 0 && output.max) {
		struct err_saved why;
		err_save(&why);
		deploy__failed_log_save(req->app, &output, why.text);
		err_restore(&why);
	}
	buf_release(&output);
	lock_release(&l);
	json_decref(releases);
	scheduler_free(owned);
	return ret;
}

int deploy_rebuild(const struct deploy_request *req)
{
	struct deploy_request r = *req;
	json_t *rels = NULL;
	struct buf rev = BUF_INIT;
	int ret = -1;

	if (app_releases_load(req->app, &rels) < 0)
		return -1;
	if (!app_get_str(app_release_current(rels), APP_GIT_REV)) {
		err_set("%s has no pushed commit to rebuild: push first", req->app);
		goto out;
	}
	buf_addstr(&rev, app_get_str_or(app_release_current(rels), APP_GIT_REV, ""));
	r.rev = rev.buf;
	ret = deploy_push(&r);
out:
	json_decref(rels);
	buf_release(&rev);
	return ret;
}

/* The release to redeploy: N = from, or the current one when from is 0. */
static int pick_release(const json_t *releases, long from, const char *app, const json_t **out)
{
	const json_t *rel = NULL;
	json_t *r;
	size_t i;

	json_array_foreach(app_releases(releases), i, r)
		if (from ? app_get_int(r, APP_VERSION) == from : 1)
			rel = r;
	*out = rel;
	if (!rel && from)
		return err_set("%s has no release v%ld; see `wharf releases %s`", app, from, app);
	if (rel && app_get_bool(rel, APP_PRUNED))
		return err_set("the image of v%ld was removed (only the last releases keep theirs: "
			       "releases:set %s retain N); push its commit again instead",
			       from, app);
	return 0;
}

/* Redeploys release `from` (the current one when 0): with restore_config, its
 * own config comes back too (a rollback); else the app's current config is used. */
static int redeploy_release(const struct deploy_request *req, long from, int restore_config,
			    const char *why)
{
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	struct release_src src = { 0 };
	json_t *releases = NULL;
	const json_t *rel;
	int ret = -1;

	if ((!req->locked && app_lock(&l, req->app) < 0) ||
	    app_releases_load(req->app, &releases) < 0 ||
	    pick_release(releases, from, req->app, &rel) < 0)
		goto out;
	if (!rel) {
		say_detail("%s has no release yet: the change applies on the first deploy",
			   req->app);
		ret = 0;
		goto out;
	}
	src.image = app_get_str_or(rel, APP_IMAGE, "");
	src.git_rev = app_get_str(rel, APP_GIT_REV);
	src.processes = app_get(rel, APP_PROCESSES);
	src.checks = app_get(rel, APP_CHECKS);
	src.config = restore_config ? app_get(rel, APP_CONFIG) : NULL;
	src.what = app_get_str(rel, APP_WHAT);
	src.source = app_get_str(rel, APP_SOURCE_IMAGE);
	src.cron = app_get(rel, APP_CRON);
	src.scripts = app_get(rel, APP_SCRIPTS);
	src.scale = req->scale;
	say_step("%s %s", restore_config ? "Rolling back" : "Restarting", req->app);
	if (deploy__sched(req, &owned, &s) < 0 || clean_leftovers(s, req->app, releases) < 0 ||
	    release_and_run(s, req->app, &src, why, req->by) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(releases);
	scheduler_free(owned);
	return ret;
}

int deploy_image(const struct deploy_request *req)
{
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	struct release_src src = { 0 };
	struct buf tag = BUF_INIT, desc = BUF_INIT, repo = BUF_INIT, n = BUF_INIT;
	json_t *releases = NULL, *info = NULL;
	const char *app = req->app, *ref = req->image, *id;
	long version;
	int ret = -1;

	if ((!req->locked && app_lock(&l, app) < 0) || app_releases_load(app, &releases) < 0 ||
	    deploy__sched(req, &owned, &s) < 0)
		goto out;
	/* Only an image this Docker has: asking for another would make it pull. */
	if (scheduler_image_inspect(s, ref, &info) < 0)
		goto out;
	if (!info) {
		err_set("image '%s' does not exist in the local Docker (wharf never pulls: "
			"build or `docker load` it on this host first)",
			ref);
		goto out;
	}
	/* A deployer deploys only images built for its app: another app's image would
	 * hand it that app's code (and whatever the build baked in). Admins may
	 * deploy any local image. */
	if (req->deployer && !build_image_is_apps(info, ref, app)) {
		err_set("refused: deployers may deploy only images built for %s (wharf/%s:… or "
			"labelled wharf.app=%s); '%s' is not",
			app, app, app, ref);
		goto out;
	}
	id = json_str(info, "Id", "");
	version = deploy__next_version(releases);
	say_step("Deploying image %s (%.19s) to %s", ref, id, app);
	/* The release runs wharf's own tag of the image, so that image GC of old
	 * releases removes that tag and never the name the user gave it. */
	if (buf_addf(&repo, "wharf/%s", app) < 0 || buf_addf(&n, "%ld", version) < 0 ||
	    scheduler_image_tag(s, id, repo.buf, n.buf) < 0 ||
	    buf_addf(&tag, "%s:%s", repo.buf, n.buf) < 0)
		goto out;
	src.image = tag.buf;
	src.what = "from-image";
	src.source = ref;
	if (buf_addf(&desc, "from-image %s", ref) < 0 || clean_leftovers(s, app, releases) < 0 ||
	    release_and_run(s, app, &src, req->why ? req->why : desc.buf, req->by) < 0) {
		/* The failed release's tag goes; the message stays the deploy's. */
		struct err_saved why;
		err_save(&why);
		scheduler_image_remove(s, tag.buf, 0);
		err_restore(&why);
		goto out;
	}
	ret = 0;
out:
	lock_release(&l);
	json_decref(releases);
	json_decref(info);
	scheduler_free(owned);
	buf_release(&tag);
	buf_release(&desc);
	buf_release(&repo);
	buf_release(&n);
	return ret;
}

int deploy_redeploy_check(const char *app)
{
	struct scheduler *s = NULL, *out_s;
	json_t *releases = NULL;
	int ret = -1;

	if (app_releases_load(app, &releases) < 0)
		goto out;
	if (!app_release_current(releases) || deploy_scheduler(app, NULL, &s, &out_s) == 0)
		ret = 0;
out:
	json_decref(releases);
	scheduler_free(s);
	return ret;
}

int deploy_redeploy(const struct deploy_request *req)
{
	return redeploy_release(req, 0, 0, req->why);
}

int deploy_rollback(const struct deploy_request *req)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addf(&why, "rollback to v%ld", req->version);
	ret = redeploy_release(req, req->version, 1, req->why ? req->why : why.buf);
	buf_release(&why);
	return ret;
}
