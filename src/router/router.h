/* src/router/router.h - public interface of the HTTP reverse proxy (`wharf router`). */
#ifndef WHARF_ROUTER_H
#define WHARF_ROUTER_H

#include <stddef.h>

struct router_opts {
	const char *listen_http;    /* "0.0.0.0:80"; "127.0.0.1:0" in tests */
	const char *listen_https;   /* NULL: no TLS; else "0.0.0.0:443" */
	const char *control_socket; /* unix socket for the control API */
	const char *state_file;     /* the router's own persisted table */
	int takeover;               /* take the listening sockets from the running router */
	const char *access_log;     /* NULL: none; "-": stderr; else a file to append to */
	/* Also one access log per app, <dir>/<app>.log, rotated past max_bytes
	 * keeping max_files (accesslog.c); NULL: none. 0: the defaults. */
	const char *access_log_dir;
	long long access_log_max_bytes;
	int access_log_max_files;
	/* Limits on what a client sends (0: the default). */
	size_t max_header_bytes; /* request head, request line included: 431 */
	size_t max_url_bytes;    /* request target: 414 */
	/* Timeouts in milliseconds (0: the default). */
	unsigned head_timeout_ms;     /* a request head, in total from its first byte
				         * (from the accept for a new connection): 408 */
	unsigned idle_timeout_ms;     /* a keep-alive client between requests: close */
	unsigned body_timeout_ms;     /* between two reads of a request body: 408 */
	unsigned connect_timeout_ms;  /* connecting to a target: next target, 502 */
	unsigned response_timeout_ms; /* the app's response head, and between its
					  * response bytes: 504 before the head, else close */
	/* Called once when both sockets are bound and the table is restored, with the
	 * listen address as bound (the real port when ":0" was asked for), so the
	 * command can tell its user; may be NULL. */
	void (*on_ready)(const char *listen, const char *control_socket, size_t napps, void *data);
	/* Called after on_ready with the HTTPS address as bound, when there is one. */
	void (*on_ready_https)(const char *listen, void *data);
	void *ready_data;
};
#define ROUTER_MAX_HEADER_BYTES_DEFAULT 16384
#define ROUTER_MAX_URL_BYTES_DEFAULT    8192
#define ROUTER_HEAD_TIMEOUT_DEFAULT     30000
#define ROUTER_IDLE_TIMEOUT_DEFAULT     60000
#define ROUTER_BODY_TIMEOUT_DEFAULT     60000
#define ROUTER_CONNECT_TIMEOUT_DEFAULT  5000
#define ROUTER_RESPONSE_TIMEOUT_DEFAULT 60000
#define ROUTER_OPTS_INIT                                                \
	{                                                               \
		.max_header_bytes = ROUTER_MAX_HEADER_BYTES_DEFAULT,    \
		.max_url_bytes = ROUTER_MAX_URL_BYTES_DEFAULT,          \
		.head_timeout_ms = ROUTER_HEAD_TIMEOUT_DEFAULT,         \
		.idle_timeout_ms = ROUTER_IDLE_TIMEOUT_DEFAULT,         \
		.body_timeout_ms = ROUTER_BODY_TIMEOUT_DEFAULT,         \
		.connect_timeout_ms = ROUTER_CONNECT_TIMEOUT_DEFAULT,   \
		.response_timeout_ms = ROUTER_RESPONSE_TIMEOUT_DEFAULT, \
	}
#define ROUTER_ACCESS_LOG_MAX_BYTES_DEFAULT (10LL << 20)
#define ROUTER_ACCESS_LOG_MAX_FILES_DEFAULT 3
/* The bounds router_run() accepts: sizes 1 byte .. 1 MiB, timeouts 1 ms .. 24 h. */
#define ROUTER_LIMIT_BYTES_MAX              (1024 * 1024)
#define ROUTER_TIMEOUT_MS_MAX               (24U * 3600 * 1000)

/* A request body larger than this gets 413 unless the app sets its own limit
 * (router:set max-body-size; router:report shows it for an app not served). */
#define ROUTER_BODY_MAX_DEFAULT (1024ULL * 1024 * 1024)

/* Runs the router until SIGTERM/SIGINT: binds listen_http and control_socket,
 * restores state_file, serves. A limit or timeout of 0 takes its default; one
 * beyond the bounds above is an error. Returns 0 on a clean stop, -1 with err_msg(). */
int router_run(const struct router_opts *opts);

#endif
