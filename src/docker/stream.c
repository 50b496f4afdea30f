/* src/docker/stream.c - the pure stream parsers: JSON-lines and multiplexed
 * log frames (unit-tested and fuzzed alone). */
#include "docker/internal.h"

#include <ctype.h>
#include <string.h>

/* ---- JSON-lines splitter ------------------------------------------------------ */

static int line_done(struct docker__lines *ls, docker__line_fn *fn, void *fn_data)
{
	size_t len = ls->partial.len;
	int r;

	if (len && ls->partial.buf[len - 1] == '\r')
		buf_setlen(&ls->partial, --len);
	r = fn(ls->partial.buf, len, fn_data);
	buf_reset(&ls->partial);
	return r < 0 ? r : 0;
}

int docker__lines_feed(struct docker__lines *ls, const char *data, size_t len,
			docker__line_fn *fn, void *fn_data)
{
	size_t max = ls->max_line ? ls->max_line : DOCKER__LINE_MAX;

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		int r;

		if (seg > max || ls->partial.len > max - seg)
			return err_set("a line of the Docker stream is longer than %zu bytes", max);
		if (buf_add(&ls->partial, data, seg) < 0)
			return -1;
		if (!nl)
			break;
		if ((r = line_done(ls, fn, fn_data)) < 0)
			return r;
		data += seg + 1;
		len -= seg + 1;
	}
	return 0;
}

int docker__lines_finish(struct docker__lines *ls, docker__line_fn *fn, void *fn_data)
{
	if (!ls->partial.len)
		return 0;
	return line_done(ls, fn, fn_data);
}

void docker__lines_release(struct docker__lines *ls)
{
	buf_release(&ls->partial);
}

int docker__json_line(const char *line, size_t len, docker_json_fn *fn, void *fn_data)
{
	json_error_t jerr;
	json_t *obj;
	size_t i;
	int r;

	for (i = 0; i < len && isspace((unsigned char)line[i]); i++)
		;
	if (i == len)
		return 0;
	obj = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (!obj)
		return err_set("Docker sent a stream line that is not JSON: %s", jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return err_set("Docker sent a stream line that is not a JSON object");
	}
	r = fn ? fn(obj, fn_data) : 0;
	json_decref(obj);
	return r < 0 ? r : 0;
}

/* ---- multiplexed log frames ------------------------------------------------- */

int docker__demux_feed(struct docker__demux *dm, const char *data, size_t len,
			docker_output_fn *fn, void *fn_data)
{
	while (len) {
		size_t take;
		int r;

		if (dm->hdr_len < sizeof(dm->hdr)) {
			take = sizeof(dm->hdr) - dm->hdr_len;
			if (take > len)
				take = len;
			memcpy(dm->hdr + dm->hdr_len, data, take);
			dm->hdr_len += take;
			data += take;
			len -= take;
			if (dm->hdr_len < sizeof(dm->hdr))
				break;
			switch (dm->hdr[0]) {
			case 0: case 1: dm->stream = 1; break;
			case 2: case 3: dm->stream = 2; break;
			default:
				return err_set("bad log frame from Docker (stream byte %u)",
					       dm->hdr[0]);
			}
			dm->remaining = ((size_t)dm->hdr[4] << 24) | ((size_t)dm->hdr[5] << 16) |
					((size_t)dm->hdr[6] << 8) | (size_t)dm->hdr[7];
			if (!dm->remaining)
				dm->hdr_len = 0;
			continue;
		}
		take = dm->remaining < len ? dm->remaining : len;
		if ((r = fn(dm->stream, data, take, fn_data)) < 0)
			return r;
		dm->remaining -= take;
		data += take;
		len -= take;
		if (!dm->remaining)
			dm->hdr_len = 0;
	}
	return 0;
}

int docker__demux_idle(const struct docker__demux *dm)
{
	return dm->hdr_len == 0;
}