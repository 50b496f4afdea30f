/* control.c - the control API (HTTP/JSON on a unix socket): routes, health checks of
 * new targets, the atomic swap, draining, and metrics. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_TIMEOUT_MS 30000        /* to send a whole request */
#define DRAIN_POLL_MS      20

struct cconn {
	uv_pipe_t        pipe;
	uv_timer_t       timer;
	uv_shutdown_t    shutdown_req;
	struct router   *r;
	struct cconn    *prev, *next;
	struct update   *upd;           /* the PUT this connection waits for */
	struct buf       in;
	struct control_frame frame;     /* the request being read from in */
	int              answered;
	int              closing;
	int              open_handles;
};

struct check;

/* One PUT: health checks of the new targets, then swap, persist and drain. */
struct update {
	struct router   *r;
	struct update   *next;
	struct cconn    *cc;            /* NULL once the client went away */
	struct route_def spec;
	struct check   **checks;
	size_t           nchecks, pending;
	struct target  **retired;       /* referenced while draining */
	size_t           nretired;
	uv_timer_t       drain_timer;
	uint64_t         drain_deadline;
	json_t          *answer;        /* the 200 body, made at the swap */
	int              applied;       /* swapped; now draining */
	char             name[64];      /* the app's, for --trace lines (spec.app moves) */
};

/* One target under check. Freed in its timer's close callback. */
struct check {
	struct update     *u;           /* NULL once cancelled */
	uv_timer_t         timer;       /* attempt timeout, then the wait for the next */
	struct probe      *probe;       /* the attempt in flight */
	char               addr[32];
	struct sockaddr_in sa;
	uint64_t           deadline;
	char               last[160];   /* why the last attempt that ended failed */
	int                done;
};

/* One attempt: a TCP connection with a GET. Freed in its close callback. */
struct probe {
	uv_tcp_t         tcp;
	uv_connect_t     creq;
	uv_write_t       wreq;
	struct check    *ck;            /* NULL once abandoned */
	struct buf       req;
	struct buf       in;
	llhttp_t         parser;
	struct http_head head;
};

static void cconn_answer(struct cconn *cc, int status, json_t *body);
static void check_attempt(struct check *ck);
static void update_checked(struct update *u);

/* ---- answers ----------------------------------------------------------------------- */

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

static json_t *error_json(const char *msg)
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
		cc->upd->cc = NULL;     /* the update goes on; nobody hears the answer */
		cc->upd = NULL;
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

static void cconn_send(struct cconn *cc, int status, const char *ctype, const char *body,
		       size_t len)
{
	struct buf out = BUF_INIT;
	uv_write_t *req = NULL;
	uv_buf_t b;

	if (cc->closing || cc->answered)
		return;
	cc->answered = 1;
	if (buf_addf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", status, status_text(status), ctype, len) < 0 ||
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
static void cconn_answer(struct cconn *cc, int status, json_t *body)
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
		cconn_send(cc, status, "application/json", text, len);
	} else {
		cconn_send(cc, 500, "application/json", "{\"error\":\"out of memory\"}\n", 26);
	}
	free(text);
	json_decref(body);
}

static void cconn_error(struct cconn *cc, int status, const char *msg)
{
	cconn_answer(cc, status, error_json(msg));
}

/* ---- updates: check, swap, drain ------------------------------------------------- */

static void check_on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void probe_on_closed(uv_handle_t *h)
{
	struct probe *p = h->data;

	buf_release(&p->req);
	buf_release(&p->in);
	free(p);
}

static void probe_abandon(struct probe *p)
{
	if (!p)
		return;
	if (p->ck)
		p->ck->probe = NULL;
	p->ck = NULL;
	if (!uv_is_closing((uv_handle_t *)&p->tcp))
		uv_close((uv_handle_t *)&p->tcp, probe_on_closed);
}

static void check_cancel(struct check *ck)
{
	probe_abandon(ck->probe);
	ck->u = NULL;
	uv_close((uv_handle_t *)&ck->timer, check_on_timer_closed);
}

static void update_on_timer_closed(uv_handle_t *h)
{
	struct update *u = h->data;
	size_t i;

	for (i = 0; i < u->nretired; i++)
		router__target_unref(u->retired[i]);
	free(u->retired);
	free(u->checks);
	json_decref(u->answer);
	router__route_release(&u->spec);
	free(u);
}

/* Ends an update: answers its client (if still there) and frees it. Takes
 * ownership of body. */
static void update_finish(struct update *u, int status, json_t *body)
{
	struct update **pp;
	size_t i;

	for (pp = &u->r->updates; *pp; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	for (i = 0; i < u->nchecks; i++)
		if (u->checks[i])
			check_cancel(u->checks[i]);
	u->nchecks = 0;
	if (u->cc) {
		u->cc->upd = NULL;
		cconn_answer(u->cc, status, body);
		u->cc = NULL;
	} else {
		json_decref(body);
	}
	uv_timer_stop(&u->drain_timer);
	uv_close((uv_handle_t *)&u->drain_timer, update_on_timer_closed);
}

static void update_fail(struct update *u, int status, const char *msg)
{
	update_finish(u, status, error_json(msg));
}

static int drained(struct update *u)
{
	size_t i;

	for (i = 0; i < u->nretired; i++)
		if (u->retired[i]->inflight)
			return 0;
	return 1;
}

static void on_drain_timer(uv_timer_t *t)
{
	struct update *u = t->data;
	json_t *answer;
	int done = drained(u);

	if (!done && uv_now(u->r->loop) < u->drain_deadline)
		return;
	/* Requests still running on old targets after the drain timeout keep their
	 * connections; the caller may now stop the old backends, and is told that
	 * those requests will fail if it does. */
	answer = u->answer;
	u->answer = NULL;
	if (!done)
		(void)json_object_set_new(answer, "drained", json_false());
	say_trace("router: %s %s", u->name, done ? "drained" : "drain timed out");
	update_finish(u, 200, answer);
}

static const char *domain_owner(struct router *r, const struct route_def *spec,
				const char **domain);

/* Every new target passed: persist, swap atomically, then drain the old set. */
static void update_apply(struct update *u)
{
	struct router *r = u->r;
	struct app *a = router__app_find(r, u->spec.app);
	unsigned drain_ms = u->spec.drain_timeout_ms;
	const char *owner, *domain = NULL;
	char msg[512];

	/* Another PUT may have taken one of the domains while this one was
	 * checking: the check at arrival is not enough, the swap decides. */
	if ((owner = domain_owner(r, &u->spec, &domain))) {
		snprintf(msg, sizeof(msg), "domain '%s' is already served by app '%s'", domain,
			 owner);
		update_fail(u, 409, msg);
		return;
	}
	/* Options the PUT did not give stay as they are (a bare PUT sends routes
	 * only); wharf's deploys send both, from the app's state, null included. */
	if (a && !u->spec.redirect_set) {
		u->spec.redirect_https = a->spec.redirect_https;
		u->spec.redirect_set = a->spec.redirect_set;
	}
	if (a && !u->spec.max_body_given) {
		u->spec.max_body_bytes = a->spec.max_body_bytes;
		u->spec.max_body_set = a->spec.max_body_set;
	}
	if (router__persist(r, &u->spec, NULL) < 0) {
		err_prefix("cannot save the router table: ");
		update_fail(u, 500, err_msg());
		return;
	}
	if (router__app_apply(r, &u->spec, &u->retired, &u->nretired) < 0) {
		update_fail(u, 500, err_msg());
		return;
	}
	u->applied = 1;
	say_trace("router: %s swapped to its new targets", u->name);
	u->drain_deadline = uv_now(r->loop) + drain_ms;
	if (drained(u)) {
		on_drain_timer(&u->drain_timer);
		return;
	}
	uv_timer_start(&u->drain_timer, on_drain_timer, DRAIN_POLL_MS, DRAIN_POLL_MS);
}

static void update_checked(struct update *u)
{
	if (u->pending)
		return;
	update_apply(u);
}

static void check_done(struct check *ck, int ok)
{
	struct update *u = ck->u;
	char msg[256];

	probe_abandon(ck->probe);
	uv_timer_stop(&ck->timer);
	if (ck->done || !u)
		return;
	ck->done = 1;
	if (!ok) {
		snprintf(msg, sizeof(msg), "health check failed for %s: %s", ck->addr, ck->last);
		update_fail(u, 409, msg);
		return;
	}
	u->pending--;
	say_trace("router: %s: %s passed its health check", u->spec.app, ck->addr);
	update_checked(u);
}

/* The attempt failed for the reason in ck->last: wait an interval and try again,
 * unless that would pass the deadline. */
static void check_retry_later(struct check *ck);

static void check_on_timer(uv_timer_t *t)
{
	struct check *ck = t->data;

	if (!ck->u)
		return;
	if (ck->probe) {
		/* An attempt cut short by the deadline (its timeout shortened to fit) says
		 * less than the one before it: a target that answered 500 every time is
		 * reported as "status 500", not "timeout". ck->last starts as "timeout". */
		if (uv_now(ck->u->r->loop) < ck->deadline)
			snprintf(ck->last, sizeof(ck->last), "timeout");
		probe_abandon(ck->probe);
		check_retry_later(ck);
		return;
	}
	check_attempt(ck);
}

static void check_retry_later(struct check *ck)
{
	struct update *u = ck->u;
	uint64_t now = uv_now(u->r->loop);

	if (now + u->spec.interval_ms >= ck->deadline) {
		check_done(ck, 0);
		return;
	}
	uv_timer_start(&ck->timer, check_on_timer, u->spec.interval_ms, 0);
}

static void probe_fail(struct probe *p, const char *why)
{
	struct check *ck = p->ck;

	if (!ck)
		return;
	snprintf(ck->last, sizeof(ck->last), "%s", why);
	probe_abandon(p);
	uv_timer_stop(&ck->timer);
	check_retry_later(ck);
}

static void probe_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct probe *p = s->data;
	char status[32];
	int n;

	if (!p->ck || nread == 0)
		return;
	if (nread < 0) {
		probe_fail(p, nread == UV_EOF ? "connection closed before a response"
						    : uv_strerror((int)nread));
		return;
	}
	if (buf_add(&p->in, b->base, (size_t)nread) < 0) {
		probe_fail(p, "response head too large");
		return;
	}
	p->head.is_response = 1;
	n = router__head_parse(&p->parser, &p->head, p->in.buf, p->in.len);
	if (n == 0)
		return;
	if (n < 0) {
		probe_fail(p, "invalid HTTP response");
		return;
	}
	if (p->head.status >= 500) {
		snprintf(status, sizeof(status), "status %d", p->head.status);
		probe_fail(p, status);
		return;
	}
	check_done(p->ck, 1);
}

static void probe_on_write(uv_write_t *req, int status)
{
	struct probe *p = req->data;

	if (status < 0 && p->ck)
		probe_fail(p, uv_strerror(status));
}

static void probe_on_connect(uv_connect_t *req, int status)
{
	struct probe *p = req->data;
	uv_buf_t b;

	if (!p->ck)
		return;
	if (status < 0) {
		probe_fail(p, uv_strerror(status));
		return;
	}
	b = uv_buf_init(p->req.buf, (unsigned)p->req.len);
	p->wreq.data = p;
	if (uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, probe_on_write) < 0 ||
	    uv_read_start((uv_stream_t *)&p->tcp, router__alloc_cb, probe_on_read) < 0)
		probe_fail(p, "cannot send the request");
}

static void check_attempt(struct check *ck)
{
	struct update *u = ck->u;
	struct probe *p = calloc(1, sizeof(*p));
	uint64_t now = uv_now(u->r->loop), timeout = u->spec.timeout_ms;
	int rc;

	if (!p) {
		snprintf(ck->last, sizeof(ck->last), "out of memory");
		check_done(ck, 0);
		return;
	}
	buf_init(&p->in, 65536);
	p->ck = ck;
	ck->probe = p;
	uv_tcp_init(u->r->loop, &p->tcp);
	p->tcp.data = p;
	p->creq.data = p;
	if (buf_addf(&p->req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wharf-router\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n", u->spec.health_path,
		     u->spec.ndomains ? u->spec.domains[0] : ck->addr) < 0) {
		probe_fail(p, "out of memory");
		return;
	}
	if (now + timeout > ck->deadline)
		timeout = ck->deadline > now ? ck->deadline - now : 1;
	uv_timer_start(&ck->timer, check_on_timer, timeout, 0);
	rc = uv_tcp_connect(&p->creq, &p->tcp, (struct sockaddr *)&ck->sa, probe_on_connect);
	if (rc < 0)
		probe_fail(p, uv_strerror(rc));
}

/* Starts the checks of every target not already serving the app. */
static void update_start(struct update *u)
{
	struct router *r = u->r;
	struct app *a = router__app_find(r, u->spec.app);
	size_t i, j;

	snprintf(u->name, sizeof(u->name), "%s", u->spec.app ? u->spec.app : "?");
	say_trace("router: update of %s received", u->name);
	if (!u->spec.has_health)
		goto apply;
	u->checks = calloc(u->spec.ntargets + 1, sizeof(*u->checks));
	if (!u->checks) {
		update_fail(u, 500, "out of memory");
		return;
	}
	for (i = 0; i < u->spec.ntargets; i++) {
		struct check *ck;

		for (j = 0; a && j < a->spec.ntargets; j++)
			if (!strcmp(a->spec.targets[j], u->spec.targets[i]))
				break;
		if (a && j < a->spec.ntargets)
			continue;               /* serving already */
		if (!(ck = calloc(1, sizeof(*ck)))) {
			update_fail(u, 500, "out of memory");
			return;
		}
		ck->u = u;
		snprintf(ck->addr, sizeof(ck->addr), "%s", u->spec.targets[i]);
		(void)router__target_parse(&ck->sa, ck->addr);
		ck->deadline = uv_now(r->loop) + u->spec.deadline_ms;
		snprintf(ck->last, sizeof(ck->last), "timeout");
		uv_timer_init(r->loop, &ck->timer);
		ck->timer.data = ck;
		u->checks[u->nchecks++] = ck;
		u->pending++;
	}
	/* Start the attempts only once all are registered: a synchronous failure
	 * finishes the update and cancels its checks. */
	for (i = 0; i < u->nchecks; i++) {
		struct check *ck = u->checks[i];
		if (!ck->u)
			return;
		check_attempt(ck);
		if (!ck->u)
			return;
	}
	if (u->nchecks)
		return;
apply:
	update_apply(u);
}

/* ---- request handlers ------------------------------------------------------------ */

/* Another app already serving one of spec's domains is a conflict. */
static const char *domain_owner(struct router *r, const struct route_def *spec,
				const char **domain)
{
	struct app *a;
	size_t i, j;

	for (a = r->apps; a; a = a->next) {
		if (!strcmp(a->spec.app, spec->app))
			continue;
		for (i = 0; i < spec->ndomains; i++)
			for (j = 0; j < a->spec.ndomains; j++)
				if (!strcmp(spec->domains[i], a->spec.domains[j])) {
					*domain = spec->domains[i];
					return a->spec.app;
				}
	}
	return NULL;
}

static struct update *update_find(struct router *r, const char *app)
{
	struct update *u;

	for (u = r->updates; u; u = u->next)
		if (!u->applied && !strcmp(u->spec.app, app))
			return u;
	return NULL;
}

static void handle_put(struct cconn *cc, const char *app, const char *body, size_t len)
{
	struct router *r = cc->r;
	struct route_def spec = ROUTE_DEF_INIT;
	struct update *u, *old;
	const char *owner, *domain = NULL;
	char msg[512];

	if (router__route_parse(&spec, app, body, len) < 0) {
		cconn_error(cc, 400, err_msg());
		goto out;
	}
	if ((owner = domain_owner(r, &spec, &domain))) {
		snprintf(msg, sizeof(msg), "domain '%s' is already served by app '%s'", domain,
			 owner);
		cconn_error(cc, 409, msg);
		goto out;
	}
	/* The newest PUT for an app wins; the older one is told so. */
	if ((old = update_find(r, app)))
		update_fail(old, 409, "superseded by a newer PUT for this app");
	if (!(u = calloc(1, sizeof(*u)))) {
		cconn_error(cc, 500, "out of memory");
		goto out;
	}
	u->r = r;
	u->spec = spec;
	memset(&spec, 0, sizeof(spec));
	if (!(u->answer = router__route_to_json(&u->spec))) {
		free(u);
		cconn_error(cc, 500, "out of memory");
		goto out;
	}
	uv_timer_init(r->loop, &u->drain_timer);
	u->drain_timer.data = u;
	u->next = r->updates;
	r->updates = u;
	u->cc = cc;
	cc->upd = u;
	update_start(u);
out:
	router__route_release(&spec);
}

static void handle_delete(struct cconn *cc, const char *app)
{
	struct router *r = cc->r;
	struct app *a = router__app_find(r, app);
	struct update *u;

	if ((u = update_find(r, app)))
		update_fail(u, 409, "the app was deleted");
	if (!a) {
		cconn_error(cc, 404, "no such app");
		return;
	}
	if (router__persist(r, NULL, app) < 0) {
		err_prefix("cannot save the router table: ");
		cconn_error(cc, 500, err_msg());
		return;
	}
	router__app_remove(r, a);
	cconn_answer(cc, 200, json_pack("{s:s, s:b}", "app", app, "deleted", 1));
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
	cconn_answer(cc, 200, apps ? json_pack("{s:o}", "apps", apps) : NULL);
}

int router__metrics(struct buf *out, struct router *r)
{
	static const char *const cls[STATUS_CLASSES] = { "other", "1xx", "2xx", "3xx", "4xx",
							 "5xx" };
	struct app *a;
	size_t i, idle = 0, inflight = 0;

	if (buf_addstr(out, "# HELP wharf_router_requests_total Requests answered, by app and "
		       "status class.\n# TYPE wharf_router_requests_total counter\n") < 0)
		return -1;
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < STATUS_CLASSES; i++)
			if (buf_addf(out, "wharf_router_requests_total{app=\"%s\",code=\"%s\"} %llu\n",
				     a->spec.app, cls[i], a->requests[i]) < 0)
				return -1;
	if (buf_addstr(out, "# HELP wharf_router_request_duration_seconds Time from a request's "
		       "head to the end of its response, by app.\n"
		       "# TYPE wharf_router_request_duration_seconds histogram\n") < 0)
		return -1;
	for (a = r->apps; a; a = a->next) {
		unsigned long long cum = 0;

		for (i = 0; i < ROUTER_LAT_BUCKETS; i++) {
			cum += a->lat_bucket[i];
			if (buf_addf(out, "wharf_router_request_duration_seconds_bucket{app=\"%s\","
				     "le=\"%g\"} %llu\n", a->spec.app, router__lat_bounds[i], cum) < 0)
				return -1;
		}
		if (buf_addf(out, "wharf_router_request_duration_seconds_bucket{app=\"%s\","
			     "le=\"+Inf\"} %llu\n"
			     "wharf_router_request_duration_seconds_sum{app=\"%s\"} %.6f\n"
			     "wharf_router_request_duration_seconds_count{app=\"%s\"} %llu\n",
			     a->spec.app, a->lat_count, a->spec.app, a->lat_sum, a->spec.app,
			     a->lat_count) < 0)
			return -1;
	}
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < a->spec.ntargets; i++) {
			idle += a->targets[i]->nidle;
			inflight += a->targets[i]->inflight;
		}
	if (buf_addf(out, "# HELP wharf_router_unrouted_requests_total Requests for a host no "
		     "app serves, or malformed.\n# TYPE wharf_router_unrouted_requests_total "
		     "counter\nwharf_router_unrouted_requests_total %llu\n"
		     "# HELP wharf_router_client_connections Open client connections.\n"
		     "# TYPE wharf_router_client_connections gauge\n"
		     "wharf_router_client_connections %zu\n"
		     "# HELP wharf_router_upstream_idle_connections Pooled keep-alive connections.\n"
		     "# TYPE wharf_router_upstream_idle_connections gauge\n"
		     "wharf_router_upstream_idle_connections %zu\n"
		     "# HELP wharf_router_requests_in_flight Requests forwarded and not yet "
		     "answered.\n# TYPE wharf_router_requests_in_flight gauge\n"
		     "wharf_router_requests_in_flight %zu\n"
		     "# HELP wharf_router_apps Apps in the table.\n# TYPE wharf_router_apps gauge\n",
		     r->unrouted, r->nconns, idle, inflight) < 0)
		return -1;
	i = 0;
	for (a = r->apps; a; a = a->next)
		i++;
	return buf_addf(out, "wharf_router_apps %zu\n", i);
}

/* ---- action bodies: parsed apart from any connection (fuzz_control_json.c) ---------- */

#define PAUSE_MAX_MS_DEFAULT 30000
#define MAINTENANCE_MSG_MAX  4096

/* An optional JSON object body whose keys are all in allowed (NULL-terminated): an
 * empty body is {}. A new reference, or NULL after err_set. */
static json_t *action_body(const char *body, size_t blen, const char *const *allowed)
{
	const char *key, *const *k;
	json_error_t jerr;
	json_t *j, *v;

	if (!blen)
		return json_object();
	j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		err_set("the body must be a JSON object%s%s", j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	json_object_foreach(j, key, v) {
		for (k = allowed; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			err_set("unknown key '%.80s'", key);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

int router__pause_parse(const char *body, size_t len, int resume, unsigned *max_ms)
{
	static const char *const keys[] = { "max_ms", NULL };
	json_t *j = action_body(body, len, resume ? keys + 1 : keys), *v;
	int ret = -1;

	if (!j)
		return -1;
	*max_ms = PAUSE_MAX_MS_DEFAULT;
	if ((v = json_object_get(j, "max_ms"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 3600000) {
			err_set("max_ms must be an integer in 0..3600000");
			goto out;
		}
		*max_ms = (unsigned)json_integer_value(v);
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

int router__maintenance_parse(const char *body, size_t len, int *enabled, char **message)
{
	static const char *const keys[] = { "enabled", "message", NULL };
	json_t *j = action_body(body, len, keys), *v;
	int ret = -1;

	*message = NULL;
	if (!j)
		return -1;
	if ((v = json_object_get(j, "enabled"))) {
		if (!json_is_boolean(v)) {
			err_set("enabled must be true or false");
			goto out;
		}
		*enabled = json_is_true(v);
	}
	if ((v = json_object_get(j, "message"))) {
		if (!json_is_string(v) || json_string_length(v) > MAINTENANCE_MSG_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			err_set("message must be a string of at most 4096 bytes");
			goto out;
		}
		if (*enabled && !(*message = strdup(json_string_value(v)))) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

int router__cert_parse(const char *body, size_t len, char **crt, char **key)
{
	static const char *const keys[] = { "cert", "key", NULL };
	json_t *j = action_body(body, len, keys), *c, *k;
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

int router__options_parse(struct route_def *spec, const char *body, size_t len)
{
	static const char *const keys[] = { "redirect_https", "max_body_bytes", NULL };
	json_t *j = action_body(body, len, keys);
	int ret;

	if (!j)
		return -1;
	ret = router__route_options(spec, j);
	json_decref(j);
	return ret;
}

/* PUT /apps/<app>/cert {"cert": PEM chain, "key": PEM key}, GET, DELETE. A
 * certificate may be stored before the app is served; SNI uses it once it is. */
static void handle_cert(struct cconn *cc, const char *app, const char *body, size_t blen)
{
	int m = cc->frame.head.method, rc;
	char *crt = NULL, *key = NULL;
	json_t *j;

	if (m == HTTP_GET) {
		if ((j = router__cert_info(cc->r, app)))
			cconn_answer(cc, 200, j);
		else
			cconn_error(cc, 404, "no certificate for this app");
		return;
	}
	if (m == HTTP_DELETE) {
		if ((rc = router__cert_remove(cc->r, app)) < 0)
			cconn_error(cc, 500, err_msg());
		else if (rc == 0)
			cconn_error(cc, 404, "no certificate for this app");
		else
			cconn_answer(cc, 200, json_pack("{s:s, s:b}", "app", app, "cert", 0));
		return;
	}
	if (m != HTTP_PUT) {
		cconn_error(cc, 405, "use GET, PUT or DELETE");
		return;
	}
	if (router__cert_parse(body, blen, &crt, &key) < 0 ||
	    router__cert_set(cc->r, app, crt, key) < 0)
		cconn_error(cc, 400, err_msg());
	else
		cconn_answer(cc, 200, router__cert_info(cc->r, app));
	/* The key is secret: do not leave it in freed memory. */
	if (key)
		explicit_bzero(key, strlen(key));
	free(crt);
	free(key);
}

/* GET /apps/<app>/options; PUT with {"redirect_https": bool, "max_body_bytes":
 * n|null}, either or both: changes those, persisted in the table, kept across
 * the route PUTs of deploys. An app the router does not serve yet gets an entry
 * with no domains and no targets, so options can be set before a first deploy. */
static void handle_options(struct cconn *cc, const char *app, const char *body, size_t blen)
{
	struct router *r = cc->r;
	struct app *a = router__app_find(r, app);
	struct route_def spec = ROUTE_DEF_INIT;
	struct target **retired = NULL;
	size_t nretired = 0;
	json_t *answer;

	if (cc->frame.head.method == HTTP_GET) {
		if (a)
			cconn_answer(cc, 200, json_pack("{s:s, s:o}", "app", app, "options",
							router__route_options_json(&a->spec)));
		else
			cconn_error(cc, 404, "no such app");
		return;
	}
	if (cc->frame.head.method != HTTP_PUT) {
		cconn_error(cc, 405, "use GET or PUT");
		return;
	}
	/* spec borrows a's arrays only to be written out; options are plain values. */
	if (a)
		spec = a->spec;
	else if (!(spec.app = strdup(app))) {
		cconn_error(cc, 500, "out of memory");
		goto out;
	}
	if (router__options_parse(&spec, body, blen) < 0) {
		cconn_error(cc, 400, err_msg());
		goto out;
	}
	if (router__persist(r, &spec, NULL) < 0) {
		err_prefix("cannot save the router table: ");
		cconn_error(cc, 500, err_msg());
		goto out;
	}
	if (a) {
		a->spec.redirect_https = spec.redirect_https;
		a->spec.redirect_set = spec.redirect_set;
		a->spec.max_body_bytes = spec.max_body_bytes;
		a->spec.max_body_set = spec.max_body_set;
		memset(&spec, 0, sizeof(spec));         /* borrowed: a keeps its arrays */
	} else if (router__app_apply(r, &spec, &retired, &nretired) < 0) {
		cconn_error(cc, 500, err_msg());
		goto out;
	}
	free(retired);
	a = router__app_find(r, app);
	answer = a ? json_pack("{s:s, s:o}", "app", app, "options",
			       router__route_options_json(&a->spec)) : NULL;
	cconn_answer(cc, 200, answer);
out:
	if (a && spec.app == a->spec.app)
		memset(&spec, 0, sizeof(spec));
	router__route_release(&spec);
}

/* POST /apps/<app>/pause {"max_ms": N}, POST /apps/<app>/resume,
 * POST /apps/<app>/maintenance {"enabled": bool, "message": "…"},
 * DELETE /apps/<app>/maintenance. */
static void handle_action(struct cconn *cc, const char *app, const char *action,
			  const char *body, size_t blen)
{
	struct app *a = router__app_find(cc->r, app);
	int m = cc->frame.head.method;
	unsigned max;
	size_t n;

	if (!strcmp(action, "cert")) {
		handle_cert(cc, app, body, blen);
		return;
	}
	if (!strcmp(action, "options")) {
		handle_options(cc, app, body, blen);
		return;
	}
	if (strcmp(action, "pause") && strcmp(action, "resume") && strcmp(action, "maintenance")) {
		cconn_error(cc, 404, "not found");
		return;
	}
	if (m != HTTP_POST && !(m == HTTP_DELETE && !strcmp(action, "maintenance"))) {
		cconn_error(cc, 405, !strcmp(action, "maintenance") ? "use POST or DELETE"
								    : "use POST");
		return;
	}
	if (!a) {
		cconn_error(cc, 404, "no such app");
		return;
	}
	if (!strcmp(action, "pause")) {
		if (router__pause_parse(body, blen, 0, &max) < 0) {
			cconn_error(cc, 400, err_msg());
			return;
		}
		a->paused = 1;
		a->pause_max_ms = max;
		cconn_answer(cc, 200, json_pack("{s:s, s:b, s:I}", "app", app, "paused", 1,
						"max_ms", (json_int_t)max));
	} else if (!strcmp(action, "resume")) {
		if (router__pause_parse(body, blen, 1, &max) < 0) {
			cconn_error(cc, 400, err_msg());
			return;
		}
		a->paused = 0;
		n = router__app_release_held(a);
		cconn_answer(cc, 200, json_pack("{s:s, s:b, s:I}", "app", app, "paused", 0,
						"released", (json_int_t)n));
	} else {
		int enabled = m == HTTP_POST;
		char *text = NULL;

		if (router__maintenance_parse(body, m == HTTP_DELETE ? 0 : blen, &enabled,
					      &text) < 0) {
			cconn_error(cc, 400, err_msg());
			return;
		}
		free(a->maintenance_msg);
		a->maintenance_msg = text;
		a->maintenance = enabled;
		/* Requests held by a pause now get the page too. */
		if (enabled)
			(void)router__app_release_held(a);
		cconn_answer(cc, 200, json_pack("{s:s, s:b}", "app", app, "maintenance", enabled));
	}
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

	if (router__control_path(path, sizeof(path), cc->in.buf + h->url.off, h->url.len, &app,
				 &action, &status) < 0) {
		cconn_error(cc, status, err_msg());
		return;
	}
	if (!app && !strcmp(path, "/metrics")) {
		struct buf out = BUF_INIT;
		if (m != HTTP_GET)
			cconn_error(cc, 404, "not found");
		else if (router__metrics(&out, cc->r) < 0)
			cconn_error(cc, 500, "out of memory");
		else
			cconn_send(cc, 200, "text/plain; version=0.0.4", out.buf, out.len);
		buf_release(&out);
		return;
	}
	if (!app) {
		if (m == HTTP_GET)
			handle_list(cc);
		else
			cconn_error(cc, 405, "use GET");
		return;
	}
	if (action) {
		handle_action(cc, app, action, body, blen);
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
			cconn_answer(cc, 200, j);
		else
			cconn_error(cc, 404, "no such app");
	} else if (m == HTTP_PUT) {
		handle_put(cc, app, body, blen);
	} else if (m == HTTP_DELETE) {
		handle_delete(cc, app);
	} else {
		cconn_error(cc, 405, "use GET, PUT or DELETE");
	}
}

/* Waits for the head, then for Content-Length bytes of body. */
static void cconn_process(struct cconn *cc)
{
	int status, rc = router__control_frame(&cc->frame, cc->in.buf, cc->in.len, &status);

	if (rc < 0)
		cconn_error(cc, status, err_msg());
	else if (rc > 0)
		cconn_dispatch(cc, cc->in.buf + cc->frame.head.head_len, cc->frame.body_len);
}

static void cconn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct cconn *cc = s->data;

	if (nread == 0 || cc->closing)
		return;
	if (nread < 0) {
		if (!cc->upd)
			cconn_close(cc);
		else
			uv_read_stop(s);        /* half-closed: still answer the PUT */
		return;
	}
	if (cc->answered || cc->upd)
		return;
	if (buf_add(&cc->in, b->base, (size_t)nread) < 0) {
		cconn_error(cc, 413, "request too large");
		return;
	}
	cconn_process(cc);
}

static void cconn_on_timer(uv_timer_t *t)
{
	struct cconn *cc = t->data;

	/* A PUT waiting for checks and drain is bounded by those, not by this timer. */
	if (!cc->upd && !cc->answered)
		cconn_error(cc, 408, "timed out reading the request");
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
	if (geteuid() == 0 && stat(wharf_root(), &st) == 0 &&
	    chown(path, st.st_uid, st.st_gid) < 0)
		return err_set_errno("cannot chown %s", path);
	return 0;
}

void router__control_stop(struct router *r)
{
	struct cconn *cc, *next;

	/* A PUT that already swapped is answered with the truth: it applied (the
	 * stop lets requests on the old targets finish as a drain would). One still
	 * checking did not, and may be retried against the next router. */
	while (r->updates) {
		struct update *u = r->updates;
		json_t *answer = u->answer;

		if (!u->applied || !answer) {
			update_fail(u, 503, "the router is stopping");
			continue;
		}
		u->answer = NULL;
		(void)json_object_set_new(answer, "drained", json_false());
		update_finish(u, 200, answer);
	}
	if (r->control.loop && !uv_is_closing((uv_handle_t *)&r->control)) {
		uv_close((uv_handle_t *)&r->control, NULL);
		if (r->opts.control_socket)
			unlink(r->opts.control_socket);
	}
	for (cc = r->cconns; cc; cc = next) {
		next = cc->next;
		if (!cc->answered)
			cconn_close(cc);
	}
}
