/* routerd.c - `wharf router` (and bin/wharf-router): runs the HTTP reverse proxy daemon
 * in the foreground. Kept apart from the other commands so that bin/wharf-router links
 * this file alone, without libgit2, libcurl and libarchive. */
#include "cli.h"
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wharf router [--listen ADDR:PORT] [--listen-https ADDR:PORT]\n"
		"                    [--access-log FILE|-] [--takeover] [LIMIT OPTIONS]\n"
		"\n"
		"Runs the HTTP reverse proxy in the foreground until SIGTERM or SIGINT.\n"
		"\n"
		"  --listen ADDR:PORT   address to serve HTTP on (default 0.0.0.0:80;\n"
		"                       port 0 picks a free port, printed at start)\n"
		"  --listen-https ADDR:PORT  also serve HTTPS there (certificates per app,\n"
		"                       chosen by SNI; see certs:add), HTTP/2 by ALPN (h2)\n"
		"                       or HTTP/1.1, with session tickets kept across\n"
		"                       --takeover\n"
		"  --takeover           take the listening sockets from the router running on\n"
		"                       the same control socket (it then stops as on SIGTERM):\n"
		"                       upgrade the router without refusing a connection\n"
		"  --access-log FILE    append one line per request to FILE ('-': stderr;\n"
		"                       default: no access log)\n"
		"  --access-log-dir DIR also one access log per app, DIR/<app>.log, which\n"
		"                       `logs <app> -p router` shows (make up uses\n"
		"                       $WHARF_ROOT/router-logs; default: none)\n"
		"  --access-log-max-size SIZE  rotate an app's access log past SIZE (10m)\n"
		"  --access-log-max-files N    rotated files kept, the current one included (3)\n"
		"\n"
		"Limits (sizes in bytes, or with k: 8k; times in ms, or with ms or s: 30s):\n"
		"  --max-header-bytes N   request head, request line included (431; default 16k)\n"
		"  --max-url-bytes N      request target (414; default 8k)\n"
		"  --head-timeout T       to read a whole request head, from the accept or\n"
		"                         from its first byte on a kept-alive connection\n"
		"                         (408; default 30s)\n"
		"  --idle-timeout T       a keep-alive client silent between requests (closed;\n"
		"                         default 60s)\n"
		"  --body-timeout T       between two reads of a request body (408, or closed\n"
		"                         once the response has begun; default 60s)\n"
		"  --connect-timeout T    to connect to an app's target (next target once,\n"
		"                         then 502; default 5s)\n"
		"  --response-timeout T   for the app's response head, and between its bytes\n"
		"                         (504, or closed once the response has begun;\n"
		"                         default 60s)\n"
		"\n"
		"Control socket: $WHARF_ROUTER_SOCKET (default /run/wharf/router.sock).\n"
		"State files:    $WHARF_ROOT/router/table.json and table.json.journal\n");
}

static void on_ready_https(const char *listen, void *data)
{
	(void)data;
	fprintf(stderr, "wharf router: listening for HTTPS on %s\n", listen);
	fflush(stderr);
}

static void on_ready(const char *listen, const char *control_socket, size_t napps, void *data)
{
	(void)data;
	fprintf(stderr, "wharf router: listening on %s, control socket %s, %zu app%s restored\n",
		listen, control_socket, napps, napps == 1 ? "" : "s");
	fflush(stderr);
}

/* "1500", "1500ms", "30s": milliseconds in *out, 1 ms .. 24 h; 0 or -1. */
static int parse_ms(unsigned *out, const char *flag, const char *s)
{
	unsigned long long n = 0, mult = 1;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && n <= ROUTER_TIMEOUT_MS_MAX; p++)
		n = n * 10 + (unsigned long long)(*p - '0');
	if (p != s && !strcmp(p, "s"))
		mult = 1000;
	else if (p == s || (*p && strcmp(p, "ms")))
		goto bad;
	n *= mult;
	if (!n || n > ROUTER_TIMEOUT_MS_MAX)
		goto bad;
	*out = (unsigned)n;
	return 0;
bad:
	return err_set("invalid %s '%s': give milliseconds, or a number with ms or s "
		       "(as in 1500ms or 30s), between 1ms and 24 hours",
		       flag, s);
}

/* "8192", "8k": bytes in *out, 1 .. 1 MiB; 0 or -1. */
static int parse_bytes(size_t *out, const char *flag, const char *s)
{
	unsigned long long n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9' && n <= ROUTER_LIMIT_BYTES_MAX; p++)
		n = n * 10 + (unsigned long long)(*p - '0');
	if (p != s && (!strcmp(p, "k") || !strcmp(p, "K")))
		n *= 1024;
	else if (p == s || *p)
		goto bad;
	if (!n || n > ROUTER_LIMIT_BYTES_MAX)
		goto bad;
	*out = (size_t)n;
	return 0;
bad:
	return err_set("invalid %s '%s': give bytes, or a number with k (as in 8k), "
		       "between 1 and 1024k",
		       flag, s);
}

/* The limit flags: "--name VALUE" or "--name=VALUE". Returns 1 when argv[*i] was
 * one (and *i moved past its value), 0 when it is not, -1 on a bad value. */
static int limit_flag(struct router_opts *o, int argc, char **argv, int *i)
{
	const struct {
		const char *name;
		size_t *bytes; /* a size, or */
		unsigned *ms;  /* a time */
	} flags[] = {
		{ "--max-header-bytes", &o->max_header_bytes, NULL },
		{ "--max-url-bytes", &o->max_url_bytes, NULL },
		{ "--head-timeout", NULL, &o->head_timeout_ms },
		{ "--idle-timeout", NULL, &o->idle_timeout_ms },
		{ "--body-timeout", NULL, &o->body_timeout_ms },
		{ "--connect-timeout", NULL, &o->connect_timeout_ms },
		{ "--response-timeout", NULL, &o->response_timeout_ms },
	};
	const char *arg = argv[*i], *value;
	size_t k, len;

	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		len = strlen(flags[k].name);
		if (strncmp(arg, flags[k].name, len) || (arg[len] && arg[len] != '='))
			continue;
		if (arg[len] == '=')
			value = arg + len + 1;
		else if (*i + 1 < argc)
			value = argv[++*i];
		else
			return err_set("%s needs a value", flags[k].name);
		if (flags[k].ms)
			return parse_ms(flags[k].ms, flags[k].name, value) < 0 ? -1 : 1;
		return parse_bytes(flags[k].bytes, flags[k].name, value) < 0 ? -1 : 1;
	}
	return 0;
}

/* Parent directory of path into out; 0, or -1 when path has none. */
static int parent_dir(struct buf *out, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return -1;
	return buf_add(out, path, (size_t)(slash - path));
}

int cmd_router(int argc, char **argv)
{
	struct router_opts opts = ROUTER_OPTS_INIT;
	struct buf state = BUF_INIT, sockdir = BUF_INIT;
	int i, rc, ret = -1;

	opts.listen_http = "0.0.0.0:80";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			opts.listen_http = argv[++i];
		} else if (!strncmp(argv[i], "--listen=", 9)) {
			opts.listen_http = argv[i] + 9;
		} else if (!strcmp(argv[i], "--takeover")) {
			opts.takeover = 1;
		} else if (!strcmp(argv[i], "--listen-https") && i + 1 < argc) {
			opts.listen_https = argv[++i];
		} else if (!strncmp(argv[i], "--listen-https=", 15)) {
			opts.listen_https = argv[i] + 15;
		} else if (!strcmp(argv[i], "--access-log") && i + 1 < argc) {
			opts.access_log = argv[++i];
		} else if (!strncmp(argv[i], "--access-log=", 13)) {
			opts.access_log = argv[i] + 13;
		} else if (!strcmp(argv[i], "--access-log-dir") && i + 1 < argc) {
			opts.access_log_dir = argv[++i];
		} else if (!strcmp(argv[i], "--access-log-max-size") && i + 1 < argc) {
			if (size_parse(argv[++i], &opts.access_log_max_bytes) < 0 ||
			    opts.access_log_max_bytes < 4096)
				return err_set("--access-log-max-size: a size of at least 4k");
		} else if (!strcmp(argv[i], "--access-log-max-files") && i + 1 < argc) {
			opts.access_log_max_files = atoi(argv[++i]);
			if (opts.access_log_max_files < 1 || opts.access_log_max_files > 100 ||
			    strspn(argv[i], "0123456789") != strlen(argv[i]))
				return err_set("--access-log-max-files: a count from 1 to 100");
		} else if ((rc = limit_flag(&opts, argc, argv, &i)) != 0) {
			if (rc < 0)
				return -1;
		} else {
			usage(stderr);
			return err_set("unknown argument '%s' to router", argv[i]);
		}
	}
	if (opts.access_log_dir && fs_mkdir_p(opts.access_log_dir, 0755) < 0)
		goto out;
	opts.control_socket = wharf_router_socket();
	if (parent_dir(&sockdir, opts.control_socket) == 0 && fs_mkdir_p(sockdir.buf, 0755) < 0)
		goto out;
	if (buf_addf(&state, "%s/router", wharf_root()) < 0 || fs_mkdir_p(state.buf, 0750) < 0 ||
	    buf_addstr(&state, "/table.json") < 0)
		goto out;
	opts.state_file = state.buf;
	opts.on_ready = on_ready;
	opts.on_ready_https = on_ready_https;
	ret = router_run(&opts);
out:
	buf_release(&state);
	buf_release(&sockdir);
	return ret;
}
