/* src/docker/internal.h - helpers shared by the Docker client's files: the client's
 * state, the HTTP transport under it, the request helpers of docker.c, and the pure
 * stream parsers (tested and fuzzed alone). */
#ifndef WHARF_DOCKER_INTERNAL_H
#define WHARF_DOCKER_INTERNAL_H

#include "docker/docker.h"

#include <curl/curl.h>

/* Cap for a reply body read into memory (inspect, list, error messages). */
#define DOCKER__REPLY_MAX ((size_t)64 << 20)
/* Cap for one line of a JSON-lines stream: a longer line fails the stream. */
#define DOCKER__LINE_MAX  ((size_t)1 << 20)

struct docker {
	char *host;              /* "unix:///var/run/docker.sock" */
	char *sock;              /* "/var/run/docker.sock" */
	char version[16];        /* negotiated, "1.41" */
	CURL *h;                 /* keep-alive handle for short calls */
	int renegotiated;        /* a "too old/new" reply is retried only once */
	docker_free_fn *on_free; /* what the socket depends on (docker_on_free()) */
	void *on_free_data;
};

/* ---- transport (http.c) ------------------------------------------------------ */

/* Initialises libcurl once per process (thread-safe); before any curl_easy_init(). */
void docker__curl_init(void);

/* One request on handle h (reset here, so a caller may keep h between calls and
 * libcurl keeps the connection alive), with extra request headers (NULL-terminated
 * "Name: value" lines without line breaks; NULL: none). Same contract as
 * http_unix_request(); on a
 * transport failure *curl_code (if not NULL) gets libcurl's code and *os_errno the
 * socket errno, so callers can word their own message. */
int docker__http_perform(CURL *h, const char *sock_path, const char *method, const char *path,
			 const char *content_type, const char *const *headers, const char *body,
			 size_t body_len, long timeout_ms, struct http_reply *reply,
			 CURLcode *curl_code, long *os_errno);

/* Called with response body bytes of a 2xx streaming reply as they arrive.
 * Returning < 0 aborts the transfer (the callback has set the error). */
typedef int docker__chunk_fn(const char *data, size_t len, void *data_);

struct docker__stream_req {
	const char *sock_path;
	const char *method;
	const char *path;
	const char *content_type; /* of the request body; NULL when there is none */
	int body_fd;              /* request body read from here; -1 for none */
	long long body_size;      /* its length, or -1 to send it chunked */
	docker__chunk_fn *fn;     /* gets the body of a 2xx reply */
	void *data;
	long timeout_ms;            /* the whole transfer; 0: none */
	const char *const *headers; /* NULL-terminated "Name: value" lines; NULL: none */
};

/* Streams one request on a fresh connection (long transfers must not hold the
 * keep-alive handle). A non-2xx reply's body is not given to fn but collected into
 * *err_body (capped), so the caller can read the daemon's message. Returns 0 when an
 * HTTP answer was read to its end (any status; see *status), -1 with err_set() on
 * transport failure or when fn aborted (fn's error is kept). *curl_code as above. */
int docker__http_stream(const struct docker__stream_req *req, long *status, struct buf *err_body,
			CURLcode *curl_code, long *os_errno);

/* ---- pure helpers (docker.c) -------------------------------------------------- */

/* Parses a DOCKER_HOST value. Only "unix:///abs/path" is accepted; anything else
 * fails with "only unix:// DOCKER_HOST is supported (got '…')". Appends the socket
 * path to sock. */
int docker__parse_docker_host(const char *host, struct buf *sock);
/* The unix socket path of a connected client ("/var/run/docker.sock"); borrowed. */
const char *docker__sock(const struct docker *d);
/* A second client on d's daemon and API version, with a connection of its own (for
 * another thread): no negotiation. */
int docker__clone(const struct docker *d, struct docker **out);

/* Picks the API version to speak: min(client_max, daemon_api), refusing it when it
 * is below daemon_min (NULL or "" means the daemon did not say) or below the oldest
 * version wharf needs. Versions are "MAJOR.MINOR". Appends the result to out. */
int docker__pick_version(const char *daemon_api, const char *daemon_min, const char *client_max,
			 struct buf *out);

/* Is this 400 reply message the daemon refusing our API version? */
int docker__is_version_error(const char *message);

/* ---- requests (docker.c), shared by images.c, containers.c and exec.c ---------- */

/* Words a transport failure for the person who has to fix it; returns -1. */
int docker__unreachable(const struct docker *d, CURLcode rc, long os_errno);
/* Puts in out the daemon's {"message": …}, or the body's text, or the bare status. */
void docker__reply_message(const struct buf *body, long status, struct buf *out);
/* Puts in out path (which must start with '/') under the negotiated /vX.Y prefix. */
int docker__versioned(struct buf *out, const struct docker *d, const char *path);
/* One streamed request on its own connection. The request body, if any, is read
 * from body_fd; on a version refusal the request is repeated once when that fd
 * can be rewound. Non-2xx replies fail with the daemon's message. */
int docker__stream(struct docker *d, const char *method, const char *path, const char *content_type,
		   int body_fd, docker__chunk_fn *fn, void *data, long *status_out);
/* The same, closing the connection after timeout_ms (0: never). */
int docker__stream_timed(struct docker *d, const char *method, const char *path,
			 const char *content_type, int body_fd, docker__chunk_fn *fn, void *data,
			 long *status_out, long timeout_ms);
/* docker__stream() with extra request headers (NULL-terminated "Name: value" lines, no
 * line breaks), for calls such as a push that carry X-Registry-Auth. */
int docker__stream_headers(struct docker *d, const char *method, const char *path,
			   const char *const *headers, docker__chunk_fn *fn, void *data,
			   long *status_out);
/* One call whose answer `allowed` (a 404 for "already gone", a 304 for "already
 * in that state") counts as success; *status (if not NULL) tells which it was. */
int docker__call_allowing(struct docker *d, const char *method, const char *path, long allowed,
			  long *status);
/* A new JSON array of the NULL-terminated strings v (NULL: empty); NULL on failure. */
json_t *docker__string_array(const char **v);
/* GETs path (which may carry a query string) with filters (a JSON object of
 * Docker's list filters, NULL or empty: none) and checks the answer is an array
 * (what names the listed thing in errors). *out is the array; caller decrefs. */
int docker__list(struct docker *d, const char *path, const json_t *filters, const char *what,
		 json_t **out);
/* Appends "/containers/<id><suffix>" to p; an empty id fails. */
int docker__container_path(struct buf *p, const char *id, const char *suffix);

/* ---- JSON-lines splitter ------------------------------------------------------ */

/* Called with each complete line (without its '\n'; a trailing '\r' is dropped).
 * line is NUL-terminated at len. Returning < 0 stops the feed with that value. */
typedef int docker__line_fn(const char *line, size_t len, void *data);

struct docker__lines {
	struct buf partial; /* bytes of the line not yet ended */
	size_t max_line;    /* a longer line is an error */
};
#define DOCKER__LINES_INIT                                        \
	{                                                         \
		.partial = BUF_INIT, .max_line = DOCKER__LINE_MAX \
	}

/* Feeds bytes; calls fn for every line completed by them, in order. Fails (-1 with
 * err_set) on a line longer than max_line, or returns fn's negative value. */
int docker__lines_feed(struct docker__lines *ls, const char *data, size_t len, docker__line_fn *fn,
		       void *fn_data);
/* At end of stream: gives fn the last line if it had no newline. */
int docker__lines_finish(struct docker__lines *ls, docker__line_fn *fn, void *fn_data);
void docker__lines_release(struct docker__lines *ls);

/* Parses one line of a JSON-lines stream and calls fn with the object. Blank lines
 * are skipped; a line that is not a JSON object fails with an error. */
int docker__json_line(const char *line, size_t len, docker_json_fn *fn, void *fn_data);

/* ---- push progress stream (images.c) ------------------------------------------ */

/* The JSON-lines progress of POST /images/{name}/push: every object goes to fn; the
 * first {"error": …} / errorDetail.message is kept, and so is the digest of the final
 * aux {"Tag", "Digest", "Size"} object. */
struct docker__push {
	struct docker__lines lines;
	docker_json_fn *fn;
	void *data;
	struct buf error;
	struct buf digest; /* "sha256:<64 hex>" */
};
#define DOCKER__PUSH_INIT                                                                 \
	{                                                                                 \
		.lines = DOCKER__LINES_INIT, .fn = NULL, .data = NULL, .error = BUF_INIT, \
		.digest = BUF_INIT                                                        \
	}
/* Feeds stream bytes (split anywhere). -1 with err_set() on a line too long or not a
 * JSON object, or fn's negative value. */
int docker__push_feed(struct docker__push *p, const char *data, size_t len);
/* At the end of the stream: fails with Docker's message when the stream held an error,
 * or "… reported no digest" when it held no valid aux digest; else appends the digest
 * to digest. */
int docker__push_finish(struct docker__push *p, struct buf *digest);
void docker__push_release(struct docker__push *p);

/* ---- multiplexed log frames ---------------------------------------------------- */

/* Frames are [stream, 0, 0, 0, size (uint32 big-endian)] + size bytes. The demuxer
 * keeps its place across feeds, so frames and headers may be split anywhere. */
struct docker__demux {
	unsigned char hdr[8];
	size_t hdr_len;   /* header bytes collected so far */
	size_t remaining; /* payload bytes left in the current frame */
	int stream;       /* of the current frame: 1 stdout, 2 stderr */
};
#define DOCKER__DEMUX_INIT                                \
	{                                                 \
		.hdr_len = 0, .remaining = 0, .stream = 0 \
	}

/* Feeds bytes; payload goes to fn as it arrives (a frame may come in several
 * calls; empty payloads are not reported). Stream 0 (stdin echo) is reported as 1
 * and 3 (daemon error) as 2. Another stream byte fails with "bad log frame".
 * Returns 0, -1 with err_set(), or fn's negative value. */
int docker__demux_feed(struct docker__demux *dm, const char *data, size_t len, docker_output_fn *fn,
		       void *fn_data);
/* 1 when the demuxer stands between frames (a stream may end there). */
int docker__demux_idle(const struct docker__demux *dm);

#endif
