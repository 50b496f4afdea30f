/* fuzz_h2_frames.c - feeds bytes from an HTTP/2 client (after its preface, which is added
 * here) through the router's h2 input path: nghttp2 with the router's settings and limits,
 * the request fields turned into an HTTP/1.1 head, DATA framed as the body, resets, and
 * responses (the router's own pages and upstream heads) going back out. Every head the
 * h2 side hands over must be one whole, valid HTTP/1.1 request head for the h1 parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

struct owner {
	struct h2_stream *st;
	int answered;
	struct owner *next;
};

static struct owner *owners;
static unsigned salt;

static void forget(struct owner *o)
{
	struct owner **p;

	for (p = &owners; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			break;
		}
	free(o);
}

/* Answers as the proxy does: a response head from an "upstream" and its body, or the
 * router's own page; sometimes only after the body, sometimes never (a reset). */
static void answer(struct owner *o)
{
	static const char res[] =
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Connection: x-drop\r\nX-Drop: 1\r\nTransfer-Encoding: chunked\r\n"
		"Set-Cookie: a=1\r\n\r\n";
	struct http_head h;
	llhttp_t p;

	o->answered = 1;
	switch (salt++ % 4) {
	case 0:
		memset(&h, 0, sizeof(h));
		h.is_response = 1;
		if (router__head_parse(&p, &h, res, sizeof(res) - 1) <= 0)
			abort();
		if (router__h2_respond_head(o->st, &h, res, 1) == 0) {
			(void)router__h2_write(o->st, "hello", 5);
			router__h2_end(o->st);
		} else {
			router__h2_reset(o->st);
		}
		break;
	case 1:
		if (router__h2_respond(o->st, 301, "Location: https://x/\r\n", "text/plain",
				       "moved\n", 6) < 0)
			router__h2_reset(o->st);
		break;
	case 2:
		router__h2_reset(o->st);
		break;
	default:
		if (router__h2_respond(o->st, 404, "", "text/plain", "no\n", 3) < 0)
			router__h2_reset(o->st);
		break;
	}
	forget(o);
}

static void on_request(void *data, struct h2_stream *st, const char *head, size_t len, int refuse)
{
	struct owner *o;
	struct http_head h;
	llhttp_t p;
	int n;

	(void)data;
	if (refuse) {
		if (refuse != 400 && refuse != 431)
			abort();
		if (router__h2_respond(st, refuse, "", "text/plain", "refused\n", 8) < 0)
			router__h2_reset(st);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.max_url = 8192;
	n = router__head_parse(&p, &h, head, len);
	if (n == 0 || (n > 0 && (size_t)n != len))
		abort(); /* a head is always whole, and nothing follows it */
	if (n > 0) {
		char host[256];

		/* A malformed host is the proxy's 400, as for HTTP/1.1; an upgrade never
		 * comes through (no Connection, no Upgrade). */
		(void)router__head_host(host, sizeof(host), &h, head);
		if (h.upgrade)
			abort();
	}
	if (!(o = calloc(1, sizeof(*o)))) {
		router__h2_reset(st);
		return;
	}
	o->st = st;
	o->next = owners;
	owners = o;
	router__h2_set_owner(st, o);
	if (n < 0 || salt % 3 == 0)
		answer(o);
}

static void on_body(void *owner)
{
	struct owner *o = owner;
	struct buf body = BUF_INIT;
	int eof = 0;

	(void)router__h2_read(o->st, &body, 4096, &eof);
	buf_release(&body);
	if (eof && !o->answered)
		answer(o);
}

static void on_reset(void *owner)
{
	forget(owner);
}

static void on_drained(void *owner)
{
	(void)owner;
}

static const struct h2_ops ops = { on_request, on_body, on_reset, on_drained };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct h2_limits lim = H2_LIMITS_INIT;
	struct h2_session *s = NULL;
	struct buf out = BUF_INIT;
	size_t off = 0, step;

	if (size > 1 << 20)
		return -1;
	lim.max_streams = 16;
	salt = size;
	if (router__h2_session_new(&s, &lim, &ops, NULL) < 0)
		abort();
	if (router__h2_recv(s, preface, sizeof(preface) - 1) < 0)
		abort();
	/* In pieces of varying size, as reads split them, with output drained between. */
	while (off < size) {
		step = 1 + (data[off] % 64) * 37;
		if (step > size - off)
			step = size - off;
		if (router__h2_recv(s, (const char *)data + off, step) < 0)
			break;
		buf_reset(&out);
		if (router__h2_send(s, &out, 1 << 20) < 0)
			break;
		off += step;
	}
	buf_reset(&out);
	(void)router__h2_send(s, &out, 1 << 20);
	router__h2_abort(s);
	router__h2_session_free(s);
	while (owners)
		forget(owners);
	buf_release(&out);
	return 0;
}
