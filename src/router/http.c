/* http.c - HTTP/1.1 heads for the router: parsing with llhttp, Host, and the rewrites
 * a reverse proxy makes. Pure functions over byte ranges, so they can be unit
 * tested and fuzzed without an event loop. */
#include "internal.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

_Static_assert(offsetof(struct http_head, nhdr) ==
		       offsetof(struct http_head, hdr) + sizeof(((struct http_head *)0)->hdr),
	       "router__head_parse() clears what is before hdr and from nhdr on");

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int span_add(struct http_head *h, struct http_span *s, const char *at, size_t len)
{
	size_t off = (size_t)(at - h->base);

	/* llhttp hands a span over in pieces only when it crosses the end of one
	 * execute() call; we parse a head in one call, but stay correct anyway. */
	if (s->len == 0)
		s->off = off;
	s->len = off + len - s->off;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (!h->base)
		return 0;
	span_add(h, &h->url, at, len);
	/* llhttp also reports the part of a target seen so far when the bytes end
	 * inside it, so a client is refused once it has sent too much of one, not
	 * only when (if ever) its head is complete. */
	if (h->max_url && h->url.len > h->max_url) {
		h->error_status = 414;
		return -1;
	}
	return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
	struct http_head *h = p->data;
	return h->base ? span_add(h, &h->reason, at, len) : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (!h->base)
		return 0; /* trailers of a chunked body: not forwarded separately */
	if (!h->field_open) {
		if (h->nhdr >= ROUTER_MAX_HEADERS) {
			h->error_status = 431;
			return -1;
		}
		memset(&h->hdr[h->nhdr], 0, sizeof(h->hdr[0]));
		h->field_open = 1;
	}
	return span_add(h, &h->hdr[h->nhdr].name, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	if (!h->base || !h->field_open)
		return 0;
	return span_add(h, &h->hdr[h->nhdr].value, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct http_head *h = p->data;

	if (h->base && h->field_open) {
		struct http_header *hd = &h->hdr[h->nhdr];

		/* llhttp joins a line that starts with a space or tab (obs-fold) to the
		 * value before it, CRLF included. An app may read it as one value or
		 * two; RFC 9112 section 5.2 lets a server refuse it, and a request's is. */
		if (!h->is_response && (memchr(h->base + hd->value.off, '\r', hd->value.len) ||
					memchr(h->base + hd->value.off, '\n', hd->value.len))) {
			h->error_status = 400;
			h->why = "a header line folded onto the next (obs-fold)";
			return -1;
		}
		hd->kind = router__hdr_kind(h->base + hd->name.off, hd->name.len);
		h->has_connection |= hd->kind == HDR_CONNECTION;
		h->field_open = 0;
		h->nhdr++;
	}
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_head *h = p->data;

	if (!h->base)
		return 0;
	if (h->is_response && h->skip_body)
		p->flags |= F_SKIPBODY;
	h->method = p->method;
	h->status = p->status_code;
	h->http_major = p->http_major;
	h->http_minor = p->http_minor;
	h->keep_alive = llhttp_should_keep_alive(p);
	h->upgrade = p->upgrade;
	h->body_until_eof = h->is_response && llhttp_message_needs_eof(p);
	h->chunked = (p->flags & F_CHUNKED) != 0;
	h->has_body = !(p->flags & F_SKIPBODY) &&
		      ((p->flags & F_CHUNKED) || p->content_length > 0 || h->body_until_eof);
	/* Pause so that llhttp_get_error_pos() tells where the head ends. */
	return HPE_PAUSED;
}

/* Checks the bytes from at (up to feed_end) against what is left of a chunk's CRLF. */
static void chunk_crlf(struct http_head *h, const char *at)
{
	while (h->crlf_want && at < h->feed_end) {
		if (*at++ != "\r\n"[2 - h->crlf_want]) {
			h->crlf_bad = 1;
			h->crlf_want = 0;
			return;
		}
		h->crlf_want--;
	}
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_head *h = p->data;

	/* llhttp 8 skips the two bytes after a chunk's data without looking at them, so
	 * "3\r\nabcXX" would pass as a chunk. A chunk's data is done when llhttp has
	 * no more of it to read; what follows must be CRLF (RFC 9112 section 7.1). */
	if ((p->flags & F_CHUNKED) && p->content_length == 0 && h->feed_end) {
		h->crlf_want = 2;
		chunk_crlf(h, at + len);
		if (h->crlf_bad)
			return -1;
	}
	h->body_payload += len;
	if (h->body_out && buf_add(h->body_out, at, len) < 0)
		return -1;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	(void)p;
	return HPE_PAUSED; /* tells router__body_feed() where the message ends */
}

static const llhttp_settings_t settings = {
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* A request's Transfer-Encoding must be one header saying exactly "chunked" (any
 * case, spaces around it), in HTTP/1.1: with "gzip, chunked" an app that does not
 * decode gzip reads another body than the router forwards, and HTTP/1.0 has no
 * chunked encoding (RFC 9112 section 6.1). 1 if it is, else 0 with h->why set. */
static int te_strict(struct http_head *h, const char *base)
{
	size_t i, n = 0;

	if (h->http_major == 1 && h->http_minor == 0) {
		h->why = "Transfer-Encoding in an HTTP/1.0 request";
		return 0;
	}
	for (i = 0; i < h->nhdr; i++) {
		const char *v = base + h->hdr[i].value.off;
		size_t vlen = h->hdr[i].value.len;

		if (h->hdr[i].kind != HDR_TRANSFER_ENCODING)
			continue;
		trim(&v, &vlen);
		if (++n > 1 || vlen != 7 || strncasecmp(v, "chunked", 7)) {
			h->why = "Transfer-Encoding other than one \"chunked\"";
			return 0;
		}
	}
	return 1;
}

int router__head_parse(llhttp_t *p, struct http_head *h, const char *data, size_t len)
{
	int is_response = h->is_response, skip_body = h->skip_body;
	size_t max_url = h->max_url;
	llhttp_errno_t e;

	/* Everything but the header array (4 KiB; each entry is cleared as it is
	 * used): this runs for every request and every response. */
	memset(h, 0, offsetof(struct http_head, hdr));
	memset(&h->nhdr, 0, sizeof(*h) - offsetof(struct http_head, nhdr));
	h->is_response = is_response;
	h->skip_body = skip_body;
	h->max_url = max_url;
	h->base = data;
	llhttp_init(p, is_response ? HTTP_RESPONSE : HTTP_REQUEST, &settings);
	p->data = h;
	/* Upstreams are the apps we serve, and some (CGI scripts, small servers) end
	 * header lines with a bare LF; accept that from them, never from clients.
	 * add_header() drops any value that would carry a CR or LF onwards. */
	if (is_response)
		llhttp_set_lenient_headers(p, 1);
	e = llhttp_execute(p, data, len);
	if (e == HPE_OK) {
		h->base = NULL;
		return 0;
	}
	if (e == HPE_PAUSED && llhttp_get_error_pos(p) >= data) {
		h->head_len = (size_t)(llhttp_get_error_pos(p) - data);
		h->base = NULL;
		if (!is_response && (p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED)) {
			h->error_status = 400;
			return err_set("bad request: Transfer-Encoding without chunked");
		}
		if (!is_response && (p->flags & F_TRANSFER_ENCODING) && !te_strict(h, data)) {
			h->error_status = 400;
			return err_set("bad request: %s", h->why);
		}
		if (!is_response && h->method == HTTP_CONNECT) {
			h->error_status = 405;
			return err_set("CONNECT is not supported");
		}
		return h->head_len > 0 ? (int)h->head_len : -1;
	}
	h->base = NULL;
	if (h->error_status == 414)
		return err_set("request target longer than %zu bytes", h->max_url);
	if (h->why)
		return err_set("bad %s: %s", is_response ? "response" : "request", h->why);
	if (!h->error_status)
		h->error_status = 400;
	return err_set("bad %s: %s", is_response ? "response" : "request",
		       llhttp_get_error_reason(p) ? llhttp_get_error_reason(p) : "parse error");
}

long router__body_feed(llhttp_t *p, const char *data, size_t len, int *done)
{
	static const char empty[1];
	struct http_head *h = p->data;
	llhttp_errno_t e;

	*done = 0;
	if (!data)
		data = empty;
	h->feed_end = data + len;
	if (h->crlf_want) {
		chunk_crlf(h, data);
		if (h->crlf_bad)
			return err_set("bad message body: a chunk's data is not followed by CRLF");
	}
	e = llhttp_execute(p, data, len);
	h->feed_end = NULL;
	if (e == HPE_OK)
		return (long)len;
	if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
		*done = 1;
		return (long)(llhttp_get_error_pos(p) - data);
	}
	if (h->crlf_bad)
		return err_set("bad message body: a chunk's data is not followed by CRLF");
	return err_set("bad message body: %s",
		       llhttp_get_error_reason(p) ? llhttp_get_error_reason(p) : "parse error");
}

long router__body_feed_counted(llhttp_t *p, const char *data, size_t len, int *done,
			       unsigned long long *payload)
{
	struct http_head *h = p->data;
	long n;

	h->body_payload = 0;
	n = router__body_feed(p, data, len, done);
	*payload += h->body_payload;
	return n;
}

long router__body_feed_decoded(llhttp_t *p, const char *data, size_t len, int *done,
			       struct buf *out)
{
	struct http_head *h = p->data;
	long n;

	h->body_out = out;
	n = router__body_feed(p, data, len, done);
	h->body_out = NULL;
	return n;
}

enum http_hdr_kind router__hdr_kind(const char *name, size_t len)
{
#define KNOWN(s, k)                 \
	{                           \
		s, sizeof(s) - 1, k \
	}
	static const struct {
		const char *name;
		size_t len;
		enum http_hdr_kind kind;
	} known[] = {
		KNOWN("host", HDR_HOST),
		KNOWN("connection", HDR_CONNECTION),
		KNOWN("keep-alive", HDR_KEEP_ALIVE),
		KNOWN("proxy-connection", HDR_PROXY_CONNECTION),
		KNOWN("te", HDR_TE),
		KNOWN("trailer", HDR_TRAILER),
		KNOWN("upgrade", HDR_UPGRADE),
		KNOWN("content-length", HDR_CONTENT_LENGTH),
		KNOWN("transfer-encoding", HDR_TRANSFER_ENCODING),
		KNOWN("x-forwarded-for", HDR_X_FORWARDED_FOR),
		KNOWN("x-forwarded-proto", HDR_X_FORWARDED_PROTO),
		KNOWN("x-forwarded-host", HDR_X_FORWARDED_HOST),
		KNOWN("x-forwarded-port", HDR_X_FORWARDED_PORT),
		KNOWN("x-request-start", HDR_X_REQUEST_START),
		KNOWN("x-request-id", HDR_X_REQUEST_ID),
	};
#undef KNOWN
	size_t i;

	/* By length first: most names are told apart without a comparison. */
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].len == len && (name[0] | 0x20) == known[i].name[0] &&
		    strncasecmp(name, known[i].name, len) == 0)
			return known[i].kind;
	return HDR_OTHER;
}

int router__host_normalise(char *out, size_t outsz, const char *value, size_t len)
{
	size_t i, hlen;
	const char *port = NULL;

	trim(&value, &len);
	if (!len)
		return -1;
	if (value[0] == '[') {
		const char *end = memchr(value, ']', len);
		if (!end)
			return -1;
		hlen = (size_t)(end - value) + 1;
		if (hlen < len) {
			if (value[hlen] != ':')
				return -1;
			port = value + hlen + 1;
		}
	} else {
		const char *colon = memchr(value, ':', len);
		hlen = colon ? (size_t)(colon - value) : len;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		const char *p;
		for (p = port; p < value + len; p++)
			if (*p < '0' || *p > '9')
				return -1;
	}
	if (hlen && value[hlen - 1] == '.' && value[0] != '[')
		hlen--;
	if (!hlen || hlen >= outsz)
		return -1;
	for (i = 0; i < hlen; i++) {
		char c = value[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '.' || c == '_' ||
			   (value[0] == '[' && (c == '[' || c == ']' || c == ':'))))
			return -1;
		out[i] = c;
	}
	out[hlen] = '\0';
	return 0;
}

int router__head_host(char *out, size_t outsz, const struct http_head *h, const char *base)
{
	size_t i;
	int found = 0;

	for (i = 0; i < h->nhdr; i++) {
		const struct http_header *hd = &h->hdr[i];
		if (hd->kind != HDR_HOST)
			continue;
		if (found)
			return -1; /* two Host headers: a request smuggling attempt */
		if (router__host_normalise(out, outsz, base + hd->value.off, hd->value.len) < 0)
			return -1;
		found = 1;
	}
	return found;
}

int router__target_host(char *out, size_t outsz, const char *url, size_t len)
{
	const char *end = url + len, *auth, *a;
	size_t i;

	if (len == 1 && url[0] == '*')
		return 0;
	if (!len || url[0] == '/')
		return 0;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" */
	for (i = 0; i < len && ((url[i] | 0x20) >= 'a' && (url[i] | 0x20) <= 'z'); i++)
		;
	for (; i < len && ((url[i] >= '0' && url[i] <= '9') || url[i] == '+' || url[i] == '-' ||
			   url[i] == '.' || ((url[i] | 0x20) >= 'a' && (url[i] | 0x20) <= 'z'));
	     i++)
		;
	if (i == 0 || len - i < 3 || memcmp(url + i, "://", 3))
		return -1;
	auth = url + i + 3;
	for (a = auth; a < end && *a != '/' && *a != '?' && *a != '#'; a++)
		if (*a == '@')
			return -1; /* userinfo: not in an http(s) URI (RFC 9110 4.2.4) */
	if (router__host_normalise(out, outsz, auth, (size_t)(a - auth)) < 0)
		return -1;
	return 1;
}

/* 1 if name appears as a token in any Connection header value. */
static int named_by_connection(const struct http_head *h, const char *base, const char *name,
			       size_t nlen)
{
	size_t i;

	for (i = 0; i < h->nhdr; i++) {
		const char *v = base + h->hdr[i].value.off, *end;
		size_t vlen = h->hdr[i].value.len;

		if (h->hdr[i].kind != HDR_CONNECTION)
			continue;
		end = v + vlen;
		while (v < end) {
			const char *comma = memchr(v, ',', (size_t)(end - v));
			const char *tok = v;
			size_t tlen = (size_t)((comma ? comma : end) - v);

			trim(&tok, &tlen);
			if (tlen == nlen && strncasecmp(tok, name, nlen) == 0)
				return 1;
			v = comma ? comma + 1 : end;
		}
	}
	return 0;
}

/* An upgrade the proxy passes on: a request asking for one (CONNECT is refused
 * before any rewrite), or the 101 that accepts it. */
static int passes_upgrade(const struct http_head *h)
{
	return h->is_response ? h->status == 101 : h->upgrade && h->method != HTTP_CONNECT;
}

static int is_hop_by_hop(const struct http_head *h, const char *base, const struct http_header *hd)
{
	switch (hd->kind) {
	case HDR_UPGRADE:
		/* Upgrade is hop-by-hop, but a tunnel needs it at both hops. */
		return !passes_upgrade(h);
	case HDR_CONNECTION:
	case HDR_KEEP_ALIVE:
	case HDR_PROXY_CONNECTION:
	case HDR_TE:
	case HDR_TRAILER:
		return 1;
	default:
		return h->has_connection &&
		       named_by_connection(h, base, base + hd->name.off, hd->name.len);
	}
}

/* Connection may not name the framing headers away: dropping them would change
 * where the body ends between us and the upstream. */
static int is_framing(const struct http_header *hd)
{
	return hd->kind == HDR_CONTENT_LENGTH || hd->kind == HDR_TRANSFER_ENCODING ||
	       hd->kind == HDR_HOST;
}

static int add_header(struct buf *out, const char *base, const struct http_header *hd)
{
	const char *v = base + hd->value.off;
	size_t vlen = hd->value.len;

	trim(&v, &vlen);
	if (memchr(v, '\r', vlen) || memchr(v, '\n', vlen) || memchr(v, '\0', vlen))
		return 0;
	if (buf_add(out, base + hd->name.off, hd->name.len) < 0 || buf_addstr(out, ": ") < 0 ||
	    buf_add(out, v, vlen) < 0 || buf_addstr(out, "\r\n") < 0)
		return -1;
	return 0;
}

/* A client's X-Request-Id is kept only if it is 1..64 characters of a safe set,
 * so it can go into logs and other services' headers as it is. */
static int request_id_ok(const char *v, size_t len)
{
	size_t i;

	if (!len || len > ROUTER_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' ||
		      c == '='))
			return 0;
	}
	return 1;
}

/* Headers the router sets itself: a client's own values are dropped so that it
 * cannot claim a scheme, host, port, start time or (malformed) request id. */
static int router_owned(const struct http_header *hd)
{
	return hd->kind == HDR_X_FORWARDED_PROTO || hd->kind == HDR_X_FORWARDED_HOST ||
	       hd->kind == HDR_X_FORWARDED_PORT || hd->kind == HDR_X_REQUEST_START;
}

/* Appends n in decimal. The heads are built from pieces rather than with
 * buf_addf(): vfprintf was the router's largest user-space cost under load. */
static int add_uint(struct buf *out, unsigned long long n)
{
	char d[24];
	size_t i = sizeof(d);

	do
		d[--i] = (char)('0' + n % 10);
	while ((n /= 10));
	return buf_add(out, d + i, sizeof(d) - i);
}

static int add_version(struct buf *out, const struct http_head *h)
{
	char v[8] = "HTTP/1.1";

	v[5] = (char)('0' + (h->http_major % 10));
	v[7] = (char)('0' + (h->http_minor % 10));
	return buf_add(out, v, sizeof(v));
}

int router__request_rewrite(struct buf *out, const struct http_head *h, const char *base,
			    struct router_fwd *fwd)
{
	const char *host = NULL, *method = llhttp_method_name(h->method);
	size_t i, host_len = 0, nxff = 0;
	int kept_id = 0, ret = -1;

	/* Room for a typical head at once: growing from empty costs 3 reallocs. */
	if (buf_grow(out, h->head_len + 256) < 0 || buf_add(out, method, strlen(method)) < 0 ||
	    buf_addch(out, ' ') < 0 || buf_add(out, base + h->url.off, h->url.len) < 0 ||
	    buf_addch(out, ' ') < 0 || add_version(out, h) < 0 || buf_add(out, "\r\n", 2) < 0)
		goto out;
	for (i = 0; i < h->nhdr; i++) {
		const struct http_header *hd = &h->hdr[i];
		const char *v = base + hd->value.off;
		size_t vlen = hd->value.len;

		if (is_hop_by_hop(h, base, hd) && !is_framing(hd))
			continue;
		if (hd->kind == HDR_X_FORWARDED_FOR) {
			nxff++; /* joined into one at the end */
			continue;
		}
		if (router_owned(hd))
			continue;
		if (hd->kind == HDR_X_REQUEST_ID) {
			trim(&v, &vlen);
			if (kept_id || !request_id_ok(v, vlen))
				continue; /* one id, and a safe one, or ours */
			memcpy(fwd->request_id, v, vlen);
			fwd->request_id[vlen] = '\0';
			kept_id = 1;
		}
		if (hd->kind == HDR_HOST && !host) {
			host = v;
			host_len = vlen;
			trim(&host, &host_len);
		}
		if (add_header(out, base, hd) < 0)
			goto out;
	}
	if (buf_addstr(out, "X-Forwarded-For: ") < 0)
		goto out;
	for (i = 0; nxff && i < h->nhdr; i++) {
		const struct http_header *hd = &h->hdr[i];
		const char *v = base + hd->value.off;
		size_t vlen = hd->value.len;

		if (hd->kind != HDR_X_FORWARDED_FOR)
			continue;
		trim(&v, &vlen);
		if (!vlen || memchr(v, '\r', vlen) || memchr(v, '\n', vlen) ||
		    memchr(v, '\0', vlen))
			continue;
		if (buf_add(out, v, vlen) < 0 || buf_add(out, ", ", 2) < 0)
			goto out;
	}
	if (buf_addstr(out, fwd->client_ip) < 0 || buf_addstr(out, "\r\nX-Forwarded-Proto: ") < 0 ||
	    buf_addstr(out, fwd->proto) < 0 || buf_add(out, "\r\n", 2) < 0)
		goto out;
	if (host && (buf_addstr(out, "X-Forwarded-Host: ") < 0 ||
		     buf_add(out, host, host_len) < 0 || buf_add(out, "\r\n", 2) < 0))
		goto out;
	if (fwd->port && (buf_addstr(out, "X-Forwarded-Port: ") < 0 ||
			  add_uint(out, fwd->port) < 0 || buf_add(out, "\r\n", 2) < 0))
		goto out;
	if (!kept_id && fwd->request_id[0] &&
	    (buf_addstr(out, "X-Request-Id: ") < 0 || buf_addstr(out, fwd->request_id) < 0 ||
	     buf_add(out, "\r\n", 2) < 0))
		goto out;
	if (fwd->start_ms && (buf_addstr(out, "X-Request-Start: t=") < 0 ||
			      add_uint(out, fwd->start_ms) < 0 || buf_add(out, "\r\n", 2) < 0))
		goto out;
	if (passes_upgrade(h) && buf_addstr(out, "Connection: upgrade\r\n") < 0)
		goto out;
	if (buf_addstr(out, "\r\n") < 0)
		goto out;
	ret = 0;
out:
	return ret;
}

int router__response_rewrite(struct buf *out, const struct http_head *h, const char *base,
			     int client_close, int client_http10)
{
	size_t i;

	if (buf_grow(out, h->head_len + 64) < 0 || add_version(out, h) < 0 ||
	    buf_addch(out, ' ') < 0 || add_uint(out, (unsigned)h->status) < 0 ||
	    buf_addch(out, ' ') < 0 || buf_add(out, base + h->reason.off, h->reason.len) < 0 ||
	    buf_add(out, "\r\n", 2) < 0)
		return -1;
	for (i = 0; i < h->nhdr; i++) {
		if (is_hop_by_hop(h, base, &h->hdr[i]) && !is_framing(&h->hdr[i]))
			continue;
		/* HTTP/1.0 has no chunked encoding: the body goes decoded and the
		 * connection's end delimits it (RFC 9112 section 6.1). */
		if (client_http10 && h->chunked && h->hdr[i].kind == HDR_TRANSFER_ENCODING)
			continue;
		if (add_header(out, base, &h->hdr[i]) < 0)
			return -1;
	}
	if (passes_upgrade(h))
		return buf_addstr(out, "Connection: upgrade\r\n\r\n");
	if (client_close && buf_addstr(out, "Connection: close\r\n") < 0)
		return -1;
	if (!client_close && client_http10 && buf_addstr(out, "Connection: keep-alive\r\n") < 0)
		return -1;
	return buf_addstr(out, "\r\n");
}
