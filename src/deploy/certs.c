/* certs.c - an app's TLS certificate: kept in its state (apps/<app>/cert.json, 0600) and
 * given to the router (PUT/DELETE /apps/<app>/cert); certs:* and letsencrypt:* both
 * install through here, so the router always checks a chain before the state keeps it. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes cert ({"cert", "key"}) as the app's certificate (0600: it holds the
 * private key), or removes it when cert is NULL. */
static int cert_save(const char *app, const json_t *cert)
{
	struct buf path = BUF_INIT;
	char *text = NULL;
	int ret = -1;

	if (wharf_app_path(&path, app, "cert.json") < 0)
		goto out;
	if (!cert) {
		if (unlink(path.buf) < 0 && errno != ENOENT) {
			err_set_errno("cannot remove %s", path.buf);
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (!(text = json_dumps(cert, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		err_set("out of memory");
		goto out;
	}
	ret = fs_write_atomic(path.buf, text, strlen(text), 0600);
out:
	free(text);
	buf_release(&path);
	return ret;
}

/* METHOD /apps/<app>/<what> on the router; router_client_request()'s answer. */
static int app_request(const char *method, const char *app, const char *what, const json_t *body,
		       json_t **reply)
{
	struct buf path = BUF_INIT;
	int ret = buf_addf(&path, "/apps/%s/%s", app, what) < 0
			  ? -1
			  : router_client_request(method, path.buf, body, !body, NULL, reply);

	buf_release(&path);
	return ret;
}

int deploy_router_put(const char *app, const char *what, const json_t *body, json_t **reply)
{
	return app_request("PUT", app, what, body, reply) < 0 ? -1 : 0;
}

int deploy_router_cert_delete(const char *app)
{
	return app_request("DELETE", app, "cert", NULL, NULL);
}

int deploy_cert_install(const char *app, const json_t *cert, json_t **info)
{
	json_t *old = NULL;
	struct err_saved why;
	int ret = -1;

	if (deploy_cert_load(app, &old) < 0 || deploy_router_put(app, "cert", cert, info) < 0)
		goto out;
	if (cert_save(app, cert) < 0) {
		err_save(&why);
		if (old ? deploy_router_put(app, "cert", old, NULL) < 0
			: deploy_router_cert_delete(app) < 0)
			say_warn("the router keeps the new certificate: %s", err_msg());
		err_restore(&why);
		goto out;
	}
	ret = 0;
out:
	json_decref(old);
	return ret;
}

int deploy_cert_remove(const char *app)
{
	json_t *cert = NULL;
	int had, ret = -1;

	if (deploy_cert_load(app, &cert) < 0 || (had = deploy_router_cert_delete(app)) < 0)
		goto out;
	if (cert_save(app, NULL) < 0)
		goto out;
	ret = had || cert;
out:
	json_decref(cert);
	return ret;
}
