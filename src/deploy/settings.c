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
	const json_t *o = app_get(appobj, APP_ROUTER), *max;

	*out = NULL;
	if (!o)
		return 0;
	max = json_object_get(o, app_key_name(APP_MAX_BODY_BYTES));
	*out = json_pack("{s:b, s:O}", app_key_name(APP_REDIRECT_HTTPS),
			 app_get_bool(o, APP_REDIRECT_HTTPS), app_key_name(APP_MAX_BODY_BYTES),
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
	if (json_object_size(j) && (!json_is_string(json_object_get(j, "cert")) ||
				    !json_is_string(json_object_get(j, "key")))) {
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

int deploy_storage_allow_load(json_t **out)
{
	json_t *g = NULL;

	*out = NULL;
	if (app_global_load(&g) < 0)
		return -1;
	*out = json_incref(app_get(g, APP_STORAGE_ALLOW));
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = json_array();
	}
	json_decref(g);
	return 0;
}

/* The checks of a host dir as given and, when it exists, as the kernel resolves
 * it (a symlink under an allowed dir may point at /etc), plus the Docker socket. */
int deploy_storage_host_allowed(const char *host, const json_t *allow)
{
	const char *dh = getenv("DOCKER_HOST");
	const char *sock = dh && !strncmp(dh, "unix:///", 8) ? dh + 7 : NULL;
	char *real = realpath(host, NULL);
	int ret = -1;

	if (deploy_storage_host_ok(host, allow, wharf_root()) < 0 ||
	    (real && deploy_storage_host_ok(real, allow, wharf_root()) < 0))
		goto out;
	if (sock && (deploy_storage_host_near(host, sock, "the Docker socket") < 0 ||
		     (real && deploy_storage_host_near(real, sock, "the Docker socket") < 0)))
		goto out;
	/* Nor a swarm node's, whose tasks get the same mounts (docs/cluster.md). */
	if (deploy__swarm_sockets_near(host) < 0 || (real && deploy__swarm_sockets_near(real) < 0))
		goto out;
	ret = 0;
out:
	free(real);
	return ret;
}

int deploy_storage_binds(const json_t *appobj, const char ***out)
{
	const json_t *arr = app_get(appobj, APP_STORAGE);
	size_t i, n = json_array_size(arr);
	json_t *allow = NULL;
	const char **v;

	*out = NULL;
	if (!n)
		return 0;
	/* Mounts made before the allow-list existed (or whose dir root has since
	 * disallowed) stop the deploy, with the way out in the message. */
	if (deploy_storage_allow_load(&allow) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *m = json_string_value(json_array_get(arr, i));
		struct buf h = BUF_INIT, c = BUF_INIT;
		int ro, bad = deploy_mount_parse(m, &h, &c, &ro) < 0 ||
			      deploy_storage_host_allowed(h.buf, allow) < 0;
		buf_release(&h);
		buf_release(&c);
		if (bad) {
			struct buf why = BUF_INIT;
			buf_addstr(&why, err_msg());
			err_set("mount %s: %s; storage:unmount it, or have root allow its dir",
				m ? m : "", why.buf);
			buf_release(&why);
			json_decref(allow);
			return -1;
		}
	}
	json_decref(allow);
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
	req->checks_disabled = app_get(appobj, APP_CHECKS_DISABLED);
	req->checks_skipped = app_get(appobj, APP_CHECKS_SKIPPED);
}

int deploy_builder_selected(const json_t *appobj, const char *dir, const char **builder)
{
	const char *sel = app_get_str(appobj, APP_BUILDER);
	struct buf path = BUF_INIT;
	struct stat st;
	int has_dockerfile;

	*builder = NULL;
	if (!sel || !*sel)
		return 0;
	if (!strcmp(sel, "image"))
		return err_set(
			"this app deploys images (builder:set selected image): use "
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
		*builder = "buildpacks"; /* a Dockerfile in the tree is ignored */
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

/* The container is on the app's network: plugins get its address there (ADDRESS),
 * which is where the router reaches it; PORT alone names no host port any more. */
int deploy__check_deploy(void *data, const char *id, const char *type, int port, const char *addr)
{
	const char *app = data;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port);
	return plugins_pre("check-deploy", app, (const char *[]){ app, id, type, ps, addr, NULL });
}
