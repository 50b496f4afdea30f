/* update.c - the control API's table changes: PUT /apps/<app> (health checks of the new
 * targets, the atomic swap, draining the old ones) and DELETE /apps/<app>. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_POLL_MS 20

struct check;

/* One PUT: health checks of the new targets, then swap, persist and drain. */
struct update {
	struct router *r;
	struct update *next;
	struct cconn *cc; /* NULL once the client went away */
	struct route_def spec;
	struct check **checks;
	size_t nchecks, pending;
	struct target **retired; /* referenced while draining */
	size_t nretired;
	uv_timer_t drain_timer;
	uint64_t drain_deadline;
	json_t *answer; /* the 200 body, made at the swap */
	unsigned drain_timeout_ms;
	int committing; /* checked; its route is being written */
	int applied;    /* swapped; now draining */
	char name[64];  /* the app's, for --trace lines (spec.app moves) */
};

/* One target under check. Freed in its timer's close callback. */
struct check {
	struct update *u;    /* NULL once cancelled */
	uv_timer_t timer;    /* attempt timeout, then the wait for the next */
	struct probe *probe; /* the attempt in flight */
	char addr[32];
	struct sockaddr_in sa;
	uint64_t deadline;
	char last[160]; /* why the last attempt that ended failed */
	int done;
};

/* One attempt: a TCP connection with a GET. Freed in its close callback. */
struct probe {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	struct check *ck; /* NULL once abandoned */
	struct buf req;
	struct buf in;
	llhttp_t parser;
	struct http_head head;
};

static void check_attempt(struct check *ck);
static void update_checked(struct update *u);

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
		router__cconn_answer(u->cc, status, body);
		u->cc = NULL;
	} else {
		json_decref(body);
	}
	uv_timer_stop(&u->drain_timer);
	uv_close((uv_handle_t *)&u->drain_timer, update_on_timer_closed);
}

static void update_fail(struct update *u, int status, const char *msg)
{
	update_finish(u, status, router__error_json(msg));
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

/* The write that carries u's route is on disk (or failed): swap atomically, then
 * drain the old set. */
static void update_persisted(struct router *r, int status, const char *why, void *data)
{
	struct update *u = data;
	struct app *a = router__app_find(r, u->spec.app);
	char msg[512];

	u->committing = 0;
	if (status < 0) {
		snprintf(msg, sizeof(msg), "cannot save the router table: %s", why);
		update_fail(u, 500, msg);
		return;
	}
	/* Options the PUT did not give stay as they are (a bare PUT sends routes
	 * only); wharf's deploys send both, from the app's state, null included. The
	 * writer merged them the same way into the file. */
	router__route_keep_options(&u->spec, a ? &a->spec : NULL);
	if (router__app_apply(r, &u->spec, &u->retired, &u->nretired) < 0) {
		update_fail(u, 500, err_msg());
		return;
	}
	u->applied = 1;
	say_trace("router: %s swapped to its new targets", u->name);
	/* Told to stop while this was written: answered now, as router__updates_stop()
	 * answers one that had swapped. */
	u->drain_deadline = r->stopping ? 0 : uv_now(r->loop) + u->drain_timeout_ms;
	if (drained(u) || r->stopping) {
		on_drain_timer(&u->drain_timer);
		return;
	}
	uv_timer_start(&u->drain_timer, on_drain_timer, DRAIN_POLL_MS, DRAIN_POLL_MS);
}

/* Every new target passed: have the route written; update_persisted() swaps. */
static void update_apply(struct update *u)
{
	struct router *r = u->r;
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
	u->committing = 1;
	u->drain_timeout_ms = u->spec.drain_timeout_ms;
	if (router__persist_submit(r, ROUTER_PERSIST_ROUTE, &u->spec, update_persisted, u) < 0) {
		u->committing = 0;
		err_prefix("cannot save the router table: ");
		update_fail(u, 500, err_msg());
	}
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
	if (buf_addf(&p->req,
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wharf-router\r\n"
		     "Accept: */*\r\nConnection: close\r\n\r\n",
		     u->spec.health_path, u->spec.ndomains ? u->spec.domains[0] : ck->addr) < 0) {
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
			continue; /* serving already */
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

/* Another app serving one of spec's domains, or about to (its route is being
 * written), is a conflict. Looked up per domain: the cost does not grow with the
 * number of apps. */
static const char *domain_owner(struct router *r, const struct route_def *spec, const char **domain)
{
	struct app *a;
	size_t i;

	for (i = 0; i < spec->ndomains; i++)
		for (a = router__map_get(&r->apps_by_domain, spec->domains[i]); a;
		     a = router__map_next(&r->apps_by_domain, spec->domains[i], a))
			if (strcmp(a->spec.app, spec->app)) {
				*domain = spec->domains[i];
				return a->spec.app;
			}
	return router__persist_domain_owner(r, spec, domain);
}

static struct update *update_find(struct router *r, const char *app)
{
	struct update *u;

	/* One being written can no longer be called off: it applies. */
	for (u = r->updates; u; u = u->next)
		if (!u->applied && !u->committing && !strcmp(u->spec.app, app))
			return u;
	return NULL;
}

void router__control_put(struct cconn *cc, const char *app, const char *body, size_t len)
{
	struct router *r = cc->r;
	struct route_def spec = ROUTE_DEF_INIT;
	struct update *u, *old;
	const char *owner, *domain = NULL;
	char msg[512];

	if (router__route_parse(&spec, app, body, len) < 0) {
		router__cconn_error(cc, 400, err_msg());
		goto out;
	}
	if ((owner = domain_owner(r, &spec, &domain))) {
		snprintf(msg, sizeof(msg), "domain '%s' is already served by app '%s'", domain,
			 owner);
		router__cconn_error(cc, 409, msg);
		goto out;
	}
	/* The newest PUT for an app wins; the older one is told so. */
	if ((old = update_find(r, app)))
		update_fail(old, 409, "superseded by a newer PUT for this app");
	if (!(u = calloc(1, sizeof(*u)))) {
		router__cconn_error(cc, 500, "out of memory");
		goto out;
	}
	u->r = r;
	u->spec = spec;
	memset(&spec, 0, sizeof(spec));
	if (!(u->answer = router__route_to_json(&u->spec))) {
		free(u);
		router__cconn_error(cc, 500, "out of memory");
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

static void delete_persisted(struct router *r, int status, const char *why, void *data)
{
	struct cwait *w = data;
	struct app *a = router__app_find(r, w->app);
	char msg[512];

	if (status < 0) {
		snprintf(msg, sizeof(msg), "cannot save the router table: %s", why);
		if (w->cc)
			router__cconn_error(w->cc, 500, msg);
	} else {
		if (a)
			router__app_remove(r, a);
		if (w->cc)
			router__cconn_answer(w->cc, 200,
					     json_pack("{s:s, s:b}", "app", w->app, "deleted", 1));
	}
	router__cwait_free(w);
}

void router__control_delete(struct cconn *cc, const char *app)
{
	struct router *r = cc->r;
	struct app *a = router__app_find(r, app);
	int pending = router__persist_pending(r, app);
	struct update *u;
	struct cwait *w;

	if ((u = update_find(r, app)))
		update_fail(u, 409, "the app was deleted");
	/* An app being written is there for a DELETE, one being removed is not. */
	if (pending == ROUTER_PERSIST_REMOVE || (!a && pending < 0)) {
		router__cconn_error(cc, 404, "no such app");
		return;
	}
	if (!(w = router__cwait_new(cc, app)) ||
	    router__persist_submit(r, ROUTER_PERSIST_REMOVE, &w->spec, delete_persisted, w) < 0) {
		err_prefix("cannot save the router table: ");
		router__cwait_free(w);
		router__cconn_error(cc, 500, err_msg());
	}
}

void router__update_orphan(struct update *u)
{
	u->cc = NULL;
}

int router__update_committing(const struct update *u)
{
	return u->committing;
}

void router__updates_stop(struct router *r)
{
	struct update *u, *next;

	/* A PUT that already swapped is answered with the truth: it applied (the
	 * stop lets requests on the old targets finish as a drain would). One still
	 * checking did not, and may be retried against the next router. One being
	 * written is answered when its write ends (update_persisted()). */
	for (u = r->updates; u; u = next) {
		json_t *answer = u->answer;

		next = u->next;
		if (u->committing)
			continue;
		if (!u->applied || !answer) {
			update_fail(u, 503, "the router is stopping");
			continue;
		}
		u->answer = NULL;
		(void)json_object_set_new(answer, "drained", json_false());
		update_finish(u, 200, answer);
	}
}
