/* src/docker/http.c - HTTP/1.1 over a unix socket with libcurl: one-shot requests
 * (Docker API calls, the router's control socket) and long streamed transfers. */
#include "docker/internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void docker__curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

void http_reply_release(struct http_reply *r)
{
	if (!r)
		return;
	buf_release(&r->body);
	r->status = 0;
}

/* Options every request shares. The URL's host is never resolved: the socket path
 * decides where the request goes, and "localhost" only fills the Host header. */
static int setup_common(CURL *h, const char *sock_path, const char *method, const char *path,
			const char *content_type, const char *const *extra,
			struct curl_slist **headers, char *errbuf)
{
	struct buf url = BUF_INIT, ct = BUF_INIT;
	struct curl_slist *l = NULL, *l2;
	int ret = -1;

	if (!path || path[0] != '/')
		return err_set("HTTP path must start with '/' (got '%s')", path ? path : "");
	if (buf_addf(&url, "http://localhost%s", path) < 0)
		goto out;
	if (content_type) {
		if (buf_addf(&ct, "Content-Type: %s", content_type) < 0)
			goto out;
		if (!(l = curl_slist_append(l, ct.buf)))
			goto oom;
	}
	/* Without this libcurl waits up to a second for "100 Continue" before a
	 * large body; neither dockerd nor the router sends it. */
	if (!(l2 = curl_slist_append(l, "Expect:")))
		goto oom;
	l = l2;
	for (; extra && *extra; extra++) {
		/* A header line is one line: a CR or LF would start another header. */
		if (strpbrk(*extra, "\r\n")) {
			err_set("a request header holds a line break");
			goto out;
		}
		if (!(l2 = curl_slist_append(l, *extra)))
			goto oom;
		l = l2;
	}
	errbuf[0] = '\0';
	if (curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock_path) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_URL, url.buf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK) {
		err_set("cannot set up an HTTP request to %s", sock_path);
		goto out;
	}
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	*headers = l;
	l = NULL;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	curl_slist_free_all(l);
	buf_release(&ct);
	buf_release(&url);
	return ret;
}

/* Records the transport failure as "cannot reach <sock>: <why>". */
static int transport_error(const char *sock_path, CURLcode rc, const char *errbuf)
{
	return err_set("cannot reach %s: %s", sock_path,
		       errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

static size_t write_to_buf(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = size * n;

	if (buf_add(b, p, len) < 0)
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	return len;
}

int docker__http_perform(CURL *h, const char *sock_path, const char *method, const char *path,
			 const char *content_type, const char *const *headers_in, const char *body,
			 size_t body_len, long timeout_ms, struct http_reply *reply,
			 CURLcode *curl_code, long *os_errno)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	CURLcode rc;
	double t0;
	int ret = -1;

	if (curl_code)
		*curl_code = CURLE_OK;
	if (os_errno)
		*os_errno = 0;
	curl_easy_reset(h);
	buf_reset(&reply->body);
	if (!reply->body.max)
		reply->body.max = DOCKER__REPLY_MAX;
	reply->status = 0;
	if (setup_common(h, sock_path, method, path, content_type, headers_in, &headers, errbuf) <
	    0)
		goto out;
	if (body || strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply->body);
	if (timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);

	t0 = clock_now_s();
	rc = curl_easy_perform(h);
	if (say_tracing()) {
		long st = 0;

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		say_trace("%s %s %s: %ld in %.0f ms%s", sock_path, method, path, st,
			  (clock_now_s() - t0) * 1000, rc == CURLE_OK ? "" : " (transfer failed)");
	}
	if (rc != CURLE_OK) {
		if (curl_code)
			*curl_code = rc;
		if (os_errno)
			curl_easy_getinfo(h, CURLINFO_OS_ERRNO, os_errno);
		if (rc == CURLE_WRITE_ERROR)
			err_set("reply from %s%s is larger than %zu bytes", sock_path, path,
				reply->body.max);
		else
			transport_error(sock_path, rc, errbuf);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
	ret = 0;
out:
	/* The handle may outlive this call; it must not point at our locals. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	return ret;
}

int http_unix_request(const char *sock_path, const char *method, const char *path,
		      const char *content_type, const char *body, size_t body_len, long timeout_ms,
		      struct http_reply *reply)
{
	CURL *h;
	int ret;

	docker__curl_init();
	h = curl_easy_init();
	if (!h)
		return err_set("cannot start an HTTP client (libcurl)");
	ret = docker__http_perform(h, sock_path, method, path, content_type, NULL, body, body_len,
				   timeout_ms, reply, NULL, NULL);
	curl_easy_cleanup(h);
	return ret;
}

/* ---- streams ------------------------------------------------------------------ */

struct stream_ctx {
	const struct docker__stream_req *req;
	CURL *h;
	struct buf *err_body;
	int aborted;    /* fn returned < 0: its error stands */
	int read_errno; /* reading the request body failed */
};

static size_t stream_write(char *p, size_t size, size_t n, void *ud)
{
	struct stream_ctx *c = ud;
	size_t len = size * n;
	long status = 0;

	/* The status line has been parsed by the time body bytes arrive. */
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		/* Keep the start of an error body; drop the rest quietly. */
		if (c->err_body->len < 65536)
			buf_add(c->err_body, p, len < 65536 ? len : 65536);
		return len;
	}
	if (c->req->fn(p, len, c->req->data) < 0) {
		c->aborted = 1;
		return 0;
	}
	return len;
}

static size_t stream_read(char *p, size_t size, size_t n, void *ud)
{
	struct stream_ctx *c = ud;
	ssize_t r;

	do
		r = read(c->req->body_fd, p, size * n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		c->read_errno = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

int docker__http_stream(const struct docker__stream_req *req, long *status, struct buf *err_body,
			CURLcode *curl_code, long *os_errno)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	struct stream_ctx c = { .req = req, .err_body = err_body };
	CURLcode rc;
	double t0;
	int ret = -1;

	*status = 0;
	if (curl_code)
		*curl_code = CURLE_OK;
	if (os_errno)
		*os_errno = 0;
	docker__curl_init();
	c.h = curl_easy_init();
	if (!c.h)
		return err_set("cannot start an HTTP client (libcurl)");
	if (setup_common(c.h, req->sock_path, req->method, req->path,
			 req->body_fd >= 0 ? req->content_type : NULL, req->headers, &headers,
			 errbuf) < 0)
		goto out;
	if (req->body_fd >= 0) {
		curl_easy_setopt(c.h, CURLOPT_POST, 1L);
		curl_easy_setopt(c.h, CURLOPT_READFUNCTION, stream_read);
		curl_easy_setopt(c.h, CURLOPT_READDATA, &c);
		/* -1 makes libcurl send the body chunked. */
		curl_easy_setopt(c.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_size);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(c.h, CURLOPT_POSTFIELDS, "");
	}
	if (req->timeout_ms > 0)
		curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &c);

	t0 = clock_now_s();
	rc = curl_easy_perform(c.h);
	curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, status);
	say_trace("%s %s %s (stream): %ld in %.0f ms%s", req->sock_path, req->method, req->path,
		  *status, (clock_now_s() - t0) * 1000, rc == CURLE_OK ? "" : " (transfer failed)");
	if (rc != CURLE_OK) {
		if (c.aborted)
			goto out; /* fn's message stands */
		if (curl_code)
			*curl_code = rc;
		if (os_errno)
			curl_easy_getinfo(c.h, CURLINFO_OS_ERRNO, os_errno);
		if (c.read_errno) {
			errno = c.read_errno;
			err_set_errno("cannot read the request body for %s", req->path);
		} else {
			transport_error(req->sock_path, rc, errbuf);
		}
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(c.h);
	return ret;
}
