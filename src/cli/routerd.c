/* routerd.c - `wharf router` (and bin/wharf-router): runs the HTTP reverse proxy daemon
 * in the foreground. Kept apart from the other commands so that bin/wharf-router links
 * this file alone, without libgit2, libcurl and libarchive. */
#include "cli.h"
#include "router/router.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wharf router [--listen ADDR:PORT] [--listen-https ADDR:PORT]\n"
		"                    [--access-log FILE|-] [--takeover]\n"
		"\n"
		"Runs the HTTP reverse proxy in the foreground until SIGTERM or SIGINT.\n"
		"\n"
		"  --listen ADDR:PORT   address to serve HTTP on (default 0.0.0.0:80;\n"
		"                       port 0 picks a free port, printed at start)\n"
		"  --listen-https ADDR:PORT  also serve HTTPS there (certificates per app,\n"
		"                       chosen by SNI; see certs:add)\n"
		"  --takeover           take the listening sockets from the router running on\n"
		"                       the same control socket (it then stops as on SIGTERM):\n"
		"                       upgrade the router without refusing a connection\n"
		"  --access-log FILE    append one line per request to FILE ('-': stderr;\n"
		"                       default: no access log)\n"
		"\n"
		"Control socket: $WHARF_ROUTER_SOCKET (default /run/wharf/router.sock).\n"
		"State file:     $WHARF_ROOT/router/table.json\n");
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
	int i, ret = -1;

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
		} else {
			usage(stderr);
			return err_set("unknown argument '%s' to router", argv[i]);
		}
	}
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

