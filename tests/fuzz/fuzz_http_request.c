/* fuzz_http_request.c - feeds bytes from a client through the router's request path:
 * head parsing, Host, the upstream rewrite, and body framing up to the message end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct http_head h;
	struct buf out = BUF_INIT;
	struct router_fwd fwd = { .client_ip = "127.0.0.1",
				  .proto = "http",
				  .port = 80,
				  .start_ms = 1,
				  .request_id = "generated" };
	unsigned long long payload = 0;
	char host[256];
	llhttp_t p;
	int n, done;
	long m;

	if (size > 65536)
		return -1;
	memset(&h, 0, sizeof(h));
	h.max_url = size & 8 ? 64 : 8192; /* the 414 path, often enough */
	n = router__head_parse(&p, &h, in, size);
	if (n < 0 && h.error_status != 400 && h.error_status != 405 && h.error_status != 414 &&
	    h.error_status != 431)
		abort();
	if (n <= 0)
		return 0;
	if (h.url.len > h.max_url)
		abort();
	if ((size_t)n > size || h.nhdr > ROUTER_MAX_HEADERS)
		abort();
	(void)router__head_host(host, sizeof(host), &h, in);
	(void)router__target_host(host, sizeof(host), in + h.url.off, h.url.len);
	/* What the router refuses never comes out as a head: no folded line (a value with
	 * a CR or LF), no Transfer-Encoding but one "chunked", none in HTTP/1.0. */
	{
		size_t i, nte = 0;

		for (i = 0; i < h.nhdr; i++) {
			const char *v = in + h.hdr[i].value.off;

			if (memchr(v, '\r', h.hdr[i].value.len) ||
			    memchr(v, '\n', h.hdr[i].value.len))
				abort();
			nte += h.hdr[i].kind == HDR_TRANSFER_ENCODING;
		}
		if (nte > 1 || (nte && (!h.chunked || h.http_minor == 0)))
			abort();
	}
	if (router__request_rewrite(&out, &h, in, &fwd) == 0 &&
	    (out.len < 4 || memcmp(out.buf + out.len - 4, "\r\n\r\n", 4)))
		abort();
	if (strlen(fwd.request_id) > ROUTER_REQUEST_ID_MAX || strpbrk(fwd.request_id, " \r\n\""))
		abort();
	llhttp_resume(&p);
	/* What the body limit counts is payload: never more than the bytes consumed,
	 * and all of them for a Content-Length body. */
	m = router__body_feed_counted(&p, in + n, size - (size_t)n, &done, &payload);
	if (m > (long)(size - (size_t)n) || (m >= 0 && payload > (unsigned long long)m) ||
	    (m >= 0 && !h.chunked && payload != (unsigned long long)m))
		abort();
	/* The same bytes as a response head, as an upstream could send them. */
	buf_reset(&out);
	memset(&h, 0, sizeof(h));
	h.is_response = 1;
	h.skip_body = size & 1;
	if (router__head_parse(&p, &h, in, size) > 0)
		(void)router__response_rewrite(&out, &h, in, size & 2, size & 4);
	buf_release(&out);
	return 0;
}
