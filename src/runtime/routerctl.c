/* src/runtime/routerctl.c - the one client of the router's control socket (the
 * runtime's routes, and the commands' certs and options). The router never calls
 * the runtime; the runtime tells it what to serve. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static json_t *str_array(const char **v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

long router_client_call(const char *method, const char *path, const json_t *body, long timeout_ms,
			json_t **reply)
{
	struct http_reply r = HTTP_REPLY_INIT;
	char *text = NULL;
	long status = -1;

	*reply = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		err_set("cannot encode the request to the router (not UTF-8 text?)");
		goto out;
	}
	if (http_unix_request(wharf_router_socket(), method, path, text ? "application/json" : NULL,
			      text, text ? strlen(text) : 0,
			      timeout_ms ? timeout_ms : ROUTER_CLIENT_TIMEOUT_MS, &r) < 0) {
		/* err_msg() is copied: err_set() must not read the buffer it writes. */
		char *why = strdup(err_msg());
		err_set("%s (is `wharf router` running? WHARF_ROUTER_SOCKET=%s)",
			why ? why : "cannot reach the router", wharf_router_socket());
		free(why);
		goto out;
	}
	if (r.body.len && !(*reply = json_loadb(r.body.buf, r.body.len, 0, NULL))) {
		err_set("the router answered %s %s with invalid JSON", method, path);
		goto out;
	}
	status = r.status;
out:
	free(text);
	http_reply_release(&r);
	return status;
}

int router_client_metrics(struct buf *out)
{
	struct http_reply r = HTTP_REPLY_INIT;
	int ret = -1;

	if (http_unix_request(wharf_router_socket(), "GET", "/metrics", NULL, NULL, 0, 10000, &r) <
	    0) /* a scrape or a report: not a deploy's patience */
		goto out;
	if (r.status != 200) {
		err_set("the router answered %ld to GET /metrics", r.status);
		goto out;
	}
	ret = buf_add(out, r.body.buf, r.body.len);
out:
	http_reply_release(&r);
	return ret;
}

int router_client_error(long status, const json_t *reply, const char *what)
{
	const char *m = json_string_value(json_object_get(reply, "error"));

	if (!m)
		return status == 404 ? err_set("%s%snot found", what ? what : "", what ? ": " : "")
				     : err_set("%s%sthe router refused (HTTP %ld)",
					       what ? what : "", what ? ": " : "", status);
	return err_set("%s%s%s", what ? what : "", what ? ": " : "", m);
}

int router_client_request(const char *method, const char *path, const json_t *body, int missing_ok,
			  const char *what, json_t **reply)
{
	json_t *answer = NULL;
	long status;
	int ret = -1;

	if (reply)
		*reply = NULL;
	if ((status = router_client_call(method, path, body, 0, &answer)) < 0)
		goto out;
	if (status == 404 && missing_ok) {
		ret = 0;
	} else if (status != 200) {
		router_client_error(status, answer, what);
	} else {
		ret = 1;
		if (reply) {
			*reply = answer;
			answer = NULL;
		}
	}
out:
	json_decref(answer);
	return ret;
}

/* PUT /apps/<app>/cert with rs->cert; a refusal is said, not returned: the
 * route must not wait on a certificate. */
static void put_cert(const struct route_spec *rs)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status = -1;

	if (buf_addf(&path, "/apps/%s/cert", rs->app) < 0)
		say_warn("out of memory: the router did not get %s's certificate", rs->app);
	else if ((status = router_client_call("PUT", path.buf, rs->cert, 10000, &reply)) != 200) {
		if (status > 0)
			router_client_error(status, reply, "the router refused the certificate");
		say_warn("%s's certificate: %s", rs->app, err_msg());
	}
	json_decref(reply);
	buf_release(&path);
}

int router_client_put(const struct route_spec *rs)
{
	struct buf path = BUF_INIT;
	json_t *body = NULL, *reply = NULL;
	long status, timeout;
	int ret = -1;

	body = json_pack("{s:o,s:o,s:I}", "domains", str_array(rs->domains), "targets",
			 str_array(rs->targets), "drain_timeout_ms",
			 (json_int_t)rs->drain_timeout_ms);
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	if (rs->options && json_object_update(body, (json_t *)rs->options) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (rs->cert)
		put_cert(rs);
	if (rs->health_path)
		json_object_set_new(body, "health",
				    json_pack("{s:s,s:I,s:I,s:I}", "path", rs->health_path,
					      "interval_ms", (json_int_t)rs->interval_ms,
					      "timeout_ms", (json_int_t)rs->timeout_ms,
					      "deadline_ms", (json_int_t)rs->deadline_ms));
	if (buf_addf(&path, "/apps/%s", rs->app) < 0)
		goto out;
	/* The router answers only after its checks and the drain: allow for both. */
	timeout = rs->deadline_ms + rs->drain_timeout_ms + 10000;
	if ((status = router_client_call("PUT", path.buf, body, timeout, &reply)) < 0)
		goto out;
	if (status != 200) {
		router_client_error(status, reply, "the router kept the old version");
		goto out;
	}
	ret = 0;
out:
	json_decref(body);
	json_decref(reply);
	buf_release(&path);
	return ret;
}

int router_client_delete(const char *app)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status;
	int ret = -1;

	if (buf_addf(&path, "/apps/%s", app) < 0 ||
	    (status = router_client_call("DELETE", path.buf, NULL, 10000, &reply)) < 0)
		goto out;
	if (status != 200 && status != 404) {
		router_client_error(status, reply, "cannot remove the app from the router");
		goto out;
	}
	ret = 0;
out:
	json_decref(reply);
	buf_release(&path);
	return ret;
}

int router_client_get(const char *app, json_t **out)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&path, "/apps/%s", app) < 0 ||
	    (status = router_client_call("GET", path.buf, NULL, 10000, &reply)) < 0)
		goto out;
	if (status == 200 && !reply) {
		err_set("the router answered invalid JSON for %s", app);
		goto out;
	}
	if (status != 200 && status != 404) {
		router_client_error(status, reply, "cannot read the app's route");
		goto out;
	}
	if (status == 200) {
		*out = reply;
		reply = NULL;
	}
	ret = 0;
out:
	json_decref(reply);
	buf_release(&path);
	return ret;
}
