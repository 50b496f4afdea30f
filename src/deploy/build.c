/* build.c - the build step of a deploy: export the pushed tree, detect the
 * builder, build the release image and say which processes it runs. */
#include "internal.h"
#include "plugins/plugins.h"
#include "build/build.h"
#include "receiver/receiver.h"

#include <string.h>
#include <time.h>

void deploy__build_release(struct deploy__build *b)
{
	buf_release(&b->image);
	json_decref(b->processes);
	json_decref(b->cron);
	json_decref(b->scripts);
	b->processes = b->cron = b->scripts = NULL;
}

/* A Dockerfile app: the image's CMD is web, unless a Procfile names the types. */
static int build_with_dockerfile(struct docker *d, const char *app, int deployer, const char *dir,
				 const char *tag, const json_t *labels, const json_t *appobj,
				 struct deploy__build *out)
{
	struct build_df_opts o = { 0 };
	struct buf net = BUF_INIT, gw = BUF_INIT;
	json_t *types = NULL;
	int ret = -1;

	if (build_procfile_load(dir, &types) < 0)
		goto out;
	if (build_check_base_images(d, dir) < 0)
		goto out;
	if (deployer && build_check_base_owners(d, dir, app) < 0)
		goto out;
	/* The build runs on the app's network, never the host's. */
	if (runtime_app_network(d, app, &net, &gw) < 0)
		goto out;
	o.config = app_get(appobj, APP_CONFIG);
	o.network = net.buf;
	o.gateway = gw.len ? gw.buf : NULL;
	say_step("Building image %s", tag);
	if (build_dockerfile(d, dir, tag, labels, &o, &out->image) < 0)
		goto out;
	if (types && build_procfile_shell_processes(types, &out->processes) < 0)
		goto out;
	ret = 0;
out:
	json_decref(types);
	buf_release(&net);
	buf_release(&gw);
	return ret;
}

static int build_with_buildpacks(struct docker *d, const char *app, const char *dir,
				 const char *tag, const json_t *labels, const json_t *appobj,
				 struct deploy__build *out)
{
	struct build_bp_opts o = { 0 };
	struct buf net = BUF_INIT, gw = BUF_INIT;
	json_t *types = NULL, *extra = NULL;
	int ret = -1;

	/* A bad Procfile fails the push before a builder container starts. The
	 * builder runs on the app's network, never the host's. */
	if (build_procfile_load(dir, &types) < 0 || runtime_app_network(d, app, &net, &gw) < 0 ||
	    plugins_docker_args(&extra, "docker-args-build", app,
				(const char *[]){ app, "buildpacks", NULL }) < 0)
		goto out;
	o.extra = extra;
	o.app = app;
	o.dir = dir;
	o.tag = tag;
	o.labels = labels;
	o.config = app_get(appobj, APP_CONFIG);
	o.buildpacks = app_get(appobj, APP_BUILDPACKS);
	o.network = net.buf;
	o.gateway = gw.len ? gw.buf : NULL;
	say_step("Building image %s with buildpacks on %s", tag, build_stack_image());
	ret = build_buildpacks(d, &o, &out->image, &out->processes);
out:
	json_decref(types);
	json_decref(extra);
	buf_release(&net);
	buf_release(&gw);
	return ret;
}

int deploy__build_tree(struct docker *d, const struct deploy_request *req, const char *dir,
		       long version, struct deploy__build *out)
{
	const char *app = req->app, *rev = req->rev;
	struct buf repo = BUF_INIT, tag = BUF_INIT;
	json_t *labels = NULL, *appobj = NULL;
	const char *builder = NULL, *url;
	double t0 = clock_now_s();
	int ret = -1;

	if (wharf_app_path(&repo, app, "repo.git") < 0 ||
	    receiver_export_tree(repo.buf, rev, dir) < 0)
		goto out;
	if (plugins_pre("post-extract", app, (const char *[]){ app, dir, rev, NULL }) < 0)
		goto out; /* the tree may be half-changed: no build from it */
	/* app.json's cron schedules and scripts are checked before a build is spent
	 * on a push they would fail. */
	if (deploy__appjson_from_dir(dir, &out->cron, &out->scripts) < 0)
		goto out;
	if (app_load(app, &appobj) < 0)
		goto out;
	url = json_str(app_get(appobj, APP_CONFIG), "BUILDPACK_URL", NULL);
	/* builder:set selected is the most explicit choice of all. */
	if (deploy_builder_selected(appobj, dir, &builder) < 0)
		goto out;
	if (builder)
		;
	/* Buildpacks the app names are an explicit choice: they win over a Dockerfile. */
	else if (json_array_size(app_get(appobj, APP_BUILDPACKS)) || (url && *url))
		builder = "buildpacks";
	else if (deploy__plugin_builder(app, dir, &builder) < 0 ||
		 (!builder && build_detect(dir, &builder) < 0))
		goto out;
	if (plugins_pre("pre-build", app, (const char *[]){ app, builder, dir, NULL }) < 0)
		goto out;
	say_step("%s app detected", builder);
	if (buf_addf(&tag, "wharf/%s:%ld", app, version) < 0)
		goto out;
	labels = json_pack("{s:s,s:s,s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_APP, app,
			   DOCKER_LABEL_ROOT, wharf_root());
	if (!labels) {
		err_set("out of memory");
		goto out;
	}
	if (!strcmp(builder, "buildpacks")) {
		if (build_with_buildpacks(d, app, dir, tag.buf, labels, appobj, out) < 0)
			goto out;
	} else if (build_with_dockerfile(d, app, req->deployer, dir, tag.buf, labels, appobj, out) <
		   0) {
		goto out;
	}
	plugins_post("post-build", app, (const char *[]){ app, builder, out->image.buf, NULL });
	say_detail("built %.12s in %.1fs",
		   out->image.buf + (strncmp(out->image.buf, "sha256:", 7) ? 0 : 7),
		   clock_now_s() - t0);
	ret = 0;
out:
	json_decref(labels);
	json_decref(appobj);
	buf_release(&repo);
	buf_release(&tag);
	return ret;
}
