/* router.c - `wharf router`: the event loop, the table of apps and targets, the state
 * file, and a graceful stop on SIGTERM/SIGINT. */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STOP_GRACE_MS       10000
#define STOP_IDLE_LINGER_MS 1000
#define LOG_FLUSH_MS        1000

const double router__lat_bounds[ROUTER_LAT_BUCKETS] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
							0.25,  0.5,   1,    2.5,   5,    10 };

void router__alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct router *r = h->loop->data;

	(void)suggested;
	*buf = uv_buf_init(r->readbuf, sizeof(r->readbuf));
}

/* ---- systemd ---------------------------------------------------------------------- */

void router__sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract socket */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	/* Best effort: a lost message shows as a failed start or reload in systemd. */
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* ---- targets and apps ------------------------------------------------------------ */

void router__target_unref(struct target *t)
{
	if (t && --t->refs == 0)
		free(t);
}

void router__target_drain_pool(struct target *t)
{
	while (t->idle)
		router__upstream_close(t->idle); /* unlinks it from the pool */
}

static struct target *target_new(struct router *r, const char *addr)
{
	struct target *t = calloc(1, sizeof(*t));

	if (!t) {
		err_set("out of memory");
		return NULL;
	}
	if (router__target_parse(&t->sa, addr) < 0) {
		free(t);
		return NULL;
	}
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	t->r = r;
	t->refs = 1;
	return t;
}

static void target_retire(struct target *t)
{
	t->retired = 1;
	router__target_drain_pool(t);
}

void router__app_unref(struct app *a)
{
	if (!a || --a->refs > 0)
		return;
	router__route_release(&a->spec);
	free(a->targets);
	free(a->maintenance_msg);
	router__app_tls_free(a);
	free(a);
}

struct app *router__app_find(struct router *r, const char *name)
{
	return router__map_get(&r->apps_by_name, name);
}

struct app *router__app_for_host(struct router *r, const char *host)
{
	char wild[256];
	struct app *a;
	size_t hlen = strlen(host);
	const char *dot;

	if ((a = router__map_get(&r->apps_by_domain, host)))
		return a;
	/* "*.example.com" serves any name that ends in ".example.com" with at least one
	 * character before it; the longest such suffix wins, and the first dot from the
	 * left gives the longest. */
	if (hlen + 2 > sizeof(wild))
		return NULL;
	for (dot = strchr(host + 1, '.'); dot; dot = strchr(dot + 1, '.')) {
		wild[0] = '*';
		memcpy(wild + 1, dot, hlen - (size_t)(dot - host) + 1);
		if ((a = router__map_get(&r->apps_by_domain, wild)))
			return a;
	}
	return NULL;
}

/* Indexes (add) or unindexes a's domains. Adding fails only when out of memory, and
 * then leaves none of them added. */
static int index_domains(struct router *r, struct app *a, int add)
{
	size_t i;

	for (i = 0; i < a->spec.ndomains; i++)
		if (!add)
			router__map_del(&r->apps_by_domain, a->spec.domains[i], a);
		else if (router__map_add(&r->apps_by_domain, a->spec.domains[i], a) < 0) {
			while (i--)
				router__map_del(&r->apps_by_domain, a->spec.domains[i], a);
			return -1;
		}
	return 0;
}

/* Moves a's entries in the domain index from its domains to next's: the new ones are
 * added first, so a failure (out of memory) changes nothing. */
static int reindex(struct router *r, struct app *a, const struct route_def *next)
{
	struct route_def cur = a->spec;
	int rc;

	a->spec = *next;
	rc = index_domains(r, a, 1);
	a->spec = cur;
	if (rc == 0)
		(void)index_domains(r, a, 0);
	return rc;
}

int router__app_apply(struct router *r, struct route_def *spec, struct target ***retired,
		      size_t *nretired)
{
	struct app *a = router__app_find(r, spec->app);
	struct target **nt = NULL, **old = NULL;
	size_t i, j, nold = 0, nret = 0;
	int created = 0;

	*retired = NULL;
	*nretired = 0;
	if (!a) {
		if (!(a = calloc(1, sizeof(*a))))
			return err_set("out of memory");
		a->refs = 1;
		created = 1;
		if (router__map_add(&r->apps_by_name, spec->app, a) < 0) {
			free(a);
			return -1;
		}
	}
	nt = calloc(spec->ntargets + 1, sizeof(*nt));
	old = calloc(a->spec.ntargets + 1, sizeof(*old));
	if (!nt || !old)
		goto oom;
	/* Keep the target (and its pool) of an address that stays; make the rest. */
	for (i = 0; i < spec->ntargets; i++) {
		for (j = 0; j < a->spec.ntargets; j++)
			if (a->targets[j] && !strcmp(a->targets[j]->addr, spec->targets[i]))
				break;
		if (j < a->spec.ntargets) {
			nt[i] = a->targets[j];
			a->targets[j] = NULL;
		} else if (!(nt[i] = target_new(r, spec->targets[i]))) {
			goto fail;
		}
	}
	if (reindex(r, a, spec) < 0)
		goto fail;
	for (j = 0; j < a->spec.ntargets; j++)
		if (a->targets[j])
			old[nold++] = a->targets[j];
	for (i = 0; i < nold; i++)
		target_retire(old[i]);
	nret = nold;
	free(a->targets);
	router__route_release(&a->spec);
	a->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	a->targets = nt;
	a->rr = 0;
	if (created) {
		a->next = r->apps;
		r->apps = a;
	}
	*retired = old;
	*nretired = nret;
	return 0;
oom:
	err_set("out of memory");
fail:
	/* Put back what was taken from the old set; free what was made. */
	for (i = 0; nt && i < spec->ntargets && nt[i]; i++) {
		for (j = 0; j < a->spec.ntargets; j++)
			if (!a->targets[j] && !strcmp(spec->targets[i], nt[i]->addr))
				break;
		if (j < a->spec.ntargets)
			a->targets[j] = nt[i];
		else
			router__target_unref(nt[i]);
	}
	free(nt);
	free(old);
	if (created) {
		router__map_del(&r->apps_by_name, spec->app, a);
		free(a);
	}
	return -1;
}

void router__app_remove(struct router *r, struct app *a)
{
	struct app **pp;
	size_t i;

	for (pp = &r->apps; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	router__map_del(&r->apps_by_name, a->spec.app, a);
	(void)index_domains(r, a, 0);
	a->deleted = 1;
	a->paused = 0;
	for (i = 0; i < a->spec.ntargets; i++) {
		target_retire(a->targets[i]);
		router__target_unref(a->targets[i]);
	}
	/* Requests in flight still hold the app; with no targets left they cannot
	 * pick one again. */
	for (i = 0; i < a->spec.ndomains; i++)
		free(a->spec.domains[i]);
	a->spec.ndomains = 0;
	for (i = 0; i < a->spec.ntargets; i++)
		free(a->spec.targets[i]);
	a->spec.ntargets = 0;
	/* Held requests go on (to a 502: no targets); the table's reference keeps
	 * the app alive while they do. */
	(void)router__app_release_held(a);
	router__app_unref(a);
}

/* ---- the state file -------------------------------------------------------------- */

static int restore(struct router *r, size_t *napps)
{
	struct router_disk disk = ROUTER_DISK_INIT;
	struct route_def *specs = NULL;
	struct target **retired;
	size_t i, n = 0;
	size_t nretired;
	int ret = -1;

	*napps = 0;
	if (!r->opts.state_file)
		return 0;
	/* The table and its journal replayed; a bad one is an error naming the file. */
	if (router__table_load(&specs, &n, &disk, r->opts.state_file) < 0)
		goto out;
	if (disk.torn)
		fprintf(stderr,
			"wharf router: %s.journal: ignored its last line, cut short by a crash "
			"(never acknowledged)\n",
			r->opts.state_file);
	/* The writer starts from what will be served: the next write keeps every app. Before
	 * router__app_apply(), which takes what it needs of each spec. */
	if (router__persist_init(r, specs, n, &disk) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (router__app_apply(r, &specs[i], &retired, &nretired) < 0)
			goto out;
		free(retired);
	}
	*napps = n;
	ret = 0;
out:
	for (i = 0; i < n; i++)
		router__route_release(&specs[i]);
	free(specs);
	return ret;
}

/* ---- start and stop -------------------------------------------------------------- */

static int describe_bound(uv_tcp_t *l, const char *spec, unsigned *portp, char *bound,
			  size_t boundsz);

static int listen_on(struct router *r, uv_tcp_t *l, const char *spec, unsigned *portp, char *bound,
		     size_t boundsz)
{
	const char *colon = strrchr(spec, ':');
	struct sockaddr_storage ss;
	char host[64];
	int rc;
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host) || colon == spec)
		return err_set("invalid listen address '%s': give ADDR:PORT", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return err_set("invalid port in listen address '%s'", spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		rc = uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)&ss);
	} else {
		rc = uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&ss);
	}
	if (rc < 0)
		return err_set("invalid listen address '%s'", spec);
	uv_tcp_init(r->loop, l);
	l->data = r;
	if ((rc = uv_tcp_bind(l, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)l, 511, router__on_connection)) < 0)
		return err_set("cannot listen on %s: %s", spec, uv_strerror(rc));
	return describe_bound(l, spec, portp, bound, boundsz);
}

/* The address l is bound to, as text and port. */
static int describe_bound(uv_tcp_t *l, const char *spec, unsigned *portp, char *bound,
			  size_t boundsz)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN];
	int len = sizeof(ss);

	if (uv_tcp_getsockname(l, (struct sockaddr *)&ss, &len) < 0)
		return err_set("cannot read the bound address of %s", spec);
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
		snprintf(bound, boundsz, "[%s]:%u", ip,
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		snprintf(bound, boundsz, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	*portp = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void close_handle(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

/* Once every client connection is gone, closes what keeps the loop alive. */
void router__maybe_stopped(struct router *r)
{
	struct app *a;
	size_t i;

	if (!r->stopping || r->nconns || r->stopping == 2)
		return;
	r->stopping = 2;
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < a->spec.ntargets; i++)
			router__target_drain_pool(a->targets[i]);
	close_handle((uv_handle_t *)&r->stop_timer);
	close_handle((uv_handle_t *)&r->log_timer);
	close_handle((uv_handle_t *)&r->h2_check);
	close_handle((uv_handle_t *)&r->sigterm);
	close_handle((uv_handle_t *)&r->sigint);
}

static void on_stop_timer(uv_timer_t *t)
{
	struct router *r = t->data;

	if (uv_now(r->loop) >= r->stop_deadline)
		router__conns_stop(r, 1); /* the grace period is over */
	else if (uv_now(r->loop) >= r->idle_close_at)
		router__conns_stop(r, 0); /* idle keep-alive clients */
	router__maybe_stopped(r);
}

/* SIGTERM/SIGINT: stop accepting, let requests in flight finish, then return. */
static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	router__stop(s->data);
}

void router__stop(struct router *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	close_handle((uv_handle_t *)&r->listener);
	close_handle((uv_handle_t *)&r->listener_tls);
	router__takeover_stop(r);
	router__control_stop(r);
	/* An idle keep-alive client may be sending its next request right now:
	 * closing under it would fail that request. For a moment, each such
	 * connection still gets one more answer (with Connection: close); the ones
	 * still idle after that are closed. */
	r->idle_close_at = uv_now(r->loop) + STOP_IDLE_LINGER_MS;
	r->stop_deadline = uv_now(r->loop) + STOP_GRACE_MS;
	uv_timer_start(&r->stop_timer, on_stop_timer, 50, 50);
	router__maybe_stopped(r);
}

static void on_log_timer(uv_timer_t *t)
{
	struct router *r = t->data;

	fflush(r->access_log);
}

/* Opens the access log: lines are buffered and flushed every second (and at the
 * end), so logging costs no syscall per request. */
static int access_log_open(struct router *r)
{
	const char *path = r->opts.access_log, *dir = r->opts.access_log_dir;
	FILE *per_app;

	if ((!path || !*path) && (!dir || !*dir))
		return 0;
	if (!path || !*path) {
		r->access_log = NULL;
	} else if (!strcmp(path, "-")) {
		r->access_log = stderr;
	} else {
		if (!(r->access_log = fopen(path, "ae")))
			return err_set_errno("cannot open the access log %s", path);
		r->access_log_owned = 1;
	}
	/* Per-app logs: the stream the router writes to passes each line on to the
	 * single log (if any) and to its app's file. */
	if (dir && *dir) {
		if (!(per_app = router__accesslog_open(dir, r->access_log, r->access_log_owned,
						       r->opts.access_log_max_bytes,
						       r->opts.access_log_max_files))) {
			if (r->access_log_owned)
				fclose(r->access_log);
			r->access_log = NULL;
			r->access_log_owned = 0;
			return -1;
		}
		r->access_log = per_app;
		r->access_log_owned = 1;
	}
	setvbuf(r->access_log, NULL, _IOFBF, 65536);
	uv_timer_start(&r->log_timer, on_log_timer, LOG_FLUSH_MS, LOG_FLUSH_MS);
	uv_unref((uv_handle_t *)&r->log_timer);
	return 0;
}

/* Seeds the request id generator. */
static void rng_seed(struct router *r)
{
	FILE *f = fopen("/dev/urandom", "re");

	if (!f || fread(r->rng, sizeof(r->rng), 1, f) != 1) {
		r->rng[0] = uv_hrtime() ^ 0x9e3779b97f4a7c15ULL;
		r->rng[1] = (uint64_t)getpid() * 0xbf58476d1ce4e5b9ULL + 1;
	}
	if (f)
		fclose(f);
	if (!r->rng[0] && !r->rng[1])
		r->rng[1] = 1;
}

/* 1 while a router answers on the control socket. */
static int control_answers(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/* --takeover: receive the listening sockets, wait for the old router to let go of
 * the control socket, take it, and read the table again (a PUT may have reached
 * the old router after our first read). */
static int take_over(struct router *r, char *bound, size_t boundsz, char *bound_tls,
		     size_t bound_tlssz, size_t *napps)
{
	int i, rc;

	if (router__takeover(r, r->opts.listen_https != NULL) < 0)
		return -1;
	if ((rc = uv_listen((uv_stream_t *)&r->listener, 511, router__on_connection)) < 0 ||
	    (r->opts.listen_https &&
	     (rc = uv_listen((uv_stream_t *)&r->listener_tls, 511, router__on_connection)) < 0))
		return err_set("cannot listen on the handed-over socket: %s", uv_strerror(rc));
	if (describe_bound(&r->listener, "the HTTP socket", &r->http_port, bound, boundsz) < 0 ||
	    (r->opts.listen_https && describe_bound(&r->listener_tls, "the HTTPS socket",
						    &r->https_port, bound_tls, bound_tlssz) < 0))
		return -1;
	for (i = 0; i < 500 && control_answers(r->opts.control_socket); i++)
		usleep(20000);
	if (router__control_listen(r) < 0)
		return -1;
	return restore(r, napps);
}

/* Fills in the defaults of the limits and timeouts left at 0 and checks the rest
 * against their bounds; 0, or -1 with err_set() naming the option. */
static int opts_limits(struct router_opts *o)
{
	const struct {
		const char *name;
		size_t *bytes;
		unsigned *ms;
		unsigned def;
	} lim[] = {
		{ "max_header_bytes", &o->max_header_bytes, NULL, ROUTER_MAX_HEADER_BYTES_DEFAULT },
		{ "max_url_bytes", &o->max_url_bytes, NULL, ROUTER_MAX_URL_BYTES_DEFAULT },
		{ "head_timeout_ms", NULL, &o->head_timeout_ms, ROUTER_HEAD_TIMEOUT_DEFAULT },
		{ "idle_timeout_ms", NULL, &o->idle_timeout_ms, ROUTER_IDLE_TIMEOUT_DEFAULT },
		{ "body_timeout_ms", NULL, &o->body_timeout_ms, ROUTER_BODY_TIMEOUT_DEFAULT },
		{ "connect_timeout_ms", NULL, &o->connect_timeout_ms,
		  ROUTER_CONNECT_TIMEOUT_DEFAULT },
		{ "response_timeout_ms", NULL, &o->response_timeout_ms,
		  ROUTER_RESPONSE_TIMEOUT_DEFAULT },
	};
	size_t i;

	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if (lim[i].bytes && !*lim[i].bytes)
			*lim[i].bytes = lim[i].def;
		else if (lim[i].bytes && *lim[i].bytes > ROUTER_LIMIT_BYTES_MAX)
			return err_set("%s must be between 1 and %d", lim[i].name,
				       ROUTER_LIMIT_BYTES_MAX);
		if (lim[i].ms && !*lim[i].ms)
			*lim[i].ms = lim[i].def;
		else if (lim[i].ms && *lim[i].ms > ROUTER_TIMEOUT_MS_MAX)
			return err_set("%s must be between 1 and %u", lim[i].name,
				       ROUTER_TIMEOUT_MS_MAX);
	}
	return 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	close_handle(h);
}

int router_run(const struct router_opts *opts)
{
	struct router *r = NULL;
	uv_loop_t loop;
	char bound[96], bound_tls[96];
	size_t napps = 0;
	int ret = -1, loop_ok = 0;

	signal(SIGPIPE, SIG_IGN);
	if (!(r = calloc(1, sizeof(*r))))
		return err_set("out of memory");
	r->opts = *opts;
	if (opts_limits(&r->opts) < 0) {
		free(r);
		return -1;
	}
	r->head.max_url = r->opts.max_url_bytes;
	if (uv_loop_init(&loop) < 0) {
		err_set("cannot start the event loop");
		goto out;
	}
	loop_ok = 1;
	loop.data = r;
	r->loop = &loop;
	uv_timer_init(&loop, &r->stop_timer);
	r->stop_timer.data = r;
	uv_timer_init(&loop, &r->log_timer);
	r->log_timer.data = r;
	uv_check_init(&loop, &r->h2_check);
	r->h2_check.data = r;
	rng_seed(r);
	uv_signal_init(&loop, &r->sigterm);
	uv_signal_init(&loop, &r->sigint);
	r->sigterm.data = r->sigint.data = r;
	if (access_log_open(r) < 0 || restore(r, &napps) < 0 ||
	    (opts->listen_https && router__tls_init(r) < 0))
		goto out;
	if (opts->takeover) {
		if (take_over(r, bound, sizeof(bound), bound_tls, sizeof(bound_tls), &napps) < 0)
			goto out;
	} else {
		if (listen_on(r, &r->listener, opts->listen_http ? opts->listen_http : "0.0.0.0:80",
			      &r->http_port, bound, sizeof(bound)) < 0)
			goto out;
		if (opts->listen_https &&
		    listen_on(r, &r->listener_tls, opts->listen_https, &r->https_port, bound_tls,
			      sizeof(bound_tls)) < 0)
			goto out;
		if (router__control_listen(r) < 0)
			goto out;
	}
	if (router__takeover_listen(r) < 0)
		goto out;
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	if (opts->on_ready)
		opts->on_ready(bound, opts->control_socket, napps, opts->ready_data);
	router__sd_notify("READY=1\n");
	if (opts->listen_https && opts->on_ready_https)
		opts->on_ready_https(bound_tls, opts->ready_data);
	uv_run(&loop, UV_RUN_DEFAULT);
	ret = 0;
out:
	if (loop_ok) {
		/* On a failed start, and for anything left after a stop. */
		if (ret < 0)
			router__control_stop(r);
		uv_walk(&loop, walk_close, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		while (r->apps)
			router__app_remove(r, r->apps);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	router__persist_free(r);
	router__map_release(&r->apps_by_name);
	router__map_release(&r->apps_by_domain);
	if (r->access_log)
		fflush(r->access_log);
	if (r->access_log_owned)
		fclose(r->access_log);
	router__tls_release(r);
	router__acme_free(r);
	free(r);
	return ret;
}
