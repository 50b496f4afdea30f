/* fuzz_docker_push.c - the push progress stream (JSON from dockerd, relaying a registry):
 * the parser must never crash, must reach the same verdict however the input is split,
 * and a digest it returns is always "sha256:" and 64 hex digits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"

static int run(const char *data, size_t size, size_t cut, struct buf *digest)
{
	struct docker__push p = DOCKER__PUSH_INIT;
	int ret;

	p.lines.max_line = 4096;
	ret = docker__push_feed(&p, data, cut);
	if (ret == 0)
		ret = docker__push_feed(&p, data + cut, size - cut);
	if (ret == 0)
		ret = docker__push_finish(&p, digest);
	docker__push_release(&p);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t cut = size ? data[0] % (size + 1) : 0;
	int ra = run((const char *)data, size, size, &a);
	int rb = run((const char *)data, size, cut, &b);

	if (ra != rb || a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0))
		abort();
	if (ra == 0 && (a.len != 71 || strncmp(a.buf, "sha256:", 7) != 0 ||
			strspn(a.buf + 7, "0123456789abcdef") != 64))
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
