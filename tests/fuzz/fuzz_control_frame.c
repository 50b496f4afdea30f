/* fuzz_control_frame.c - the control socket's request framing on arbitrary bytes: the head,
 * Content-Length body framing (fed whole, and in two pieces as reads deliver it), and the
 * split of the request target into endpoint, app and action. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

/* Frames in[0..len) as reads of split bytes then the rest would; the final result. */
static int frame(struct control_frame *f, const char *in, size_t len, size_t split, int *status)
{
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (split < len && (rc = router__control_frame(f, in, split, status)) != 0)
		return rc;
	return router__control_frame(f, in, len, status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct control_frame f, g;
	char path[256], *app, *action;
	int status = 0, status2 = 0, rc, rc2;

	if (size > 65536 + 16384)
		return -1;
	rc = frame(&f, in, size, size, &status);
	rc2 = frame(&g, in, size, size ? data[0] % size : 0, &status2);
	/* Framing depends on the bytes, not on how they arrived. */
	if (rc != rc2 || (rc < 0 && status != status2) || (rc > 0 && f.body_len != g.body_len))
		abort();
	if (rc < 0 && status != 400 && status != 411 && status != 413)
		abort();
	if (rc <= 0)
		return 0;
	if (f.head.head_len > size || f.body_len > size - f.head.head_len ||
	    f.head.url.off + f.head.url.len > f.head.head_len)
		abort();
	if (router__control_path(path, sizeof(path), in + f.head.url.off, f.head.url.len, &app,
				 &action, &status) == 0) {
		if (strchr(path, '?') || (action && !app))
			abort();
		if (app && (app < path || app >= path + sizeof(path) || valid_app_name(app) < 0))
			abort();
	} else if (status != 404 && status != 400) {
		abort();
	}
	return 0;
}
