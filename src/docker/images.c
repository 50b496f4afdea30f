/* src/docker/images.c - images: inspect, tag, list, remove, push (POST /images/{name}/push
 * with its progress stream), and builds (POST /build with its JSON-lines stream). */
#include "docker/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- images ------------------------------------------------------------------- */

static int image_path(struct buf *p, const char *ref, const char *suffix)
{
	size_t n = ref ? strlen(ref) : 0;

	if (!n)
		return err_set("empty image reference");
	/* Docker's reference grammar in spirit: the name becomes part of a URL path,
	 * so "..", a leading '/' or odd characters could reach another endpoint. */
	if (n > 255 ||
	    strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-") !=
		    n ||
	    strstr(ref, "..") || strstr(ref, "//") || ref[0] == '/' || ref[0] == '.' ||
	    ref[0] == '-')
		return err_set("'%.80s' is not a valid image reference", ref);
	if (buf_addstr(p, "/images/") < 0 || docker_pathencode(p, ref) < 0)
		return -1;
	return buf_addstr(p, suffix);
}

int docker_image_exists(struct docker *d, const char *ref, int *exists)
{
	struct buf p = BUF_INIT;
	long status = 0;
	int ret = -1;

	*exists = 0;
	if (image_path(&p, ref, "/json") < 0)
		goto out;
	if (docker__call_allowing(d, "GET", p.buf, 404, &status) < 0)
		goto out;
	*exists = status != 404;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_image_inspect(struct docker *d, const char *ref, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (image_path(&p, ref, "/json") < 0)
		goto out;
	ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
out:
	buf_release(&p);
	return ret;
}

/* A missing image counts as removed: image GC runs again after partial failures. */
int docker_image_remove(struct docker *d, const char *ref, int force)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (image_path(&p, ref, force ? "?force=1" : "") < 0)
		goto out;
	if (docker__call_allowing(d, "DELETE", p.buf, 404, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_image_tag(struct docker *d, const char *ref, const char *repo, const char *tag)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (image_path(&p, ref, "/tag?repo=") < 0 || docker_urlencode(&p, repo) < 0 ||
	    buf_addstr(&p, "&tag=") < 0 || docker_urlencode(&p, tag) < 0)
		goto out;
	ret = docker_call(d, "POST", p.buf, NULL, NULL, NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_image_list(struct docker *d, const char **labels, int dangling, json_t **out)
{
	json_t *filters = json_object();
	int ret = -1;

	*out = NULL;
	if (!filters ||
	    (dangling && json_object_set_new(filters, "dangling", json_pack("[s]", "true")) < 0) ||
	    (labels && labels[0] &&
	     json_object_set_new(filters, "label", docker__string_array(labels)) < 0)) {
		err_set("cannot build the image filter (bad label)");
		goto out;
	}
	ret = docker__list(d, "/images/json", filters, "image", out);
out:
	json_decref(filters);
	return ret;
}

/* ---- push --------------------------------------------------------------------- */

/* The first error message of a stream object ({"error": …} or errorDetail.message). */
static const char *stream_error(const json_t *obj)
{
	const char *s = json_str(obj, "error", NULL);

	if (!s)
		s = json_str(json_object_get(obj, "errorDetail"), "message", NULL);
	return s;
}

static void keep_error(struct buf *error, const char *s, const char *fallback)
{
	if (!s || error->len)
		return;
	buf_addstr(error, *s ? s : fallback);
	while (error->len && isspace((unsigned char)error->buf[error->len - 1]))
		buf_setlen(error, error->len - 1);
}

static int is_digest(const char *s)
{
	return s && strncmp(s, "sha256:", 7) == 0 && strlen(s + 7) == 64 &&
	       strspn(s + 7, "0123456789abcdef") == 64;
}

static int push_obj(const json_t *obj, void *ud)
{
	struct docker__push *p = ud;
	const char *s;

	if (p->fn && p->fn(obj, p->data) < 0)
		return -1;
	keep_error(&p->error, stream_error(obj), "the push failed");
	s = json_str(json_object_get(obj, "aux"), "Digest", NULL);
	if (s && is_digest(s)) {
		buf_reset(&p->digest);
		buf_addstr(&p->digest, s);
	}
	return 0;
}

static int push_line(const char *line, size_t len, void *ud)
{
	return docker__json_line(line, len, push_obj, ud);
}

int docker__push_feed(struct docker__push *p, const char *data, size_t len)
{
	return docker__lines_feed(&p->lines, data, len, push_line, p);
}

int docker__push_finish(struct docker__push *p, struct buf *digest)
{
	if (docker__lines_finish(&p->lines, push_line, p) < 0)
		return -1;
	if (p->error.len)
		return err_set("%s", p->error.buf);
	if (!p->digest.len)
		return err_set("the push ended without the registry reporting a digest");
	return buf_addstr(digest, p->digest.buf);
}

void docker__push_release(struct docker__push *p)
{
	docker__lines_release(&p->lines);
	buf_release(&p->error);
	buf_release(&p->digest);
}

static int push_chunk(const char *data, size_t len, void *ud)
{
	return docker__push_feed(ud, data, len);
}

int docker_image_push(struct docker *d, const char *name, const char *tag,
		      const char *registry_auth, docker_json_fn *fn, void *data, struct buf *digest)
{
	struct docker__push p = DOCKER__PUSH_INIT;
	struct buf path = BUF_INIT, auth = BUF_INIT;
	const char *headers[2] = { NULL, NULL };
	int ret = -1;

	buf_reset(digest);
	p.fn = fn;
	p.data = data;
	if (!tag || !*tag) {
		err_set("no tag to push for %.80s", name ? name : "");
		goto out;
	}
	if (image_path(&path, name, "/push?tag=") < 0 || docker_urlencode(&path, tag) < 0)
		goto out;
	if (registry_auth && *registry_auth) {
		if (buf_addf(&auth, "X-Registry-Auth: %s", registry_auth) < 0)
			goto out;
		headers[0] = auth.buf;
	}
	if (docker__stream_headers(d, "POST", path.buf, headers, push_chunk, &p, NULL) < 0)
		goto out;
	ret = docker__push_finish(&p, digest);
out:
	if (ret < 0)
		buf_reset(digest);
	docker__push_release(&p);
	buf_release(&auth);
	buf_release(&path);
	return ret;
}

/* ---- build -------------------------------------------------------------------- */

struct build_ctx {
	struct docker__lines lines;
	docker_json_fn *fn;
	void *data;
	struct buf *image_id;
	struct buf error;    /* the first {"error": …} of the stream */
	struct buf short_id; /* from "Successfully built <id>" */
};

static int build_obj(const json_t *obj, void *ud)
{
	static const char built[] = "Successfully built ";
	struct build_ctx *c = ud;
	const char *s;
	json_t *aux;

	if (c->fn && c->fn(obj, c->data) < 0)
		return -1;
	keep_error(&c->error, stream_error(obj), "the build failed");
	aux = json_object_get(obj, "aux");
	if ((s = json_str(aux, "ID", NULL)) && *s) {
		buf_reset(c->image_id);
		buf_addstr(c->image_id, s);
	}
	s = json_str(obj, "stream", NULL);
	if (s && strncmp(s, built, sizeof(built) - 1) == 0) {
		size_t n;
		s += sizeof(built) - 1;
		n = strspn(s, "0123456789abcdef");
		buf_reset(&c->short_id);
		buf_add(&c->short_id, s, n);
	}
	return 0;
}

static int build_line(const char *line, size_t len, void *ud)
{
	return docker__json_line(line, len, build_obj, ud);
}

static int build_chunk(const char *data, size_t len, void *ud)
{
	struct build_ctx *c = ud;
	return docker__lines_feed(&c->lines, data, len, build_line, c);
}

int docker_build(struct docker *d, int tar_fd, const char *query_extra, long timeout_s,
		 docker_json_fn *fn, void *data, struct buf *image_id)
{
	struct build_ctx c = {
		.lines = DOCKER__LINES_INIT,
		.fn = fn,
		.data = data,
		.image_id = image_id,
		.error = BUF_INIT,
		.short_id = BUF_INIT,
	};
	struct buf path = BUF_INIT;
	double t0 = clock_now_s();
	int ret = -1;

	buf_reset(image_id);
	/* version=1 is the legacy builder: BuildKit needs a gRPC session. pull=0
	 * because no registry is reachable; the caller checked the FROM images. */
	if (buf_addstr(&path, "/build?rm=1&forcerm=1&pull=0&version=1") < 0)
		goto out;
	if (query_extra && *query_extra &&
	    buf_addf(&path, "&%s", query_extra[0] == '&' ? query_extra + 1 : query_extra) < 0)
		goto out;
	/* At the limit the connection closes, which cancels the build: dockerd kills
	 * the RUN step's container. */
	if (docker__stream_timed(d, "POST", path.buf, "application/x-tar", tar_fd, build_chunk, &c,
				 NULL, timeout_s > 0 ? timeout_s * 1000 : 0) < 0) {
		if (timeout_s > 0 && clock_now_s() - t0 >= (double)timeout_s - 0.5)
			err_set("the build took longer than %ld s and was stopped", timeout_s);
		goto out;
	}
	if (docker__lines_finish(&c.lines, build_line, &c) < 0)
		goto out;
	if (c.error.len) {
		err_set("%s", c.error.buf);
		goto out;
	}
	if (!image_id->len && c.short_id.len)
		buf_addstr(image_id, c.short_id.buf);
	if (!image_id->len) {
		err_set("the build ended without reporting an image id");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		buf_reset(image_id);
	docker__lines_release(&c.lines);
	buf_release(&c.error);
	buf_release(&c.short_id);
	buf_release(&path);
	return ret;
}
