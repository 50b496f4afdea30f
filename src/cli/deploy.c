/* deploy.c - the deploy of a push and of a config change: receiver → build →
 * release → runtime. The only code that drives those parts together. */
#include "cli.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long next_version(const json_t *releases)
{
	return (long)json_int(state_current_release(releases), "version", 0) + 1;
}

/* Runs the release through the runtime and records it; prints the URLs. */
static int release_and_run(struct docker *d, const char *app, const char *image,
			   const char *git_rev, const char *description)
{
	struct buf now = BUF_INIT;
	struct deploy_req req = { 0 };
	json_t *appobj = NULL, *releases = NULL, *domains = NULL, *rel = NULL, *v;
	size_t i;
	long version;
	int ret = -1;

	if (state_app_load(app, &appobj) < 0 || state_releases_load(app, &releases) < 0 ||
	    state_app_domains(app, appobj, &domains) < 0)
		goto out;
	version = next_version(releases);
	req.app = app;
	req.image = image;
	req.release = version;
	req.git_rev = git_rev;
	req.config = json_object_get(appobj, "config");
	req.domains = domains;
	if (runtime_deploy(d, &req) < 0)
		goto out;
	if (state_now(&now) < 0)
		goto out;
	rel = json_pack("{s:I,s:s,s:s?,s:O,s:s,s:s}", "version", (json_int_t)version,
			"image", image, "git_rev", git_rev, "config", req.config,
			"created_at", now.buf, "description", description);
	if (!rel || json_array_append_new(json_object_get(releases, "releases"), rel) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (state_releases_save(app, releases) < 0)
		goto out;
	say_section("Application deployed:");
	json_array_foreach(domains, i, v)
		say_detail("http://%s", json_string_value(v));
	ret = 0;
out:
	json_decref(appobj);
	json_decref(releases);
	json_decref(domains);
	buf_release(&now);
	return ret;
}

int cli_deploy_push(const char *app, const char *rev)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	struct buf tmp = BUF_INIT, tmproot = BUF_INIT, desc = BUF_INIT;
	struct cli_build built = CLI_BUILD_INIT;
	json_t *releases = NULL;
	double t0 = now_s();
	int ret = -1;

	if (state_app_lock(&l, app) < 0)
		goto out;
	say_step("Deploying %s (%.7s)", app, rev);
	if (docker_new(&d, NULL) < 0 || state_releases_load(app, &releases) < 0)
		goto out;
	if (buf_addf(&tmproot, "%s/tmp", wharf_root()) < 0 ||
	    fs_mkdtemp(&tmp, tmproot.buf, "build-") < 0)
		goto out;
	if (cli_build_tree(d, app, rev, tmp.buf, next_version(releases), &built) < 0)
		goto out;
	if (buf_addf(&desc, "deploy %.7s", rev) < 0 ||
	    release_and_run(d, app, built.image.buf, rev, desc.buf) < 0)
		goto out;
	say_detail("deployed in %.1fs", now_s() - t0);
	ret = 0;
out:
	if (ret < 0) {
		/* Say it while the pusher still reads: the push is rejected. */
		struct buf why = BUF_INIT;
		buf_addstr(&why, err_msg());
		err_set("deploy of %s failed: %s; the previous release keeps serving", app, why.buf);
		buf_release(&why);
	}
	if (tmp.len && fs_rm_rf(tmp.buf) < 0)
		say_warn("could not remove %s: %s", tmp.buf, err_msg());
	lock_release(&l);
	json_decref(releases);
	docker_free(d);
	buf_release(&tmp);
	buf_release(&tmproot);
	cli_build_release(&built);
	buf_release(&desc);
	return ret;
}

int cli_redeploy(const char *app, const char *why)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	json_t *releases = NULL, *cur;
	struct buf image = BUF_INIT, rev = BUF_INIT;
	int ret = -1;

	if (state_app_lock(&l, app) < 0 || state_releases_load(app, &releases) < 0)
		goto out;
	cur = state_current_release(releases);
	if (!cur) {
		say_detail("%s has no release yet: the change applies on the first deploy", app);
		ret = 0;
		goto out;
	}
	buf_addstr(&image, json_str(cur, "image", ""));
	if (json_str(cur, "git_rev", NULL))
		buf_addstr(&rev, json_str(cur, "git_rev", ""));
	say_step("Restarting app %s (%s)", app, why);
	if (docker_new(&d, NULL) < 0 ||
	    release_and_run(d, app, image.buf, rev.len ? rev.buf : NULL, why) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(releases);
	docker_free(d);
	buf_release(&image);
	buf_release(&rev);
	return ret;
}

int cli_route_refresh(const char *app)
{
	struct docker *d = NULL;
	struct route_spec rs = { 0 };
	json_t *appobj = NULL, *domains = NULL, *list = NULL, *c, *v;
	const char *targets[64], *doms[256];
	char tbuf[64][32];
	size_t i, n = 0, nd = 0;
	int ret = -1;

	if (state_app_load(app, &appobj) < 0 || state_app_domains(app, appobj, &domains) < 0)
		goto out;
	if (docker_new(&d, NULL) < 0 || runtime_app_containers(d, app, &list) < 0)
		goto out;
	json_array_foreach(list, i, c) {
		const char *port = json_str(json_object_get(c, "Labels"), "wharf.port", NULL);
		if (!port || strcmp(json_str(c, "State", ""), "running") || n >= 63)
			continue;
		snprintf(tbuf[n], sizeof(tbuf[n]), "127.0.0.1:%s", port);
		targets[n] = tbuf[n];
		n++;
	}
	targets[n] = NULL;
	if (!n) {
		ret = 0;                /* nothing runs yet: the next deploy routes it */
		goto out;
	}
	json_array_foreach(domains, i, v)
		if (nd < 255)
			doms[nd++] = json_string_value(v);
	doms[nd] = NULL;
	rs.app = app;
	rs.domains = doms;
	rs.targets = targets;
	rs.drain_timeout_ms = 30000;
	ret = router_client_put(&rs);
out:
	json_decref(appobj);
	json_decref(domains);
	json_decref(list);
	docker_free(d);
	return ret;
}
