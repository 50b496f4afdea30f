/* src/router/router.h - public interface of the HTTP reverse proxy (`wharf router`). */
#ifndef WHARF_ROUTER_H
#define WHARF_ROUTER_H

#include <stddef.h>

struct router_opts {
	const char *listen_http;        /* "0.0.0.0:80"; "127.0.0.1:0" in tests */
	const char *listen_https;       /* NULL: no TLS; else "0.0.0.0:443" */
	const char *control_socket;     /* unix socket for the control API */
	const char *state_file;         /* the router's own persisted table */
	int         takeover;           /* take the listening sockets from the running router */
	const char *access_log;         /* NULL: none; "-": stderr; else a file to append to */
	size_t      max_header_bytes;   /* cap for untrusted input */
	unsigned    idle_timeout_ms;
	/* Called once when both sockets are bound and the table is restored, with the
	 * listen address as bound (the real port when ":0" was asked for), so the
	 * command can tell its user; may be NULL. */
	void      (*on_ready)(const char *listen, const char *control_socket, size_t napps,
			      void *data);
	/* Called after on_ready with the HTTPS address as bound, when there is one. */
	void      (*on_ready_https)(const char *listen, void *data);
	void       *ready_data;
};
#define ROUTER_OPTS_INIT { .max_header_bytes = 16384, .idle_timeout_ms = 60000 }

/* A request body larger than this gets 413 unless the app sets its own limit
 * (router:set max-body-size; router:report shows it for an app not served). */
#define ROUTER_BODY_MAX_DEFAULT (1024ULL * 1024 * 1024)

/* Runs the router until SIGTERM/SIGINT: binds listen_http and control_socket,
 * restores state_file, serves. Returns 0 on a clean stop, -1 with err_msg(). */
int router_run(const struct router_opts *opts);

#endif
