/* oneoff.c - `run` (a one-off process of the current release, assembled like
 * the release's own: the app's environment, storage and limits) and `enter` (a
 * command in a running process). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The limits of a one-off process: the app's "run" values, else its own. */
static int run_limits(const json_t *appobj, long long *memory, long long *nano)
{
	struct app_limits lim;

	app_limits_of(app_get(appobj, APP_RESOURCES), "run", &lim);
	*memory = *nano = 0;
	if ((lim.memory && runtime_parse_memory(lim.memory, memory) < 0) ||
	    (lim.cpu && runtime_parse_cpus(lim.cpu, nano) < 0))
		return -1;
	return 0;
}

/* The environment of a one-off process: the app's config as its processes get
 * it, plus what a deploy adds. */
static int run_env(const char *app, const char *git_rev, const char *process, json_t *env)
{
	json_t *cfg = NULL, *v;
	const char *k;
	int ret = -1;

	if (app_env(app, &cfg) < 0)
		return -1;
	json_object_foreach(cfg, k, v)
		if (json_is_string(v) && json_env_add(env, k, json_string_value(v)) < 0)
			goto out;
	if (json_env_add(env, "WHARF_APP", app) < 0 ||
	    json_env_add(env, "WHARF_PROCESS", process) < 0 ||
	    (git_rev && json_env_add(env, "GIT_REV", git_rev) < 0))
		goto out;
	ret = 0;
out:
	json_decref(cfg);
	return ret;
}

int deploy__run_image(const struct deploy_request *req, const char *image, const char *git_rev,
		      const char *process, const char **cmd, const struct sched_io *io,
		      long long *code)
{
	struct sched_oneoff o = { 0 };
	struct scheduler *owned = NULL, *s = NULL;
	json_t *appobj = NULL, *env = json_array();
	const char **envv = NULL, **binds = NULL;
	int ret = -1;

	*code = -1;
	if (!env || app_load(req->app, &appobj) < 0 || run_env(req->app, git_rev, process, env) < 0)
		goto out;
	if (!(envv = json_str_vec(env)) || deploy_storage_binds(appobj, &binds) < 0 ||
	    run_limits(appobj, &o.memory, &o.nano_cpus) < 0) {
		if (!envv)
			err_set("out of memory");
		goto out;
	}
	o.app = req->app;
	o.image = image;
	o.env = envv;
	o.cmd = cmd;
	o.binds = binds;
	if (deploy__sched(req, &owned, &s) < 0 || scheduler_run(s, &o, io, code) < 0)
		goto out;
	ret = 0;
out:
	free(envv);
	free(binds);
	json_decref(appobj);
	json_decref(env);
	scheduler_free(owned);
	return ret;
}

int deploy__run_current(const struct deploy_request *req, const char *process, const char **cmd,
			const struct sched_io *io, long long *code)
{
	json_t *rels = NULL;
	const json_t *rel;
	int ret = -1;

	*code = -1;
	if (app_releases_load(req->app, &rels) < 0)
		goto out;
	rel = app_release_current(rels);
	if (!app_get_str(rel, APP_IMAGE)) {
		err_set("%s has no release yet: push first", req->app);
		goto out;
	}
	ret = deploy__run_image(req, app_get_str_or(rel, APP_IMAGE, ""),
				app_get_str(rel, APP_GIT_REV), process, cmd, io, code);
out:
	json_decref(rels);
	return ret;
}

int deploy_run(const struct deploy_request *req, const char **cmd, const struct sched_io *io,
	       long long *code)
{
	return deploy__run_current(req, "run", cmd, io, code);
}

/* The newest running process of the app of type (NULL: web if one runs, else
 * any); borrowed from procs. */
static const struct sched_proc *pick(const struct sched_procs *procs, const char *app,
				     const char *type)
{
	const struct sched_proc *any = NULL;
	size_t i;

	for (i = 0; i < procs->n; i++) {
		const struct sched_proc *p = &procs->v[i];
		if (strcmp(p->state, "running"))
			continue;
		if (type ? !strcmp(p->type, type) : !strcmp(p->type, "web"))
			return p;
		if (!type && !any)
			any = p;
	}
	if (!any)
		err_set(type ? "%s has no running %s container" : "%s has no running container",
			app, type);
	return any;
}

int deploy_enter(const struct deploy_request *req, const char *type, const char **cmd,
		 const struct sched_io *io, long long *code)
{
	struct scheduler *owned = NULL, *s = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	const struct sched_proc *p;
	int ret = -1;

	*code = -1;
	if (deploy__sched(req, &owned, &s) < 0 || scheduler_list(s, req->app, &procs) < 0 ||
	    !(p = pick(&procs, req->app, type)) || scheduler_exec(s, p->id, cmd, io, code) < 0)
		goto out;
	ret = 0;
out:
	sched_procs_release(&procs);
	scheduler_free(owned);
	return ret;
}
