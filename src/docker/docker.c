/* src/docker/docker.c - the Docker Engine API client's core: DOCKER_HOST, version
 * negotiation, JSON calls, streamed requests, and the percent-encoders. */
#include "docker/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The newest API this client is written against, and the oldest it can use:
 * 1.25 brought version negotiation and HostConfig.Init, which every container
 * needs (DESIGN.md: SIGTERM must reach the app). */
#define CLIENT_MAX_API "1.47"
#define CLIENT_MIN_API "1.25"

/* Short calls must not hang forever on a wedged daemon, but a stop waits for the
 * container's grace period and an image removal may take a while. */
#define CALL_TIMEOUT_MS (5L * 60 * 1000)
#define PING_TIMEOUT_MS (15L * 1000)

/* ---- pure helpers ------------------------------------------------------------- */

int docker__parse_docker_host(const char *host, struct buf *sock)
{
	static const char scheme[] = "unix://";
	const char *p;

	if (!host || strncmp(host, scheme, sizeof(scheme) - 1) != 0)
		return err_set("only unix:// DOCKER_HOST is supported (got '%s')",
			       host ? host : "");
	p = host + sizeof(scheme) - 1;
	if (p[0] != '/')
		return err_set("DOCKER_HOST '%s' must name an absolute socket path "
			       "(unix:///path/to/docker.sock)",
			       host);
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

int docker__pick_version(const char *daemon_api, const char *daemon_min, const char *client_max,
			 struct buf *out)
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
			       "upgrade Docker",
			       daemon_api, CLIENT_MIN_API);
	if (min >= 0 && pick < min)
		return err_set("Docker requires API %s or newer, but wharf speaks at most %s: "
			       "upgrade wharf",
			       daemon_min, client_max);
	return buf_addf(out, "%ld.%ld", pick / 1000, pick % 1000);
}

int docker__is_version_error(const char *message)
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

int docker_urlencode(struct buf *out, const char *s)
{
	return encode(out, s, NULL);
}

int docker_pathencode(struct buf *out, const char *s)
{
	return encode(out, s, "/:@");
}


/* ---- connection and negotiation --------------------------------------------- */

/* Words a transport failure for the person who has to fix it. */
int docker__unreachable(const struct docker *d, CURLcode rc, long os_errno)
{
	if (rc == CURLE_COULDNT_CONNECT && os_errno == EACCES)
		return err_set("permission denied on the Docker socket %s: run as root or "
			       "as a member of the docker group",
			       d->sock);
	if (rc == CURLE_COULDNT_CONNECT || (rc == CURLE_OPERATION_TIMEDOUT && !d->version[0]))
		return err_set("cannot reach Docker at %s: is dockerd running?", d->host);
	return err_set("lost the connection to Docker at %s: %s", d->host, curl_easy_strerror(rc));
}

/* The daemon's {"message": …}, or the body's text, or the bare status. */
void docker__reply_message(const struct buf *body, long status, struct buf *out)
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

	if (docker__http_perform(d->h, d->sock, "GET", "/_ping", NULL, NULL, NULL, 0,
				 PING_TIMEOUT_MS, &r, &rc, &oserr) < 0) {
		docker__unreachable(d, rc, oserr);
		goto out;
	}
	if (r.status != 200) {
		err_set("Docker at %s answered /_ping with HTTP %ld", d->host, r.status);
		goto out;
	}
	if (docker__http_perform(d->h, d->sock, "GET", "/version", NULL, NULL, NULL, 0,
				 PING_TIMEOUT_MS, &r, &rc, &oserr) < 0) {
		docker__unreachable(d, rc, oserr);
		goto out;
	}
	ver = json_loadb(r.body.buf, r.body.len, 0, NULL);
	if (r.status != 200 || !json_is_object(ver)) {
		err_set("Docker at %s answered /version with HTTP %ld and no version", d->host,
			r.status);
		goto out;
	}
	if (docker__pick_version(json_str(ver, "ApiVersion", NULL),
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

/* A handle on host (socket path sock) with its own curl handle, not yet negotiated;
 * NULL after err_set(). */
static struct docker *docker_alloc(const char *host, const char *sock)
{
	struct docker *d = calloc(1, sizeof(*d));

	if (!d) {
		err_set("out of memory");
		return NULL;
	}
	d->host = strdup(host);
	d->sock = strdup(sock);
	docker__curl_init();
	d->h = curl_easy_init();
	if (!d->host || !d->sock || !d->h) {
		docker_free(d);
		err_set("out of memory");
		return NULL;
	}
	return d;
}

int docker_new(struct docker **out, const char *host)
{
	struct docker *d;
	struct buf sock = BUF_INIT;

	*out = NULL;
	if (!host)
		host = wharf_docker_host();
	if (docker__parse_docker_host(host, &sock) < 0)
		return -1;
	d = docker_alloc(host, sock.buf);
	buf_release(&sock);
	if (!d)
		return -1;
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
	if (d->on_free)
		d->on_free(d->on_free_data);
	free(d->host);
	free(d->sock);
	free(d);
}

void docker_on_free(struct docker *d, docker_free_fn *fn, void *data)
{
	d->on_free = fn;
	d->on_free_data = data;
}

int docker__clone(const struct docker *d, struct docker **out)
{
	struct docker *c = docker_alloc(d->host, d->sock);

	*out = c;
	if (!c)
		return -1;
	memcpy(c->version, d->version, sizeof(c->version));
	c->renegotiated = d->renegotiated;
	return 0;
}

const char *docker__sock(const struct docker *d)
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

int docker__versioned(struct buf *out, const struct docker *d, const char *path)
{
	buf_reset(out);
	if (!path || path[0] != '/')
		return err_set("Docker API path must start with '/'");
	return buf_addf(out, "/v%s%s", d->version, path);
}

int docker_call(struct docker *d, const char *method, const char *path, const json_t *body,
		json_t **reply, long *status)
{
	return docker_call_headers(d, method, path, NULL, body, reply, status);
}

int docker_call_headers(struct docker *d, const char *method, const char *path,
			const char *const *headers, const json_t *body, json_t **reply,
			long *status)
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
		if (docker__versioned(&vpath, d, path) < 0)
			goto out;
		if (docker__http_perform(d->h, d->sock, method, vpath.buf,
					 text ? "application/json" : NULL, headers, text,
					 text ? strlen(text) : 0, CALL_TIMEOUT_MS, &r, &rc,
					 &oserr) < 0) {
			if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)
				docker__unreachable(d, rc, oserr);
			goto out;
		}
		if (status)
			*status = r.status;
		if (r.status >= 200 && r.status <= 299)
			break;
		docker__reply_message(&r.body, r.status, &msg);
		if (r.status == 400 && docker__is_version_error(msg.buf)) {
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
int docker__stream(struct docker *d, const char *method, const char *path, const char *content_type,
		   int body_fd, docker__chunk_fn *fn, void *data, long *status_out)
{
	return docker__stream_timed(d, method, path, content_type, body_fd, fn, data, status_out,
				    0);
}

static int stream_req(struct docker *d, const char *method, const char *path,
		      const char *content_type, const char *const *headers, int body_fd,
		      docker__chunk_fn *fn, void *data, long *status_out, long timeout_ms);

int docker__stream_timed(struct docker *d, const char *method, const char *path,
			 const char *content_type, int body_fd, docker__chunk_fn *fn, void *data,
			 long *status_out, long timeout_ms)
{
	return stream_req(d, method, path, content_type, NULL, body_fd, fn, data, status_out,
			  timeout_ms);
}

int docker__stream_headers(struct docker *d, const char *method, const char *path,
			   const char *const *headers, docker__chunk_fn *fn, void *data,
			   long *status_out)
{
	return stream_req(d, method, path, NULL, headers, -1, fn, data, status_out, 0);
}

static int stream_req(struct docker *d, const char *method, const char *path,
		      const char *content_type, const char *const *headers, int body_fd,
		      docker__chunk_fn *fn, void *data, long *status_out, long timeout_ms)
{
	struct docker__stream_req req = {
		.headers = headers,
		.sock_path = d->sock,
		.method = method,
		.content_type = content_type,
		.body_fd = body_fd,
		.body_size = -1,
		.fn = fn,
		.data = data,
		.timeout_ms = timeout_ms,
	};
	struct buf vpath = BUF_INIT, errbody = BUF_INIT, msg = BUF_INIT;
	off_t start = body_fd >= 0 ? lseek(body_fd, 0, SEEK_CUR) : -1;
	struct stat st;
	CURLcode rc;
	long oserr, status = 0;
	int ret = -1;

	for (;;) {
		if (docker__versioned(&vpath, d, path) < 0)
			goto out;
		req.path = vpath.buf;
		/* A known length is sent as Content-Length; pipes go chunked. */
		if (body_fd >= 0 && start >= 0 && fstat(body_fd, &st) == 0 && S_ISREG(st.st_mode))
			req.body_size = (long long)(st.st_size - start);
		buf_reset(&errbody);
		if (docker__http_stream(&req, &status, &errbody, &rc, &oserr) < 0) {
			if (rc != CURLE_OK)
				docker__unreachable(d, rc, oserr);
			goto out;
		}
		if (status >= 200 && status <= 299)
			break;
		docker__reply_message(&errbody, status, &msg);
		if (status == 400 && docker__is_version_error(msg.buf) &&
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

/* One call whose answer `allowed` (a 404 for "already gone", a 304 for "already
 * in that state") counts as success; *status (if not NULL) tells which it was. */
int docker__call_allowing(struct docker *d, const char *method, const char *path, long allowed,
			  long *status)
{
	long st = 0;
	int ret = docker_call(d, method, path, NULL, NULL, &st);

	if (ret < 0 && st == allowed) {
		err_clear(); /* handled: the caller asked for this status (a 404 = absent) */
		ret = 0;
	}
	if (status)
		*status = st;
	return ret;
}

json_t *docker__string_array(const char **v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int docker__list(struct docker *d, const char *path, const json_t *filters, const char *what,
		 json_t **out)
{
	struct buf p = BUF_INIT;
	char *text = NULL;
	int ret = -1;

	*out = NULL;
	if (buf_addstr(&p, path) < 0)
		goto out;
	if (filters && json_object_size(filters)) {
		if (!(text = json_dumps(filters, JSON_COMPACT))) {
			err_set("cannot build the %s filter", what);
			goto out;
		}
		if (buf_addstr(&p, strchr(path, '?') ? "&filters=" : "?filters=") < 0 ||
		    docker_urlencode(&p, text) < 0)
			goto out;
	}
	if (docker_call(d, "GET", p.buf, NULL, out, NULL) < 0)
		goto out;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		err_set("Docker sent a %s list that is not an array", what);
		goto out;
	}
	ret = 0;
out:
	free(text);
	buf_release(&p);
	return ret;
}

/* ---- label filters ------------------------------------------------------------- */

int docker_labels_add(struct docker_labels *l, const char *key, const char *value)
{
	struct buf b = BUF_INIT;

	if (l->n >= DOCKER_LABELS_MAX)
		return err_set("too many label filters (max %d)", DOCKER_LABELS_MAX);
	if (buf_addf(&b, "%s=%s", key, value) < 0)
		return -1;
	l->v[l->n++] = buf_detach(&b, NULL);
	l->v[l->n] = NULL;
	return 0;
}

void docker_labels_release(struct docker_labels *l)
{
	while (l->n)
		free((char *)l->v[--l->n]);
	l->v[0] = NULL;
}
