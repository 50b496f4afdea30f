/* proxy.c - the data plane: one state machine per client connection, forwarding
 * HTTP/1.1 requests to an app's targets over pooled keep-alive connections. */
#include "internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* The head, idle, body, connect and response timeouts are options (r->opts). */
#define FLUSH_TIMEOUT_MS  10000
#define WQ_HIGH           (1024 * 1024) /* stop reading the other side above this */
#define WQ_LOW            (256 * 1024)  /* and resume below this */
#define IN_CONNECTING_MAX (64 * 1024)   /* body bytes read ahead while connecting */
#define POOL_MAX          256           /* idle connections kept per target */
#define PIPELINE_MAX      (64 * 1024)   /* client bytes read ahead while answering */
#define TUNNEL_TIMEOUT_MS 3600000       /* an upgraded connection silent both ways */
#define LINGER_MS         2000          /* reading (and dropping) a refused body */

/* A client connection buffers at most max_header_bytes + 2 * readbuf (see
 * router__on_connection), and one read adds up to a readbuf: reading must stop
 * while a whole readbuf still fits, or the next read overflows the buffer and
 * resets the client (the bug IN_CONNECTING_MAX at 256 KiB had). */
_Static_assert(IN_CONNECTING_MAX + sizeof(((struct router *)0)->readbuf) <=
		       2 * sizeof(((struct router *)0)->readbuf),
	       "read-ahead while connecting must fit the client buffer");
_Static_assert(PIPELINE_MAX + sizeof(((struct router *)0)->readbuf) <=
		       2 * sizeof(((struct router *)0)->readbuf),
	       "pipelined read-ahead must fit the client buffer");

enum conn_state {
	CONN_READ_HEAD = 0, /* llhttp fed; no upstream yet */
	CONN_CONNECTING,    /* head complete; upstream connect in flight */
	CONN_STREAMING,     /* both sides open; bodies piped with backpressure */
	CONN_TUNNEL,        /* after a 101: raw bytes both ways until a side closes */
	CONN_HELD,          /* head read; its app is paused */
	CONN_FLUSHING,      /* last bytes queued; shutdown then close */
	CONN_H2,            /* an HTTP/2 connection: its streams are conns of their own */
	CONN_CLOSING,       /* uv_close() issued; memory freed only in the close callback */
	CONN_STATE_COUNT    /* must stay last */
};

/* The little of a request head that outlives its parse. The full head (header
 * spans) is parsed into the router's one scratch struct http_head and used before
 * control returns to the loop: 3 KiB less per client connection. */
struct req_info {
	int method;
	int http_major, http_minor;
	int keep_alive;
	int upgrade;
	int has_body;
	size_t head_len;
	unsigned long long body_max;  /* the app's limit; 0: none */
	unsigned long long body_seen; /* body payload bytes read (chunk framing not counted) */
	unsigned crlf_want;           /* a chunk's CRLF split between reads (http.c) */
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shutdown_req;
	enum conn_state state;
	struct router *r;
	struct conn *prev, *next;
	struct conn *held_prev, *held_next; /* on app->held while paused */
	struct tls_conn *tls;               /* NULL for plain HTTP */
	/* HTTP/2 (h2.c): a connection that chose h2 holds the session; each of its
	 * streams is a conn of its own with no socket, fed the request as HTTP/1.1
	 * bytes, whose response goes out as the stream's frames. */
	struct h2_session *h2;    /* CONN_H2: the session */
	struct h2_stream *h2s;    /* a stream's conn: its stream; NULL once it ended */
	struct conn *h2parent;    /* a stream's conn: the connection it came on */
	int h2_pulling, h2_again; /* conn_h2_pull() is running; run it once more */
	int alpn_checked;
	int h2_dirty; /* on r->h2_dirty, to be flushed */
	struct conn *h2_dirty_next;
	int held;
	int open_handles;
	char client_ip[INET6_ADDRSTRLEN];
	struct buf in; /* client bytes not yet forwarded */
	llhttp_t parser;
	struct req_info req; /* what the request's head said */
	/* for the access log and the latency histogram */
	int log_pending;  /* a request started and is not accounted yet */
	int status;       /* sent to the client; 0 = nothing yet */
	uint64_t t_start; /* uv_hrtime() when its head was read */
	uint64_t t_sent;  /* head forwarded to the app */
	uint64_t t_head;  /* the app's response head arrived */
	size_t bytes_out; /* written to the client for it */
	char *log_path;   /* request target, when logging */
	char request_id[ROUTER_REQUEST_ID_MAX + 1];
	struct buf head_out;   /* rewritten request head, kept for one retry */
	struct app *app;       /* referenced while a request is in flight */
	struct target *target; /* referenced, inflight counted */
	struct upstream *up;
	int tries;         /* targets tried for this request */
	int retried_stale; /* a pooled connection failed; tried a fresh one */
	int reading;
	int client_eof;
	int req_done;         /* whole request forwarded */
	int res_started;      /* response head sent to the client */
	int client_close;     /* close after this response */
	int dechunk;          /* HTTP/1.0 client, chunked response: send it decoded */
	int linger;           /* flushing: keep reading and dropping what comes */
	int shut_done;        /* flushing: our side is shut down, all written */
	uint64_t deadline;    /* uv_now() when the state times out; 0: never */
	uint64_t timer_due;   /* when the timer is set to fire; 0: not set */
	unsigned long served; /* responses finished on this connection */
	size_t wq;            /* bytes queued to the client */
};

struct upstream {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	struct target *target; /* referenced */
	struct conn *c;        /* NULL while pooled or orphaned */
	struct upstream *pool_prev, *pool_next;
	int pooled;
	int closing;
	int reading;
	int reused;
	int head_done;
	int shut; /* write side shut down (tunnel, client gone) */
	uv_shutdown_t shutdown_req;
	struct buf in;
	llhttp_t parser;
	struct http_head res;
	struct buf hold; /* rewritten response head, sent with the first body bytes */
	size_t wq;
};

struct wreq {
	uv_write_t req;
	size_t len;
	char data[];
};

static void conn_process(struct conn *c);
static void conn_forward_body(struct conn *c);
static void conn_respond(struct conn *c, int status, const char *msg);
static void conn_pick_target(struct conn *c);
static void conn_connect(struct conn *c);
static void up_process(struct upstream *up);
static int up_head_h2(struct upstream *up, int head_len);
static void up_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static int up_switch(struct upstream *up, int head_len);
static void conn_unhold(struct conn *c);

static const char *reason_of(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 301:
		return "Moved Permanently";
	case 308:
		return "Permanent Redirect";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

static void count_status(struct conn *c, int status)
{
	int cls = status >= 100 && status < 600 ? status / 100 : 0;

	c->r->requests_total++;
	c->status = status;
	if (c->app)
		c->app->requests[cls]++;
	else
		c->r->unrouted++;
}

static void conn_on_timer(uv_timer_t *t);

/* Every state has a deadline (0: none), and it moves about three times per
 * keep-alive request. The connection's one uv timer is restarted only when the
 * new deadline is earlier than the time it is set for; a timer that fires before
 * the deadline sets itself again for the rest (conn_on_timer). */
static void timer_arm(struct conn *c, uint64_t ms)
{
	c->deadline = ms ? uv_now(c->r->loop) + ms : 0;
	if (!ms || (c->timer_due && c->timer_due <= c->deadline))
		return;
	uv_timer_start(&c->timer, conn_on_timer, ms, 0);
	c->timer_due = c->deadline;
}

/* ---- connection lifetime --------------------------------------------------------- */

static void conn_on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct router *r = c->r;

	if (--c->open_handles > 0)
		return;
	buf_release(&c->in);
	buf_release(&c->head_out);
	free(c->log_path);
	router__tls_conn_free(c->tls);
	router__h2_session_free(c->h2);
	free(c);
	router__maybe_stopped(r);
}

/* Ends the request's hold on its target and app. */
/* Appends s to a log line with spaces, quotes, backslashes and control bytes
 * %-escaped, so one request stays one parseable line. */
static void log_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch == '"' || ch == '\\' || ch >= 0x7f)
			fprintf(f, "%%%02X", ch);
		else
			putc(ch, f);
	}
}

/* Accounts a finished (or abandoned) request: the app's latency histogram and one
 * access log line. */
static void conn_account(struct conn *c)
{
	struct router *r = c->r;
	uint64_t now = uv_hrtime();
	double secs = (double)(now - c->t_start) / 1e9;
	size_t i;

	c->log_pending = 0;
	if (c->app) {
		for (i = 0; i < ROUTER_LAT_BUCKETS && secs > router__lat_bounds[i]; i++)
			;
		if (i < ROUTER_LAT_BUCKETS)
			c->app->lat_bucket[i]++;
		c->app->lat_count++;
		c->app->lat_sum += secs;
	}
	if (r->access_log) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		/* A stream of an HTTP/2 connection is fed its request as HTTP/1.1: its
		 * protocol is its parent connection's. */
		fprintf(r->access_log,
			"%s.%03ldZ app=%s status=%d method=%s proto=%s scheme=%s path=\"", when,
			ts.tv_nsec / 1000000, c->app ? c->app->spec.app : "-", c->status,
			llhttp_method_name(c->req.method),
			c->h2parent              ? "HTTP/2"
			: c->req.http_minor == 0 ? "HTTP/1.0"
						 : "HTTP/1.1",
			(c->h2parent ? c->h2parent->tls : c->tls) ? "https" : "http");
		log_escaped(r->access_log, c->log_path ? c->log_path : "");
		fprintf(r->access_log, "\" bytes=%zu duration_ms=%.3f upstream_ms=", c->bytes_out,
			secs * 1e3);
		if (c->t_sent && c->t_head >= c->t_sent)
			fprintf(r->access_log, "%.3f", (double)(c->t_head - c->t_sent) / 1e6);
		else
			fputs("-", r->access_log);
		fprintf(r->access_log, " target=%s client=%s request_id=%s\n",
			c->target ? c->target->addr : "-", c->client_ip,
			c->request_id[0] ? c->request_id : "-");
	}
	free(c->log_path);
	c->log_path = NULL;
}

static void conn_release_request(struct conn *c)
{
	if (c->log_pending)
		conn_account(c);
	if (c->target) {
		c->target->inflight--;
		router__target_unref(c->target);
		c->target = NULL;
	}
	if (c->app) {
		router__app_unref(c->app);
		c->app = NULL;
	}
}

static void conn_drop_upstream(struct conn *c)
{
	if (c->up) {
		c->up->c = NULL;
		router__upstream_close(c->up);
		c->up = NULL;
	}
}

static void conn_h2_flush(struct conn *p);
static void conn_h2_flush_later(struct conn *p);

/* The one way a client connection ends. Safe to call twice. A stream's conn that
 * did not finish its response resets the stream; an HTTP/2 connection ends its
 * streams' conns first. */
static void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	conn_unhold(c);
	c->state = CONN_CLOSING;
	conn_drop_upstream(c);
	conn_release_request(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->r->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->r->nconns--;
	if (c->h2)
		router__h2_abort(c->h2);
	if (c->h2parent) {
		if (c->h2s)
			router__h2_reset(c->h2s);
		c->h2s = NULL;
		if (c->h2parent->state == CONN_H2)
			timer_arm(c->h2parent, c->r->opts.idle_timeout_ms);
		conn_h2_flush_later(c->h2parent);
		c->open_handles = 1;
		uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
		return;
	}
	c->open_handles = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_on_handle_closed);
}

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	c->shut_done = 1;
	if (c->linger && status == 0 && c->state == CONN_FLUSHING && c->reading && !c->client_eof) {
		timer_arm(c, LINGER_MS); /* then closed by the timer or the client's end */
		return;
	}
	conn_close(c);
}

/* Closes once everything queued to the client has been written. */
static void conn_flush_close(struct conn *c)
{
	if (c->state == CONN_CLOSING || c->state == CONN_FLUSHING)
		return;
	if (c->h2parent) {
		/* A stream's response is whole: the stream sends what is queued and
		 * ends; the conn has nothing left to wait for. */
		if (c->h2s)
			router__h2_end(c->h2s);
		c->h2s = NULL;
		conn_close(c);
		return;
	}
	conn_unhold(c);
	c->state = CONN_FLUSHING;
	conn_drop_upstream(c);
	conn_release_request(c);
	/* A refused request's body may still be on its way: reading (and dropping)
	 * it for a moment lets the client read the answer; closing with unread bytes
	 * would send a reset that can destroy the answer in flight. */
	if (c->reading && !c->linger) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	timer_arm(c, FLUSH_TIMEOUT_MS);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) < 0)
		conn_close(c);
}

/* ---- writes ---------------------------------------------------------------------- */

static void up_set_reading(struct upstream *up, int on);

static void conn_on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = req->data;

	c->wq -= w->len;
	free(w);
	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* Backpressure: the upstream was paused while the client lagged. */
	if (c->up && c->wq < WQ_LOW)
		up_set_reading(c->up, 1);
	if (c->h2 && c->wq < WQ_LOW)
		conn_h2_flush(c); /* the streams' frames waited for the socket */
}

/* Writes what the socket takes now of n buffers and returns how many bytes that was
 * (0 when a write is already queued or on an error: the queued uv_write() then
 * reports the error in its callback, where both sides handle it). A write that
 * completes at once costs no request, no copy, and no epoll_ctl(): libuv 1.44
 * re-arms the fd after every queued write request drains. */
static size_t try_write_now(uv_stream_t *s, size_t queued, const uv_buf_t *bufs, unsigned n)
{
	int rc;

	if (queued)
		return 0;
	rc = uv_try_write(s, bufs, n);
	return rc > 0 ? (size_t)rc : 0;
}

/* Copies what try_write_now() left of bufs (skipping done bytes) into one request. */
static struct wreq *wreq_rest(const uv_buf_t *bufs, unsigned n, size_t done, size_t *left)
{
	struct wreq *w;
	size_t total = 0, off = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		total += bufs[i].len;
	*left = total - done;
	if (!(w = malloc(sizeof(*w) + *left)))
		return NULL;
	w->len = *left;
	for (i = 0; i < n; i++) {
		size_t skip = done < bufs[i].len ? done : bufs[i].len;

		done -= skip;
		memcpy(w->data + off, bufs[i].base + skip, bufs[i].len - skip);
		off += bufs[i].len - skip;
	}
	return w;
}

/* Queues n buffers of bytes as they go on the wire to the client, in one syscall
 * when the socket takes them; returns -1 (and closes) on failure. */
static int conn_raw_writev(struct conn *c, const uv_buf_t *bufs, unsigned n)
{
	struct wreq *w;
	uv_buf_t b;
	size_t total = 0, done, left;
	unsigned i;

	for (i = 0; i < n; i++)
		total += bufs[i].len;
	if (!total)
		return 0;
	done = try_write_now((uv_stream_t *)&c->tcp, c->wq, bufs, n);
	if (done == total)
		return 0;
	if (!(w = wreq_rest(bufs, n, done, &left))) {
		conn_close(c);
		return -1;
	}
	w->req.data = c;
	b = uv_buf_init(w->data, (unsigned)left);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) < 0) {
		free(w);
		conn_close(c);
		return -1;
	}
	c->wq += left;
	if (c->up && c->wq > WQ_HIGH)
		up_set_reading(c->up, 0);
	return 0;
}

/* A stream's response body: queued on its stream, framed when the connection
 * flushes. Backpressure as for a socket: the stream's queue is the conn's wq. */
static int conn_h2_writev(struct conn *c, const uv_buf_t *bufs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!c->h2s || router__h2_write(c->h2s, bufs[i].base, bufs[i].len) < 0) {
			conn_close(c);
			return -1;
		}
	}
	c->wq = router__h2_queued(c->h2s);
	if (c->up && c->wq > WQ_HIGH)
		up_set_reading(c->up, 0);
	conn_h2_flush_later(c->h2parent);
	return 0;
}

/* Queues n buffers of response bytes to the client (sealed first on a TLS
 * connection); returns -1 (and closes) on failure. */
static int conn_writev(struct conn *c, const uv_buf_t *bufs, unsigned n)
{
	struct buf wire = BUF_INIT;
	uv_buf_t b;
	unsigned i;
	int rc;

	for (i = 0; i < n; i++)
		c->bytes_out += bufs[i].len;
	if (c->h2parent)
		return conn_h2_writev(c, bufs, n);
	if (!c->tls)
		return conn_raw_writev(c, bufs, n);
	if (router__tls_seal(c->tls, bufs, n, &wire) < 0) {
		buf_release(&wire);
		conn_close(c);
		return -1;
	}
	b = uv_buf_init(wire.buf, (unsigned)wire.len);
	rc = conn_raw_writev(c, &b, 1);
	buf_release(&wire);
	return rc;
}

static int conn_write(struct conn *c, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);

	return conn_writev(c, &b, 1);
}

static void conn_set_reading(struct conn *c);
static void conn_h2_pull(struct conn *c);

/* RFC 9110 section 9.2.2: methods whose effect is the same sent once or twice. */
static int method_idempotent(int method)
{
	return method == HTTP_GET || method == HTTP_HEAD || method == HTTP_PUT ||
	       method == HTTP_DELETE || method == HTTP_OPTIONS || method == HTTP_TRACE;
}

/* The app's connection ended (its end or a reset was read, or a write failed)
 * while c's request was on it. A pooled connection may have been closed by the
 * app just as the request was written, but from here that cannot be told from an
 * app that read the request and then died: bytes the kernel took may have reached
 * it. So, as nginx's proxy_next_upstream does, only an idempotent request (no body,
 * which is gone from c->in, nothing of a response yet) is sent again, once, on a
 * fresh connection to the same target; anything else is a 502 (or a truncated
 * response). A request whose first write failed at once never got here: see
 * up_write_head(). */
static void conn_upstream_lost(struct conn *c, struct upstream *up, const char *why)
{
	if (up->reused && !c->res_started && !up->in.len && !c->req.has_body && !c->retried_stale &&
	    method_idempotent(c->req.method)) {
		c->retried_stale = 1;
		conn_drop_upstream(c);
		conn_connect(c);
		return;
	}
	if (!c->res_started)
		conn_respond(c, 502, why);
	else
		conn_close(c); /* truncated response: the client must see it */
}

static void up_on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct upstream *up = req->data;
	struct conn *c = up->c;

	up->wq -= w->len;
	free(w);
	if (up->closing || !c)
		return;
	if (status < 0) {
		conn_upstream_lost(c, up, "upstream write failed");
		return;
	}
	conn_set_reading(c);
}

/* Queues what is left of b after its first done bytes went at once. */
static int up_write_rest(struct upstream *up, uv_buf_t b, size_t done)
{
	struct wreq *w;
	size_t left;

	if (!(w = wreq_rest(&b, 1, done, &left)))
		return -1;
	w->req.data = up;
	b = uv_buf_init(w->data, (unsigned)left);
	if (uv_write(&w->req, (uv_stream_t *)&up->tcp, &b, 1, up_on_write) < 0) {
		free(w);
		return -1;
	}
	up->wq += left;
	return 0;
}

static int up_write(struct upstream *up, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	size_t done;

	if (!len)
		return 0;
	done = try_write_now((uv_stream_t *)&up->tcp, up->wq, &b, 1);
	if (done == len)
		return 0;
	return up_write_rest(up, b, done);
}

/* Writes a request's head, the first bytes of a request on up. Returns 0, -1 on
 * failure, or 1 when the write failed at once with nothing taken: the kernel
 * already knew the app had reset or closed the connection, so no byte of the
 * request reached the app and it may go to another connection whatever its
 * method. The write is the probe: no extra syscall. */
static int up_write_head(struct upstream *up, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int rc;

	if (up->wq)
		return up_write(up, data, len);
	rc = uv_try_write((uv_stream_t *)&up->tcp, &b, 1);
	if (rc == (int)len)
		return 0;
	if (rc < 0 && rc != UV_EAGAIN)
		return 1;
	return up_write_rest(up, b, rc > 0 ? (size_t)rc : 0);
}

/* ---- reading the client ---------------------------------------------------------- */

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void tunnel_client_eof(struct conn *c);

/* Reads from the client only when the state wants bytes and the upstream keeps up.
 * While a request is answered the client stays read (pipelined requests are kept in
 * c->in, up to PIPELINE_MAX): turning reading off and on around every request costs
 * two epoll_ctl() calls per request, a tenth of the router's time under load. */
static void conn_set_reading(struct conn *c)
{
	int want = 0;

	if (c->state == CONN_FLUSHING || c->state == CONN_CLOSING)
		return; /* conn_flush_close() decided */
	if (c->client_eof)
		want = 0;
	else if (c->state == CONN_READ_HEAD)
		want = 1;
	else if (c->state == CONN_CONNECTING)
		want = !c->req_done && c->in.len < IN_CONNECTING_MAX;
	else if (c->state == CONN_TUNNEL)
		want = c->up && !c->up->shut && c->up->wq < WQ_HIGH;
	else if (c->state == CONN_STREAMING && c->req_done)
		want = !c->req.upgrade && c->in.len < PIPELINE_MAX;
	else if (c->state == CONN_STREAMING)
		want = c->up && c->up->wq < WQ_HIGH;
	if (want && !c->reading) {
		/* A stream's conn "reads" its stream: the bytes are there already, or
		 * come with the next DATA frame (conn_h2_on_body). */
		if (c->h2parent)
			c->reading = 1;
		else if (uv_read_start((uv_stream_t *)&c->tcp, router__alloc_cb, conn_on_read) == 0)
			c->reading = 1;
		if (c->state == CONN_STREAMING && !c->req_done)
			timer_arm(c, c->r->opts.body_timeout_ms);
		if (c->h2parent)
			conn_h2_pull(c);
	} else if (!want && c->reading) {
		if (!c->h2parent)
			uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
		/* A body paused because the app does not take it fast enough: the
		 * wait is the app's, so its response timeout runs, not the body's. */
		if (c->state == CONN_STREAMING && !c->req_done)
			timer_arm(c, c->r->opts.response_timeout_ms);
	}
}

static void conn_on_plain(struct conn *c, ssize_t nread, const char *data);
static void conn_h2_on_plain(struct conn *c, ssize_t nread, const char *data);
static void conn_h2_start(struct conn *c);

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;
	struct buf plain = BUF_INIT, wire = BUF_INIT;
	uv_buf_t w;
	int rc;

	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	if (!c->tls || nread < 0) {
		conn_on_plain(c, nread, b->base);
		return;
	}
	rc = router__tls_feed(c->tls, b->base, (size_t)nread, &plain, &wire);
	w = uv_buf_init(wire.buf, (unsigned)wire.len);
	if (wire.len && conn_raw_writev(c, &w, 1) < 0)
		goto out;
	if (rc < 0) {
		conn_flush_close(c); /* after the alert */
		goto out;
	}
	/* The handshake is done by the first application bytes: ALPN chose the
	 * protocol once and for all. */
	if (plain.len && !c->alpn_checked) {
		c->alpn_checked = 1;
		if (router__tls_is_h2(c->tls))
			conn_h2_start(c);
		if (c->state == CONN_CLOSING)
			goto out;
	}
	if (plain.len)
		conn_on_plain(c, (ssize_t)plain.len, plain.buf);
	if (rc == 1 && c->state != CONN_CLOSING)
		conn_on_plain(c, UV_EOF, NULL);
out:
	buf_release(&plain);
	buf_release(&wire);
}

/* Bytes from the client, decrypted if need be; nread < 0 is its end. */
static void conn_on_plain(struct conn *c, ssize_t nread, const char *data)
{
	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_FLUSHING) {
		/* A lingering client is done sending: close once the answer is out
		 * (closing earlier would cancel its queued write). */
		if (nread < 0) {
			c->client_eof = 1;
			if (c->shut_done)
				conn_close(c);
		}
		return; /* else dropped */
	}
	if (nread < 0 && c->state == CONN_TUNNEL) {
		tunnel_client_eof(c);
		return;
	}
	if (c->state == CONN_H2) {
		conn_h2_on_plain(c, nread, data);
		return;
	}
	if (nread < 0) {
		/* A client that half-closes after a complete request still gets its
		 * answer; anywhere else the connection is over. */
		c->client_eof = 1;
		c->client_close = 1;
		if (c->state == CONN_READ_HEAD || !c->req_done)
			conn_close(c);
		else
			conn_set_reading(c);
		return;
	}
	/* The head timeout is a total: armed when an idle keep-alive connection
	 * gets the first byte of its next request (a new one armed it at the
	 * accept), never again per read, so a client dripping a head is cut. */
	if (c->state == CONN_READ_HEAD && c->in.len == 0 && c->served)
		timer_arm(c, c->r->opts.head_timeout_ms);
	if (buf_add(&c->in, data, (size_t)nread) < 0) {
		if (c->state == CONN_READ_HEAD)
			conn_respond(c, 431, "request head too large");
		else
			conn_close(c);
		return;
	}
	if (c->state == CONN_TUNNEL)
		timer_arm(c, TUNNEL_TIMEOUT_MS);
	conn_process(c);
}

/* ---- requests -------------------------------------------------------------------- */

/* Answers with the router's own text page and closes; extra is more header
 * lines ("Name: value\r\n"…, or ""). */
static void conn_respond_with(struct conn *c, int status, const char *extra, const char *msg)
{
	struct buf head = BUF_INIT;
	uv_buf_t bufs[3];

	if (c->state == CONN_CLOSING || c->state == CONN_FLUSHING)
		return;
	if (c->res_started) {
		conn_close(c); /* too late for an error page */
		return;
	}
	count_status(c, status);
	if (c->h2parent) {
		/* The same page as HEADERS and DATA on the stream. */
		if (!c->h2s || buf_addf(&head, "%s\n", msg) < 0 ||
		    router__h2_respond(c->h2s, status, extra, "text/plain; charset=utf-8", head.buf,
				       head.len) < 0) {
			buf_release(&head);
			conn_close(c);
			return;
		}
		buf_release(&head);
		c->bytes_out += strlen(msg) + 1;
		conn_flush_close(c);
		return;
	}
	if (buf_addf(&head,
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n%s"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, reason_of(status), extra, strlen(msg) + 1) < 0) {
		conn_close(c);
		return;
	}
	bufs[0] = uv_buf_init(head.buf, (unsigned)head.len);
	bufs[1] = uv_buf_init((char *)msg, (unsigned)strlen(msg));
	bufs[2] = uv_buf_init("\n", 1);
	if (conn_writev(c, bufs, 3) == 0)
		conn_flush_close(c);
	buf_release(&head);
}

static void conn_respond(struct conn *c, int status, const char *msg)
{
	conn_respond_with(c, status, "", msg);
}

/* ---- paused apps ------------------------------------------------------------------ */

static void conn_unhold(struct conn *c)
{
	struct app *a = c->app;

	if (!c->held)
		return;
	c->held = 0;
	if (c->held_prev)
		c->held_prev->held_next = c->held_next;
	else
		a->held = c->held_next;
	if (c->held_next)
		c->held_next->held_prev = c->held_prev;
	c->held_prev = c->held_next = NULL;
	a->nheld--;
}

/* Parks a request of a paused app until resume, or 503 after pause_max_ms. The
 * client is not read meanwhile (its body waits in the kernel). */
static void conn_hold(struct conn *c)
{
	struct app *a = c->app;

	c->state = CONN_HELD;
	c->held = 1;
	c->held_prev = NULL;
	c->held_next = a->held;
	if (a->held)
		a->held->held_prev = c;
	a->held = c;
	a->nheld++;
	timer_arm(c, a->pause_max_ms ? a->pause_max_ms : 1);
	conn_set_reading(c);
}

/* Where a request goes once it has an app: maintenance page, hold, or a target. */
static void conn_route(struct conn *c)
{
	struct app *a = c->app;

	if (a->maintenance) {
		char msg[160];

		if (!a->maintenance_msg)
			snprintf(msg, sizeof(msg), "%s is down for maintenance", a->spec.app);
		conn_respond(c, 503, a->maintenance_msg ? a->maintenance_msg : msg);
		return;
	}
	if (a->paused) {
		conn_hold(c);
		return;
	}
	if (!a->spec.ntargets) {
		conn_respond(c, 502, "the app has no running targets");
		return;
	}
	conn_pick_target(c);
}

size_t router__app_release_held(struct app *a)
{
	size_t n = 0;
	struct conn *c;

	while ((c = a->held)) {
		conn_unhold(c);
		n++;
		conn_route(c);
	}
	return n;
}

/* 32 hex digits from the router's xorshift128+ generator: unique enough to find a
 * request in logs, and cheap. */
static void make_request_id(struct router *r, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int i, k;

	for (k = 0; k < 2; k++) {
		uint64_t x = r->rng[0], y = r->rng[1], v;

		r->rng[0] = y;
		x ^= x << 23;
		r->rng[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
		v = r->rng[1] + y;
		for (i = 0; i < 16; i++)
			out[k * 16 + i] = hex[(v >> (i * 4)) & 15];
	}
	out[32] = '\0';
}

/* HTTP to HTTPS for an app that asks for it: 301 for GET and HEAD, 308 (which
 * keeps the method and body) for the rest, to the same host and target on the
 * HTTPS listener's port. */
static void conn_redirect_https(struct conn *c, const struct http_head *h, const char *host)
{
	struct buf loc = BUF_INIT, msg = BUF_INIT;
	const char *url = c->in.buf + h->url.off;
	size_t ulen = h->url.len;
	int get = h->method == HTTP_GET || h->method == HTTP_HEAD;

	if (!ulen || url[0] != '/') {
		url = "/"; /* absolute-form or '*': the path is not ours to copy */
		ulen = 1;
	}
	c->linger = h->has_body;
	if (buf_addf(&loc, "Location: https://%s", host) < 0 ||
	    (c->r->https_port != 443 && buf_addf(&loc, ":%u", c->r->https_port) < 0) ||
	    buf_add(&loc, url, ulen) < 0 || buf_addf(&msg, "Redirecting to %s", loc.buf + 10) < 0 ||
	    buf_addstr(&loc, "\r\n") < 0) {
		conn_respond(c, 500, "out of memory");
		goto out;
	}
	conn_respond_with(c, get ? 301 : 308, loc.buf, msg.buf);
out:
	buf_release(&loc);
	buf_release(&msg);
}

/* ACME http-01 (acme.c): a challenge token the router was given is answered here, for
 * any app's domain and before its redirect, maintenance or pause. 1 when answered. */
static int conn_acme_challenge(struct conn *c, const struct http_head *h)
{
	const char *auth = router__acme_lookup(c->r, h->method, c->in.buf + h->url.off, h->url.len);

	if (!auth)
		return 0;
	c->linger = h->has_body;
	conn_respond(c, 200, auth);
	return 1;
}

static void conn_start_request(struct conn *c, const struct http_head *h)
{
	struct router *r = c->r;
	int https = c->tls || c->h2parent;
	struct router_fwd fwd = { .client_ip = c->client_ip, .proto = https ? "https" : "http" };
	struct timespec ts;
	char host[256];
	int found;

	c->log_pending = 1;
	c->status = 0;
	c->bytes_out = 0;
	c->t_start = uv_hrtime();
	c->t_sent = c->t_head = 0;
	c->res_started = 0;
	c->request_id[0] = '\0';
	if (r->access_log)
		c->log_path =
			strndup(c->in.buf + h->url.off, h->url.len < 1024 ? h->url.len : 1024);
	c->req.method = h->method;
	c->req.http_major = h->http_major;
	c->req.http_minor = h->http_minor;
	c->req.keep_alive = h->keep_alive;
	c->req.upgrade = h->upgrade;
	c->req.has_body = h->has_body;
	c->req.head_len = h->head_len;
	if (c->req.head_len > r->opts.max_header_bytes) {
		conn_respond(c, 431, "request head too large");
		return;
	}
	found = router__head_host(host, sizeof(host), h, c->in.buf);
	if (found < 0 || (found == 0 && c->req.http_minor >= 1)) {
		conn_respond(c, 400, found < 0 ? "bad Host header" : "missing Host header");
		return;
	}
	/* An absolute-form target names the host itself (RFC 9112 section 3.2.2): one
	 * that disagrees with Host would be routed by Host here and may be read by its
	 * target there, so it is refused. */
	if (h->url.len && c->in.buf[h->url.off] != '/' && found > 0) {
		char thost[256];
		int t = router__target_host(thost, sizeof(thost), c->in.buf + h->url.off,
					    h->url.len);

		if (t < 0 || (t > 0 && strcmp(thost, host))) {
			c->linger = h->has_body;
			conn_respond(c, 400,
				     t < 0 ? "bad request target"
					   : "the request target's host is not the Host header's");
			return;
		}
	}
	c->app = found ? router__app_for_host(r, host) : NULL;
	if (!c->app) {
		conn_respond(c, 404, "no app is served at this host");
		return;
	}
	c->app->refs++;
	c->dechunk = 0;
	c->linger = 0;
	if (conn_acme_challenge(c, h))
		return;
	if (!https && c->app->spec.redirect_https && r->listener_tls.loop &&
	    router__app_has_cert(r, c->app)) {
		conn_redirect_https(c, h, host);
		return;
	}
	c->req.body_max =
		c->app->spec.max_body_set ? c->app->spec.max_body_bytes : ROUTER_BODY_MAX_DEFAULT;
	c->req.body_seen = 0;
	c->req.crlf_want = 0;
	if (c->req.body_max && !h->chunked && c->parser.content_length > c->req.body_max) {
		c->linger = 1;
		conn_respond(c, 413, "the request body is larger than the app accepts");
		return;
	}
	/* A stream carries one request: its conn ends with the response. */
	c->client_close = !c->req.keep_alive || c->req.upgrade || r->stopping || c->h2parent;
	buf_reset(&c->head_out);
	make_request_id(r, fwd.request_id);
	fwd.port = https ? r->https_port : r->http_port;
	clock_gettime(CLOCK_REALTIME, &ts);
	fwd.start_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (router__request_rewrite(&c->head_out, h, c->in.buf, &fwd) < 0) {
		conn_respond(c, 400, "bad request head");
		return;
	}
	memcpy(c->request_id, fwd.request_id, sizeof(c->request_id));
	buf_remove_front(&c->in, c->req.head_len);
	llhttp_resume(&c->parser);
	c->req_done = c->res_started = 0;
	c->tries = c->retried_stale = 0;
	conn_route(c);
}

/* Round-robin to the app's next target and take a pooled connection or dial. A
 * retry (c->target set: the target that failed) never gets that target again when
 * the app has another: the cursor is shared, so requests picked meanwhile may have
 * moved it back onto the failed one. */
static void conn_pick_target(struct conn *c)
{
	struct app *a = c->app;
	struct target *t = a->targets[a->rr++ % a->spec.ntargets];
	struct upstream *up;
	size_t i, n = a->spec.ntargets;
	int rc;

	/* A retry goes to another host when the app has one: a host that stopped
	 * answering takes all its targets with it (a swarm app's tasks on one node
	 * share its address), and the retry is the request's last chance. */
	for (i = 0; c->target && t->sa.sin_addr.s_addr == c->target->sa.sin_addr.s_addr && i < n;
	     i++) {
		struct target *x = a->targets[(a->rr + i) % n];
		if (x->sa.sin_addr.s_addr != c->target->sa.sin_addr.s_addr) {
			t = x;
			a->rr += i + 1;
			break;
		}
	}
	if (t == c->target && a->spec.ntargets > 1)
		t = a->targets[a->rr++ % a->spec.ntargets];

	if (c->target) {
		c->target->inflight--;
		router__target_unref(c->target);
	}
	c->target = t;
	t->refs++;
	t->inflight++;
	c->tries++;
	/* A pooled connection the upstream closed was dropped by its read callback,
	 * so whatever is here was alive a moment ago; one whose close or reset came
	 * since fails its first write and is dropped for the next. */
	while ((up = t->idle)) {
		t->idle = up->pool_next;
		if (t->idle)
			t->idle->pool_prev = NULL;
		up->pool_next = up->pool_prev = NULL;
		up->pooled = 0;
		t->nidle--;
		up->c = c;
		up->reused = 1;
		c->up = up;
		c->state = CONN_STREAMING;
		timer_arm(c, c->r->opts.response_timeout_ms);
		c->t_sent = uv_hrtime();
		if ((rc = up_write_head(up, c->head_out.buf, c->head_out.len)) > 0) {
			conn_drop_upstream(c);
			continue;
		}
		if (rc < 0) {
			conn_close(c);
			return;
		}
		conn_forward_body(c);
		return;
	}
	conn_connect(c);
}

static void up_on_connect(uv_connect_t *req, int status);

static void conn_connect(struct conn *c)
{
	struct upstream *up = calloc(1, sizeof(*up));

	if (!up) {
		conn_respond(c, 502, "out of memory");
		return;
	}
	up->target = c->target;
	up->target->refs++;
	buf_init(&up->in, c->r->opts.max_header_bytes * 2 + sizeof(c->r->readbuf));
	uv_tcp_init(c->r->loop, &up->tcp);
	up->tcp.data = up;
	up->c = c;
	c->up = up;
	c->state = CONN_CONNECTING;
	timer_arm(c, c->r->opts.connect_timeout_ms);
	uv_tcp_nodelay(&up->tcp, 1);
	up->connect_req.data = up;
	if (uv_tcp_connect(&up->connect_req, &up->tcp, (const struct sockaddr *)&up->target->sa,
			   up_on_connect) < 0)
		up_on_connect(&up->connect_req, UV_ECONNREFUSED);
}

/* The upstream could not be reached before anything was sent (so any method may
 * go elsewhere): try another target once, else answer 502. */
static void conn_connect_failed(struct conn *c, const char *why)
{
	struct app *a = c->app;

	conn_drop_upstream(c);
	/* Another target: one of several, or the only one left when the route moved
	 * off the failed target meanwhile (a node that died is taken out of the route
	 * while connects to it still wait for their timeout). */
	if (c->tries < 2 &&
	    (a->spec.ntargets > 1 || (a->spec.ntargets == 1 && a->targets[0] != c->target))) {
		conn_pick_target(c);
		return;
	}
	conn_respond(c, 502, why);
}

static void up_on_connect(uv_connect_t *req, int status)
{
	struct upstream *up = req->data;
	struct conn *c = up->c;
	int rc;

	if (up->closing || !c)
		return;
	if (status < 0) {
		conn_connect_failed(c, "the app's target is not reachable");
		return;
	}
	c->state = CONN_STREAMING;
	timer_arm(c, c->r->opts.response_timeout_ms);
	up_set_reading(up, 1);
	c->t_sent = uv_hrtime();
	if ((rc = up_write_head(up, c->head_out.buf, c->head_out.len)) > 0) {
		conn_connect_failed(c, "the app's target is not reachable");
		return;
	}
	if (rc < 0) {
		conn_close(c);
		return;
	}
	conn_forward_body(c);
}

/* Forwards buffered request body bytes up to the end of the message. */
static void conn_forward_body(struct conn *c)
{
	int done = 0;
	long n;

	if (c->state != CONN_STREAMING || c->req_done)
		goto reading;
	/* The parser's head is the router's scratch one (see struct req_info): what of a
	 * chunk's CRLF is still to come is kept here between reads. */
	c->r->head.crlf_want = c->req.crlf_want;
	n = router__body_feed_counted(&c->parser, c->in.buf, c->in.len, &done, &c->req.body_seen);
	c->req.crlf_want = c->r->head.crlf_want;
	if (n < 0) {
		/* Bad framing: none of these bytes go on. The app saw the body before
		 * them, so its connection goes; the client gets 400 if nothing was
		 * answered yet. */
		c->linger = 1;
		conn_respond(c, 400, "bad request body");
		return;
	}
	if (c->req.body_max && c->req.body_seen > c->req.body_max) {
		/* A chunked body grew past the limit: the app saw part of it, so its
		 * connection goes; the client gets 413 if nothing was answered yet. */
		c->linger = 1;
		conn_respond(c, 413, "the request body is larger than the app accepts");
		return;
	}
	if (up_write(c->up, c->in.buf, (size_t)n) < 0) {
		conn_close(c);
		return;
	}
	buf_remove_front(&c->in, (size_t)n);
	/* After an upgrade request the bytes that follow are not HTTP: they wait in
	 * c->in for the 101 (then go up the tunnel) or for the connection to close.
	 * While the body is still coming, its inactivity timeout runs from this
	 * read (nginx's client_body_timeout: a client dripping a body keeps its
	 * request only while each gap stays below it); once it is all sent, the
	 * app's response timeout runs from its end. */
	if (done) {
		c->req_done = 1;
		if (c->req.has_body)
			timer_arm(c, c->r->opts.response_timeout_ms);
	} else {
		timer_arm(c, c->r->opts.body_timeout_ms);
	}
reading:
	conn_set_reading(c);
}

static void conn_process(struct conn *c)
{
	int n;

	switch (c->state) {
	case CONN_READ_HEAD:
		if (!c->in.len)
			return;
		n = router__head_parse(&c->parser, &c->r->head, c->in.buf, c->in.len);
		/* The rest of a refused head may still be coming: linger (read and
		 * drop it for a moment) so that the client reads the answer. */
		if (n < 0) {
			int st = c->r->head.error_status ? c->r->head.error_status : 400;

			c->linger = 1;
			conn_respond(c, st,
				     st == 414   ? "request target too long"
				     : st == 431 ? "too many header fields"
						 : "bad request");
			return;
		}
		if (n == 0) {
			c->linger = c->in.len > c->r->opts.max_header_bytes;
			if (c->linger)
				conn_respond(c, 431, "request head too large");
			return;
		}
		conn_start_request(c, &c->r->head);
		return;
	case CONN_STREAMING:
		conn_forward_body(c);
		return;
	case CONN_TUNNEL:
		if (up_write(c->up, c->in.buf, c->in.len) < 0) {
			conn_close(c);
			return;
		}
		buf_reset(&c->in);
		conn_set_reading(c);
		return;
	case CONN_CONNECTING:
		conn_set_reading(c);
		return;
	default:
		return;
	}
}

/* The response has been forwarded: pool the upstream, then serve the next request. */
static void conn_response_done(struct conn *c)
{
	struct upstream *up = c->up;
	struct target *t = up->target;

	c->up = NULL;
	up->c = NULL;
	/* POOL_MAX is above the streams an HTTP/2 client has in flight at once (each its own
	 * upstream request; h2load -c4 -m50 has 200): at 64, the rest were closed here and
	 * dialled again for the next streams, a connect() per ~4 requests. */
	if (up->res.keep_alive && c->req_done && !up->in.len && !t->retired && !c->r->stopping &&
	    t->nidle < POOL_MAX && !up->closing) {
		up->head_done = 0;
		up->reused = 0;
		up->pooled = 1;
		up->pool_prev = NULL;
		up->pool_next = t->idle;
		if (t->idle)
			t->idle->pool_prev = up;
		t->idle = up;
		t->nidle++;
		up_set_reading(up, 1); /* to notice the upstream closing it */
	} else {
		router__upstream_close(up);
	}
	conn_release_request(c);
	c->served++;
	/* A stopping router keeps a connection whose response did not say "close":
	 * its next request is answered with Connection: close (the client may
	 * already be sending it), and an idle one is closed after a moment. */
	if (!c->req_done || c->client_close) {
		conn_flush_close(c);
		return;
	}
	c->state = CONN_READ_HEAD;
	timer_arm(c, c->in.len ? c->r->opts.head_timeout_ms : c->r->opts.idle_timeout_ms);
	conn_set_reading(c);
	conn_process(c);
}

static void conn_on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t now = uv_now(c->r->loop);

	c->timer_due = 0;
	if (!c->deadline)
		return;
	if (now < c->deadline) { /* the deadline moved on since the timer was set */
		uv_timer_start(t, conn_on_timer, c->deadline - now, 0);
		c->timer_due = c->deadline;
		return;
	}
	switch (c->state) {
	case CONN_READ_HEAD:
		if (c->served && !c->in.len)
			conn_close(c); /* idle keep-alive connection */
		else
			conn_respond(c, 408, "timed out reading the request");
		break;
	case CONN_CONNECTING:
		conn_connect_failed(c, "timed out connecting to the app");
		break;
	case CONN_STREAMING:
		/* Reading an unfinished body means the client went quiet (the body
		 * timeout); otherwise it is the app that did not answer or take it. */
		if (c->res_started)
			conn_close(c);
		else if (!c->req_done && c->reading)
			conn_respond(c, 408, "timed out reading the request body");
		else
			conn_respond(c, 504, "the app did not answer in time");
		break;
	case CONN_TUNNEL:
		conn_close(c); /* silent both ways for an hour */
		break;
	case CONN_HELD:
		conn_unhold(c);
		conn_respond(c, 503, "the app is paused; try again later");
		break;
	case CONN_H2:
		/* Idle: no stream for the idle timeout. Streams have timers of their own. */
		if (router__h2_streams(c->h2)) {
			timer_arm(c, c->r->opts.idle_timeout_ms);
			break;
		}
		router__h2_shutdown(c->h2);
		conn_h2_flush(c);
		if (c->state == CONN_H2)
			conn_flush_close(c);
		break;
	default:
		conn_close(c);
		break;
	}
}

/* A client connection, or an HTTP/2 stream's (then without a socket: conn_close()
 * closes only the timer), on r->conns; NULL when out of memory. */
static struct conn *conn_new(struct router *r, int socket)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->r = r;
	buf_init(&c->in, r->opts.max_header_bytes + 2 * sizeof(r->readbuf));
	if (socket)
		uv_tcp_init(r->loop, &c->tcp);
	uv_timer_init(r->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->next = r->conns;
	if (r->conns)
		r->conns->prev = c;
	r->conns = c;
	r->nconns++;
	return c;
}

/* ---- HTTP/2 ------------------------------------------------------------------------ */

/* Sends what the session has to send, while the socket keeps up (conn_on_write()
 * calls again below WQ_LOW); never from inside router__h2_recv() (nghttp2 forbids it:
 * conn_h2_on_plain() flushes after). Ends the connection once the session is done. */
static void conn_h2_flush(struct conn *p)
{
	struct buf out = BUF_INIT;
	uv_buf_t b;

	if (!p->h2 || p->state != CONN_H2 || router__h2_busy(p->h2))
		return;
	while (p->wq < WQ_HIGH) {
		buf_reset(&out);
		if (router__h2_send(p->h2, &out, 64 * 1024) < 0) {
			conn_close(p);
			goto out;
		}
		if (!out.len)
			break;
		b = uv_buf_init(out.buf, (unsigned)out.len);
		if (conn_writev(p, &b, 1) < 0)
			goto out;
	}
	if (!router__h2_alive(p->h2))
		conn_flush_close(p);
out:
	buf_release(&out);
}

/* The streams' output of one loop iteration goes out in one flush per connection (one
 * TLS record run and one write, not one per response): conn_h2_flush_later() lists the
 * connection, and the router's check handle (run after the iteration's I/O callbacks,
 * before any handle closed in them is freed) flushes the list. */
static void conn_h2_on_check(uv_check_t *h)
{
	struct router *r = h->data;
	struct conn *p;

	uv_check_stop(h);
	while ((p = r->h2_dirty)) {
		r->h2_dirty = p->h2_dirty_next;
		p->h2_dirty_next = NULL;
		p->h2_dirty = 0;
		conn_h2_flush(p);
	}
}

static void conn_h2_flush_later(struct conn *p)
{
	struct router *r = p->r;

	if (p->h2_dirty || p->state != CONN_H2)
		return;
	p->h2_dirty = 1;
	p->h2_dirty_next = r->h2_dirty;
	if (!r->h2_dirty)
		uv_check_start(&r->h2_check, conn_h2_on_check);
	r->h2_dirty = p;
}

/* Moves the stream's request bytes into c->in while c wants them. Re-entered from
 * conn_process() (through conn_set_reading()), it only asks the running loop to go
 * round once more. */
static void conn_h2_pull(struct conn *c)
{
	size_t n;
	int eof;

	if (c->h2_pulling) {
		c->h2_again = 1;
		return;
	}
	c->h2_pulling = 1;
	do {
		c->h2_again = 0;
		if (!c->h2s || !c->reading || c->state == CONN_CLOSING)
			break;
		n = router__h2_read(c->h2s, &c->in, sizeof(c->r->readbuf), &eof);
		if (n)
			conn_process(c);
		else if (!c->h2_again)
			break;
	} while (c->state != CONN_CLOSING);
	c->h2_pulling = 0;
}

/* ops->request: a stream's request head, as HTTP/1.1 bytes, read as from a client. */
static void conn_h2_on_request(void *data, struct h2_stream *st, const char *head, size_t len,
			       int refuse)
{
	struct conn *p = data, *c;

	timer_arm(p, p->r->opts.idle_timeout_ms);
	if (!(c = conn_new(p->r, 0))) {
		router__h2_reset(st);
		return;
	}
	c->h2parent = p;
	c->h2s = st;
	router__h2_set_owner(st, c);
	memcpy(c->client_ip, p->client_ip, sizeof(c->client_ip));
	c->state = CONN_READ_HEAD;
	timer_arm(c, c->r->opts.head_timeout_ms);
	if (!refuse && buf_add(&c->in, head, len) < 0)
		refuse = 431;
	if (refuse) {
		conn_respond(c, refuse, refuse == 431 ? "request head too large" : "bad request");
		return;
	}
	conn_process(c);
	if (c->state != CONN_CLOSING)
		conn_set_reading(c);
}

static void conn_h2_on_body(void *owner)
{
	struct conn *c = owner;

	if (c->reading)
		conn_h2_pull(c);
}

static void conn_h2_on_reset(void *owner)
{
	struct conn *c = owner;

	c->h2s = NULL; /* the stream is gone: nothing to reset */
	conn_close(c);
}

static void conn_h2_on_drained(void *owner)
{
	struct conn *c = owner;

	c->wq = c->h2s ? router__h2_queued(c->h2s) : 0;
	if (c->up && c->wq < WQ_LOW)
		up_set_reading(c->up, 1);
}

static const struct h2_ops conn_h2_ops = {
	.request = conn_h2_on_request,
	.body = conn_h2_on_body,
	.reset = conn_h2_on_reset,
	.drained = conn_h2_on_drained,
};

/* ALPN chose h2: the connection becomes an HTTP/2 session. */
static void conn_h2_start(struct conn *c)
{
	struct h2_limits lim = H2_LIMITS_INIT;

	lim.max_header_bytes = c->r->opts.max_header_bytes;
	if (router__h2_session_new(&c->h2, &lim, &conn_h2_ops, c) < 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_H2;
	timer_arm(c, c->r->opts.idle_timeout_ms);
	if (c->r->stopping)
		router__h2_shutdown(c->h2);
}

/* Bytes (or the end) from an HTTP/2 client. A protocol error ends the connection
 * after its GOAWAY; the other connections never notice. */
static void conn_h2_on_plain(struct conn *c, ssize_t nread, const char *data)
{
	if (nread < 0) {
		conn_close(c);
		return;
	}
	/* Frames alone (PING, SETTINGS, a HEADERS never finished) do not extend the
	 * idle timeout: only a stream's start and end do, so a client cannot hold a
	 * connection by dripping bytes (HTTP/1.1's head timeout, for HTTP/2). */
	if (router__h2_recv(c->h2, data, (size_t)nread) < 0) {
		conn_h2_flush(c); /* the GOAWAY nghttp2 queued */
		if (c->state == CONN_H2)
			conn_flush_close(c);
		return;
	}
	conn_h2_flush(c);
}

void router__on_connection(uv_stream_t *server, int status)
{
	struct router *r = server->data;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct conn *c;

	if (status < 0 || r->stopping)
		return;
	if (!(c = conn_new(r, 1)))
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
	    (server == (uv_stream_t *)&r->listener_tls && !(c->tls = router__tls_conn_new(r)))) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	strcpy(c->client_ip, "unknown");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, c->client_ip, sizeof(c->client_ip));
		else if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->client_ip, sizeof(c->client_ip));
	}
	c->state = CONN_READ_HEAD;
	/* The head timeout of a new connection runs from the accept: a client
	 * that connects and waits gets no more time than one that drips. */
	timer_arm(c, r->opts.head_timeout_ms);
	conn_set_reading(c);
}

void router__conns_stop(struct router *r, int force)
{
	struct conn *c = r->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!force && c->state == CONN_H2) {
			/* GOAWAY: streams already open finish; the session ends after. */
			router__h2_shutdown(c->h2);
			conn_h2_flush(c);
		} else if (force || (c->state == CONN_READ_HEAD && !c->in.len && !c->h2parent)) {
			conn_close(c);
		}
	}
}

/* ---- upstream connections -------------------------------------------------------- */

static void up_on_closed(uv_handle_t *h)
{
	struct upstream *up = h->data;

	buf_release(&up->in);
	buf_release(&up->hold);
	router__target_unref(up->target);
	free(up);
}

void router__upstream_close(struct upstream *up)
{
	struct target *t = up->target;

	if (up->closing)
		return;
	up->closing = 1;
	if (up->pooled) {
		if (up->pool_prev)
			up->pool_prev->pool_next = up->pool_next;
		else
			t->idle = up->pool_next;
		if (up->pool_next)
			up->pool_next->pool_prev = up->pool_prev;
		t->nidle--;
		up->pooled = 0;
	}
	if (up->c && up->c->up == up)
		up->c->up = NULL;
	up->c = NULL;
	uv_close((uv_handle_t *)&up->tcp, up_on_closed);
}

static void up_set_reading(struct upstream *up, int on)
{
	if (up->closing || on == up->reading)
		return;
	if (on) {
		if (uv_read_start((uv_stream_t *)&up->tcp, router__alloc_cb, up_on_read) == 0)
			up->reading = 1;
	} else {
		uv_read_stop((uv_stream_t *)&up->tcp);
		up->reading = 0;
	}
}

/* The upstream ended its side: the end of a read-until-close body, or a failure. */
static void up_on_eof(struct upstream *up)
{
	struct conn *c = up->c;

	if (c->state == CONN_TUNNEL) {
		/* The app ended the tunnel: deliver what it sent, then close. */
		conn_flush_close(c);
		return;
	}
	if (up->head_done && up->res.body_until_eof) {
		llhttp_finish(&up->parser);
		up->res.keep_alive = 0;
		conn_response_done(c);
		return;
	}
	conn_upstream_lost(c, up, "the app closed the connection without answering");
}

static void up_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct upstream *up = s->data;
	struct conn *c = up->c;

	if (nread == 0 || up->closing)
		return;
	if (!c) {
		/* Pooled: the upstream closed it or sent bytes nobody asked for. */
		router__upstream_close(up);
		return;
	}
	if (nread < 0) {
		up_on_eof(up);
		return;
	}
	timer_arm(c, c->state == CONN_TUNNEL ? TUNNEL_TIMEOUT_MS : c->r->opts.response_timeout_ms);
	if (buf_add(&up->in, b->base, (size_t)nread) < 0) {
		conn_respond(c, 502, "the app's response head is too large");
		return;
	}
	up_process(up);
}

/* A final response head for a stream: HEADERS (fields minus hop-by-hop ones), with
 * END_STREAM when no body follows; the body goes through up_process() as for
 * HTTP/1.1, decoded. Returns as up_head(). */
static int up_head_h2(struct upstream *up, int head_len)
{
	struct conn *c = up->c;
	int body = up->res.has_body && c->req.method != HTTP_HEAD && up->res.status != 204 &&
		   up->res.status != 304;

	if (!c->h2s || router__h2_respond_head(c->h2s, &up->res, up->in.buf, body) < 0) {
		conn_respond(c, 502, "the app sent a response HTTP/2 cannot carry");
		return -1;
	}
	buf_reset(&up->hold);
	buf_remove_front(&up->in, (size_t)head_len);
	llhttp_resume(&up->parser);
	c->res_started = 1;
	up->head_done = 1;
	count_status(c, up->res.status);
	conn_h2_flush_later(c->h2parent);
	return 1;
}

/* Parses a response head and forwards it; 1 to go on, 0 to wait, -1 when the
 * connection was answered or closed. */
static int up_head(struct upstream *up)
{
	struct conn *c = up->c;
	struct buf *out = &up->hold; /* reused: it keeps its allocation across responses */
	int n, done, http10;

	up->res.is_response = 1;
	up->res.skip_body = c->req.method == HTTP_HEAD;
	n = router__head_parse(&up->parser, &up->res, up->in.buf, up->in.len);
	if (n == 0 && up->in.len > 2 * c->r->opts.max_header_bytes) {
		conn_respond(c, 502, "the app's response head is too large");
		return -1;
	}
	if (n == 0)
		return 0;
	if (n < 0 || (up->res.status == 101 && !c->req.upgrade)) {
		conn_respond(c, 502, "the app sent an invalid response");
		return -1;
	}
	c->t_head = uv_hrtime();
	if (up->res.status == 101)
		return up_switch(up, n);
	http10 = c->req.http_major == 1 && c->req.http_minor == 0;
	if (up->res.body_until_eof)
		c->client_close = 1;
	/* HTTP/1.0 knows no chunked encoding: decode the body, and the end of the
	 * connection ends it. HTTP/2 frames the body itself: decoded too. */
	c->dechunk = (http10 || c->h2parent) && up->res.status >= 200 && up->res.chunked &&
		     up->res.has_body;
	if (c->h2parent && up->res.status >= 200)
		return up_head_h2(up, n);
	if (c->dechunk)
		c->client_close = 1;
	buf_reset(out);
	if (router__response_rewrite(out, &up->res, up->in.buf,
				     up->res.status >= 200 && c->client_close, http10) < 0) {
		buf_reset(out);
		conn_respond(c, 502, "out of memory");
		return -1;
	}
	buf_remove_front(&up->in, (size_t)n);
	llhttp_resume(&up->parser);
	if (up->res.status < 200) {
		/* An interim response (100 Continue): pass it on and read the final
		 * one. An HTTP/1.0 client must not see one (RFC 9110 section 15.2). */
		(void)router__body_feed(&up->parser, NULL, 0, &done);
		n = http10 || c->h2parent ? 0 : conn_write(c, out->buf, out->len);
		buf_reset(out);
		return n < 0 || c->state == CONN_CLOSING ? -1 : 1;
	}
	c->res_started = 1;
	up->head_done = 1;
	count_status(c, up->res.status);
	/* up_process() sends the head (up->hold) with the body bytes that came with it. */
	return 1;
}

/* The app accepted an upgrade: send the 101 on, then the bytes either side sent
 * after its head, and pipe raw bytes both ways (backpressure as for bodies) until
 * one side closes. The request stays in flight, so a drain waits for the tunnel
 * up to its drain timeout. Returns 1, or -1 when the connection was closed. */
static int up_switch(struct upstream *up, int head_len)
{
	struct conn *c = up->c;
	struct buf out = BUF_INIT;
	int rc;

	if (router__response_rewrite(&out, &up->res, up->in.buf, 0, 0) < 0) {
		buf_release(&out);
		conn_respond(c, 502, "out of memory");
		return -1;
	}
	buf_remove_front(&up->in, (size_t)head_len);
	c->res_started = 1;
	up->head_done = 1;
	count_status(c, 101);
	c->state = CONN_TUNNEL;
	timer_arm(c, TUNNEL_TIMEOUT_MS);
	rc = conn_write(c, out.buf, out.len);
	buf_release(&out);
	if (rc < 0)
		return -1;
	conn_process(c); /* client bytes that came after the request head */
	return c->state == CONN_CLOSING ? -1 : 1;
}

static void up_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
}

/* The client closed its side of a tunnel: pass the end on to the app once what
 * the client sent is written, and keep delivering the app's bytes until it closes. */
static void tunnel_client_eof(struct conn *c)
{
	struct upstream *up = c->up;

	c->client_eof = 1;
	conn_set_reading(c);
	if (!up || up->shut) {
		conn_close(c);
		return;
	}
	up->shut = 1;
	up->shutdown_req.data = up;
	if (uv_shutdown(&up->shutdown_req, (uv_stream_t *)&up->tcp, up_on_shutdown) < 0)
		conn_close(c);
}

static void up_process(struct upstream *up)
{
	struct conn *c = up->c;
	struct buf dec = BUF_INIT;
	uv_buf_t bufs[2];
	int done = 0, rc;
	long n;

	while (!up->head_done) {
		rc = up_head(up);
		if (rc <= 0)
			return;
	}
	if (c->state == CONN_TUNNEL) {
		if (conn_write(c, up->in.buf, up->in.len) == 0)
			buf_reset(&up->in);
		return;
	}
	if (c->dechunk) {
		n = router__body_feed_decoded(&up->parser, up->in.buf, up->in.len, &done, &dec);
		bufs[1] = uv_buf_init(dec.buf, (unsigned)dec.len);
	} else {
		n = router__body_feed(&up->parser, up->in.buf, up->in.len, &done);
		bufs[1] = uv_buf_init(up->in.buf, (unsigned)(n > 0 ? n : 0));
	}
	if (n < 0) {
		buf_release(&dec);
		conn_close(c);
		return;
	}
	bufs[0] = uv_buf_init(up->hold.buf, (unsigned)up->hold.len);
	rc = conn_writev(c, bufs, 2);
	buf_release(&dec);
	buf_reset(&up->hold);
	if (rc < 0)
		return;
	buf_remove_front(&up->in, (size_t)n);
	if (done)
		conn_response_done(c);
}
