/* control.c - the control API's connections (HTTP/JSON on a unix socket): framing, answers,
 * dispatch to the handlers (update.c, actions.c, certs.c, acme.c, metrics.c), and the socket. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_TIMEOUT_MS 30000 /* to send a whole request */

/* ---- answers ----------------------------------------------------------------------- */

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

json_t *router__error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static void cconn_on_closed(uv_handle_t *h)
{
	struct cconn *cc = h->data;

	if (--cc->open_handles > 0)
		return;
	buf_release(&cc->in);
	free(cc);
}

static void cconn_close(struct cconn *cc)
{
	if (cc->closing)
		return;
	cc->closing = 1;
	if (cc->upd) {
		router__update_orphan(cc->upd); /* it goes on; nobody hears the answer */
		cc->upd = NULL;
	}
	if (cc->wait) {
		cc->wait->cc = NULL;
		cc->wait = NULL;
	}
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		cc->r->cconns = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	cc->open_handles = 2;
	uv_close((uv_handle_t *)&cc->pipe, cconn_on_closed);
	uv_close((uv_handle_t *)&cc->timer, cconn_on_closed);
}

struct cwait *router__cwait_new(struct cconn *cc, const char *app)
{
	struct cwait *w = calloc(1, sizeof(*w));

	if (!w) {
		err_set("out of memory");
		return NULL;
	}
	snprintf(w->app, sizeof(w->app), "%s", app);
	w->spec.drain_timeout_ms = 30000;
	if (!(w->spec.app = strdup(app))) {
		free(w);
		err_set("out of memory");
		return NULL;
	}
	w->cc = cc;
	cc->wait = w;
	return w;
}

void router__cwait_free(struct cwait *w)
{
	if (!w)
		return;
	if (w->cc)
		w->cc->wait = NULL;
	router__route_release(&w->spec);
	free(w);
}

static void cconn_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	cconn_close(req->data);
}

static void cconn_on_write(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

void router__cconn_send(struct cconn *cc, int status, const char *ctype, const char *body,
			size_t len)
{
	struct buf out = BUF_INIT;
	uv_write_t *req = NULL;
	uv_buf_t b;

	if (cc->closing || cc->answered)
		return;
	cc->answered = 1;
	if (buf_addf(&out,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, status_text(status), ctype, len) < 0 ||
	    buf_add(&out, body, len) < 0 || !(req = malloc(sizeof(*req) + out.len)))
		goto fail;
	memcpy(req + 1, out.buf, out.len);
	b = uv_buf_init((char *)(req + 1), (unsigned)out.len);
	if (uv_write(req, (uv_stream_t *)&cc->pipe, &b, 1, cconn_on_write) < 0)
		goto fail;
	req = NULL;
	uv_read_stop((uv_stream_t *)&cc->pipe);
	cc->shutdown_req.data = cc;
	if (uv_shutdown(&cc->shutdown_req, (uv_stream_t *)&cc->pipe, cconn_on_shutdown) < 0)
		goto fail;
	buf_release(&out);
	return;
fail:
	free(req);
	buf_release(&out);
	cconn_close(cc);
}

/* Answers with body as JSON; takes ownership of body. */
void router__cconn_answer(struct cconn *cc, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	if (text) {
		size_t len = strlen(text);
		char *nl = realloc(text, len + 2);
		if (nl) {
			text = nl;
			text[len++] = '\n';
			text[len] = '\0';
		}
		router__cconn_send(cc, status, "application/json", text, len);
	} else {
		router__cconn_send(cc, 500, "application/json", "{\"error\":\"out of memory\"}\n",
				   26);
	}
	free(text);
	json_decref(body);
}

void router__cconn_error(struct cconn *cc, int status, const char *msg)
{
	router__cconn_answer(cc, status, router__error_json(msg));
}

static void handle_list(struct cconn *cc)
{
	json_t *apps = json_array();
	struct app *a;

	for (a = cc->r->apps; a && apps; a = a->next)
		if (json_array_append_new(apps, router__route_to_json(&a->spec)) < 0) {
			json_decref(apps);
			apps = NULL;
		}
	router__cconn_answer(cc, 200, apps ? json_pack("{s:o}", "apps", apps) : NULL);
}

/* ---- framing: apart from the socket (fuzz_control_frame.c) ---------------------------- */

int router__control_frame(struct control_frame *f, const char *in, size_t len, int *status)
{
	struct http_head *h = &f->head;
	unsigned long long clen = 0;
	size_t i;
	int n;

	if (!f->head_done) {
		n = router__head_parse(&f->parser, h, in, len);
		if (n == 0)
			return 0;
		if (n < 0) {
			*status = 400;
			return -1;
		}
		f->head_done = 1;
	}
	for (i = 0; i < h->nhdr; i++) {
		if (h->hdr[i].kind == HDR_TRANSFER_ENCODING) {
			*status = 411;
			return err_set("send the body with Content-Length");
		}
		/* llhttp checked the value (digits only, one value) and it ends at the
		 * head's CR, so strtoull() stops inside the head. */
		if (h->hdr[i].kind == HDR_CONTENT_LENGTH)
			clen = strtoull(in + h->hdr[i].value.off, NULL, 10);
	}
	if (clen > ROUTER_MAX_BODY) {
		*status = 413;
		return err_set("body too large");
	}
	if (len - h->head_len < clen)
		return 0;
	f->body_len = (size_t)clen;
	return 1;
}

int router__control_path(char *path, size_t size, const char *url, size_t len, char **app,
			 char **action, int *status)
{
	char *q;

	*app = *action = NULL;
	*status = 404;
	if (len >= size)
		return err_set("not found");
	memcpy(path, url, len);
	path[len] = '\0';
	if ((q = strchr(path, '?')))
		*q = '\0';
	if (!strcmp(path, "/metrics") || !strcmp(path, "/apps") || !strcmp(path, "/apps/"))
		return 0;
	if (strncmp(path, "/apps/", 6))
		return err_set("not found");
	*app = path + 6;
	if ((*action = strchr(*app, '/')))
		*(*action)++ = '\0';
	if (valid_app_name(*app) < 0) {
		*status = 400;
		return -1;
	}
	return 0;
}

/* Dispatches a complete request: method, path and body. */
static void cconn_dispatch(struct cconn *cc, const char *body, size_t blen)
{
	const struct http_head *h = &cc->frame.head;
	char path[256];
	char *app, *action;
	int m = h->method, status;

	if (router__acme_control_path(cc->in.buf + h->url.off, h->url.len)) {
		router__control_acme(cc, cc->in.buf + h->url.off, h->url.len, body, blen);
		return;
	}
	if (router__control_path(path, sizeof(path), cc->in.buf + h->url.off, h->url.len, &app,
				 &action, &status) < 0) {
		router__cconn_error(cc, status, err_msg());
		return;
	}
	if (!app && !strcmp(path, "/metrics")) {
		struct buf out = BUF_INIT;
		if (m != HTTP_GET)
			router__cconn_error(cc, 404, "not found");
		else if (router__metrics(&out, cc->r) < 0)
			router__cconn_error(cc, 500, "out of memory");
		else
			router__cconn_send(cc, 200, "text/plain; version=0.0.4", out.buf, out.len);
		buf_release(&out);
		return;
	}
	if (!app) {
		if (m == HTTP_GET)
			handle_list(cc);
		else
			router__cconn_error(cc, 405, "use GET");
		return;
	}
	if (action) {
		router__control_action(cc, app, action, body, blen);
		return;
	}
	if (m == HTTP_GET) {
		struct app *a = router__app_find(cc->r, app);
		json_t *j = a ? router__route_to_json(&a->spec) : NULL;
		json_t *o = a ? router__route_options_json(&a->spec) : NULL;
		if (j && (json_object_set_new(j, "paused", json_boolean(a->paused)) < 0 ||
			  json_object_set_new(j, "maintenance", json_boolean(a->maintenance)) < 0 ||
			  json_object_update(j, o) < 0)) {
			json_decref(j);
			j = NULL;
		}
		json_decref(o);
		if (a)
			router__cconn_answer(cc, 200, j);
		else
			router__cconn_error(cc, 404, "no such app");
	} else if (m == HTTP_PUT) {
		router__control_put(cc, app, body, blen);
	} else if (m == HTTP_DELETE) {
		router__control_delete(cc, app);
	} else {
		router__cconn_error(cc, 405, "use GET, PUT or DELETE");
	}
}

/* Waits for the head, then for Content-Length bytes of body. */
static void cconn_process(struct cconn *cc)
{
	int status, rc = router__control_frame(&cc->frame, cc->in.buf, cc->in.len, &status);

	if (rc < 0)
		router__cconn_error(cc, status, err_msg());
	else if (rc > 0)
		cconn_dispatch(cc, cc->in.buf + cc->frame.head.head_len, cc->frame.body_len);
}

static void cconn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct cconn *cc = s->data;

	if (nread == 0 || cc->closing)
		return;
	if (nread < 0) {
		if (!cc->upd && !cc->wait)
			cconn_close(cc);
		else
			uv_read_stop(s); /* half-closed: still answer the PUT */
		return;
	}
	if (cc->answered || cc->upd || cc->wait)
		return;
	if (buf_add(&cc->in, b->base, (size_t)nread) < 0) {
		router__cconn_error(cc, 413, "request too large");
		return;
	}
	cconn_process(cc);
}

static void cconn_on_timer(uv_timer_t *t)
{
	struct cconn *cc = t->data;

	/* A PUT waiting for checks and drain is bounded by those, not by this timer, and
	 * a change waiting for its write by the write. */
	if (!cc->upd && !cc->wait && !cc->answered)
		router__cconn_error(cc, 408, "timed out reading the request");
	else if (cc->answered)
		cconn_close(cc);
}

static void control_on_connection(uv_stream_t *server, int status)
{
	struct router *r = server->data;
	struct cconn *cc;

	if (status < 0 || r->stopping || !(cc = calloc(1, sizeof(*cc))))
		return;
	cc->r = r;
	buf_init(&cc->in, ROUTER_MAX_BODY + r->opts.max_header_bytes);
	uv_pipe_init(r->loop, &cc->pipe, 0);
	uv_timer_init(r->loop, &cc->timer);
	cc->pipe.data = cc->timer.data = cc;
	cc->next = r->cconns;
	if (r->cconns)
		r->cconns->prev = cc;
	r->cconns = cc;
	if (uv_accept(server, (uv_stream_t *)&cc->pipe) < 0) {
		cconn_close(cc);
		return;
	}
	uv_timer_start(&cc->timer, cconn_on_timer, CONTROL_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&cc->pipe, router__alloc_cb, cconn_on_read);
}

/* ---- the socket ------------------------------------------------------------------- */

/* A socket file nobody answers on is left from a router that died: remove it.
 * One that answers belongs to a running router: refuse to steal it. */
static int remove_stale_socket(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set_errno("cannot stat %s", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set("%s exists and is not a socket", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return err_set_errno("socket");
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0)
		return err_set("another router is already listening on %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno("cannot remove the stale socket %s", path);
	return 0;
}

int router__control_listen(struct router *r)
{
	const char *path = r->opts.control_socket;
	struct stat st;
	int rc;

	if (!path || !*path)
		return err_set("no control socket path");
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return err_set("control socket path is too long (%zu bytes): %s", strlen(path),
			       path);
	if (remove_stale_socket(path) < 0)
		return -1;
	uv_pipe_init(r->loop, &r->control, 0);
	r->control.data = r;
	if ((rc = uv_pipe_bind(&r->control, path)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&r->control, 64, control_on_connection)) < 0)
		return err_set("cannot listen on %s: %s", path, uv_strerror(rc));
	if (chmod(path, 0660) < 0)
		return err_set_errno("cannot chmod %s", path);
	/* The unprivileged wharf user who owns WHARF_ROOT runs deploys and must be
	 * able to connect. */
	if (geteuid() == 0 && stat(wharf_root(), &st) == 0 && chown(path, st.st_uid, st.st_gid) < 0)
		return err_set_errno("cannot chown %s", path);
	return 0;
}

/* The control socket goes once the table is written: a successor (--takeover) reads
 * the table when the socket is released, so it must find every change there. */
static void control_close_listener(struct router *r)
{
	if (r->control.loop && !uv_is_closing((uv_handle_t *)&r->control)) {
		uv_close((uv_handle_t *)&r->control, NULL);
		if (r->opts.control_socket)
			unlink(r->opts.control_socket);
	}
}

void router__control_stop(struct router *r)
{
	struct cconn *cc, *next;

	router__updates_stop(r);
	router__persist_when_idle(r, control_close_listener);
	/* Those still waiting for a write are answered when it ends. */
	for (cc = r->cconns; cc; cc = next) {
		next = cc->next;
		if (!cc->answered && !cc->wait && !(cc->upd && router__update_committing(cc->upd)))
			cconn_close(cc);
	}
}
