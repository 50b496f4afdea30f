/* settings.c - the app settings a deploy is assembled from, read where the
 * command families write them: router options (router:set), the certificate
 * (certs:add), storage mounts (storage:mount), checks:skip/disable, the builder
 * (builder:set) and the plugins' builder-detect and check-deploy triggers. */
#include "internal.h"
#include "plugins/plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int deploy_router_options(const json_t *appobj, json_t **out)
{
	const json_t *o = json_object_get(appobj, "router"), *max;

	*out = NULL;
	if (!json_is_object(o))
		return 0;
	max = json_object_get(o, "max_body_bytes");
	*out = json_pack("{s:b, s:O}", "redirect_https",
			 json_is_true(json_object_get(o, "redirect_https")), "max_body_bytes",
			 json_is_integer(max) ? (json_t *)max : json_null());
	return *out ? 0 : err_set("out of memory");
}

int deploy_cert_load(const char *app, json_t **out)
{
	struct buf path = BUF_INIT;
	json_t *j = NULL;
	int ret = -1;

	*out = NULL;
	if (wharf_app_path(&path, app, "cert.json") < 0 || json_load_object(&j, path.buf, 1) < 0)
		goto out;
	if (json_object_size(j) &&
	    (!json_is_string(json_object_get(j, "cert")) || !json_is_string(json_object_get(j, "key")))) {
		err_set("%s: expected {\"cert\": PEM, \"key\": PEM}", path.buf);
		goto out;
	}
	if (json_object_size(j)) {
		*out = j;
		j = NULL;
	}
	ret = 0;
out:
	json_decref(j);
	buf_release(&path);
	return ret;
}

int deploy_storage_binds(const json_t *appobj, const char ***out)
{
	const json_t *arr = json_object_get(appobj, "storage");
	size_t i, n = json_array_size(arr);
	const char **v;

	*out = NULL;
	if (!n)
		return 0;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return err_set("out of memory");
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	*out = v;
	return 0;
}

void deploy__checks_apply(const json_t *appobj, struct deploy_req *req)
{
	req->checks_disabled = json_object_get(appobj, "checks_disabled");
	req->checks_skipped = json_object_get(appobj, "checks_skipped");
}

int deploy_builder_selected(const json_t *appobj, const char *dir, const char **builder)
{
	const char *sel = json_str(appobj, "builder", NULL);
	struct buf path = BUF_INIT;
	struct stat st;
	int has_dockerfile;

	*builder = NULL;
	if (!sel || !*sel)
		return 0;
	if (!strcmp(sel, "image"))
		return err_set("this app deploys images (builder:set selected image): use "
			       "`git:from-image <app> IMAGE`, or unset the builder to build pushes");
	if (!strcmp(sel, "dockerfile")) {
		if (buf_addf(&path, "%s/Dockerfile", dir) < 0)
			return -1;
		has_dockerfile = lstat(path.buf, &st) == 0 && S_ISREG(st.st_mode);
		buf_release(&path);
		if (!has_dockerfile)
			return err_set("the dockerfile builder is selected (builder:set), but the "
				       "pushed tree has no Dockerfile at its root");
		*builder = "dockerfile";
		return 0;
	}
	if (!strcmp(sel, "buildpacks")) {
		*builder = "buildpacks";    /* a Dockerfile in the tree is ignored */
		return 0;
	}
	return err_set("unknown builder '%s' in the app's settings", sel);
}

int deploy__plugin_builder(const char *app, const char *dir, const char **builder)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;
	struct buf out = BUF_INIT;
	size_t start, end;
	int ret = -1;

	*builder = NULL;
	o.app = app;
	if (plugins_trigger(&out, "builder-detect", (const char *[]){ app, dir, NULL }, &o) < 0)
		goto out;
	/* The first plugin that names a builder decides: its first word. */
	start = strspn(out.buf, " \t\r\n");
	end = start + strcspn(out.buf + start, " \t\r\n");
	out.buf[end] = '\0';
	if (!strcmp(out.buf + start, "dockerfile"))
		*builder = "dockerfile";
	else if (!strcmp(out.buf + start, "buildpacks"))
		*builder = "buildpacks";
	else if (end > start) {
		err_set("builder-detect: unknown builder '%.64s' (dockerfile or buildpacks)",
			out.buf + start);
		goto out;
	}
	ret = 0;
out:
	buf_release(&out);
	return ret;
}

int deploy__check_deploy(void *data, const char *id, const char *type, int port)
{
	const char *app = data;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port);
	return plugins_pre("check-deploy", app, (const char *[]){ app, id, type, ps, NULL });
}
