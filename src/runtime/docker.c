/* src/runtime/docker.c - the Docker Engine API client: version negotiation, JSON
 * calls, JSON-lines build streams, multiplexed logs, containers and images. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* The newest API this client is written against, and the oldest it can use:
 * 1.25 brought version negotiation and HostConfig.Init, which every container
 * needs (DESIGN.md: SIGTERM must reach the app). */
#define CLIENT_MAX_API "1.47"
#define CLIENT_MIN_API "1.25"

/* Short calls must not hang forever on a wedged daemon, but a stop waits for the
 * container's grace period and an image removal may take a while. */
#define CALL_TIMEOUT_MS   (5L * 60 * 1000)
#define PING_TIMEOUT_MS   (15L * 1000)

struct docker {
	char *host;                 /* "unix:///var/run/docker.sock" */
	char *sock;                 /* "/var/run/docker.sock" */
	char  version[16];          /* negotiated, "1.41" */
	CURL *h;                    /* keep-alive handle for short calls */
	int   renegotiated;         /* a "too old/new" reply is retried only once */
};

/* ---- pure helpers ------------------------------------------------------------- */

int runtime__parse_docker_host(const char *host, struct buf *sock)
{
	static const char scheme[] = "unix://";
	const char *p;

	if (!host || strncmp(host, scheme, sizeof(scheme) - 1) != 0)
		return err_set("only unix:// DOCKER_HOST is supported (got '%s')",
			       host ? host : "");
	p = host + sizeof(scheme) - 1;
	if (p[0] != '/')
		return err_set("DOCKER_HOST '%s' must name an absolute socket path "
			       "(unix:///path/to/docker.sock)", host);
	/* sockaddr_un.sun_path holds 108 bytes with the NUL. */
	if (strlen(p) >= 108)
		return err_set("DOCKER_HOST socket path is too long (max 107 bytes): '%s'", p);
	return buf_addstr(sock, p);
}

/* Parses "MAJOR.MINOR" into major*1000+minor; -1 when it is not that. */
static long parse_version(const char *v)
{
	char *end;
	long major, minor;

	if (!v || !isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	major = strtol(v, &end, 10);
	if (errno || *end != '.' || major > 99 || !isdigit((unsigned char)end[1]))
		return -1;
	minor = strtol(end + 1, &end, 10);
	if (errno || *end || minor > 999)
		return -1;
	return major * 1000 + minor;
}

int runtime__pick_version(const char *daemon_api, const char *daemon_min,
			  const char *client_max, struct buf *out)
{
	long api = parse_version(daemon_api);
	long min = parse_version(daemon_min);
	long max = parse_version(client_max);
	long floor_ = parse_version(CLIENT_MIN_API);
	long pick;

	if (max < 0)
		return err_set("bad client API version '%s'", client_max ? client_max : "");
	if (api < 0)
		return err_set("Docker did not report a usable API version (got '%s')",
			       daemon_api ? daemon_api : "");
	pick = api < max ? api : max;
	if (pick < floor_)
		return err_set("Docker speaks API %s, older than %s, the oldest wharf can use: "
			       "upgrade Docker", daemon_api, CLIENT_MIN_API);
	if (min >= 0 && pick < min)
		return err_set("Docker requires API %s or newer, but wharf speaks at most %s: "
			       "upgrade wharf", daemon_min, client_max);
	return buf_addf(out, "%ld.%ld", pick / 1000, pick % 1000);
}

int runtime__is_version_error(const char *message)
{
	return message && strcasestr(message, "client version") &&
	       (strcasestr(message, "too old") || strcasestr(message, "too new"));
}

static int encode(struct buf *out, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int r;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep && strchr(keep, c)))
			r = buf_addch(out, c);
		else
			r = buf_addf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
		if (r < 0)
			return -1;
	}
	return 0;
}

int runtime__urlencode(struct buf *out, const char *s)
{
	return encode(out, s, NULL);
}

int runtime__pathencode(struct buf *out, const char *s)
{
	return encode(out, s, "/:@");
}

/* ---- JSON-lines splitter ------------------------------------------------------ */

static int line_done(struct runtime__lines *ls, runtime__line_fn *fn, void *fn_data)
{
	size_t len = ls->partial.len;
	int r;

	if (len && ls->partial.buf[len - 1] == '\r')
		buf_setlen(&ls->partial, --len);
	r = fn(ls->partial.buf, len, fn_data);
	buf_reset(&ls->partial);
	return r < 0 ? r : 0;
}

int runtime__lines_feed(struct runtime__lines *ls, const char *data, size_t len,
			runtime__line_fn *fn, void *fn_data)
{
	size_t max = ls->max_line ? ls->max_line : RUNTIME__LINE_MAX;

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

int runtime__lines_finish(struct runtime__lines *ls, runtime__line_fn *fn, void *fn_data)
{
	if (!ls->partial.len)
		return 0;
	return line_done(ls, fn, fn_data);
}

void runtime__lines_release(struct runtime__lines *ls)
{
	buf_release(&ls->partial);
}

int runtime__json_line(const char *line, size_t len, docker_json_fn *fn, void *fn_data)
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

int runtime__demux_feed(struct runtime__demux *dm, const char *data, size_t len,
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

int runtime__demux_idle(const struct runtime__demux *dm)
{
	return dm->hdr_len == 0;
}

/* ---- connection and negotiation --------------------------------------------- */

/* Words a transport failure for the person who has to fix it. */
static int docker_unreachable(const struct docker *d, CURLcode rc, long os_errno)
{
	if (rc == CURLE_COULDNT_CONNECT && os_errno == EACCES)
		return err_set("permission denied on the Docker socket %s: run as root or "
			       "as a member of the docker group", d->sock);
	if (rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && !d->version[0]))
		return err_set("cannot reach Docker at %s: is dockerd running?", d->host);
	return err_set("lost the connection to Docker at %s: %s", d->host,
		       curl_easy_strerror(rc));
}

/* The daemon's {"message": …}, or the body's text, or the bare status. */
static void reply_message(const struct buf *body, long status, struct buf *out)
{
	json_t *j = json_loadb(body->buf, body->len, JSON_DECODE_ANY, NULL);
	const char *m = j ? json_str(j, "message", NULL) : NULL;

	buf_reset(out);
	if (m && *m) {
		buf_addstr(out, m);
	} else if (body->len) {
		size_t n = body->len < 512 ? body->len : 512;
		while (n && isspace((unsigned char)body->buf[n - 1]))
			n--;
		buf_add(out, body->buf, n);
	}
	if (!out->len)
		buf_addf(out, "Docker answered HTTP %ld", status);
	json_decref(j);
}

/* GET /_ping then /version (both unversioned), and picks the API version. */
static int negotiate(struct docker *d)
{
	struct http_reply r = HTTP_REPLY_INIT;
	struct buf v = BUF_INIT;
	json_t *ver = NULL;
	CURLcode rc;
	long oserr;
	int ret = -1;

	if (runtime__http_perform(d->h, d->sock, "GET", "/_ping", NULL, NULL, 0,
				  PING_TIMEOUT_MS, &r, &rc, &oserr) < 0) {
		docker_unreachable(d, rc, oserr);
		goto out;
	}
	if (r.status != 200) {
		err_set("Docker at %s answered /_ping with HTTP %ld", d->host, r.status);
		goto out;
	}
	if (runtime__http_perform(d->h, d->sock, "GET", "/version", NULL, NULL, 0,
				  PING_TIMEOUT_MS, &r, &rc, &oserr) < 0) {
		docker_unreachable(d, rc, oserr);
		goto out;
	}
	ver = json_loadb(r.body.buf, r.body.len, 0, NULL);
	if (r.status != 200 || !json_is_object(ver)) {
		err_set("Docker at %s answered /version with HTTP %ld and no version", d->host,
			r.status);
		goto out;
	}
	if (runtime__pick_version(json_str(ver, "ApiVersion", NULL),
				  json_str(ver, "MinAPIVersion", NULL), CLIENT_MAX_API, &v) < 0)
		goto out;
	if (v.len >= sizeof(d->version)) {
		err_set("bad API version '%s'", v.buf);
		goto out;
	}
	memcpy(d->version, v.buf, v.len + 1);
	ret = 0;
out:
	json_decref(ver);
	buf_release(&v);
	http_reply_release(&r);
	return ret;
}

int docker_new(struct docker **out, const char *host)
{
	struct docker *d;
	struct buf sock = BUF_INIT;

	*out = NULL;
	if (!host)
		host = wharf_docker_host();
	if (runtime__parse_docker_host(host, &sock) < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d) {
		buf_release(&sock);
		return err_set("out of memory");
	}
	d->host = strdup(host);
	d->sock = buf_detach(&sock, NULL);
	runtime__curl_init();
	d->h = curl_easy_init();
	if (!d->host || !d->sock || !d->h) {
		docker_free(d);
		return err_set("out of memory");
	}
	if (negotiate(d) < 0) {
		docker_free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void docker_free(struct docker *d)
{
	if (!d)
		return;
	if (d->h)
		curl_easy_cleanup(d->h);
	free(d->host);
	free(d->sock);
	free(d);
}

const char *runtime__docker_sock(const struct docker *d)
{
	return d->sock;
}

const char *docker_api_version(const struct docker *d)
{
	return d->version;
}

/* After the daemon refused our version (it was upgraded or downgraded under us),
 * negotiates again, once per client. Returns 1 when the version changed and the
 * request is worth repeating, 0 when not, -1 when negotiation failed. */
static int renegotiate(struct docker *d)
{
	char old[sizeof(d->version)];

	if (d->renegotiated)
		return 0;
	d->renegotiated = 1;
	memcpy(old, d->version, sizeof(old));
	if (negotiate(d) < 0)
		return -1;
	return strcmp(old, d->version) != 0;
}

static int versioned(struct buf *out, const struct docker *d, const char *path)
{
	buf_reset(out);
	if (!path || path[0] != '/')
		return err_set("Docker API path must start with '/'");
	return buf_addf(out, "/v%s%s", d->version, path);
}

int docker_call(struct docker *d, const char *method, const char *path,
		const json_t *body, json_t **reply, long *status)
{
	struct http_reply r = HTTP_REPLY_INIT;
	struct buf vpath = BUF_INIT, msg = BUF_INIT;
	char *text = NULL;
	CURLcode rc;
	long oserr;
	int ret = -1;

	if (reply)
		*reply = NULL;
	if (status)
		*status = 0;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return err_set("cannot serialise a request to Docker");
	for (;;) {
		if (versioned(&vpath, d, path) < 0)
			goto out;
		if (runtime__http_perform(d->h, d->sock, method, vpath.buf,
					  text ? "application/json" : NULL, text,
					  text ? strlen(text) : 0, CALL_TIMEOUT_MS, &r, &rc,
					  &oserr) < 0) {
			if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)
				docker_unreachable(d, rc, oserr);
			goto out;
		}
		if (status)
			*status = r.status;
		if (r.status >= 200 && r.status <= 299)
			break;
		reply_message(&r.body, r.status, &msg);
		if (r.status == 400 && runtime__is_version_error(msg.buf)) {
			int again = renegotiate(d);
			if (again < 0)
				goto out;
			if (again)
				continue;
		}
		err_set("%s", msg.buf);
		goto out;
	}
	if (reply && r.body.len) {
		json_error_t jerr;
		*reply = json_loadb(r.body.buf, r.body.len, JSON_DECODE_ANY, &jerr);
		if (!*reply) {
			err_set("Docker sent invalid JSON for %s %s: %s", method, path, jerr.text);
			goto out;
		}
	}
	ret = 0;
out:
	free(text);
	buf_release(&msg);
	buf_release(&vpath);
	http_reply_release(&r);
	return ret;
}

/* One streamed request on its own connection. The request body, if any, is read
 * from body_fd; on a version refusal the request is repeated once when that fd
 * can be rewound. Non-2xx replies fail with the daemon's message. */
static int docker_stream_timed(struct docker *d, const char *method, const char *path,
			       const char *content_type, int body_fd, runtime__chunk_fn *fn,
			       void *data, long *status_out, long timeout_ms)
{
	struct runtime__stream_req req = {
		.sock_path = d->sock, .method = method, .content_type = content_type,
		.body_fd = body_fd, .body_size = -1, .fn = fn, .data = data,
		.timeout_ms = timeout_ms,
	};
	struct buf vpath = BUF_INIT, errbody = BUF_INIT, msg = BUF_INIT;
	off_t start = body_fd >= 0 ? lseek(body_fd, 0, SEEK_CUR) : -1;
	struct stat st;
	CURLcode rc;
	long oserr, status = 0;
	int ret = -1;

	for (;;) {
		if (versioned(&vpath, d, path) < 0)
			goto out;
		req.path = vpath.buf;
		/* A known length is sent as Content-Length; pipes go chunked. */
		if (body_fd >= 0 && start >= 0 && fstat(body_fd, &st) == 0 && S_ISREG(st.st_mode))
			req.body_size = (long long)(st.st_size - start);
		buf_reset(&errbody);
		if (runtime__http_stream(&req, &status, &errbody, &rc, &oserr) < 0) {
			if (rc != CURLE_OK)
				docker_unreachable(d, rc, oserr);
			goto out;
		}
		if (status >= 200 && status <= 299)
			break;
		reply_message(&errbody, status, &msg);
		if (status == 400 && runtime__is_version_error(msg.buf) &&
		    (body_fd < 0 || (start >= 0 && lseek(body_fd, start, SEEK_SET) == start))) {
			int again = renegotiate(d);
			if (again < 0)
				goto out;
			if (again)
				continue;
		}
		err_set("%s", msg.buf);
		goto out;
	}
	ret = 0;
out:
	if (status_out)
		*status_out = status;
	buf_release(&msg);
	buf_release(&errbody);
	buf_release(&vpath);
	return ret;
}

static int docker_stream(struct docker *d, const char *method, const char *path,
			 const char *content_type, int body_fd, runtime__chunk_fn *fn,
			 void *data, long *status_out)
{
	return docker_stream_timed(d, method, path, content_type, body_fd, fn, data,
				   status_out, 0);
}

/* ---- images ------------------------------------------------------------------- */

static int image_path(struct buf *p, const char *ref, const char *suffix)
{
	size_t n = ref ? strlen(ref) : 0;

	if (!n)
		return err_set("empty image reference");
	/* Docker's reference grammar in spirit: the name becomes part of a URL path,
	 * so "..", a leading '/' or odd characters could reach another endpoint. */
	if (n > 255 || strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-") != n ||
	    strstr(ref, "..") || strstr(ref, "//") || ref[0] == '/' || ref[0] == '.' || ref[0] == '-')
		return err_set("'%.80s' is not a valid image reference", ref);
	if (buf_addstr(p, "/images/") < 0 || runtime__pathencode(p, ref) < 0)
		return -1;
	return buf_addstr(p, suffix);
}

/* One call whose answer `allowed` (a 404 for "already gone", a 304 for "already
 * in that state") counts as success; *status (if not NULL) tells which it was. */
static int call_allowing(struct docker *d, const char *method, const char *path, long allowed,
			 long *status)
{
	long st = 0;
	int ret = docker_call(d, method, path, NULL, NULL, &st);

	if (ret < 0 && st == allowed) {
		err_clear();
		ret = 0;
	}
	if (status)
		*status = st;
	return ret;
}

int docker_image_exists(struct docker *d, const char *ref, int *exists)
{
	struct buf p = BUF_INIT;
	long status = 0;
	int ret = -1;

	*exists = 0;
	if (image_path(&p, ref, "/json") < 0)
		goto out;
	if (call_allowing(d, "GET", p.buf, 404, &status) < 0)
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
	if (call_allowing(d, "DELETE", p.buf, 404, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

/* ---- build -------------------------------------------------------------------- */

struct build_ctx {
	struct runtime__lines lines;
	docker_json_fn *fn;
	void           *data;
	struct buf     *image_id;
	struct buf      error;          /* the first {"error": …} of the stream */
	struct buf      short_id;       /* from "Successfully built <id>" */
};

static int build_obj(const json_t *obj, void *ud)
{
	static const char built[] = "Successfully built ";
	struct build_ctx *c = ud;
	const char *s;
	json_t *aux;

	if (c->fn && c->fn(obj, c->data) < 0)
		return -1;
	s = json_str(obj, "error", NULL);
	if (!s)
		s = json_str(json_object_get(obj, "errorDetail"), "message", NULL);
	if (s && !c->error.len) {
		buf_addstr(&c->error, *s ? s : "the build failed");
		while (c->error.len && isspace((unsigned char)c->error.buf[c->error.len - 1]))
			buf_setlen(&c->error, c->error.len - 1);
	}
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
	return runtime__json_line(line, len, build_obj, ud);
}

static int build_chunk(const char *data, size_t len, void *ud)
{
	struct build_ctx *c = ud;
	return runtime__lines_feed(&c->lines, data, len, build_line, c);
}

int docker_build(struct docker *d, int tar_fd, const char *query_extra, long timeout_s,
		 docker_json_fn *fn, void *data, struct buf *image_id)
{
	struct build_ctx c = {
		.lines = RUNTIME__LINES_INIT, .fn = fn, .data = data, .image_id = image_id,
		.error = BUF_INIT, .short_id = BUF_INIT,
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
	if (docker_stream_timed(d, "POST", path.buf, "application/x-tar", tar_fd, build_chunk,
				&c, NULL, timeout_s > 0 ? timeout_s * 1000 : 0) < 0) {
		if (timeout_s > 0 && clock_now_s() - t0 >= (double)timeout_s - 0.5)
			err_set("the build took longer than %ld s and was stopped", timeout_s);
		goto out;
	}
	if (runtime__lines_finish(&c.lines, build_line, &c) < 0)
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
	runtime__lines_release(&c.lines);
	buf_release(&c.error);
	buf_release(&c.short_id);
	buf_release(&path);
	return ret;
}

/* ---- networks ------------------------------------------------------------------- */

static int network_gateway(struct docker *d, const char *name, struct buf *gateway, long *status)
{
	struct buf p = BUF_INIT;
	json_t *info = NULL, *cfg;
	int ret = -1;

	if (buf_addstr(&p, "/networks/") < 0 || runtime__urlencode(&p, name) < 0)
		goto out;
	if (docker_call(d, "GET", p.buf, NULL, &info, status) < 0)
		goto out;
	cfg = json_array_get(json_object_get(json_object_get(info, "IPAM"), "Config"), 0);
	if (gateway && buf_addstr(gateway, json_str(cfg, "Gateway", "")) < 0)
		goto out;
	ret = 0;
out:
	json_decref(info);
	buf_release(&p);
	return ret;
}

int docker_network_ensure(struct docker *d, const char *name, const json_t *labels,
			  int internal, const char *bridge, struct buf *gateway)
{
	json_t *body = NULL, *reply = NULL;
	long status = 0;
	int ret = -1;

	if (gateway)
		buf_reset(gateway);
	if (network_gateway(d, name, gateway, &status) == 0)
		return 0;
	if (status != 404)
		return -1;
	body = json_pack("{s:s, s:s, s:b, s:b, s:o, s:{}}", "Name", name, "Driver", "bridge",
			 "Internal", internal, "CheckDuplicate", 1, "Labels",
			 labels ? json_deep_copy(labels) : json_object(), "Options");
	if (!body || (bridge && json_object_set_new(json_object_get(body, "Options"),
						    "com.docker.network.bridge.name",
						    json_string(bridge)) < 0)) {
		err_set("out of memory");
		goto out;
	}
	/* 409: made meanwhile (a deploy and a `run` of the app at once). */
	if (docker_call(d, "POST", "/networks/create", body, &reply, &status) < 0 && status != 409)
		goto out;
	ret = network_gateway(d, name, gateway, NULL);
out:
	json_decref(body);
	json_decref(reply);
	return ret;
}

int docker_network_remove(struct docker *d, const char *name)
{
	struct buf p = BUF_INIT;
	long status = 0;
	int ret = -1;

	if (buf_addstr(&p, "/networks/") < 0 || runtime__urlencode(&p, name) < 0)
		goto out;
	ret = docker_call(d, "DELETE", p.buf, NULL, NULL, &status) < 0 && status != 404 ? -1 : 0;
out:
	buf_release(&p);
	return ret;
}

/* ---- containers --------------------------------------------------------------- */

static int container_path(struct buf *p, const char *id, const char *suffix)
{
	if (!id || !*id)
		return err_set("empty container id");
	if (buf_addstr(p, "/containers/") < 0 || runtime__urlencode(p, id) < 0)
		return -1;
	return buf_addstr(p, suffix);
}

static json_t *string_array(const char **v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Plugins' extra options: Config keys go to the top level and HostConfig keys
 * into HostConfig, each only where wharf set nothing; Env is appended and
 * Labels only add, so what wharf sets (PORT, the wharf.* labels, host
 * networking, Init, a User) stays as it is. */
static int merge_extra(json_t *b, const json_t *extra)
{
	json_t *hc = json_object_get(b, "HostConfig"), *v;
	const char *k;

	json_object_foreach(json_object_get(extra, "Config"), k, v) {
		if (!strcmp(k, "Env") && json_array_extend(json_object_get(b, "Env"), v) < 0)
			return -1;
		if (!strcmp(k, "Labels") &&
		    json_object_update_missing(json_object_get(b, "Labels"), v) < 0)
			return -1;
		if (strcmp(k, "Env") && strcmp(k, "Labels") && !json_object_get(b, k) &&
		    json_object_set(b, k, v) < 0)
			return -1;
	}
	json_object_foreach(json_object_get(extra, "HostConfig"), k, v)
		if (!json_object_get(hc, k) && json_object_set(hc, k, v) < 0)
			return -1;
	return 0;
}

/* What every container is held to (docs/security.md): every capability dropped but
 * those a root process that changes users and owns files needs (NET_RAW,
 * NET_BIND_SERVICE, MKNOD, SYS_CHROOT, SETFCAP, SETPCAP and AUDIT_WRITE of Docker's
 * default set are gone), no privilege gained through setuid binaries, a pids limit,
 * and Docker's log rotation. What wharf sets here, plugins cannot override. */
static json_t *hardening(const struct container_spec *spec)
{
	return json_pack("{s:[s], s:[s,s,s,s,s,s,s], s:[s], s:I, s:{s:s, s:{s:s, s:s}}}",
			 "CapDrop", "ALL",
			 "CapAdd", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID",
			 "SETUID",
			 "SecurityOpt", "no-new-privileges",
			 "PidsLimit", (json_int_t)(spec->pids_limit ? spec->pids_limit
							   : DOCKER_PIDS_LIMIT_DEFAULT),
			 "LogConfig", "Type", "json-file", "Config", "max-size",
			 DOCKER_LOG_MAX_SIZE, "max-file", DOCKER_LOG_MAX_FILE);
}

static json_t *create_body(const struct container_spec *spec)
{
	json_t *hc;
	json_t *b = json_pack("{s:s, s:o, s:o, s:{s:s, s:{s:s}, s:b}}",
			      "Image", spec->image,
			      "Env", string_array(spec->env),
			      "Labels", spec->labels ? json_deep_copy(spec->labels) : json_object(),
			      "HostConfig",
			      "NetworkMode", spec->network ? spec->network : "none",
			      "RestartPolicy", "Name",
			      spec->restart_policy ? spec->restart_policy : "no",
			      "Init", spec->init);
	json_t *hard = hardening(spec);

	if (!b || !hard || json_object_update(json_object_get(b, "HostConfig"), hard) < 0) {
		json_decref(hard);
		json_decref(b);
		return NULL;
	}
	json_decref(hard);

	if ((spec->cmd && json_object_set_new(b, "Cmd", string_array(spec->cmd)) < 0) ||
	    (spec->entrypoint &&
	     json_object_set_new(b, "Entrypoint", string_array(spec->entrypoint)) < 0) ||
	    (spec->working_dir &&
	     json_object_set_new(b, "WorkingDir", json_string(spec->working_dir)) < 0) ||
	    (spec->user && json_object_set_new(b, "User", json_string(spec->user)) < 0) ||
	    (spec->binds && json_object_set_new(json_object_get(b, "HostConfig"), "Binds",
						string_array(spec->binds)) < 0) ||
	    (spec->extra && merge_extra(b, spec->extra) < 0)) {
		json_decref(b);
		return NULL;
	}
	hc = json_object_get(b, "HostConfig");
	if ((spec->restart_max_retry &&
	     json_object_set_new(json_object_get(hc, "RestartPolicy"), "MaximumRetryCount",
				 json_integer(spec->restart_max_retry)) < 0) ||
	    (spec->memory && json_object_set_new(hc, "Memory", json_integer(spec->memory)) < 0) ||
	    (spec->nano_cpus && json_object_set_new(hc, "NanoCpus", json_integer(spec->nano_cpus)) < 0) ||
	    (spec->tty && json_object_set_new(b, "Tty", json_true()) < 0) ||
	    (spec->open_stdin &&
	     (json_object_set_new(b, "OpenStdin", json_true()) < 0 ||
	      json_object_set_new(b, "StdinOnce", json_true()) < 0 ||
	      json_object_set_new(b, "AttachStdin", json_true()) < 0))) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* A name already in use gives -1 with the daemon's 409 message ("Conflict. The
 * container name "/x" is already in use by container …"). */
int docker_container_create(struct docker *d, const struct container_spec *spec,
			    struct buf *id_out)
{
	struct buf p = BUF_INIT;
	json_t *body = NULL, *reply = NULL;
	const char *id;
	int ret = -1;

	buf_reset(id_out);
	if (!spec->image || !*spec->image)
		return err_set("a container needs an image");
	if (buf_addstr(&p, "/containers/create") < 0)
		goto out;
	if (spec->name && (buf_addstr(&p, "?name=") < 0 || runtime__urlencode(&p, spec->name) < 0))
		goto out;
	if (spec->labels && !json_is_object(spec->labels)) {
		err_set("container labels must be a JSON object");
		goto out;
	}
	if (!(body = create_body(spec))) {
		err_set("cannot build the container request (bad image, env or cmd)");
		goto out;
	}
	if (docker_call(d, "POST", p.buf, body, &reply, NULL) < 0)
		goto out;
	id = json_str(reply, "Id", NULL);
	if (!id || !*id) {
		err_set("Docker created a container but sent no id");
		goto out;
	}
	ret = buf_addstr(id_out, id);
out:
	json_decref(reply);
	json_decref(body);
	buf_release(&p);
	return ret;
}

/* POSTs to a container action; 304 (already in that state) counts as done. */
static int container_action(struct docker *d, const char *id, const char *suffix)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (container_path(&p, id, suffix) < 0)
		goto out;
	if (call_allowing(d, "POST", p.buf, 304, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_container_start(struct docker *d, const char *id)
{
	return container_action(d, id, "/start");
}

int docker_container_stop(struct docker *d, const char *id, int timeout_s)
{
	char suffix[32];

	if (timeout_s >= 0)
		snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	else
		snprintf(suffix, sizeof(suffix), "/stop");
	return container_action(d, id, suffix);
}

/* A container that is already gone counts as removed. */
int docker_container_remove(struct docker *d, const char *id, int force)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (container_path(&p, id, force ? "?force=1&v=1" : "?v=1") < 0)
		goto out;
	if (call_allowing(d, "DELETE", p.buf, 404, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_container_inspect(struct docker *d, const char *id, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (container_path(&p, id, "/json") < 0)
		goto out;
	ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_container_list(struct docker *d, const char **labels, int all, json_t **out)
{
	struct buf p = BUF_INIT;
	json_t *filters = NULL;
	char *text = NULL;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&p, "/containers/json?all=%d", all ? 1 : 0) < 0)
		goto out;
	if (labels && labels[0]) {
		filters = json_pack("{s:o}", "label", string_array(labels));
		if (!filters || !(text = json_dumps(filters, JSON_COMPACT))) {
			err_set("cannot build the container filter (bad label)");
			goto out;
		}
		if (buf_addstr(&p, "&filters=") < 0 || runtime__urlencode(&p, text) < 0)
			goto out;
	}
	if (docker_call(d, "GET", p.buf, NULL, out, NULL) < 0)
		goto out;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		err_set("Docker sent a container list that is not an array");
		goto out;
	}
	ret = 0;
out:
	free(text);
	json_decref(filters);
	buf_release(&p);
	return ret;
}

struct logs_ctx {
	int                   tty;
	struct runtime__demux dm;
	docker_output_fn     *fn;
	void                 *data;
};

static int logs_chunk(const char *data, size_t len, void *ud)
{
	struct logs_ctx *c = ud;

	if (c->tty)
		return c->fn(1, data, len, c->data) < 0 ? -1 : 0;
	return runtime__demux_feed(&c->dm, data, len, c->fn, c->data) < 0 ? -1 : 0;
}

int docker_container_logs(struct docker *d, const char *id, int follow, int tail,
			  int timestamps, docker_output_fn *fn, void *data)
{
	struct logs_ctx c = { .dm = RUNTIME__DEMUX_INIT, .fn = fn, .data = data };
	struct buf p = BUF_INIT;
	json_t *info = NULL;
	int ret = -1;

	/* A TTY container's log is one raw stream; only inspect can tell. */
	if (docker_container_inspect(d, id, &info) < 0)
		goto out;
	c.tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	if (container_path(&p, id, "/logs?stdout=1&stderr=1") < 0)
		goto out;
	if (buf_addf(&p, "&follow=%d&timestamps=%d", follow ? 1 : 0, timestamps ? 1 : 0) < 0)
		goto out;
	if ((tail >= 0 ? buf_addf(&p, "&tail=%d", tail) : buf_addstr(&p, "&tail=all")) < 0)
		goto out;
	if (docker_stream(d, "GET", p.buf, NULL, -1, logs_chunk, &c, NULL) < 0)
		goto out;
	ret = 0;
out:
	json_decref(info);
	buf_release(&p);
	return ret;
}

/* Discards a streamed reply body (PUT archive answers with an empty one). */
static int discard_chunk(const char *data, size_t len, void *ud)
{
	(void)data;
	(void)len;
	(void)ud;
	return 0;
}

int docker_container_put_archive(struct docker *d, const char *id, const char *path,
				 int tar_fd)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (!path || path[0] != '/')
		return err_set("an archive must go to an absolute path in the container");
	if (container_path(&p, id, "/archive?path=") < 0 || runtime__urlencode(&p, path) < 0)
		goto out;
	ret = docker_stream(d, "PUT", p.buf, "application/x-tar", tar_fd, discard_chunk, NULL,
			    NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_container_commit(struct docker *d, const char *id, const char *repo,
			    const char *tag, const json_t *config, struct buf *image_id)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	const char *img;
	int ret = -1;

	buf_reset(image_id);
	if (!id || !*id)
		return err_set("empty container id");
	if (buf_addstr(&p, "/commit?container=") < 0 || runtime__urlencode(&p, id) < 0)
		goto out;
	if (repo && (buf_addstr(&p, "&repo=") < 0 || runtime__urlencode(&p, repo) < 0))
		goto out;
	if (tag && (buf_addstr(&p, "&tag=") < 0 || runtime__urlencode(&p, tag) < 0))
		goto out;
	/* pause=0: the builder has exited; there is nothing to freeze. */
	if (buf_addstr(&p, "&pause=0") < 0)
		goto out;
	if (docker_call(d, "POST", p.buf, config, &reply, NULL) < 0)
		goto out;
	img = json_str(reply, "Id", NULL);
	if (!img || !*img) {
		err_set("Docker committed the container but sent no image id");
		goto out;
	}
	ret = buf_addstr(image_id, img);
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_container_wait(struct docker *d, const char *id, long long *code)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	int ret = -1;

	*code = -1;
	if (container_path(&p, id, "/wait") < 0 ||
	    docker_call(d, "POST", p.buf, NULL, &reply, NULL) < 0)
		goto out;
	*code = json_int(reply, "StatusCode", -1);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_resize(struct docker *d, const char *kind, const char *id, int rows, int cols)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (!id || !*id || (strcmp(kind, "containers") && strcmp(kind, "exec")))
		return err_set("bad resize target");
	if (buf_addf(&p, "/%s/", kind) < 0 || runtime__urlencode(&p, id) < 0 ||
	    buf_addf(&p, "/resize?h=%d&w=%d", rows, cols) < 0)
		goto out;
	ret = docker_call(d, "POST", p.buf, NULL, NULL, NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_container_set_restart(struct docker *d, const char *id, const char *name,
				 int max_retry)
{
	struct buf p = BUF_INIT;
	json_t *body = json_pack("{s:{s:s,s:i}}", "RestartPolicy", "Name", name,
				 "MaximumRetryCount", max_retry);
	int ret = -1;

	if (!body) {
		err_set("bad restart policy");
		goto out;
	}
	if (container_path(&p, id, "/update") < 0)
		goto out;
	ret = docker_call(d, "POST", p.buf, body, NULL, NULL);
out:
	json_decref(body);
	buf_release(&p);
	return ret;
}

/* ---- hijacked connections ---------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends one upgraded POST on a fresh unix-socket connection and reads the answer's
 * headers byte by byte (so no byte of the stream after them is consumed). A 101 or
 * 200 leaves the connection carrying the stream; anything else fails with the
 * daemon's message. libcurl is not used: after the upgrade the socket is no
 * longer HTTP, and a raw socket keeps both directions in our hands. */
static int hijack(struct docker *d, const char *path, const json_t *body, int *conn)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf req = BUF_INIT, head = BUF_INIT, msg = BUF_INIT, vpath = BUF_INIT;
	char *text = NULL;
	long status = 0;
	int fd = -1, ret = -1;

	*conn = -1;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		err_set("cannot serialise a request to Docker");
		goto out;
	}
	if (versioned(&vpath, d, path) < 0 ||
	    buf_addf(&req, "POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
		     "Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     vpath.buf, text ? strlen(text) : 0, text ? text : "") < 0)
		goto out;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		docker_unreachable(d, CURLE_COULDNT_CONNECT, errno);
		goto out;
	}
	if (write_all(fd, req.buf, req.len) < 0) {
		err_set_errno("lost the connection to Docker at %s", d->host);
		goto out;
	}
	while (head.len < 4 || memcmp(head.buf + head.len - 4, "\r\n\r\n", 4)) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || head.len > 16384) {
			err_set("Docker at %s closed the connection before it answered %s", d->host, path);
			goto out;
		}
		buf_addch(&head, c);
	}
	if (sscanf(head.buf, "HTTP/1.%*c %ld", &status) != 1) {
		err_set("Docker sent a bad answer to %s", path);
		goto out;
	}
	if (status != 101 && status != 200) {
		/* The error body follows the headers; it is short. */
		struct buf eb = BUF_INIT;
		char chunk[4096];
		const char *cl = strcasestr(head.buf, "\r\nContent-Length:");
		long want = cl ? atol(cl + 17) : 65536;
		ssize_t r;
		struct timeval tv = { 2, 0 };
		/* The daemon keeps the connection open: read the announced length,
		 * or what comes within a short wait. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while ((long)eb.len < want && want <= 65536 &&
		       (r = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&eb, chunk, (size_t)r);
		reply_message(&eb, status, &msg);
		err_set("%s", msg.buf);
		buf_release(&eb);
		goto out;
	}
	*conn = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	buf_release(&req);
	buf_release(&head);
	buf_release(&msg);
	buf_release(&vpath);
	return ret;
}

int docker_container_attach(struct docker *d, const char *id, int with_stdin, int *conn)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (container_path(&p, id, "/attach?stream=1&stdout=1&stderr=1") < 0 ||
	    (with_stdin && buf_addstr(&p, "&stdin=1") < 0))
		goto out;
	ret = hijack(d, p.buf, NULL, conn);
out:
	buf_release(&p);
	return ret;
}

int docker_exec_create(struct docker *d, const char *id, const char **cmd,
		       const char **env, int tty, struct buf *exec_id)
{
	struct buf p = BUF_INIT;
	json_t *body, *reply = NULL;
	int ret = -1;

	buf_reset(exec_id);
	body = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 1, "AttachStdout", 1,
			 "AttachStderr", 1, "Tty", tty, "Cmd", string_array(cmd));
	if (!body || (env && json_object_set_new(body, "Env", string_array(env)) < 0)) {
		err_set("cannot build the exec request");
		goto out;
	}
	if (container_path(&p, id, "/exec") < 0 ||
	    docker_call(d, "POST", p.buf, body, &reply, NULL) < 0)
		goto out;
	if (!json_str(reply, "Id", NULL)) {
		err_set("Docker created an exec but sent no id");
		goto out;
	}
	ret = buf_addstr(exec_id, json_str(reply, "Id", ""));
out:
	json_decref(body);
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_exec_start(struct docker *d, const char *exec_id, int tty, int *conn)
{
	struct buf p = BUF_INIT;
	json_t *body = json_pack("{s:b,s:b}", "Detach", 0, "Tty", tty);
	int ret = -1;

	if (buf_addstr(&p, "/exec/") < 0 || runtime__urlencode(&p, exec_id) < 0 ||
	    buf_addstr(&p, "/start") < 0)
		goto out;
	ret = hijack(d, p.buf, body, conn);
out:
	json_decref(body);
	buf_release(&p);
	return ret;
}

int docker_exec_exit_code(struct docker *d, const char *exec_id, long long *code)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	int ret = -1;

	*code = -1;
	if (buf_addstr(&p, "/exec/") < 0 || runtime__urlencode(&p, exec_id) < 0 ||
	    buf_addstr(&p, "/json") < 0 || docker_call(d, "GET", p.buf, NULL, &reply, NULL) < 0)
		goto out;
	if (!json_is_true(json_object_get(reply, "Running")))
		*code = json_int(reply, "ExitCode", -1);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

static int pump_out(int stream, const char *data, size_t len, void *unused)
{
	(void)unused;
	if (write_all(stream == 2 ? 2 : 1, data, len) < 0)
		return err_set_errno("cannot write the output");
	return 0;
}

int docker_pump(int conn, int in_fd, int tty, docker_tick_fn *tick, void *data)
{
	struct runtime__demux dm = RUNTIME__DEMUX_INIT;
	char b[16384];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = conn, .events = POLLIN },
			{ .fd = in_fd, .events = POLLIN },
			/* No events asked: poll still reports POLLERR/POLLHUP when the
			 * reader of our stdout (sshd) went away. */
			{ .fd = 1, .events = 0 },
		};
		int n = poll(p, 3, 1000), r;
		ssize_t got;

		if (n < 0 && errno != EINTR)
			return err_set_errno("poll");
		if (tick && (r = tick(data)) < 0)
			return r;
		if (n <= 0)
			continue;
		if (p[2].revents & (POLLERR | POLLHUP))
			return err_set("the client went away");
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			got = read(in_fd, b, sizeof(b));
			if (got < 0 && errno == EINTR)
				continue;
			/* A process that stopped reading (it exited, or closed its
			 * stdin) ends the copy, not the session: its output and exit
			 * code still come. */
			if (got > 0 && write_all(conn, b, (size_t)got) < 0)
				got = 0;
			if (got <= 0) {
				/* stdin ended: close the process's stdin, keep reading. */
				shutdown(conn, SHUT_WR);
				in_fd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			got = read(conn, b, sizeof(b));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return err_set_errno("lost the connection to Docker");
			if (got == 0)
				return 0;
			r = tty ? pump_out(1, b, (size_t)got, NULL)
				: runtime__demux_feed(&dm, b, (size_t)got, pump_out, NULL);
			if (r < 0)
				return -1;
		}
	}
}
