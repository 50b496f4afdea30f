/* fuzz_docker_logs.c - the log demuxer must never crash or over-read, and must
 * give the same bytes on the same streams however the input is split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"

/* Records every payload byte tagged with its stream, so chunking does not show. */
static int collect(int stream, const char *data, size_t len, void *ud)
{
	struct buf *b = ud;
	size_t i;

	if ((stream != 1 && stream != 2) || !len)
		abort();
	for (i = 0; i < len; i++)
		if (buf_addch(b, '0' + stream) < 0 || buf_addch(b, data[i]) < 0)
			return -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker__demux whole = DOCKER__DEMUX_INIT, split = DOCKER__DEMUX_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t cut = size ? data[0] % (size + 1) : 0, i;
	int ra, rb;

	ra = docker__demux_feed(&whole, (const char *)data, size, collect, &a);
	/* Split at a place the input chooses, then feed the rest byte by byte. */
	rb = docker__demux_feed(&split, (const char *)data, cut, collect, &b);
	for (i = cut; rb == 0 && i < size; i++)
		rb = docker__demux_feed(&split, (const char *)data + i, 1, collect, &b);
	if (ra != rb)
		abort();
	if (ra == 0 && (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0 ||
			docker__demux_idle(&whole) != docker__demux_idle(&split)))
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
