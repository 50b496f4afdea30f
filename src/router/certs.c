/* certs.c - PUT|GET|DELETE /apps/<app>/cert: an app's TLS certificate through the control
 * API (the store and the handshakes are tls.c's). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int router__cert_parse(const char *body, size_t len, char **crt, char **key)
{
	static const char *const keys[] = { "cert", "key", NULL };
	json_t *j = router__action_body(body, len, keys), *c, *k;
	int ret = -1;

	*crt = *key = NULL;
	if (!j)
		return -1;
	c = json_object_get(j, "cert");
	k = json_object_get(j, "key");
	if (!json_is_string(c) || !json_is_string(k)) {
		err_set("give \"cert\" and \"key\" as PEM strings");
		goto out;
	}
	if (!(*crt = strdup(json_string_value(c))) || !(*key = strdup(json_string_value(k)))) {
		free(*crt);
		*crt = NULL;
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

/* PUT /apps/<app>/cert {"cert": PEM chain, "key": PEM key}, GET, DELETE. A
 * certificate may be stored before the app is served; SNI uses it once it is. */
void router__control_cert(struct cconn *cc, const char *app, const char *body, size_t blen)
{
	int m = cc->frame.head.method, rc;
	char *crt = NULL, *key = NULL;
	json_t *j;

	if (m == HTTP_GET) {
		if ((j = router__cert_info(cc->r, app)))
			router__cconn_answer(cc, 200, j);
		else
			router__cconn_error(cc, 404, "no certificate for this app");
		return;
	}
	if (m == HTTP_DELETE) {
		if ((rc = router__cert_remove(cc->r, app)) < 0)
			router__cconn_error(cc, 500, err_msg());
		else if (rc == 0)
			router__cconn_error(cc, 404, "no certificate for this app");
		else
			router__cconn_answer(cc, 200,
					     json_pack("{s:s, s:b}", "app", app, "cert", 0));
		return;
	}
	if (m != HTTP_PUT) {
		router__cconn_error(cc, 405, "use GET, PUT or DELETE");
		return;
	}
	if (router__cert_parse(body, blen, &crt, &key) < 0 ||
	    router__cert_set(cc->r, app, crt, key) < 0)
		router__cconn_error(cc, 400, err_msg());
	else
		router__cconn_answer(cc, 200, router__cert_info(cc->r, app));
	/* The key is secret: do not leave it in freed memory. */
	if (key)
		explicit_bzero(key, strlen(key));
	free(crt);
	free(key);
}
