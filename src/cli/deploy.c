/* deploy.c - deploys of a push, of a change (config, scale) and of a rollback:
 * receiver → build → release → runtime. The only code that drives those parts
 * together, and the keeper of releases.json. */
#include "cli.h"
#include "plugins/plugins.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RETAIN_DEFAULT 5

static long next_version(const json_t *releases)
{
	return (long)json_int(state_current_release(releases), "version", 0) + 1;
}

/* What a release runs, wherever it came from (a build, the current release, an
 * old one). Borrowed pointers. */
struct release_src {
	const char   *image;
	const char   *git_rev;
	const json_t *processes;
	const json_t *checks;
	const json_t *config;     /* NULL: the app's current config */
	const char   *what;       /* "from-image" for git:from-image; NULL: a push's build */
	const char   *source;     /* the image reference git:from-image was given */
};

/* Who made the change: the ssh key's name, or the local user. */
static void who(struct buf *out)
{
	const char *key = caller_get()->key;
	struct passwd *pw = getpwuid(getuid());

	if (key && *key)
		buf_addstr(out, key);
	else
		buf_addf(out, "local:%s", pw ? pw->pw_name : "?");
}

/* Removes the images of releases older than the newest `retain` ones (images
 * still used by a kept release stay) and marks those releases as pruned.
 * Returns how many images it removed. */
static int prune_images(struct docker *d, json_t *releases, long retain)
{
	json_t *arr = json_object_get(releases, "releases"), *keep = json_array(), *r;
	size_t i, n = json_array_size(arr);
	int removed = 0;

	for (i = n > (size_t)retain ? n - (size_t)retain : 0; i < n; i++)
		json_array_append_new(keep, json_string(json_str(json_array_get(arr, i), "image", "")));
	for (i = 0; n > (size_t)retain && i < n - (size_t)retain; i++) {
		const char *img;
		size_t j;
		json_t *k;
		int kept = 0;

		r = json_array_get(arr, i);
		img = json_str(r, "image", NULL);
		if (!img || json_is_true(json_object_get(r, "pruned")))
			continue;
		json_array_foreach(keep, j, k)
			kept |= !strcmp(json_string_value(k), img);
		if (kept)
			continue;       /* a newer release runs the same image: it stays */
		if (docker_image_remove(d, img, 0) < 0) {
			say_warn("could not remove the image of v%lld: %s", json_int(r, "version", 0),
				 err_msg());
			continue;
		}
		json_object_set_new(r, "pruned", json_true());
		removed++;
	}
	if (removed)
		say_step("Removed %d old image%s (keeping the last %ld releases)", removed,
			 removed > 1 ? "s" : "", retain);
	json_decref(keep);
	return removed;
}

/* The release command's time limit from the app's WHARF_RELEASE_TIMEOUT (seconds;
 * "0" means none) in deploy_req's terms; a value that is no number is reported and
 * the default (an hour, as Heroku's release phase) applies. */
static long release_timeout(const json_t *env)
{
	const char *v = json_string_value(json_object_get(env, "WHARF_RELEASE_TIMEOUT"));
	char *end;
	long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > 7 * 86400) {
		say_warn("WHARF_RELEASE_TIMEOUT=%s is not a number of seconds (0 to 604800); "
			 "the release command gets the default hour", v);
		return 0;
	}
	return n == 0 ? -1 : n;
}

/* Runs the release through the runtime and records it as release N; prints the
 * URLs. The caller holds the app's lock. */
static int release_and_run(struct docker *d, const char *app, const struct release_src *src,
			   const char *description)
{
	struct buf now = BUF_INIT, by = BUF_INIT;
	struct deploy_req req = { 0 };
	json_t *appobj = NULL, *releases = NULL, *domains = NULL, *rel = NULL, *formation, *v;
	json_t *global = NULL, *env = NULL, *extra = NULL, *ropts = NULL, *cert = NULL;
	const json_t *config;
	const char **binds = NULL;
	char vs[32];
	size_t i;
	long version;
	int stopped, ret = -1;

	if (state_app_load(app, &appobj) < 0 || state_releases_load(app, &releases) < 0 ||
	    state_app_domains(app, appobj, &domains) < 0 || state_global_load(&global) < 0 ||
	    cli_router_options(appobj, &ropts) < 0 || cli_cert_load(app, &cert) < 0)
		goto out;
	/* The release records the app's own config; its containers get the global
	 * config (config:set --global) with the app's over it. */
	config = src->config ? src->config : json_object_get(appobj, "config");
	env = json_object_get(global, "config") ? json_deep_copy(json_object_get(global, "config"))
						 : json_object();
	if (!env || json_object_update(env, (json_t *)config) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (!json_is_object(json_object_get(appobj, "formation")))
		json_object_set_new(appobj, "formation", json_object());
	formation = json_object_get(appobj, "formation");
	version = next_version(releases);
	req.app = app;
	req.image = src->image;
	req.release = version;
	req.git_rev = src->git_rev;
	req.config = env;
	req.domains = domains;
	req.processes = src->processes;
	req.formation = formation;
	req.checks = src->checks;
	req.release_timeout_s = release_timeout(env);
	req.restart_policy = json_str(appobj, "restart_policy", NULL);
	req.resources = json_object_get(appobj, "resources");
	if (cli_storage_binds(appobj, &binds) < 0)
		goto out;
	req.binds = binds;
	stopped = json_is_true(json_object_get(appobj, "stopped"));
	/* A stopped app (ps:stop) stays stopped through every deploy: the release
	 * is made and recorded, and ps:start runs it. */
	cli_checks_apply(appobj, &req);              /* checks:skip / checks:disable */
	req.web_port = cli_ports_web_port(appobj);   /* ports:set, used without overlap */
	/* Whatever deleted the route (a rename, ps:stop, a release without web)
	 * or lost it, the new one gets the app's options and certificate. */
	req.router_options = ropts;
	req.router_cert = cert;
	snprintf(vs, sizeof(vs), "%ld", version);
	if (!stopped) {
		if (plugins_pre("pre-deploy", app, (const char *[]){ app, src->image, vs, NULL }) < 0 ||
		    plugins_docker_args(&extra, "docker-args-deploy", app,
					(const char *[]){ app, vs, NULL }) < 0)
			goto out;
		req.extra = extra;
		req.check_fn = cli_check_deploy;
		req.check_data = (void *)app;
	}
	if (!stopped && runtime_deploy(d, &req) < 0)
		goto out;
	if (state_now(&now) < 0)
		goto out;
	who(&by);
	rel = json_pack("{s:I,s:s,s:s?,s:O,s:O,s:s,s:s,s:s}", "version", (json_int_t)version,
			"image", src->image, "git_rev", src->git_rev, "config", config,
			"formation", formation, "created_at", now.buf, "description", description,
			"by", by.buf);
	if (!rel) {
		err_set("out of memory");
		goto out;
	}
	if (src->processes)
		json_object_set(rel, "processes", (json_t *)src->processes);
	if (src->checks)
		json_object_set(rel, "checks", (json_t *)src->checks);
	if (src->what)
		json_object_set_new(rel, "what", json_string(src->what));
	if (src->source)
		json_object_set_new(rel, "source_image", json_string(src->source));
	json_array_append_new(json_object_get(releases, "releases"), rel);
	/* The new release serves from here on: a failure to record it must not
	 * reject the push as if the old one still served. Say it loudly instead;
	 * the next deploy keeps the containers the router serves. */
	if (state_releases_save(app, releases) < 0)
		say_warn("v%ld serves, but could not be recorded: %s", version, err_msg());
	else if (prune_images(d, releases, json_int(appobj, "retain", RETAIN_DEFAULT)) &&
		 state_releases_save(app, releases) < 0)
		say_warn("could not record which images were removed: %s", err_msg());
	/* A rollback brings the old config back as the app's config. */
	if (src->config) {
		json_object_set(appobj, "config", (json_t *)src->config);
		if (state_app_save(app, appobj) < 0)
			say_warn("could not restore the config of the release: %s", err_msg());
	}
	plugins_post("post-release", app, (const char *[]){ app, vs, NULL });
	if (stopped) {
		say_step("%s is stopped: v%ld is recorded but not started; `ps:start %s` runs it",
			 app, version, app);
		ret = 0;
		goto out;
	}
	say_section("Application deployed: v%ld", version);
	json_array_foreach(domains, i, v)
		say_detail("http://%s", json_string_value(v));
	plugins_post("post-deploy", app, (const char *[]){ app, vs, src->image, src->git_rev, NULL });
	ret = 0;
out:
	json_decref(appobj);
	json_decref(releases);
	json_decref(domains);
	json_decref(global);
	json_decref(env);
	free(binds);
	json_decref(extra);
	json_decref(ropts);
	json_decref(cert);
	buf_release(&now);
	buf_release(&by);
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
static int clean_leftovers(struct docker *d, const char *app, const json_t *releases,
			   const char *tmproot)
{
	remove_stale_build_dirs(app, tmproot);
	return runtime_app_cleanup(d, app, json_int(state_current_release(releases), "version", 0));
}

int cli_deploy_push(const char *app, const char *rev)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	struct buf tmp = BUF_INIT, tmproot = BUF_INIT, desc = BUF_INIT, prefix = BUF_INIT;
	struct cli_build built = CLI_BUILD_INIT;
	struct release_src src = { 0 };
	json_t *releases = NULL, *checks = NULL;
	double t0 = clock_now_s();
	int ret = -1;

	/* A push over ssh already holds the app's lock and hands it over (sshcmd.c). */
	if (!lock_adopt_app(&l, app) && state_app_lock(&l, app) < 0)
		goto out;
	say_step("Deploying %s (%.7s)", app, rev);
	if (state_releases_load(app, &releases) < 0 || docker_new(&d, NULL) < 0)
		goto out;
	if (buf_addf(&tmproot, "%s/tmp", wharf_root()) < 0 ||
	    buf_addf(&prefix, "build-%s_", app) < 0 || fs_private_dir(tmproot.buf) < 0 ||
	    clean_leftovers(d, app, releases, tmproot.buf) < 0 ||
	    fs_mkdtemp(&tmp, tmproot.buf, prefix.buf) < 0)
		goto out;
	if (cli_build_tree(d, app, rev, tmp.buf, next_version(releases), &built) < 0)
		goto out;
	if (runtime_checks_from_dir(&checks, tmp.buf) < 0)
		goto out;
	if (checks)
		say_step("Using %zu startup check%s from the app", json_array_size(checks),
			 json_array_size(checks) == 1 ? "" : "s");
	if (plugins_pre("pre-release", app, (const char *[]){ app, built.image.buf, rev, NULL }) < 0)
		goto out;
	src.image = built.image.buf;
	src.git_rev = rev;
	src.processes = built.processes;
	src.checks = checks;
	if (buf_addf(&desc, "deploy %.7s", rev) < 0 || release_and_run(d, app, &src, desc.buf) < 0)
		goto out;
	say_detail("deployed in %.1fs", clock_now_s() - t0);
	ret = 0;
out:
	if (ret < 0) {
		/* Say it while the pusher still reads: the push is rejected. */
		struct buf why = BUF_INIT;
		buf_addstr(&why, err_msg());
		/* A first push has no previous release to keep serving. */
		if (state_current_release(releases))
			err_set("deploy of %s failed: %s; the previous release keeps serving", app,
				why.buf);
		else
			err_set("deploy of %s failed: %s; nothing was deployed", app, why.buf);
		buf_release(&why);
	}
	if (tmp.len && fs_rm_rf(tmp.buf) < 0)
		say_warn("could not remove %s: %s", tmp.buf, err_msg());
	lock_release(&l);
	json_decref(releases);
	json_decref(checks);
	docker_free(d);
	cli_build_release(&built);
	buf_release(&tmp);
	buf_release(&tmproot);
	buf_release(&prefix);
	buf_release(&desc);
	return ret;
}

/* Redeploys release `from` (the current one when 0): with restore_config, its
 * own config comes back too (a rollback); else the app's current config is used. */
static int redeploy_release(const char *app, long from, int restore_config, const char *why)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	struct release_src src = { 0 };
	struct buf tmproot = BUF_INIT;
	json_t *releases = NULL, *rel = NULL, *r;
	size_t i;
	int ret = -1;

	if (state_app_lock(&l, app) < 0 || state_releases_load(app, &releases) < 0)
		goto out;
	json_array_foreach(json_object_get(releases, "releases"), i, r)
		if (from ? json_int(r, "version", 0) == from : 1)
			rel = r;
	if (!rel && !from) {
		say_detail("%s has no release yet: the change applies on the first deploy", app);
		ret = 0;
		goto out;
	}
	if (!rel) {
		err_set("%s has no release v%ld; see `wharf releases %s`", app, from, app);
		goto out;
	}
	if (json_is_true(json_object_get(rel, "pruned"))) {
		err_set("the image of v%ld was removed (only the last releases keep theirs: "
			"releases:set %s retain N); push its commit again instead", from, app);
		goto out;
	}
	src.image = json_str(rel, "image", "");
	src.git_rev = json_str(rel, "git_rev", NULL);
	src.processes = json_object_get(rel, "processes");
	src.checks = json_object_get(rel, "checks");
	src.config = restore_config ? json_object_get(rel, "config") : NULL;
	src.what = json_str(rel, "what", NULL);
	src.source = json_str(rel, "source_image", NULL);
	say_step("%s %s", restore_config ? "Rolling back" : "Restarting", app);
	if (docker_new(&d, NULL) < 0 || buf_addf(&tmproot, "%s/tmp", wharf_root()) < 0 ||
	    clean_leftovers(d, app, releases, tmproot.buf) < 0 ||
	    release_and_run(d, app, &src, why) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(releases);
	docker_free(d);
	buf_release(&tmproot);
	return ret;
}

int cli_deploy_image(const char *app, const char *ref)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	struct release_src src = { 0 };
	struct buf tmproot = BUF_INIT, path = BUF_INIT, tag = BUF_INIT, desc = BUF_INIT;
	struct buf num = BUF_INIT;
	json_t *releases = NULL, *info = NULL;
	const char *id;
	long version;
	int exists, ret = -1;

	if (state_app_lock(&l, app) < 0 || state_releases_load(app, &releases) < 0 ||
	    docker_new(&d, NULL) < 0)
		goto out;
	/* Only an image this Docker has: asking for another would make it pull. */
	if (docker_image_exists(d, ref, &exists) < 0)
		goto out;
	if (!exists) {
		err_set("image '%s' does not exist in the local Docker (wharf never pulls: "
			"build or `docker load` it on this host first)", ref);
		goto out;
	}
	if (docker_image_inspect(d, ref, &info) < 0)
		goto out;
	id = json_str(info, "Id", "");
	version = next_version(releases);
	say_step("Deploying image %s (%.19s) to %s", ref, id, app);
	/* The release runs wharf's own tag of the image, so that image GC of old
	 * releases removes that tag and never the name the user gave it. */
	if (buf_addf(&path, "wharf/%s", app) < 0 || buf_addf(&num, "%ld", version) < 0 ||
	    docker_image_tag(d, id, path.buf, num.buf) < 0 ||
	    buf_addf(&tag, "wharf/%s:%ld", app, version) < 0)
		goto out;
	src.image = tag.buf;
	src.what = "from-image";
	src.source = ref;
	if (buf_addf(&tmproot, "%s/tmp", wharf_root()) < 0 ||
	    buf_addf(&desc, "from-image %s", ref) < 0 ||
	    clean_leftovers(d, app, releases, tmproot.buf) < 0 ||
	    release_and_run(d, app, &src, desc.buf) < 0) {
		/* The failed release's tag goes; the message stays the deploy's. */
		struct buf why = BUF_INIT;
		buf_addstr(&why, err_msg());
		docker_image_remove(d, tag.buf, 0);
		err_set("%s", why.buf);
		buf_release(&why);
		goto out;
	}
	ret = 0;
out:
	lock_release(&l);
	json_decref(releases);
	json_decref(info);
	docker_free(d);
	buf_release(&tmproot);
	buf_release(&path);
	buf_release(&num);
	buf_release(&tag);
	buf_release(&desc);
	return ret;
}

int cli_redeploy_check(const char *app)
{
	struct docker *d = NULL;
	json_t *releases = NULL;
	int ret = -1;

	if (state_releases_load(app, &releases) < 0)
		goto out;
	if (!state_current_release(releases) || docker_new(&d, NULL) == 0)
		ret = 0;
out:
	json_decref(releases);
	docker_free(d);
	return ret;
}

int cli_redeploy(const char *app, const char *why)
{
	return redeploy_release(app, 0, 0, why);
}

int cli_rollback(const char *app, long version)
{
	struct buf why = BUF_INIT;
	int ret;

	buf_addf(&why, "rollback to v%ld", version);
	ret = redeploy_release(app, version, 1, why.buf);
	buf_release(&why);
	return ret;
}

/* The running web containers of release `version` as router targets. */
static int release_targets(struct docker *d, const char *app, long version, json_t *targets)
{
	json_t *list = NULL, *c;
	char rel[32];
	size_t i;

	if (runtime_app_containers(d, app, &list) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%ld", version);
	json_array_foreach(list, i, c) {
		json_t *labels = json_object_get(c, "Labels");
		const char *port = json_str(labels, DOCKER_LABEL_PORT, NULL);
		struct buf t = BUF_INIT;
		if (!port || strcmp(json_str(labels, DOCKER_LABEL_RELEASE, ""), rel) ||
		    strcmp(json_str(c, "State", ""), "running"))
			continue;
		/* The container's address on the app's network: the router dials it. */
		if (runtime_container_addr(&t, c, app) == 0 && buf_addf(&t, ":%s", port) == 0)
			json_array_append_new(targets, json_string(t.buf));
		else
			say_warn("%s", err_msg());
		buf_release(&t);
	}
	json_decref(list);
	return 0;
}

int cli_route_refresh_locked(const char *app, int from_containers)
{
	struct docker *d = NULL;
	struct route_spec rs = { 0 };
	json_t *appobj = NULL, *domains = NULL, *route = NULL, *rels = NULL, *targets = NULL;
	json_t *ropts = NULL, *cert = NULL;
	const char **doms = NULL, **tv = NULL;
	size_t i, n;
	int ret = -1;

	if (state_app_load(app, &appobj) < 0 || state_app_domains(app, appobj, &domains) < 0)
		goto out;
	if (from_containers) {
		/* After a restart: what the current release runs is what to serve. */
		targets = json_array();
		if (state_releases_load(app, &rels) < 0 || docker_new(&d, NULL) < 0 ||
		    release_targets(d, app, (long)json_int(state_current_release(rels), "version", 0),
				    targets) < 0)
			goto out;
	} else {
		/* A domains change keeps exactly the targets the router serves: never
		 * a container that has not passed its checks. */
		if (router_client_get(app, &route) < 0)
			goto out;
		targets = json_incref(json_object_get(route, "targets"));
	}
	if (!json_array_size(targets)) {
		ret = 0;                /* nothing serves yet: the next deploy routes it */
		goto out;
	}
	n = json_array_size(domains);
	doms = calloc(n + 1, sizeof(*doms));
	tv = calloc(json_array_size(targets) + 1, sizeof(*tv));
	if (!doms || !tv) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		doms[i] = json_string_value(json_array_get(domains, i));
	for (i = 0; i < json_array_size(targets); i++)
		tv[i] = json_string_value(json_array_get(targets, i));
	rs.app = app;
	rs.domains = doms;
	rs.targets = tv;
	rs.drain_timeout_ms = 30000;
	if (cli_router_options(appobj, &ropts) < 0 || cli_cert_load(app, &cert) < 0)
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
	json_decref(route);
	json_decref(rels);
	json_decref(targets);
	docker_free(d);
	return ret;
}

int cli_route_refresh(const char *app)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	if (state_app_lock(&l, app) == 0)
		ret = cli_route_refresh_locked(app, 0);
	lock_release(&l);
	return ret;
}
