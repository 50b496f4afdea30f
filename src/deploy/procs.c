/* procs.c - what happens to a deployed app's processes between deploys: scale,
 * restart, stop/start, restore, route refresh, checks, one-off processes,
 * cleanup and removal. Each reaches the processes through the scheduler. */
#include "internal.h"
#include "build/build.h"
#include "plugins/plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The current release's N (0: none yet). */
static long current_version(const char *app, json_t **rels)
{
	if (app_releases_load(app, rels) < 0)
		return -1;
	return (long)app_get_int(app_release_current(*rels), APP_VERSION);
}

int deploy_restart(const struct deploy_request *req)
{
	struct deploy_request r = *req;

	if (plugins_pre("pre-restart", req->app, (const char *[]){ req->app, NULL }) < 0)
		return -1;
	r.why = req->why ? req->why : "restart";
	return deploy_redeploy(&r);
}

/* app_update() callback of deploy_scale(): counts into the formation. */
static int store_formation(const char *app, json_t *doc, void *data)
{
	json_t *formation = app_ensure(doc, APP_FORMATION), *v;
	const char *type;

	if (!formation)
		return -1;
	say_step("Scaling %s processes", app);
	json_object_foreach((json_t *)data, type, v) {
		json_object_set(formation, type, v);
		say_detail("%s: %lld", type, (long long)json_integer_value(v));
	}
	return 1;
}

/* A swarm app runs at most SCHED_SWARM_REPLICAS_MAX processes of a type: refused
 * before the formation is saved. */
static int swarm_limit(const char *app, const json_t *counts)
{
	const char *name, *type;
	json_t *v;

	if (deploy_app_scheduler(app, &name) < 0)
		return -1;
	if (strcmp(name, "swarm"))
		return 0;
	json_object_foreach((json_t *)counts, type, v)
		if (json_integer_value(v) > SCHED_SWARM_REPLICAS_MAX)
			return err_set("%s=%lld: a swarm app runs at most %d %s processes (each "
				       "task's port ends in its slot, 1-9)",
				       type, (long long)json_integer_value(v),
				       SCHED_SWARM_REPLICAS_MAX, type);
	return 0;
}

int deploy_scale(const struct deploy_request *req, const json_t *counts)
{
	struct deploy_request r = *req;
	json_t *rels = NULL, *v;
	const json_t *procs;
	const char *type;
	int ret = -1;

	if (app_releases_load(req->app, &rels) < 0)
		goto out;
	procs = app_get(app_release_current(rels), APP_PROCESSES);
	json_object_foreach((json_t *)counts, type, v) {
		if (strcmp(type, "web") && !json_object_get(procs, type)) {
			err_set("%s has no process type '%s' (its Procfile defines: %s)", req->app,
				type, procs ? "see releases:info" : "web only");
			goto out;
		}
	}
	if (swarm_limit(req->app, counts) < 0)
		goto out;
	/* With the lock held by the caller, the change is made in place. */
	if (req->locked) {
		json_t *doc = NULL;
		if (app_load(req->app, &doc) < 0 ||
		    store_formation(req->app, doc, (void *)counts) < 0 ||
		    app_save(req->app, doc) < 0) {
			json_decref(doc);
			goto out;
		}
		json_decref(doc);
	} else if (app_update(req->app, store_formation, (void *)counts) < 0) {
		goto out;
	}
	r.why = req->why ? req->why : "scale";
	r.scale = 1;
	ret = deploy_redeploy(&r);
out:
	json_decref(rels);
	return ret;
}

static int store_stopped(const char *app, json_t *doc, void *data)
{
	(void)app;
	return app_set_bool(doc, APP_STOPPED, *(int *)data) < 0 ? -1 : 1;
}

/* Sets or clears app.json's "stopped" under the app's lock, which stays held in
 * l (unless the caller holds it already). */
static int set_stopped(struct lock *l, const struct deploy_request *req, int stopped)
{
	json_t *doc = NULL;
	int ret;

	if (!req->locked)
		return app_update_held(l, req->app, store_stopped, &stopped) < 0 ? -1 : 0;
	ret = app_load(req->app, &doc) < 0 || store_stopped(req->app, doc, &stopped) < 0 ||
			      app_save(req->app, doc) < 0
		      ? -1
		      : 0;
	json_decref(doc);
	return ret;
}

/* Stops every process of the app and keeps it stopped: deploys record their
 * release without starting it, and ps:restore leaves it, until ps:start. The
 * processes stay (stopped) for logs. */
int deploy_stop(const struct deploy_request *req, int *stopped)
{
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;
	int ret = -1;

	*stopped = 0;
	if (deploy__sched(req, &owned, &s) < 0 || set_stopped(&l, req, 1) < 0)
		goto out;
	say_step("Stopping %s", req->app);
	if (scheduler_list(s, req->app, &procs) < 0)
		goto out;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (strcmp(p->state, "running") && strcmp(p->state, "restarting"))
			continue;
		if (scheduler_stop(s, p->id, 10) < 0) {
			say_warn("could not stop %.12s: %s", p->id, err_msg());
			goto out;
		}
		(*stopped)++;
	}
	/* Nothing serves it now: the router answers 502 quickly instead of trying
	 * dead targets; ps:start routes it again. */
	if (router_client_delete(req->app) < 0)
		say_warn("the router still has %s: %s", req->app, err_msg());
	say_detail("%d container%s stopped; `ps:start %s` starts it again", *stopped,
		   *stopped == 1 ? "" : "s", req->app);
	plugins_post("post-stop", req->app, (const char *[]){ req->app, NULL });
	ret = 0;
out:
	lock_release(&l);
	sched_procs_release(&procs);
	scheduler_free(owned);
	return ret;
}

/* Removes the processes ps:stop left (none of them runs), so the deploy that
 * follows does not take them for leftovers of an interrupted deploy. */
static void remove_stopped(struct scheduler *s, const struct sched_procs *procs)
{
	size_t i;
	int n = 0;

	for (i = 0; i < procs->n; i++) {
		const struct sched_proc *p = &procs->v[i];
		if (!strcmp(p->state, "running"))
			continue;
		if (scheduler_remove(s, p->id) < 0)
			say_warn("could not remove stopped container %.12s: %s", p->id, err_msg());
		else
			n++;
	}
	if (n)
		say_detail("removed %d stopped container%s", n, n == 1 ? "" : "s");
}

int deploy_start(const struct deploy_request *req)
{
	struct deploy_request r = *req;
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	int ret = -1;

	if (deploy__sched(req, &owned, &s) < 0 || set_stopped(&l, req, 0) < 0)
		goto out;
	say_step("Starting %s", req->app);
	if (scheduler_list(s, req->app, &procs) < 0)
		goto out;
	remove_stopped(s, &procs);
	lock_release(&l);
	r.sched = s;
	r.why = req->why ? req->why : "start";
	ret = deploy_redeploy(&r);
	if (ret == 0)
		plugins_post("post-start", req->app, (const char *[]){ req->app, NULL });
out:
	lock_release(&l);
	sched_procs_release(&procs);
	scheduler_free(owned);
	return ret;
}

/* Starts the current release's processes that are not running; how many run. */
static int start_release(struct scheduler *s, const char *app, long version)
{
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;
	int running = 0;

	if (scheduler_list(s, app, &procs) < 0)
		return -1;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (p->release != version)
			continue;
		if (strcmp(p->state, "running") && scheduler_start(s, p->id) < 0)
			say_warn("could not start %.12s: %s", p->id, err_msg());
		else
			running++;
	}
	sched_procs_release(&procs);
	return running;
}

/* Brings one app back to its current release after dockerd or the machine
 * restarted: stopped processes are started; if none runs, the current release is
 * redeployed; then the router is told the targets. */
int deploy_restore(const struct deploy_request *req)
{
	struct deploy_request r = *req;
	struct lock l = LOCK_INIT;
	struct scheduler *owned = NULL, *s = NULL;
	json_t *rels = NULL, *appobj = NULL;
	int running, ret = -1;
	long version;

	/* Under the app's lock: a restore must not race a deploy. */
	if (deploy__sched(req, &owned, &s) < 0 || (!req->locked && app_lock(&l, req->app) < 0) ||
	    (version = current_version(req->app, &rels)) < 0 || app_load(req->app, &appobj) < 0)
		goto out;
	if (app_get_bool(appobj, APP_STOPPED)) {
		say_step("%s is stopped (ps:stop): not restored", req->app);
		ret = 0;
		goto out;
	}
	if (!version) {
		ret = 0; /* never deployed */
		goto out;
	}
	if ((running = start_release(s, req->app, version)) < 0)
		goto out;
	r.sched = s;
	if (!running) {
		lock_release(&l);
		say_step("Redeploying %s v%ld", req->app, version);
		r.why = req->why ? req->why : "restore";
		ret = deploy_redeploy(&r);
		goto out;
	}
	say_step("%s: %d container%s of v%ld running", req->app, running, running > 1 ? "s" : "",
		 version);
	r.locked = 1;
	ret = deploy_route_refresh(&r, 1);
out:
	lock_release(&l);
	json_decref(rels);
	json_decref(appobj);
	scheduler_free(owned);
	return ret;
}

/* The running web processes of release `version` as router targets. */
static int release_targets(struct scheduler *s, const char *app, long version, json_t *targets)
{
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;

	if (scheduler_list(s, app, &procs) < 0)
		return -1;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (!p->target[0] || p->release != version || strcmp(p->state, "running"))
			continue;
		json_array_append_new(targets, json_string(p->target));
	}
	sched_procs_release(&procs);
	return 0;
}

/* The targets a refreshed route keeps: from the processes, or what the router
 * serves now. *out is a new array. */
static int refresh_targets(const struct deploy_request *req, int from_processes, json_t **out)
{
	struct scheduler *owned = NULL, *s = NULL;
	json_t *rels = NULL, *route = NULL;
	long version;
	int ret = -1;

	*out = NULL;
	if (from_processes) {
		/* After a restart: what the current release runs is what to serve. */
		*out = json_array();
		if ((version = current_version(req->app, &rels)) < 0 ||
		    deploy__sched(req, &owned, &s) < 0 ||
		    release_targets(s, req->app, version, *out) < 0)
			goto out;
	} else {
		/* A domains change keeps exactly the targets the router serves: never
		 * a container that has not passed its checks. */
		if (router_client_get(req->app, &route) < 0)
			goto out;
		*out = json_incref(json_object_get(route, "targets"));
	}
	ret = 0;
out:
	json_decref(rels);
	json_decref(route);
	scheduler_free(owned);
	return ret;
}

static int route_refresh_locked(const struct deploy_request *req, int from_processes)
{
	struct route_spec rs = { 0 };
	json_t *appobj = NULL, *domains = NULL, *targets = NULL, *ropts = NULL, *cert = NULL;
	const char **doms = NULL, **tv = NULL;
	int ret = -1;

	if (app_load(req->app, &appobj) < 0 || app_domains(req->app, appobj, &domains) < 0 ||
	    refresh_targets(req, from_processes, &targets) < 0)
		goto out;
	if (!json_array_size(targets)) {
		ret = 0; /* nothing serves yet: the next deploy routes it */
		goto out;
	}
	doms = json_str_vec(domains);
	tv = json_str_vec(targets);
	if (!doms || !tv) {
		err_set("out of memory");
		goto out;
	}
	rs.app = req->app;
	rs.domains = doms;
	rs.targets = tv;
	rs.drain_timeout_ms = 30000;
	if (deploy_router_options(appobj, &ropts) < 0 || deploy_cert_load(req->app, &cert) < 0)
		goto out;
	rs.options = ropts;
	rs.cert = cert;
	ret = router_client_put(&rs);
out:
	json_decref(ropts);
	json_decref(cert);
	free(doms);
	free(tv);
	json_decref(appobj);
	json_decref(domains);
	json_decref(targets);
	return ret;
}

int deploy_route_refresh(const struct deploy_request *req, int from_processes)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	if (req->locked || app_lock(&l, req->app) == 0)
		ret = route_refresh_locked(req, from_processes);
	lock_release(&l);
	return ret;
}

int deploy_checks_run(const struct deploy_request *req)
{
	struct scheduler *owned = NULL, *s = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	json_t *app = NULL, *rels = NULL, *domains = NULL;
	const json_t *cur;
	const char *host;
	size_t i;
	long version;
	int ran = 0, ret = -1;

	if (app_load(req->app, &app) < 0 || app_releases_load(req->app, &rels) < 0 ||
	    app_domains(req->app, app, &domains) < 0)
		goto out;
	cur = app_release_current(rels);
	if (!cur) {
		err_set("%s has no release yet: push it first", req->app);
		goto out;
	}
	if (deploy__sched(req, &owned, &s) < 0 || scheduler_list(s, req->app, &procs) < 0)
		goto out;
	host = json_string_value(json_array_get(domains, 0));
	version = (long)app_get_int(cur, APP_VERSION);
	say_step("Running checks of %s v%ld", req->app, version);
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (!p->port || p->release != version || strcmp(p->type, "web") ||
		    strcmp(p->state, "running"))
			continue;
		say_detail("web container %.12s on port %d", p->id, p->port);
		if (scheduler_check(s, p, host ? host : "localhost", app_get(cur, APP_CHECKS)) < 0)
			goto out;
		ran++;
	}
	if (!ran) {
		err_set("%s v%ld has no running web container to check", req->app, version);
		goto out;
	}
	say_step("All checks passed");
	ret = 0;
out:
	json_decref(app);
	json_decref(rels);
	json_decref(domains);
	sched_procs_release(&procs);
	scheduler_free(owned);
	return ret;
}

/* The images of the app's releases go (shared by two releases or a clone, or
 * already gone: not an error). */
static void remove_release_images(struct scheduler *s, const char *app)
{
	json_t *rels = NULL, *r;
	size_t i;

	if (app_releases_load(app, &rels) < 0)
		return;
	json_array_foreach(app_releases(rels), i, r) {
		const char *img = app_get_str(r, APP_IMAGE);
		if (img && scheduler_image_remove(s, img, 1) < 0)
			err_clear();
	}
	json_decref(rels);
}

int deploy_remove_app(const struct deploy_request *req, int images)
{
	struct scheduler *owned = NULL, *s = NULL;
	int ret = -1;

	if (deploy__sched(req, &owned, &s) < 0 || scheduler_remove_app(s, req->app, 10) < 0)
		goto out;
	if (images) {
		deploy__swarm_forget(s, req->app);
		remove_release_images(s, req->app);
		/* the dependency layer and the build cache */
		build_forget_app(scheduler_builder(s), req->app);
	}
	ret = 0;
out:
	scheduler_free(owned);
	return ret;
}

/* Is p a target of route (a route object or NULL)? */
static int served(const struct sched_proc *p, const json_t *route)
{
	json_t *t;
	size_t j;

	json_array_foreach(json_object_get(route, "targets"), j, t)
		if (sched_target_is(p, json_string_value(t)))
			return 1;
	return 0;
}

/* Removes the app's exited or dead processes that the router does not serve.
 * The caller holds the app's lock, so no deploy of it is under way. */
static int cleanup_processes(struct scheduler *s, const char *app, int *removed)
{
	struct sched_procs procs = SCHED_PROCS_INIT;
	json_t *route = NULL;
	size_t i;
	int ret = -1;

	if (scheduler_list(s, app, &procs) < 0 || router_client_get(app, &route) < 0)
		goto out;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if ((strcmp(p->state, "exited") && strcmp(p->state, "dead")) || served(p, route))
			continue;
		if (scheduler_remove(s, p->id) < 0) {
			say_warn("could not remove container %.12s: %s", p->id, err_msg());
			continue;
		}
		say_detail("removed container %.12s (%s, %s)", p->id, p->name[0] ? p->name : "?",
			   p->state);
		(*removed)++;
	}
	ret = 0;
out:
	sched_procs_release(&procs);
	json_decref(route);
	return ret;
}

/* The image of every release of every app: never garbage, even when untagged. */
static int release_images(json_t *out)
{
	json_t *apps = NULL, *v;
	size_t i;

	if (app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v) {
		json_t *rels = NULL, *r;
		size_t j;
		if (app_releases_load(json_string_value(v), &rels) < 0) {
			json_decref(apps);
			return -1;
		}
		json_array_foreach(app_releases(rels), j, r)
			if (app_get_str(r, APP_IMAGE))
				json_object_set_new(out, app_get_str_or(r, APP_IMAGE, ""),
						    json_true());
		json_decref(rels);
	}
	json_decref(apps);
	return 0;
}

/* Removes dangling (untagged) images that wharf built on this root (for one app,
 * or all): what failed builds and retagged releases leave. */
static int cleanup_images(struct scheduler *s, const char *app, int *removed)
{
	json_t *list = NULL, *keep = json_object(), *img;
	size_t i;
	int ret = -1;

	if (release_images(keep) < 0 || scheduler_images_dangling(s, app, &list) < 0)
		goto out;
	json_array_foreach(list, i, img) {
		const char *id = json_string_value(img);
		if (json_object_get(keep, id))
			continue;
		if (scheduler_image_remove(s, id, 0) < 0) {
			say_warn("could not remove image %.19s: %s", id, err_msg());
			continue;
		}
		say_detail("removed dangling image %.19s", id);
		(*removed)++;
	}
	ret = 0;
out:
	json_decref(list);
	json_decref(keep);
	return ret;
}

int deploy_cleanup(const struct deploy_request *req, int *containers, int *images)
{
	struct scheduler *owned = NULL, *s = NULL;
	json_t *apps = NULL, *v;
	size_t i;
	int ret = -1;

	*containers = *images = 0;
	if (app_list_or_one(req->app, &apps) < 0)
		return -1;
	if (deploy__sched(req, &owned, &s) < 0)
		goto out;
	say_step("Cleaning up%s%s", req->app ? " " : "", req->app ? req->app : "");
	json_array_foreach(apps, i, v) {
		struct lock l = LOCK_INIT;
		int r;
		/* The app's lock: a deploy under way has processes that are not yet (or
		 * no longer) served, and they are not garbage. */
		if (app_lock(&l, json_string_value(v)) < 0)
			goto out;
		r = cleanup_processes(s, json_string_value(v), containers);
		lock_release(&l);
		if (r < 0)
			goto out;
	}
	if (cleanup_images(s, req->app, images) < 0)
		goto out;
	ret = 0;
out:
	json_decref(apps);
	scheduler_free(owned);
	return ret;
}
