/* src/build/dockerfile.c - the dockerfile builder: tar the tree, POST /build, stream
 * the builder's output to the pusher line by line. */
#include "build/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* dockerd's warning for a build step on a bridge network of a host that does not
 * forward IPv4 (see on_build_object()). */
#define FORWARDING_WARNING "[Warning] IPv4 forwarding is disabled. Networking will not work."

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

/* add_plain() of the first n bytes of s. */
static int add_plain_n(struct buf *b, const char *s, size_t n)
{
	char *copy = strndup(s, n);
	int ret = copy ? add_plain(b, copy) : err_set("out of memory");

	free(copy);
	return ret;
}

static int on_build_object(const json_t *obj, void *data)
{
	struct output *out = data;
	const char *s = json_str(obj, "stream", NULL);

	if (s) {
		/* dockerd says this of every step on a bridge network when the host does
		 * not forward; an app's internal network needs no forwarding, and a host
		 * that does not forward is what keeps app networks apart (docs/security.md). */
		const char *w = strstr(s, FORWARDING_WARNING), *start;
		if (w) {
			/* The whole line goes (" ---> [Warning] …\n"). */
			for (start = w; start > s && start[-1] != '\n'; start--)
				;
			if (add_plain_n(&out->line, s, (size_t)(start - s)) < 0)
				return -1;
			s = w + strlen(FORWARDING_WARNING);
			s += strcspn(s, "\n");
			s += *s == '\n';
		}
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

/* The build args every build gets: the egress proxy's address under the names
 * curl, apt, npm, pip and git read. Docker predefines them (a Dockerfile need not
 * declare them) and keeps them out of the image's history. */
static int proxy_args(struct buf *query, const char *url)
{
	json_t *args =
		json_pack("{s:s,s:s,s:s,s:s,s:s}", "HTTPS_PROXY", url, "https_proxy", url,
			  "HTTP_PROXY", url, "http_proxy", url, "NO_PROXY", "localhost,127.0.0.1");
	char *text = args ? json_dumps(args, JSON_COMPACT) : NULL;
	int ret = -1;

	if (!text)
		err_set("out of memory");
	else if (buf_addstr(query, "&buildargs=") == 0 && docker_urlencode(query, text) == 0)
		ret = 0;
	free(text);
	json_decref(args);
	return ret;
}

int build_dockerfile(struct docker *d, const char *dir, const char *tag, const json_t *labels,
		     const struct build_df_opts *o, struct buf *image_id)
{
	struct output out = { .line = BUF_INIT };
	struct buf query = BUF_INIT, limit_from = BUF_INIT;
	struct build_proxy *proxy = NULL;
	char *labels_json = NULL;
	long limit;
	double t0 = clock_now_s();
	int fd = -1, ret = -1;

	buf_reset(image_id);
	if (!tag || !*tag)
		return err_set("a build needs an image tag");
	if (build_timeout(o->config, &limit, &limit_from) < 0)
		goto out;
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
	/* RUN steps run on the app's network, never the host's: what they fetch goes
	 * through the egress proxy. Without a network, on none. */
	if (buf_addstr(&query, "&networkmode=") < 0 ||
	    docker_urlencode(&query, o->network ? o->network : "none") < 0)
		goto out;
	if (o->network && o->gateway) {
		if (build_proxy_start(&proxy, o->gateway) < 0 ||
		    proxy_args(&query, build_proxy_url(proxy)) < 0)
			goto out;
		say_detail(
			"egress through wharf's proxy at %s (https and http to public addresses)",
			build_proxy_url(proxy));
	}
	ret = docker_build(d, fd, query.buf, limit, on_build_object, &out, image_id);
	output_flush(&out, 1);
	if (ret < 0 && clock_now_s() - t0 >= (double)limit - 1)
		err_set("the build took longer than %ld s (%s) and was stopped; set the app's "
			"WHARF_BUILD_TIMEOUT config var (seconds, or 30m, 2h) to allow more",
			limit, limit_from.buf);
	if (ret == 0 && build_check_image_size(d, image_id->buf, o->config) < 0) {
		buf_reset(image_id);
		ret = -1;
	}
out:
	build_proxy_stop(proxy);
	if (fd >= 0)
		close(fd);
	free(labels_json);
	buf_release(&query);
	buf_release(&limit_from);
	buf_release(&out.line);
	return ret;
}
