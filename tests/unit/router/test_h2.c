/* test_h2.c - HTTP/2 requests as HTTP/1.1 heads (what is refused, what is joined), and the
 * session ticket keys (rotation, the takeover wire format). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "router/internal.h"

struct field {
	const char *name, *value;
};

/* Adds fields to a fresh request; returns the first refusal or 0. */
static int build(struct h2_req *q, const struct field *f, size_t max)
{
	int rc = 0;

	router__h2_req_init(q, max ? max : 16384);
	for (; f->name; f++)
		if ((rc = router__h2_req_add(q, f->name, strlen(f->name), f->value,
					     strlen(f->value))) != 0)
			break;
	return rc;
}

#define BASE                                                               \
	{ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/a?b" }, \
	{                                                                  \
		":authority", "x.example.com"                              \
	}

static void test_h2_head_as_http11(void **state)
{
	const struct field f[] = { BASE,
				   { "accept", "*/*" },
				   { "cookie", "a=1" },
				   { "cookie", "b=2" },
				   { "te", "trailers" },
				   { NULL, NULL } };
	struct h2_req q;
	struct buf out = BUF_INIT;
	struct http_head h;
	llhttp_t p;
	int chunked;
	(void)state;

	assert_int_equal(build(&q, f, 0), 0);
	assert_int_equal(router__h2_req_head(&out, &q, 1, &chunked), 0);
	assert_false(chunked);
	assert_string_equal(out.buf, "GET /a?b HTTP/1.1\r\nHost: x.example.com\r\naccept: */*\r\n"
				     "Cookie: a=1; b=2\r\n\r\n");
	memset(&h, 0, sizeof(h));
	assert_int_equal(router__head_parse(&p, &h, out.buf, out.len), (int)out.len);
	router__h2_req_release(&q);
	buf_release(&out);
}

static void test_h2_body_framing(void **state)
{
	const struct field post[] = { BASE, { NULL, NULL } };
	const struct field cl[] = { BASE, { "content-length", "5" }, { NULL, NULL } };
	struct h2_req q;
	struct buf out = BUF_INIT;
	int chunked;
	(void)state;

	/* A body without content-length goes chunked; with one, as it is. */
	assert_int_equal(build(&q, post, 0), 0);
	assert_int_equal(router__h2_req_head(&out, &q, 0, &chunked), 0);
	assert_true(chunked);
	assert_non_null(strstr(out.buf, "Transfer-Encoding: chunked\r\n"));
	router__h2_req_release(&q);
	buf_reset(&out);
	assert_int_equal(build(&q, cl, 0), 0);
	assert_int_equal(router__h2_req_head(&out, &q, 0, &chunked), 0);
	assert_false(chunked);
	assert_null(strstr(out.buf, "Transfer-Encoding"));
	router__h2_req_release(&q);
	buf_release(&out);
}

static void test_h2_refused(void **state)
{
	static const struct field bad[][8] = {
		{ BASE, { "connection", "keep-alive" }, { NULL, NULL } },
		{ BASE, { "transfer-encoding", "chunked" }, { NULL, NULL } },
		{ BASE, { "keep-alive", "5" }, { NULL, NULL } },
		{ BASE, { "upgrade", "websocket" }, { NULL, NULL } },
		{ BASE, { "proxy-connection", "x" }, { NULL, NULL } },
		{ BASE, { "te", "gzip" }, { NULL, NULL } },
		{ BASE, { "X-Upper", "1" }, { NULL, NULL } },
		{ BASE, { "x-crlf", "a\r\nInjected: 1" }, { NULL, NULL } },
		{ BASE, { "content-length", "1" }, { "content-length", "2" }, { NULL, NULL } },
		{ BASE, { "host", "other.example.com" }, { NULL, NULL } },
		{ { ":method", "GET" }, { "x", "1" }, { ":path", "/" }, { NULL, NULL } },
		{ BASE, { ":path", "/again" }, { NULL, NULL } },
		{ BASE, { ":protocol", "websocket" }, { NULL, NULL } },
	};
	static const struct field connect[] = { { ":method", "CONNECT" },
						{ ":authority", "x:443" },
						{ NULL, NULL } };
	struct h2_req q;
	struct buf out = BUF_INIT;
	size_t i;
	int chunked, rc;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = build(&q, bad[i], 0);
		if (!rc)
			rc = router__h2_req_head(&out, &q, 1, &chunked);
		assert_int_equal(rc, 400);
		router__h2_req_release(&q);
		buf_reset(&out);
	}
	assert_int_equal(build(&q, connect, 0), 0);
	assert_int_equal(router__h2_req_head(&out, &q, 1, &chunked), 400);
	router__h2_req_release(&q);
	buf_release(&out);
}

static void test_h2_header_list_cap(void **state)
{
	const struct field f[] = { BASE, { NULL, NULL } };
	struct h2_req q;
	char name[32];
	int i, rc = 0;
	(void)state;

	/* 32 bytes per field count (RFC 9113 section 6.5.2): HPACK cannot smuggle more. */
	assert_int_equal(build(&q, f, 400), 0);
	for (i = 0; i < 20 && !rc; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		rc = router__h2_req_add(&q, name, strlen(name), "", 0);
	}
	assert_int_equal(rc, 431);
	assert_true(q.bytes > 400);
	router__h2_req_release(&q);
	/* And no more than ROUTER_MAX_HEADERS fields. */
	assert_int_equal(build(&q, f, 1 << 20), 0);
	for (i = 0, rc = 0; i < ROUTER_MAX_HEADERS + 1 && !rc; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		rc = router__h2_req_add(&q, name, strlen(name), "v", 1);
	}
	assert_int_equal(rc, 431);
	router__h2_req_release(&q);
}

static void test_ticket_keys_rotate_and_travel(void **state)
{
	struct router a, b;
	struct buf wire = BUF_INIT;
	unsigned char first[16];
	(void)state;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(router__tls_tickets_rotate(&a, 1000), 0);
	assert_int_equal(a.ntickets, 1);
	memcpy(first, a.tickets[0].name, 16);
	/* Not yet due: the same key. */
	assert_int_equal(router__tls_tickets_rotate(&a, 1000 + ROUTER_TICKET_ROTATE_S - 1), 0);
	assert_memory_equal(a.tickets[0].name, first, 16);
	/* Due: a new key seals, the old one still opens. */
	assert_int_equal(router__tls_tickets_rotate(&a, 1000 + ROUTER_TICKET_ROTATE_S), 0);
	assert_int_equal(a.ntickets, 2);
	assert_memory_not_equal(a.tickets[0].name, first, 16);
	assert_memory_equal(a.tickets[1].name, first, 16);
	/* A third: the first is gone. */
	assert_int_equal(router__tls_tickets_rotate(&a, 1000 + 2 * ROUTER_TICKET_ROTATE_S), 0);
	assert_int_equal(a.ntickets, 2);
	assert_memory_not_equal(a.tickets[1].name, first, 16);
	/* The takeover's format carries both keys and their age. */
	assert_int_equal(router__tls_tickets_export(&a, &wire), 0);
	assert_int_equal(wire.len, 2 + 2 * 88);
	assert_true(wire.len <= ROUTER_TICKET_WIRE_MAX);
	assert_int_equal(router__tls_tickets_import(&b, wire.buf, wire.len), 0);
	assert_int_equal(b.ntickets, 2);
	assert_memory_equal(b.tickets, a.tickets, sizeof(a.tickets));
	/* A truncated or padded one is refused and changes nothing. */
	b.ntickets = 0;
	assert_int_equal(router__tls_tickets_import(&b, wire.buf, wire.len - 1), -1);
	assert_int_equal(router__tls_tickets_import(&b, wire.buf, 1), -1);
	wire.buf[1] = 3;
	assert_int_equal(router__tls_tickets_import(&b, wire.buf, wire.len), -1);
	assert_int_equal(b.ntickets, 0);
	buf_release(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h2_head_as_http11),
		cmocka_unit_test(test_h2_body_framing),
		cmocka_unit_test(test_h2_refused),
		cmocka_unit_test(test_h2_header_list_cap),
		cmocka_unit_test(test_ticket_keys_rotate_and_travel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
