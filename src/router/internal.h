/* src/router/internal.h - helpers shared between the files of src/router/ (prefix router__). */
#ifndef WHARF_ROUTER_INTERNAL_H
#define WHARF_ROUTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <llhttp.h>
#include <jansson.h>

#include "common.h"
#include "router.h"

/* ---- HTTP heads (http.c): pure functions, no event loop ---------------------- */

#define ROUTER_MAX_HEADERS 100

struct http_span {
	size_t off; /* offset from the start of the head */
	size_t len;
};

/* The header names the router acts on, told apart once while parsing. */
enum http_hdr_kind {
	HDR_OTHER = 0,
	HDR_HOST,
	HDR_CONNECTION,
	HDR_KEEP_ALIVE,
	HDR_PROXY_CONNECTION,
	HDR_TE,
	HDR_TRAILER,
	HDR_UPGRADE,
	HDR_CONTENT_LENGTH,
	HDR_TRANSFER_ENCODING,
	HDR_X_FORWARDED_FOR,
	HDR_X_FORWARDED_PROTO,
	HDR_X_FORWARDED_HOST,
	HDR_X_FORWARDED_PORT,
	HDR_X_REQUEST_START,
	HDR_X_REQUEST_ID,
};

struct http_header {
	struct http_span name;
	struct http_span value;
	int kind; /* enum http_hdr_kind of the name */
};

/* What router__head_parse() learnt about one request or response head. Spans are
 * offsets into the bytes given to the parser, so the head can move in memory. */
struct http_head {
	int is_response;
	int skip_body;  /* in: response to HEAD (no body whatever it says) */
	size_t max_url; /* in: a request target longer than this is refused
				    * (414) as soon as that many bytes of it are seen;
				    * 0: no limit */
	int method;     /* llhttp_method_t of a request */
	int status;     /* of a response */
	int http_major, http_minor;
	struct http_span url;    /* request target */
	struct http_span reason; /* response reason phrase */
	struct http_header hdr[ROUTER_MAX_HEADERS];
	size_t nhdr;
	size_t head_len;    /* bytes of the head including the blank line */
	int keep_alive;     /* llhttp_should_keep_alive() at the end of the head */
	int upgrade;        /* an upgrade or CONNECT was asked for */
	int has_body;       /* Content-Length > 0, chunked, or read-until-close */
	int body_until_eof; /* response body ends when the upstream closes */
	int chunked;        /* Transfer-Encoding: chunked */
	int error_status;   /* after a -1: 400, 405, 414 or 431 */
	int has_connection; /* a Connection header is present */
	/* private to http.c */
	const char *base; /* the bytes being parsed; NULL once the head is done */
	int field_open;
	struct buf *body_out;            /* router__body_feed_decoded(): where body bytes go */
	unsigned long long body_payload; /* router__body_feed_counted(): payload bytes seen */
	const char *feed_end;            /* end of the bytes router__body_feed() is feeding */
	unsigned crlf_want;              /* bytes of a chunk's CRLF not yet seen: 2, 1 or 0 */
	int crlf_bad;                    /* a chunk's data was not followed by CRLF */
	const char *why;                 /* what is wrong with a refused head, for err_set() */
};

/* Parses the head at data[0..len) with p (initialised here as a request or
 * response parser per h->is_response; h->skip_body must be set by the caller for
 * responses to HEAD). A request is held to RFC 9112 where leniency lets a proxy and an
 * app read one message two ways: a header line folded onto the next (obs-fold), a
 * Transfer-Encoding other than exactly one "chunked", Transfer-Encoding in HTTP/1.0 or
 * with Content-Length are refused (400); so is a chunk whose data is not followed by
 * CRLF, in either direction (router__body_feed()). Returns the head length (> 0) when the head is complete,
 * leaving p paused right after it so the caller can llhttp_resume() and feed the
 * body; 0 when more bytes are needed; -1 on a malformed head, with
 * h->error_status set (400, 414 for a target longer than h->max_url, or 431 for
 * too many headers) and err_set(). The inputs is_response, skip_body and max_url
 * are kept; the rest of h is reset. */
int router__head_parse(llhttp_t *p, struct http_head *h, const char *data, size_t len);

/* Feeds body bytes to a parser that router__head_parse() left paused (the caller
 * resumes it once). Returns the number of bytes of data that belong to the
 * current message and sets *done when the message ended there; -1 on a framing
 * error (err_set). */
long router__body_feed(llhttp_t *p, const char *data, size_t len, int *done);

/* Like router__body_feed(), and adds to *payload the body's payload bytes among
 * those consumed: chunk sizes, extensions, CRLFs and trailers are not counted, so a
 * limit on a chunked body means what it means for one with a Content-Length.
 * p must have been set up by router__head_parse(). */
long router__body_feed_counted(llhttp_t *p, const char *data, size_t len, int *done,
			       unsigned long long *payload);

/* Like router__body_feed(), but also appends the body's payload (chunk framing
 * and trailers removed) to out, for a client that cannot take chunked encoding.
 * p must have been set up by router__head_parse(). Returns the bytes of data
 * consumed, or -1 on a framing error or when out is full (err_set). */
long router__body_feed_decoded(llhttp_t *p, const char *data, size_t len, int *done,
			       struct buf *out);

/* Which of the names the router acts on this is (HDR_OTHER for the rest). */
enum http_hdr_kind router__hdr_kind(const char *name, size_t len);

/* Normalises a Host header value: lowercased, port and a trailing dot stripped,
 * "[v6]" kept with its brackets. Writes a NUL-terminated name into out (size
 * outsz). Returns 0, or -1 for an empty or malformed value. */
int router__host_normalise(char *out, size_t outsz, const char *value, size_t len);

/* Finds the one Host header of a request head (base = the head bytes). Returns
 * 1 and the normalised name in out, 0 when there is none, -1 when there are
 * several or it is malformed. */
int router__head_host(char *out, size_t outsz, const struct http_head *h, const char *base);

/* For a request target in absolute-form ("http://host[:port]/path"): 1 and its host,
 * normalised, in out; 0 for any other form ("/path", "*"); -1 for a malformed one
 * (no "scheme://", userinfo, a bad host). */
int router__target_host(char *out, size_t outsz, const char *url, size_t len);

#define ROUTER_REQUEST_ID_MAX 64

/* What the router adds to a request it forwards. */
struct router_fwd {
	const char *client_ip; /* appended to X-Forwarded-For */
	const char *proto;     /* X-Forwarded-Proto: "http" or "https" */
	unsigned port;         /* X-Forwarded-Port: the port the client reached; 0: none */
	uint64_t start_ms;     /* X-Request-Start: t=<ms since the epoch>; 0: none */
	/* In: an id made for the request ("" for none). Out: the id the app was sent:
	 * the client's own X-Request-Id if it has one of 1..64 characters of
	 * [A-Za-z0-9._:+/=-], else the one given. */
	char request_id[ROUTER_REQUEST_ID_MAX + 1];
};

/* Appends the request head to send upstream: the request line as received, every
 * header except hop-by-hop ones (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Upgrade, and those Connection names; an upgrade request keeps Upgrade
 * and gets "Connection: upgrade"), any X-Forwarded-Proto/-Host/-Port and
 * X-Request-Start from the client, and a malformed or second X-Request-Id; then
 * X-Forwarded-For extended by fwd->client_ip, X-Forwarded-Proto, X-Forwarded-Host
 * (the original Host), X-Forwarded-Port, X-Request-Id and X-Request-Start as fwd
 * says. Host is kept. Returns 0 or -1. */
int router__request_rewrite(struct buf *out, const struct http_head *h, const char *base,
			    struct router_fwd *fwd);

/* Appends the response head to send to the client: status line as received and
 * headers minus hop-by-hop ones (a 101 keeps Upgrade and says "Connection:
 * upgrade", whatever client_close), plus "Connection: close" when client_close, or
 * "Connection: keep-alive" for a kept HTTP/1.0 client. For an HTTP/1.0 client
 * a chunked response loses its Transfer-Encoding header: the caller then sends
 * the body decoded (router__body_feed_decoded) and closes after it, so it must
 * pass client_close. Returns 0 or -1. */
int router__response_rewrite(struct buf *out, const struct http_head *h, const char *base,
			     int client_close, int client_http10);

/* ---- HTTP/2 (h2.c): libnghttp2 on the client side; requests become HTTP/1.1 ------- */

/* One HTTP/2 request head as it arrives, field by field (pure: no session). */
struct h2_req {
	size_t max_bytes;      /* the header list's size (RFC 9113 6.5.2) cap: 431 */
	size_t bytes, nfields; /* so far */
	int status;            /* 0, or why it is refused: 400, 431 */
	int regular;           /* a regular field was seen: no more pseudo-headers */
	int scheme;            /* :scheme seen */
	int has_cl;            /* content-length seen */
	struct buf method, path, authority, host, cookie;
	struct buf lines; /* "name: value\r\n" of the regular fields forwarded */
};
void router__h2_req_init(struct h2_req *q, size_t max_bytes);
void router__h2_req_release(struct h2_req *q);
/* Adds one field. Refuses (sets q->status and returns it) what HTTP/2 forbids or the
 * app could read another way: connection-specific fields (Connection, Keep-Alive,
 * Proxy-Connection, Transfer-Encoding, Upgrade; TE other than "trailers"), a
 * pseudo-header after a regular field, twice, or unknown, a name with upper case or
 * bytes HTTP/1.1 cannot carry, a value with CR, LF or NUL, two content-lengths or hosts
 * (400); a list past max_bytes or ROUTER_MAX_HEADERS fields (431). Cookie crumbs are
 * joined with "; ". Returns 0 or the status. */
int router__h2_req_add(struct h2_req *q, const char *name, size_t nlen, const char *value,
		       size_t vlen);
/* Appends the HTTP/1.1 head for q: "METHOD path HTTP/1.1", Host from :authority (or
 * host; both must agree), the fields, Cookie, and "Transfer-Encoding: chunked" when a
 * body follows (!end_stream) without content-length (*chunked set: the caller frames
 * DATA as chunks). No :method, :scheme or :path (CONNECT included) or no host: 400.
 * Returns 0 or the status refusing the request. */
int router__h2_req_head(struct buf *out, struct h2_req *q, int end_stream, int *chunked);

struct h2_session;
struct h2_stream;
struct h2_limits {
	size_t max_streams;               /* SETTINGS_MAX_CONCURRENT_STREAMS, enforced */
	size_t max_header_bytes;          /* SETTINGS_MAX_HEADER_LIST_SIZE, enforced: 431 */
	size_t stream_window;             /* SETTINGS_INITIAL_WINDOW_SIZE */
	size_t conn_window;               /* the connection's receive window */
	size_t max_continuations;         /* CONTINUATION frames after one HEADERS */
	unsigned reset_burst, reset_rate; /* RST_STREAM from the client: tokens, per second */
};
#define H2_LIMITS_INIT                                                                      \
	{                                                                                   \
		.max_streams = 128, .max_header_bytes = 16384, .stream_window = 256 * 1024, \
		.conn_window = 1024 * 1024, .max_continuations = 8, .reset_burst = 200,     \
		.reset_rate = 50,                                                           \
	}
/* What a session calls in its owner (proxy.c; the fuzz target). */
struct h2_ops {
	/* A stream's request: its HTTP/1.1 head (head, len), or refuse != 0 (400, 431)
	 * to be answered with. The owner calls router__h2_set_owner() to take the stream. */
	void (*request)(void *data, struct h2_stream *st, const char *head, size_t len, int refuse);
	void (*body)(void *owner);    /* body bytes or the body's end to read */
	void (*reset)(void *owner);   /* the stream is gone: drop the request */
	void (*drained)(void *owner); /* the response queue went below its low mark */
};
/* A server session; sends its SETTINGS first. 0, or -1 (err_set). */
int router__h2_session_new(struct h2_session **out, const struct h2_limits *lim,
			   const struct h2_ops *ops, void *data);
/* Bytes from the client: -1 when the connection must end (GOAWAY may be queued). */
int router__h2_recv(struct h2_session *s, const char *data, size_t len);
int router__h2_busy(const struct h2_session *s); /* inside router__h2_recv() */
/* Appends frames to send, up to about max bytes; -1 on a session error. */
int router__h2_send(struct h2_session *s, struct buf *out, size_t max);
int router__h2_alive(const struct h2_session *s); /* 0 once done both ways */
/* Streams whose request head is complete (one still coming is not counted). */
size_t router__h2_streams(const struct h2_session *s);
const char *router__h2_why(const struct h2_session *s); /* the last protocol error */
void router__h2_shutdown(struct h2_session *s);         /* GOAWAY; open streams finish */
/* The connection is going: every owner is reset; no more ops calls. */
void router__h2_abort(struct h2_session *s);
void router__h2_session_free(struct h2_session *s); /* NULL-safe */
void router__h2_set_owner(struct h2_stream *st, void *owner);
/* Moves up to max bytes of the request's HTTP/1.1 body into to; *eof once all came. */
size_t router__h2_read(struct h2_stream *st, struct buf *to, size_t max, int *eof);
/* The response: the head of an upstream response h (fields minus hop-by-hop ones; a
 * body follows unless !body), or the router's own page (extra: "" or one
 * "Name: value\r\n" line). 0 or -1. */
int router__h2_respond_head(struct h2_stream *st, const struct http_head *h, const char *base,
			    int body);
int router__h2_respond(struct h2_stream *st, int status, const char *extra, const char *ctype,
		       const char *body, size_t len);
int router__h2_write(struct h2_stream *st, const char *data, size_t len); /* body bytes */
size_t router__h2_queued(const struct h2_stream *st); /* body bytes not yet framed */
/* The owner is done: _end after a whole response (END_STREAM once the body is out),
 * _reset otherwise (RST_STREAM). Both detach the owner. */
void router__h2_end(struct h2_stream *st);
void router__h2_reset(struct h2_stream *st);

/* ---- routes (route.c): validation and the persisted table --------------------- */

struct route_def {
	char *app;
	char **domains; /* lowercased, unique */
	size_t ndomains;
	char **targets; /* "a.b.c.d:port", unique */
	size_t ntargets;
	int has_health;
	char *health_path;
	unsigned interval_ms, timeout_ms, deadline_ms;
	unsigned drain_timeout_ms;
	/* Per-app options ("redirect_https", "max_body_bytes"). A PUT that leaves
	 * one out keeps the app's current value; _set says it was given. */
	int redirect_https, redirect_set;
	unsigned long long max_body_bytes; /* 0: no limit */
	int max_body_set;                  /* else ROUTER_BODY_MAX_DEFAULT */
	int max_body_given;                /* the key was there, null included: a
	                                     * route PUT with null resets the limit */
};
#define ROUTE_DEF_INIT                    \
	{                                 \
		.drain_timeout_ms = 30000 \
	}

#define ROUTER_BODY_MAX_LIMIT (1ULL << 50) /* the largest limit one may set */

#define ROUTER_MAX_DOMAINS 100
#define ROUTER_MAX_TARGETS 64
#define ROUTER_MAX_BODY    65536

/* Validates a PUT /apps/<app> body for app and fills out (released by the
 * caller with router__route_release even on failure). Rejects unknown keys,
 * wrong types, invalid names, domains or targets, and numbers out of range, with
 * err_set() saying what is wrong. Returns 0 or -1. */
int router__route_parse(struct route_def *out, const char *app, const char *body, size_t len);
/* Parses the options keys of obj ("redirect_https": bool, "max_body_bytes":
 * integer 0..ROUTER_BODY_MAX_LIMIT or null for the default) into out, setting
 * the _set flags of those given (null clears max_body_set). 0, or -1 (err_set). */
int router__route_options(struct route_def *out, const json_t *obj);
/* {"redirect_https": bool, "max_body_bytes": n} as in effect for rs. */
json_t *router__route_options_json(const struct route_def *rs);
/* Same, from an already parsed object (the table file uses it). */
int router__route_from_json(struct route_def *out, const char *app, const json_t *obj);
void router__route_release(struct route_def *rs);
/* Copies what the table keeps of src (app, domains, targets, drain and options, not
 * health) into dst, which the caller releases even on failure. 0, or -1 (err_set). */
int router__route_copy(struct route_def *dst, const struct route_def *src);
/* A route PUT that leaves an option out keeps the app's current value (cur: the app's
 * route, NULL for a new app). */
void router__route_keep_options(struct route_def *next, const struct route_def *cur);
/* Sets in rs the options opts was given (router__route_options()'s _set/_given flags). */
void router__route_set_options(struct route_def *rs, const struct route_def *opts);
/* {"app": …, "domains": […], "targets": […]}; new reference or NULL. */
json_t *router__route_to_json(const struct route_def *rs);
/* Parses "a.b.c.d:port" into sa; returns 0 or -1 (err_set). */
struct sockaddr_in;
int router__target_parse(struct sockaddr_in *sa, const char *s);

/* The state file: {"apps": {"<app>": {"domains": […], "targets": […]}}, "generation": G,
 * "version": 1} (no "generation": 0, a table written before the journal).
 * router__table_parse() fills *out with n specs (caller releases each and frees
 * the array); an invalid file is an error naming what is wrong. */
int router__table_parse(struct route_def **out, size_t *n, unsigned long long *generation,
			const char *text, size_t len);
json_t *router__table_to_json(const struct route_def *const *specs, size_t n,
			      unsigned long long generation);
/* One app's value in the table; new reference or NULL. */
json_t *router__table_entry_json(const struct route_def *rs);
/* Parses one app's value v (the table's or a journal record's) into rs, which the caller
 * releases even on failure; 0, or -1 (err_set naming the app). */
int router__table_entry_parse(struct route_def *rs, const char *app, const json_t *v);
/* The same text as json_dumps(router__table_to_json(), JSON_INDENT(2) | JSON_SORT_KEYS),
 * in pieces: _entry_text appends one app's ("    \"app\": {…}", indented as in the
 * table); _text_join appends the table made of n pieces, given in strcmp() order of
 * their apps. 0, or -1 (err_set). */
int router__table_entry_text(struct buf *out, const struct route_def *rs);
int router__table_text_join(struct buf *out, const char *const *pieces, size_t n,
			    unsigned long long generation);

/* ---- string-keyed hash table (map.c) ------------------------------------------- */

struct map_node;
struct router_map {
	struct map_node **buckets;
	size_t cap, count;
};
#define ROUTER_MAP_INIT \
	{               \
		0       \
	}

/* Adds key (copied) -> val; a key may be added more than once. 0, or -1 (err_set). */
int router__map_add(struct router_map *m, const char *key, void *val);
/* The value of the first entry for key, or NULL. */
void *router__map_get(const struct router_map *m, const char *key);
/* The value of the entry for key after the one whose value is after (NULL: the first). */
void *router__map_next(const struct router_map *m, const char *key, const void *after);
/* Removes the entry key -> val; 1 if there was one. */
int router__map_del(struct router_map *m, const char *key, const void *val);
/* Calls fn for every entry, in no order; fn may remove the entry it is given. */
void router__map_each(const struct router_map *m,
		      void (*fn)(const char *key, void *val, void *data), void *data);
void router__map_release(struct router_map *m); /* frees the nodes, not the values */

/* ---- the running router (router.c, proxy.c, control.c) ------------------------ */

#include <uv.h>
#include <netinet/in.h>

struct upstream;
struct conn;
struct cconn;
struct update;

/* One backend address of one app. Reference counted: the app's current set holds
 * one reference, every upstream connection and in-flight request another, and a
 * drain holds the retired ones until their requests finish. */
struct target {
	struct router *r;
	char addr[32]; /* "a.b.c.d:port" */
	struct sockaddr_in sa;
	unsigned refs;
	unsigned inflight;     /* requests forwarded and not yet answered */
	int retired;           /* out of its app's set: never pool again */
	struct upstream *idle; /* pool of idle keep-alive connections */
	size_t nidle;
};

enum { STATUS_CLASSES = 6 }; /* [0] other, [1..5] = 1xx..5xx */

/* Upper bounds (seconds) of the request duration histogram's buckets; +Inf is the
 * count. Defined in router.c. */
#define ROUTER_LAT_BUCKETS 12
extern const double router__lat_bounds[ROUTER_LAT_BUCKETS];

struct app {
	struct route_def spec;   /* name, domains, target addresses */
	struct target **targets; /* parallel to spec.targets */
	size_t rr;               /* round-robin cursor */
	unsigned refs;           /* table + requests in flight */
	int deleted;
	unsigned long long requests[STATUS_CLASSES];
	unsigned long long lat_bucket[ROUTER_LAT_BUCKETS]; /* not cumulative */
	unsigned long long lat_count;
	double lat_sum; /* seconds */
	/* POST /apps/<app>/pause|resume|maintenance; kept across PUTs, not persisted. */
	int paused;            /* hold new requests until resume */
	unsigned pause_max_ms; /* each held request gets 503 after this */
	struct conn *held;     /* the held requests (proxy.c links them) */
	size_t nheld;
	struct ssl_ctx_st *tls_ctx; /* its certificate (tls.c); NULL: none loaded */
	int tls_tried;              /* the store was looked at */
	int maintenance;            /* answer 503 with maintenance_msg */
	char *maintenance_msg;      /* owned; NULL for the default page */
	struct app *next;
};

/* A session ticket key (RFC 5077 layout as OpenSSL's callback takes it). */
struct router_ticket_key {
	unsigned char name[16], aes[32], hmac[32];
	uint64_t created; /* seconds since the epoch */
};
#define ROUTER_TICKET_KEYS     2           /* the current one, and the one before */
#define ROUTER_TICKET_ROTATE_S (12 * 3600) /* a new key this often */
#define ROUTER_TICKET_WIRE_MAX (2 + ROUTER_TICKET_KEYS * (8 + 80))

struct router {
	uv_loop_t *loop;
	struct router_opts opts;
	uv_tcp_t listener;
	uv_tcp_t listener_tls; /* --listen-https; loop == NULL when off */
	uv_pipe_t takeover;    /* <control socket>.takeover: hands the listeners over */
	unsigned https_port;
	struct ssl_ctx_st *tls_default; /* SNI picks an app's context from here */
	/* Session ticket keys: [0] seals new tickets, the rest still open old ones.
	 * Kept in memory only; a successor gets them over the takeover pipe. */
	struct router_ticket_key tickets[ROUTER_TICKET_KEYS];
	size_t ntickets;
	uv_pipe_t control;
	uv_signal_t sigterm, sigint;
	uv_timer_t stop_timer;
	uint64_t stop_deadline;
	uint64_t idle_close_at; /* stopping: idle keep-alive clients closed then */
	int stopping;
	struct app *apps;
	struct router_map apps_by_name;   /* app name -> struct app */
	struct router_map apps_by_domain; /* each domain (wildcards as "*.x") -> struct app */
	struct persist *persist;          /* the table's writer (persist.c) */
	struct conn *conns;               /* every open client connection */
	struct conn *h2_dirty;            /* HTTP/2 connections with frames to flush */
	uv_check_t h2_check;              /* flushes them once per loop iteration */
	size_t nconns;
	struct cconn *cconns;        /* every open control connection */
	struct update *updates;      /* PUTs checking or draining */
	struct router_acme *acme;    /* http-01 challenges (acme.c); NULL: none yet */
	unsigned http_port;          /* as bound; for X-Forwarded-Port */
	FILE *access_log;            /* NULL when off */
	int access_log_owned;        /* fclose() it at the end */
	uv_timer_t log_timer;        /* flushes the access log every second */
	uint64_t rng[2];             /* xorshift128+ state for request ids */
	unsigned long long unrouted; /* requests for a host no app serves */
	unsigned long long requests_total;
	/* Client request heads are parsed here and used before control returns to
	 * the loop; a connection keeps only a summary (struct req_info in proxy.c). */
	struct http_head head;
	char readbuf[65536]; /* read callbacks copy out of it at once */
};

/* router.c */
struct app *router__app_find(struct router *r, const char *name);
/* The app serving host (exact domain first, then "*.suffix"); borrowed or NULL. */
struct app *router__app_for_host(struct router *r, const char *host);
void router__app_unref(struct app *a);
void router__target_unref(struct target *t);
/* Closes every idle pooled connection of t. */
void router__target_drain_pool(struct target *t);
/* Makes spec the app's route (taking ownership of its contents; spec is reset),
 * creating the app if new. Targets not in the new set are marked retired, their
 * pools closed, and returned in *retired (referenced; caller unrefs). */
int router__app_apply(struct router *r, struct route_def *spec, struct target ***retired,
		      size_t *nretired);
void router__app_remove(struct router *r, struct app *a);
/* SIGTERM's stop: close the listeners and the control socket, finish what is in
 * flight (10 s at most), then the loop ends. */
void router__stop(struct router *r);
/* Stops once nothing is left in flight (called when a connection closes). */
void router__maybe_stopped(struct router *r);
void router__alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* Sends msg ("READY=1\n", "MAINPID=…\n") to systemd's $NOTIFY_SOCKET; a no-op
 * without it. The unit is Type=notify: READY=1 once the router serves; a router
 * handing its sockets to a successor makes that one the main process first, so
 * the successor started by `systemctl reload` is what systemd then follows. */
void router__sd_notify(const char *msg);

/* proxy.c */
void router__on_connection(uv_stream_t *server, int status);
void router__conns_stop(struct router *r, int force); /* close idle / all clients */
/* Lets every request held by a paused app go on (or be answered, if the app is
 * in maintenance or has no targets); returns how many there were. */
size_t router__app_release_held(struct app *a);
void router__upstream_close(struct upstream *up);

/* persist.c: the table on disk, written on libuv's thread pool (see the file's head).
 * A change is submitted as an operation on one app and applied by its caller in done(),
 * on the loop, once a write containing it is on disk (status 0) or failed (-1, with
 * why; the change must then not be applied). Operations complete in submission order.
 * Without a state file done() is called at once, from within _submit(). */
enum router_persist_kind {
	ROUTER_PERSIST_ROUTE,   /* spec: the app's route (options as in a PUT) */
	ROUTER_PERSIST_OPTIONS, /* spec: app and the options given */
	ROUTER_PERSIST_REMOVE,  /* spec: app */
};
struct router;
typedef void router_persist_fn(struct router *r, int status, const char *why, void *data);
/* What router__table_load() found on disk: the table's generation and the journal's
 * state, <state file>.journal, whose first line is {"generation": G, "journal": 1} and
 * every other one record: {"<app>": <the app's value in the table>} or {"<app>": null}
 * (removed). See persist.c's head for the crash windows. */
struct router_disk {
	unsigned long long generation; /* of the table (0: none, or written before journals) */
	size_t records, bytes;         /* the journal's records replayed, its length up to them */
	int journal_ok;                /* 0: missing, or stale (G-1): a fresh one is written
					* before the first append */
	int torn;                      /* its last line had no newline (ignored) */
};
#define ROUTER_DISK_INIT      \
	{                     \
		0, 0, 0, 0, 0 \
	}
/* Reads state_file and replays its journal onto it: *out gets the n apps (the caller
 * releases each and frees the array). A missing table is empty, a missing journal has
 * no record. 0, or -1 (err_set naming the file, and the line of a bad journal record). */
int router__table_load(struct route_def **out, size_t *n, struct router_disk *disk,
		       const char *state_file);
/* Replays a journal's text onto apps (app -> struct route_def *, which it frees and
 * replaces), given disk->generation (the table's); sets the rest of *disk. */
int router__journal_replay(struct router_map *apps, struct router_disk *disk, const char *path,
			   const char *text, size_t len);
int router__journal_path(struct buf *out, const char *state_file); /* "<state file>.journal" */
/* (Re)builds the writer's table from specs, the n apps restored (router__table_load(),
 * before the loop runs), and its view of the files from disk; 0, or -1 (err_set). */
int router__persist_init(struct router *r, const struct route_def *specs, size_t n,
			 const struct router_disk *disk);
/* Copies what it needs of spec; 0, or -1 (err_set) and done() is never called. */
int router__persist_submit(struct router *r, enum router_persist_kind kind,
			   const struct route_def *spec, router_persist_fn *done, void *data);
/* The kind of the newest operation on app not yet done, or -1. */
int router__persist_pending(struct router *r, const char *app);
/* An app other than spec's whose route, being written, has one of spec's domains (*domain
 * says which); NULL if none. */
const char *router__persist_domain_owner(struct router *r, const struct route_def *spec,
					 const char **domain);
/* Calls fn once nothing is being written or waiting to be (at once if so already). */
void router__persist_when_idle(struct router *r, void (*fn)(struct router *r));
void router__persist_free(struct router *r); /* after the loop ended */

/* tls.c: TLS behind a byte-level transport; no other file calls SSL_*. */
struct ssl_ctx_st;
struct tls_conn;
int router__tls_init(struct router *r);
void router__tls_release(struct router *r);
void router__app_tls_free(struct app *a);
/* 1 if the app has a certificate that loads (read from the store on first use). */
int router__app_has_cert(struct router *r, struct app *a);
/* A server-side TLS session whose certificate SNI picks; NULL when out of memory. */
struct tls_conn *router__tls_conn_new(struct router *r);
void router__tls_conn_free(struct tls_conn *t); /* NULL-safe */
/* Feeds len bytes of ciphertext from the client: appends the plaintext they
 * complete to plain and the bytes TLS must send back (handshake, alerts) to wire.
 * Returns 0, 1 when the client sent close_notify, -1 on a TLS error (wire may
 * still hold an alert to send). */
int router__tls_feed(struct tls_conn *t, const char *in, size_t len, struct buf *plain,
		     struct buf *wire);
/* 1 when ALPN chose "h2" (the handshake is done). */
int router__tls_is_h2(const struct tls_conn *t);
/* Ticket keys: _rotate makes a new current key when there is none or it is older than
 * ROUTER_TICKET_ROTATE_S at now (seconds), keeping the one before; 0, or -1 without
 * randomness. _export appends 'K', the count and each key (created as 8 bytes big
 * endian, name, aes, hmac) to out; _import reads that (len bytes from 'K') into r,
 * replacing its keys; 0, or -1 for a malformed one (r unchanged). */
int router__tls_tickets_rotate(struct router *r, uint64_t now);
int router__tls_tickets_export(const struct router *r, struct buf *out);
int router__tls_tickets_import(struct router *r, const char *data, size_t len);
/* Encrypts n buffers of plaintext, appending the records to wire; 0 or -1. */
int router__tls_seal(struct tls_conn *t, const uv_buf_t *bufs, unsigned n, struct buf *wire);
/* The certificate store: $state_dir/certs/<app>.crt and .key (0600). _set checks
 * that the PEM chain and key load and match before replacing anything (0, or -1
 * with err_set); _remove returns 1 if there was one, 0 if not, -1 on error;
 * _info returns {"app", "subject", "issuer", "expires", "names"} or NULL. */
int router__cert_set(struct router *r, const char *app, const char *crt, const char *key);
int router__cert_remove(struct router *r, const char *app);
json_t *router__cert_info(struct router *r, const char *app);

/* takeover.c: a successor (`--takeover`) connects to <control socket>.takeover and
 * receives r->listener (and r->listener_tls) over a libuv IPC pipe; the giver then
 * stops as on SIGTERM. The sockets never close, so no connection is refused. */
int router__takeover_listen(struct router *r);
void router__takeover_stop(struct router *r);
/* In the successor, before its loop runs: fills r->listener (and r->listener_tls
 * when want_tls) from the running router; 0, or -1 with err_set(). */
int router__takeover(struct router *r, int want_tls);

/* control.c: the control API's connections. One request per connection; the handlers in
 * update.c, actions.c, certs.c and metrics.c answer it through router__cconn_*(). */
/* The control socket's framing, apart from the socket: one request per connection, its
 * head, then Content-Length bytes of body (no chunked bodies). */
struct control_frame {
	llhttp_t parser;
	struct http_head head;
	int head_done;
	size_t body_len; /* once complete; the body is at in + head.head_len */
};

struct cconn {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_shutdown_t shutdown_req;
	struct router *r;
	struct cconn *prev, *next;
	struct update *upd; /* the PUT this connection waits for */
	struct cwait *wait; /* or the write of its change */
	struct buf in;
	struct control_frame frame; /* the request being read from in */
	int answered;
	int closing;
	int open_handles;
};

/* Takes everything read so far (in, len: from the request's first byte; f zeroed before
 * the first call): 0 while more is needed, 1 once the request is complete, or -1 after
 * err_set with *status the answer's (400 malformed, 411 chunked, 413 too large). */
int router__control_frame(struct control_frame *f, const char *in, size_t len, int *status);
/* Copies a request target (up to '?') to path and splits it: *app and *action point into
 * path, NULL for /metrics and /apps. -1 after err_set when nothing can match (*status
 * 404) or the app name is invalid (400). */
int router__control_path(char *path, size_t size, const char *url, size_t len, char **app,
			 char **action, int *status);
int router__control_listen(struct router *r);
void router__control_stop(struct router *r); /* close listener, conns, updates */
/* Answers cc (once; later calls are no-ops) and closes it after the write. _answer sends
 * body as JSON and takes ownership of it (NULL: a 500 "out of memory"); _error sends
 * {"error": msg}. */
void router__cconn_send(struct cconn *cc, int status, const char *ctype, const char *body,
			size_t len);
void router__cconn_answer(struct cconn *cc, int status, json_t *body);
void router__cconn_error(struct cconn *cc, int status, const char *msg);
json_t *router__error_json(const char *msg); /* {"error": msg}; new reference */
/* A request whose change waits for the table's writer (router__persist_submit()): the
 * client may go away meanwhile (cc is then NULL); the change applies all the same. */
struct cwait {
	struct cconn *cc;
	char app[64];
	struct route_def spec; /* app set; what the change needs besides */
};
/* Attaches a new wait to cc (NULL after err_set); _free detaches and frees it (NULL-safe). */
struct cwait *router__cwait_new(struct cconn *cc, const char *app);
void router__cwait_free(struct cwait *w);

/* update.c: PUT /apps/<app> (checks, swap, drain; answered when done) and DELETE. */
void router__control_put(struct cconn *cc, const char *app, const char *body, size_t len);
void router__control_delete(struct cconn *cc, const char *app);
/* The client of u went away: u goes on, and nobody hears its answer. */
void router__update_orphan(struct update *u);
/* 1 while u's route is being written (it applies whatever happens to its client). */
int router__update_committing(const struct update *u);
/* The router stops: a PUT that swapped is answered 200 with "drained": false, one still
 * checking 503. */
void router__updates_stop(struct router *r);

/* actions.c: /apps/<app>/pause|resume|maintenance|options (and /cert, handed to certs.c). */
void router__control_action(struct cconn *cc, const char *app, const char *action, const char *body,
			    size_t blen);
/* An optional JSON object body whose keys are all in allowed (NULL-terminated): an
 * empty body is {}. A new reference, or NULL after err_set. */
json_t *router__action_body(const char *body, size_t blen, const char *const *allowed);
/* The action endpoints' bodies, apart from any connection: an empty body is {}; unknown
 * keys, wrong types and out-of-range values are -1 after err_set (the API's 400).
 * pause: {"max_ms"} (resume: {}); maintenance: {"enabled", "message"}, *enabled holds
 * the default on entry, *message (malloc'd) is NULL for the default page; cert: {"cert",
 * "key"}, both malloc'd; options: {"redirect_https", "max_body_bytes"} into spec. */
int router__pause_parse(const char *body, size_t len, int resume, unsigned *max_ms);
int router__maintenance_parse(const char *body, size_t len, int *enabled, char **message);
int router__options_parse(struct route_def *spec, const char *body, size_t len);

/* certs.c: PUT|GET|DELETE /apps/<app>/cert. */
void router__control_cert(struct cconn *cc, const char *app, const char *body, size_t blen);
int router__cert_parse(const char *body, size_t len, char **crt, char **key);

/* acme.c: http-01 challenges the router answers itself (in memory only, an hour at most).
 * _token_valid: 1 for 1..128 characters of base64url. _parse: a PUT body
 * {"key_authorization": "<token>.<thumbprint>"} for token into *auth (malloc'd), or -1
 * after err_set. _lookup: for a GET of /.well-known/acme-challenge/<token> the router
 * was given, the key authorization to answer with (borrowed: send it at once); NULL for
 * any other request, which is routed as usual. _control_path: 1 when a control URL is
 * /acme/challenges[/…], which router__control_acme() answers. */
int router__acme_token_valid(const char *token, size_t len);
int router__acme_parse(const char *token, const char *body, size_t len, char **auth);
const char *router__acme_lookup(struct router *r, int method, const char *url, size_t len);
int router__acme_control_path(const char *url, size_t len);
void router__control_acme(struct cconn *cc, const char *url, size_t len, const char *body,
			  size_t blen);
void router__acme_free(struct router *r);

/* accesslog.c: a stream that writes each access log line to inner (NULL: none;
 * closed with it when inner_owned) and to dir/<app>.log, rotated past max_bytes
 * keeping max_files (0: the defaults). NULL with err_set() on failure. */
FILE *router__accesslog_open(const char *dir, FILE *inner, int inner_owned, long long max_bytes,
			     int max_files);
/* metrics.c: GET /metrics in Prometheus text format; 0, or -1 when out of memory. */
int router__metrics(struct buf *out, struct router *r);

#endif
