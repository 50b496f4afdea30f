/* src/build/dockerfile.c - the dockerfile builder: tar the tree, POST /build, stream
 * the builder's output to the pusher line by line. */
#include "build/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A line of build output longer than this is printed in pieces. */
#define OUTPUT_LINE_MAX 65536

struct output {
	struct buf line; /* output not yet ended by a newline */
};

/* Prints every complete line of out->line and keeps the unfinished rest: the
 * builder may split one line over several stream objects. */
static void output_flush(struct output *out, int all)
{
	size_t i, start = 0;

	for (i = 0; i < out->line.len; i++) {
		if (out->line.buf[i] != '\n' && out->line.buf[i] != '\r')
			continue;
		if (i > start)
			say_detail("%.*s", (int)(i - start), out->line.buf + start);
		start = i + 1;
	}
	if (all || out->line.len - start > OUTPUT_LINE_MAX) {
		if (out->line.len > start)
			say_detail("%.*s", (int)(out->line.len - start), out->line.buf + start);
		start = out->line.len;
	}
	buf_remove_front(&out->line, start);
}

/* Appends s without ANSI escape sequences: the legacy builder colours a RUN's
 * stderr red, and the codes would otherwise straddle the lines we print. */
static int add_plain(struct buf *b, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\x1b");
		if (buf_add(b, s, n) < 0)
			return -1;
		s += n;
		if (!*s)
			break;
		s++;             /* ESC */
		if (*s == '[') { /* CSI: parameters, then one final byte */
			s++;
			while (*s && (*s < 0x40 || *s > 0x7e))
				s++;
			if (*s)
				s++;
		}
	}
	return 0;
}

static int on_build_object(const json_t *obj, void *data)
{
	struct output *out = data;
	const char *s = json_str(obj, "stream", NULL);

	if (s) {
		if (add_plain(&out->line, s) < 0)
			return -1;
		output_flush(out, 0);
		return 0;
	}
	/* "status" objects come from pulls, which wharf never makes; show them
	 * anyway rather than hide what the daemon does. */
	if ((s = json_str(obj, "status", NULL))) {
		const char *id = json_str(obj, "id", NULL);
		output_flush(out, 1);
		if (id)
			say_detail("%s: %s", id, s);
		else
			say_detail("%s", s);
	}
	return 0;
}

/* An unnamed temporary file: the context is rewindable (a retry after version
 * renegotiation) and its length known (no chunked upload). */
static int context_file(void)
{
	const char *dir = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* O_TMPFILE is not supported by every filesystem. */
	if (buf_addf(&path, "%s/wharf-context-XXXXXX", dir) < 0)
		return -1;
	fd = mkostemp(path.buf, O_CLOEXEC);
	if (fd < 0)
		err_set_errno("cannot create a temporary file in '%s'", dir);
	else
		unlink(path.buf);
	buf_release(&path);
	return fd;
}

int build_dockerfile(struct docker *d, const char *dir, const char *tag, const json_t *labels,
		     struct buf *image_id)
{
	struct output out = { .line = BUF_INIT };
	struct buf query = BUF_INIT;
	char *labels_json = NULL;
	int fd = -1, ret = -1;

	buf_reset(image_id);
	if (!tag || !*tag)
		return err_set("a build needs an image tag");
	/* Checked here as well as by the caller, so that no path through wharf can
	 * make dockerd try to pull a base image. */
	if (build_check_base_images(d, dir) < 0)
		goto out;
	if ((fd = context_file()) < 0)
		goto out;
	if (build_tar_dir(dir, fd) < 0)
		goto out;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		err_set_errno("cannot rewind the build context");
		goto out;
	}
	if (buf_addstr(&query, "t=") < 0 || docker_urlencode(&query, tag) < 0)
		goto out;
	if (labels) {
		if (!(labels_json = json_dumps(labels, JSON_COMPACT))) {
			err_set("cannot serialise the image labels");
			goto out;
		}
		if (buf_addstr(&query, "&labels=") < 0 || docker_urlencode(&query, labels_json) < 0)
			goto out;
	}
	ret = docker_build(d, fd, query.buf, on_build_object, &out, image_id);
	output_flush(&out, 1);
out:
	if (fd >= 0)
		close(fd);
	free(labels_json);
	buf_release(&query);
	buf_release(&out.line);
	return ret;
}
