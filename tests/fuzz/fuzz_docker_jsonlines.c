/* fuzz_docker_jsonlines.c - the JSON-lines splitter and per-line parser must never
 * crash, and must see the same lines however the input is split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"

static int on_object(const json_t *obj, void *data)
{
	if (!json_is_object(obj))
		abort();
	++*(size_t *)data;
	return 0;
}

static int on_line(const char *line, size_t len, void *data)
{
	struct buf *b = data;

	if (line[len] != '\0' || memchr(line, '\n', len))
		abort();
	/* A bad line is an error for the build, not for the splitter. */
	size_t objects = 0;
	docker__json_line(line, len, on_object, &objects);
	if (buf_add(b, line, len) < 0 || buf_addch(b, '\n') < 0)
		return -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker__lines whole = DOCKER__LINES_INIT, split = DOCKER__LINES_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t cut = size ? data[0] % (size + 1) : 0;
	int ra, rb;

	whole.max_line = split.max_line = 4096;
	ra = docker__lines_feed(&whole, (const char *)data, size, on_line, &a);
	if (ra == 0)
		ra = docker__lines_finish(&whole, on_line, &a);
	rb = docker__lines_feed(&split, (const char *)data, cut, on_line, &b);
	if (rb == 0)
		rb = docker__lines_feed(&split, (const char *)data + cut, size - cut, on_line, &b);
	if (rb == 0)
		rb = docker__lines_finish(&split, on_line, &b);
	if (ra != rb || (ra == 0 && (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)))
		abort();
	docker__lines_release(&whole);
	docker__lines_release(&split);
	buf_release(&a);
	buf_release(&b);
	return 0;
}
