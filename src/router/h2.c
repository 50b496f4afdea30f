/* h2.c - HTTP/2 on the client side of a TLS connection (libnghttp2): each stream's request
 * is turned into an HTTP/1.1 request head and body, which the connection code (proxy.c)
 * routes and forwards exactly as one read from an HTTP/1.1 client; the response it sends
 * back goes out as HEADERS and DATA. This file knows nothing of connections or apps: the
 * owner of the session is reached through struct h2_ops. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>

#define H2_OUT_LOW (256 * 1024) /* ops->drained() once a stream's queue is below this */

struct h2_stream {
	struct h2_session *sess;
	int32_t id;
	void *owner;             /* the owner's request; NULL once detached */
	struct h2_req req;       /* the request head being received */
	int started;             /* ops->request() was called */
	struct buf in;           /* HTTP/1.1 body bytes (chunk framing included) */
	unsigned long long owed; /* DATA payload not yet given back to flow control */
	int in_eof;              /* END_STREAM seen (and the last chunk framed) */
	int chunked;             /* no content-length: the body goes chunked */
	struct buf out;          /* response body bytes not yet in DATA frames */
	size_t out_off;
	int out_eof;   /* the owner wrote the whole response */
	int submitted; /* response HEADERS submitted */
	int closed;    /* nghttp2 closed the stream */
	struct h2_stream *prev, *next;
};

struct h2_session {
	nghttp2_session *ng;
	const struct h2_ops *ops;
	void *data;
	struct h2_limits lim;
	struct h2_stream *streams; /* every stream nghttp2 still knows */
	size_t nstreams;
	int busy;        /* inside nghttp2_session_mem_recv(): no mem_send() now */
	int goaway;      /* a GOAWAY was submitted */
	int aborted;     /* the connection is going: no more ops calls */
	const char *why; /* what ended the session, for the log */
};

/* ---- request heads: pure ------------------------------------------------------------- */

void router__h2_req_init(struct h2_req *q, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
	buf_init(&q->lines, 0);
	buf_init(&q->cookie, 0);
	buf_init(&q->method, 0);
	buf_init(&q->path, 0);
	buf_init(&q->authority, 0);
	buf_init(&q->host, 0);
}

void router__h2_req_release(struct h2_req *q)
{
	buf_release(&q->lines);
	buf_release(&q->cookie);
	buf_release(&q->method);
	buf_release(&q->path);
	buf_release(&q->authority);
	buf_release(&q->host);
}

static int name_is(const char *name, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(name, lit, len);
}

/* A header field the request line or Host carries, or one HTTP/2 forbids. */
static int set_once(struct buf *b, const char *value, size_t vlen)
{
	if (b->len)
		return -1;
	return buf_add(b, value, vlen) < 0 || !b->len ? -1 : 0;
}

int router__h2_req_add(struct h2_req *q, const char *name, size_t nlen, const char *value,
		       size_t vlen)
{
	size_t i;

	if (q->status)
		return q->status; /* already refused: the rest is not kept */
	/* Bounded as HTTP/2 counts a header list (RFC 9113 section 6.5.2: 32 bytes per
	 * field), so a head HPACK compresses well cannot grow past the HTTP/1.1 limit. */
	q->bytes += nlen + vlen + 32;
	if (q->bytes > q->max_bytes || ++q->nfields > ROUTER_MAX_HEADERS)
		return q->status = 431;
	/* nghttp2 checks names and values too; these are the ones HTTP/1.1 could not
	 * carry, checked here as well since this head is what the app reads. */
	for (i = 0; i < nlen; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= ' ' || ch >= 0x7f || (ch >= 'A' && ch <= 'Z') || (ch == ':' && i > 0))
			return q->status = 400;
	}
	for (i = 0; i < vlen; i++)
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			return q->status = 400;
	if (!nlen)
		return q->status = 400;
	if (name[0] == ':') {
		int rc = -1;

		if (q->regular) /* pseudo-headers come first (RFC 9113 section 8.3) */
			return q->status = 400;
		if (name_is(name, nlen, ":method"))
			rc = set_once(&q->method, value, vlen);
		else if (name_is(name, nlen, ":path"))
			rc = set_once(&q->path, value, vlen);
		else if (name_is(name, nlen, ":authority"))
			rc = set_once(&q->authority, value, vlen);
		else if (name_is(name, nlen, ":scheme"))
			rc = q->scheme++ ? -1 : 0;
		return rc < 0 ? (q->status = 400) : 0;
	}
	q->regular = 1;
	/* Connection-specific fields (RFC 9113 section 8.2.2): a request that carries one
	 * could be read one way here and another by the app. TE may only say "trailers". */
	if (name_is(name, nlen, "connection") || name_is(name, nlen, "keep-alive") ||
	    name_is(name, nlen, "proxy-connection") || name_is(name, nlen, "transfer-encoding") ||
	    name_is(name, nlen, "upgrade"))
		return q->status = 400;
	if (name_is(name, nlen, "te")) {
		if (!(vlen == 8 && !strncasecmp(value, "trailers", 8)))
			return q->status = 400;
		return 0; /* not forwarded: trailers are not passed on */
	}
	if (name_is(name, nlen, "cookie")) {
		/* Split crumbs are joined again for HTTP/1.1 (RFC 9113 section 8.2.3). */
		if ((q->cookie.len && buf_add(&q->cookie, "; ", 2) < 0) ||
		    buf_add(&q->cookie, value, vlen) < 0)
			return q->status = 431;
		return 0;
	}
	if (name_is(name, nlen, "host"))
		return set_once(&q->host, value, vlen) < 0 ? (q->status = 400) : 0;
	if (name_is(name, nlen, "content-length")) {
		if (q->has_cl)
			return q->status = 400;
		q->has_cl = 1;
	}
	if (buf_add(&q->lines, name, nlen) < 0 || buf_add(&q->lines, ": ", 2) < 0 ||
	    buf_add(&q->lines, value, vlen) < 0 || buf_add(&q->lines, "\r\n", 2) < 0)
		return q->status = 431;
	return 0;
}

int router__h2_req_head(struct buf *out, struct h2_req *q, int end_stream, int *chunked)
{
	const struct buf *host = q->authority.len ? &q->authority : &q->host;

	*chunked = 0;
	if (q->status)
		return q->status;
	if (!q->method.len || !q->scheme || !q->path.len)
		return q->status = 400; /* CONNECT (no :path) included: no tunnels */
	/* Host and :authority must agree (RFC 9113 section 8.3.1): routing reads one. */
	if (q->authority.len && q->host.len &&
	    (q->authority.len != q->host.len ||
	     strncasecmp(q->authority.buf, q->host.buf, q->host.len)))
		return q->status = 400;
	if (!host->len)
		return q->status = 400;
	*chunked = !end_stream && !q->has_cl;
	if (buf_add(out, q->method.buf, q->method.len) < 0 || buf_add(out, " ", 1) < 0 ||
	    buf_add(out, q->path.buf, q->path.len) < 0 ||
	    buf_addstr(out, " HTTP/1.1\r\nHost: ") < 0 || buf_add(out, host->buf, host->len) < 0 ||
	    buf_addstr(out, "\r\n") < 0 || buf_add(out, q->lines.buf, q->lines.len) < 0 ||
	    (q->cookie.len &&
	     (buf_addstr(out, "Cookie: ") < 0 || buf_add(out, q->cookie.buf, q->cookie.len) < 0 ||
	      buf_addstr(out, "\r\n") < 0)) ||
	    (*chunked && buf_addstr(out, "Transfer-Encoding: chunked\r\n") < 0) ||
	    buf_addstr(out, "\r\n") < 0)
		return q->status = 431;
	return 0;
}

/* ---- streams --------------------------------------------------------------------- */

static struct h2_stream *stream_new(struct h2_session *s, int32_t id)
{
	struct h2_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->sess = s;
	st->id = id;
	router__h2_req_init(&st->req, s->lim.max_header_bytes);
	buf_init(&st->in, 0);
	buf_init(&st->out, 0);
	st->next = s->streams;
	if (s->streams)
		s->streams->prev = st;
	s->streams = st;
	s->nstreams++;
	return st;
}

static void stream_free(struct h2_stream *st)
{
	struct h2_session *s = st->sess;

	if (st->prev)
		st->prev->next = st->next;
	else
		s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	s->nstreams--;
	router__h2_req_release(&st->req);
	buf_release(&st->in);
	buf_release(&st->out);
	free(st);
}

/* The request head is complete: hand it over as HTTP/1.1, or have the owner refuse it. */
static int stream_start(struct h2_stream *st, int end_stream)
{
	struct h2_session *s = st->sess;
	struct buf head = BUF_INIT;
	int refuse;

	st->started = 1;
	refuse = router__h2_req_head(&head, &st->req, end_stream, &st->chunked);
	router__h2_req_release(&st->req);
	router__h2_req_init(&st->req, 0);
	st->in_eof = end_stream;
	if (!s->aborted)
		s->ops->request(s->data, st, head.buf, head.len, refuse);
	buf_release(&head);
	return 0;
}

void router__h2_set_owner(struct h2_stream *st, void *owner)
{
	st->owner = owner;
}

/* Gives DATA payload back to flow control once the owner took the bytes. */
static void stream_consume(struct h2_stream *st, size_t n)
{
	if (n > st->owed)
		n = (size_t)st->owed;
	if (!n)
		return;
	st->owed -= n;
	if (!st->closed)
		nghttp2_session_consume(st->sess->ng, st->id, n);
	else
		nghttp2_session_consume_connection(st->sess->ng, n);
}

size_t router__h2_read(struct h2_stream *st, struct buf *to, size_t max, int *eof)
{
	size_t n = st->in.len < max ? st->in.len : max;

	if (n && buf_add(to, st->in.buf, n) < 0)
		n = 0;
	buf_remove_front(&st->in, n);
	/* Chunk framing makes the bytes more than the payload: what is owed is given
	 * back as the bytes go, and all of it once the buffer is empty. */
	stream_consume(st, st->in.len ? n : (size_t)st->owed);
	*eof = st->in_eof && !st->in.len;
	return n;
}

size_t router__h2_queued(const struct h2_stream *st)
{
	return st->out.len - st->out_off;
}

static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *out, size_t len, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct h2_stream *st = src->ptr;
	size_t n = router__h2_queued(st);

	(void)ng;
	(void)id;
	(void)user;
	if (n > len)
		n = len;
	memcpy(out, st->out.buf + st->out_off, n);
	st->out_off += n;
	if (st->out_off == st->out.len) {
		buf_reset(&st->out);
		st->out_off = 0;
	} else if (st->out_off > H2_OUT_LOW) {
		buf_remove_front(&st->out, st->out_off);
		st->out_off = 0;
	}
	if (st->out_eof && !router__h2_queued(st))
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (!n)
		return NGHTTP2_ERR_DEFERRED;
	if (n && st->owner && router__h2_queued(st) < H2_OUT_LOW && !st->sess->aborted)
		st->sess->ops->drained(st->owner);
	return (ssize_t)n;
}

/* Submits the response head: status and fields (names lowercased); a body follows
 * through router__h2_write() unless !body. */
static int submit(struct h2_stream *st, int status, const nghttp2_nv *fields, size_t n, int body)
{
	nghttp2_data_provider dp = { .source.ptr = st, .read_callback = data_read };
	nghttp2_nv *nv = calloc(n + 1, sizeof(*nv));
	char code[16];
	int rc;

	if (!nv || st->closed || st->submitted) {
		free(nv);
		return -1;
	}
	snprintf(code, sizeof(code), "%03d", status % 1000);
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE };
	memcpy(nv + 1, fields, n * sizeof(*nv));
	st->submitted = 1;
	if (!body)
		st->out_eof = 1;
	rc = nghttp2_submit_response(st->sess->ng, st->id, nv, n + 1, body ? &dp : NULL);
	free(nv);
	return rc == 0 ? 0 : -1;
}

/* Connection-specific response fields, and those the Connection header names, stay in
 * HTTP/1.1 (RFC 9113 section 8.2.2). */
static int hop_by_hop(const struct http_head *h, const char *base, const struct http_header *f)
{
	size_t i;

	switch (f->kind) {
	case HDR_CONNECTION:
	case HDR_KEEP_ALIVE:
	case HDR_PROXY_CONNECTION:
	case HDR_TE:
	case HDR_TRAILER:
	case HDR_UPGRADE:
	case HDR_TRANSFER_ENCODING:
		return 1;
	default:
		break;
	}
	for (i = 0; i < h->nhdr; i++) {
		const char *v = base + h->hdr[i].value.off, *end = v + h->hdr[i].value.len;

		if (h->hdr[i].kind != HDR_CONNECTION)
			continue;
		while (v < end) {
			const char *tok;

			while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
				v++;
			tok = v;
			while (v < end && *v != ',' && *v != ' ' && *v != '\t')
				v++;
			if ((size_t)(v - tok) == f->name.len &&
			    !strncasecmp(tok, base + f->name.off, f->name.len))
				return 1;
		}
	}
	return 0;
}

int router__h2_respond_head(struct h2_stream *st, const struct http_head *h, const char *base,
			    int body)
{
	nghttp2_nv nv[ROUTER_MAX_HEADERS];
	char *names; /* every kept name, lowercased (HTTP/2 has no upper case in names) */
	size_t i, j, n = 0, total = 0, off = 0;
	int rc;

	for (i = 0; i < h->nhdr; i++)
		total += h->hdr[i].name.len;
	if (!(names = malloc(total + 1)))
		return -1;
	for (i = 0; i < h->nhdr; i++) {
		const struct http_header *f = &h->hdr[i];

		if (hop_by_hop(h, base, f))
			continue;
		for (j = 0; j < f->name.len; j++) {
			char ch = base[f->name.off + j];
			names[off + j] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
		}
		nv[n] = (nghttp2_nv){ (uint8_t *)names + off, (uint8_t *)base + f->value.off,
				      f->name.len, f->value.len, NGHTTP2_NV_FLAG_NONE };
		off += f->name.len;
		n++;
	}
	rc = submit(st, h->status, nv, n, body); /* nghttp2 copies the fields */
	free(names);
	return rc;
}

int router__h2_respond(struct h2_stream *st, int status, const char *extra, const char *ctype,
		       const char *body, size_t len)
{
	nghttp2_nv nv[4];
	char clen[24], name[64];
	size_t n = 0;
	const char *colon = extra ? strchr(extra, ':') : NULL;

	snprintf(clen, sizeof(clen), "%zu", len);
	nv[n++] = (nghttp2_nv){ (uint8_t *)"content-type", (uint8_t *)ctype, 12, strlen(ctype),
				NGHTTP2_NV_FLAG_NONE };
	nv[n++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen),
				NGHTTP2_NV_FLAG_NONE };
	/* extra: one "Name: value\r\n" line (the redirect's Location), or "". */
	if (colon && (size_t)(colon - extra) < sizeof(name)) {
		size_t nl = (size_t)(colon - extra), i;
		const char *v = colon + 1, *e = strstr(v, "\r\n");

		for (i = 0; i < nl; i++)
			name[i] = extra[i] >= 'A' && extra[i] <= 'Z' ? (char)(extra[i] + 32)
								     : extra[i];
		while (*v == ' ')
			v++;
		nv[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)v, nl,
					e ? (size_t)(e - v) : strlen(v), NGHTTP2_NV_FLAG_NONE };
	}
	if (submit(st, status, nv, n, 1) < 0 || router__h2_write(st, body, len) < 0)
		return -1;
	router__h2_end(st);
	return 0;
}

int router__h2_write(struct h2_stream *st, const char *data, size_t len)
{
	if (!len)
		return 0;
	if (st->closed || st->out_eof)
		return -1;
	if (buf_add(&st->out, data, len) < 0)
		return -1;
	nghttp2_session_resume_data(st->sess->ng, st->id);
	return 0;
}

void router__h2_end(struct h2_stream *st)
{
	st->owner = NULL;
	if (st->closed)
		return;
	if (!st->submitted) {
		nghttp2_submit_rst_stream(st->sess->ng, NGHTTP2_FLAG_NONE, st->id,
					  NGHTTP2_INTERNAL_ERROR);
		return;
	}
	st->out_eof = 1;
	nghttp2_session_resume_data(st->sess->ng, st->id);
	/* The request body may still be coming: take it from flow control and drop it. */
	stream_consume(st, (size_t)st->owed);
	buf_reset(&st->in);
}

void router__h2_reset(struct h2_stream *st)
{
	st->owner = NULL;
	if (!st->closed && !(st->out_eof && st->submitted))
		nghttp2_submit_rst_stream(st->sess->ng, NGHTTP2_FLAG_NONE, st->id,
					  NGHTTP2_INTERNAL_ERROR);
	stream_consume(st, (size_t)st->owed);
	buf_reset(&st->in);
}

/* ---- nghttp2 callbacks ------------------------------------------------------------ */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct h2_session *s = user;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/* nghttp2 refuses streams beyond SETTINGS_MAX_CONCURRENT_STREAMS once the client
	 * acknowledged them; until then this cap holds (RFC 9113 section 5.1.2). */
	if (s->nstreams >= s->lim.max_streams || s->goaway) {
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
					  NGHTTP2_REFUSED_STREAM);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (!(st = stream_new(s, f->hd.stream_id)))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);

	(void)flags;
	(void)user;
	if (!st || st->started)
		return 0; /* trailers: not passed on */
	/* A refused head is answered (431, 400) once complete; what follows is dropped. */
	(void)router__h2_req_add(&st->req, (const char *)name, nlen, (const char *)value, vlen);
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct h2_session *s = user;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	if (!(st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id)))
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && !st->started)
		return stream_start(st, !!(f->hd.flags & NGHTTP2_FLAG_END_STREAM));
	if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !st->in_eof) {
		st->in_eof = 1;
		if (st->chunked && st->owner && buf_addstr(&st->in, "0\r\n\r\n") < 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (st->owner && !s->aborted)
			s->ops->body(st->owner);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct h2_session *s = user;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
	char size[24];

	(void)flags;
	if (!st || !st->owner) {
		/* Nobody reads it (answered already, or never started): flow control
		 * gets it back at once. */
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	st->owed += len;
	if (st->chunked && len) {
		snprintf(size, sizeof(size), "%zx\r\n", len);
		if (buf_addstr(&st->in, size) < 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (buf_add(&st->in, (const char *)data, len) < 0 ||
	    (st->chunked && len && buf_addstr(&st->in, "\r\n") < 0))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (!s->aborted)
		s->ops->body(st->owner);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct h2_session *s = user;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
	void *owner;

	(void)code;
	if (!st)
		return 0;
	st->closed = 1;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	if (st->owed)
		nghttp2_session_consume_connection(ng, (size_t)st->owed);
	st->owed = 0;
	/* A stream the client reset (or that failed) before its response was done:
	 * the owner drops its request, as for an HTTP/1.1 client that went away. */
	owner = st->owner;
	st->owner = NULL;
	if (owner && !s->aborted)
		s->ops->reset(owner);
	stream_free(st);
	return 0;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f, int err, void *user)
{
	struct h2_session *s = user;

	(void)ng;
	(void)f;
	s->why = nghttp2_strerror(err);
	return 0;
}

/* ---- the session ------------------------------------------------------------------ */

int router__h2_session_new(struct h2_session **out, const struct h2_limits *lim,
			   const struct h2_ops *ops, void *data)
{
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct h2_session *s = calloc(1, sizeof(*s));
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)lim->max_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (uint32_t)lim->stream_window },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)lim->max_header_bytes },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	int ret = -1;

	*out = NULL;
	if (!s || nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0) {
		err_set("out of memory");
		goto out;
	}
	s->ops = ops;
	s->data = data;
	s->lim = *lim;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	/* Flow control follows what the app takes: a window is given back only once
	 * its bytes went on (router__h2_read), so a slow app slows its client. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* HTTP messaging checks stay on (pseudo-headers, field names and values,
	 * content-length against DATA): never nghttp2_option_set_no_http_messaging(). */
	nghttp2_option_set_max_continuations(opt, lim->max_continuations);
	nghttp2_option_set_stream_reset_rate_limit(opt, lim->reset_burst, lim->reset_rate);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	if (nghttp2_session_server_new2(&s->ng, cb, s, opt) != 0) {
		err_set("out of memory");
		goto out;
	}
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)lim->conn_window)) {
		err_set("cannot set up the HTTP/2 session");
		goto out;
	}
	*out = s;
	s = NULL;
	ret = 0;
out:
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	router__h2_session_free(s);
	return ret;
}

int router__h2_recv(struct h2_session *s, const char *data, size_t len)
{
	ssize_t n;

	s->busy = 1;
	n = nghttp2_session_mem_recv(s->ng, (const uint8_t *)data, len);
	s->busy = 0;
	if (n < 0) {
		s->why = nghttp2_strerror((int)n);
		return -1;
	}
	return 0;
}

int router__h2_busy(const struct h2_session *s)
{
	return s->busy;
}

int router__h2_send(struct h2_session *s, struct buf *out, size_t max)
{
	const uint8_t *p;
	ssize_t n;

	while (out->len < max) {
		if ((n = nghttp2_session_mem_send(s->ng, &p)) < 0) {
			s->why = nghttp2_strerror((int)n);
			return -1;
		}
		if (!n)
			break;
		if (buf_add(out, (const char *)p, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

int router__h2_alive(const struct h2_session *s)
{
	return nghttp2_session_want_read(s->ng) || nghttp2_session_want_write(s->ng);
}

size_t router__h2_streams(const struct h2_session *s)
{
	const struct h2_stream *st;
	size_t n = 0;

	for (st = s->streams; st; st = st->next)
		n += st->started;
	return n;
}

const char *router__h2_why(const struct h2_session *s)
{
	return s->why ? s->why : "";
}

void router__h2_shutdown(struct h2_session *s)
{
	if (s->goaway)
		return;
	s->goaway = 1;
	nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(s->ng), NGHTTP2_NO_ERROR,
			      NULL, 0);
}

void router__h2_abort(struct h2_session *s)
{
	struct h2_stream *st;

	if (!s || s->aborted)
		return;
	s->aborted = 1;
	for (st = s->streams; st; st = st->next) {
		void *owner = st->owner;

		st->owner = NULL;
		if (owner)
			s->ops->reset(owner);
	}
}

void router__h2_session_free(struct h2_session *s)
{
	if (!s)
		return;
	s->aborted = 1;
	nghttp2_session_del(s->ng); /* calls no callback */
	while (s->streams)
		stream_free(s->streams);
	free(s);
}
