/* routerctl.c - the runtime's side of the router's control socket. The router
 * never calls the runtime; the runtime tells it what to serve. */
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

/* The router answers errors as {"error": "..."}; fall back to the raw body. */
static int router_error(const struct http_reply *r, const char *what)
{
	json_t *j = json_loadb(r->body.buf, r->body.len, 0, NULL);
	const char *m = json_str(j, "error", NULL);
	int ret;

	if (m)
		ret = err_set("%s: %s", what, m);
	else
		ret = err_set("%s: router answered %ld %.200s", what, r->status, r->body.buf);
	json_decref(j);
	return ret;
}

static int unreachable(void)
{
	return err_set("%s (is `wharf router` running? WHARF_ROUTER_SOCKET=%s)", err_msg(),
		       wharf_router_socket());
}

/* PUT /apps/<app>/cert with rs->cert; a refusal is said, not returned: the
 * route must not wait on a certificate. */
static void put_cert(const struct route_spec *rs)
{
	struct http_reply reply = HTTP_REPLY_INIT;
	struct buf path = BUF_INIT;
	char *text = json_dumps(rs->cert, JSON_COMPACT);

	if (!text || buf_addf(&path, "/apps/%s/cert", rs->app) < 0)
		say_warn("out of memory: the router did not get %s's certificate", rs->app);
	else if (http_unix_request(wharf_router_socket(), "PUT", path.buf, "application/json",
				   text, strlen(text), 10000, &reply) < 0 || reply.status != 200) {
		if (reply.status)
			router_error(&reply, "the router refused the certificate");
		say_warn("%s's certificate: %s", rs->app, err_msg());
	}
	free(text);
	buf_release(&path);
	http_reply_release(&reply);
}

int router_client_put(const struct route_spec *rs)
{
	struct http_reply reply = HTTP_REPLY_INIT;
	struct buf path = BUF_INIT;
	json_t *body = NULL;
	char *text = NULL;
	long timeout;
	int ret = -1;

	body = json_pack("{s:o,s:o,s:I}", "domains", str_array(rs->domains), "targets",
			 str_array(rs->targets), "drain_timeout_ms", (json_int_t)rs->drain_timeout_ms);
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
	text = json_dumps(body, JSON_COMPACT);
	if (!text || buf_addf(&path, "/apps/%s", rs->app) < 0)
		goto out;
	/* The router answers only after its checks and the drain: allow for both. */
	timeout = rs->deadline_ms + rs->drain_timeout_ms + 10000;
	if (http_unix_request(wharf_router_socket(), "PUT", path.buf, "application/json", text,
			      strlen(text), timeout, &reply) < 0) {
		unreachable();
		goto out;
	}
	if (reply.status != 200) {
		router_error(&reply, "the router kept the old version");
		goto out;
	}
	ret = 0;
out:
	free(text);
	json_decref(body);
	buf_release(&path);
	http_reply_release(&reply);
	return ret;
}

int router_client_delete(const char *app)
{
	struct http_reply reply = HTTP_REPLY_INIT;
	struct buf path = BUF_INIT;
	int ret = -1;

	if (buf_addf(&path, "/apps/%s", app) < 0)
		goto out;
	if (http_unix_request(wharf_router_socket(), "DELETE", path.buf, NULL, NULL, 0, 10000,
			      &reply) < 0) {
		unreachable();
		goto out;
	}
	if (reply.status != 200 && reply.status != 404) {
		router_error(&reply, "cannot remove the app from the router");
		goto out;
	}
	ret = 0;
out:
	buf_release(&path);
	http_reply_release(&reply);
	return ret;
}

int router_client_get(const char *app, json_t **out)
{
	struct http_reply reply = HTTP_REPLY_INIT;
	struct buf path = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&path, "/apps/%s", app) < 0)
		goto out;
	if (http_unix_request(wharf_router_socket(), "GET", path.buf, NULL, NULL, 0, 10000,
			      &reply) < 0) {
		unreachable();
		goto out;
	}
	if (reply.status == 200) {
		*out = json_loadb(reply.body.buf, reply.body.len, 0, NULL);
		if (!*out) {
			err_set("the router answered invalid JSON for %s", app);
			goto out;
		}
	} else if (reply.status != 404) {
		router_error(&reply, "cannot read the app's route");
		goto out;
	}
	ret = 0;
out:
	buf_release(&path);
	http_reply_release(&reply);
	return ret;
}
