/* router.c - `wharf router`: runs the HTTP reverse proxy daemon in the foreground;
 * `router:set|report`: an app's options in the running router. */
#include "cli.h"
#include "router/router.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
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

/* "10m", "512k", "1g", "1048576", "0" (no limit): bytes in *out; 0 or -1. */
static int parse_size(unsigned long long *out, const char *s)
{
	unsigned long long n = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (~0ULL - 9) / 10)
			goto bad;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mult = 1024ULL; p++; break;
	case 'm': case 'M': mult = 1024ULL * 1024; p++; break;
	case 'g': case 'G': mult = 1024ULL * 1024 * 1024; p++; break;
	default: break;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p || (n && mult > ~0ULL / n))
		goto bad;
	*out = n * mult;
	return 0;
bad:
	return err_set("invalid size '%s': give bytes, or a number with k, m or g "
		       "(as in 10m; 0 for no limit)", s);
}

/* "on|off|true|false" into *out; 0 or -1. */
static int parse_switch(int *out, const char *s)
{
	if (!strcmp(s, "on") || !strcmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "off") || !strcmp(s, "false"))
		*out = 0;
	else
		return err_set("invalid value '%s': give on or off", s);
	return 0;
}

/* router:set <app> max-body-size [SIZE] | redirect-https [on|off]: PUT
 * /apps/<app>/options; no value sets the default back. */
int cmd_router_set(int argc, char **argv)
{
	struct buf path = BUF_INIT;
	json_t *body = NULL, *reply = NULL;
	char *text = NULL;
	const char *key, *value;
	unsigned long long size = 0;
	long status;
	int on = 0, ret = -1;

	if (argc != 3 && argc != 4)
		return err_set("usage: router:set <app> max-body-size|redirect-https [VALUE]");
	key = argv[2];
	value = argc == 4 ? argv[3] : NULL;
	if (valid_app_name(argv[1]) < 0 || buf_addf(&path, "/apps/%s/options", argv[1]) < 0)
		goto out;
	if (!strcmp(key, "max-body-size")) {
		if (value && parse_size(&size, value) < 0)
			goto out;
		body = value ? json_pack("{s:I}", "max_body_bytes", (json_int_t)size)
			     : json_pack("{s:n}", "max_body_bytes");
	} else if (!strcmp(key, "redirect-https")) {
		if (value && parse_switch(&on, value) < 0)
			goto out;
		body = json_pack("{s:b}", "redirect_https", on);
	} else {
		err_set("unknown router property '%s': give max-body-size or redirect-https", key);
		goto out;
	}
	if (!body || !(text = json_dumps(body, JSON_COMPACT))) {
		err_set("out of memory");
		goto out;
	}
	if (value)
		say_step("Setting %s to %s for %s", key, value, argv[1]);
	else
		say_step("Unsetting %s for %s", key, argv[1]);
	if ((status = cli_router_call("PUT", path.buf, text, &reply)) < 0)
		goto out;
	if (status != 200) {
		cli_router_error(status, reply);
		goto out;
	}
	ret = 0;
out:
	free(text);
	json_decref(body);
	json_decref(reply);
	buf_release(&path);
	return ret;
}

/* router:report <app> [--format json] [--router-KEY]: what the router does for
 * the app, from GET /apps/<app>. */
int cmd_router_report(int argc, char **argv)
{
	struct cli_opts o;
	struct buf path = BUF_INIT, title = BUF_INIT, domains = BUF_INIT, targets = BUF_INIT;
	json_t *reply = NULL, *v;
	char size[32];
	long status;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", "--router-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (valid_app_name(o.pos[0]) < 0 || buf_addf(&path, "/apps/%s", o.pos[0]) < 0 ||
	    buf_addf(&title, "%s router information", o.pos[0]) < 0)
		goto out;
	if ((status = cli_router_call("GET", path.buf, NULL, &reply)) < 0)
		goto out;
	if (status != 200) {
		cli_router_error(status, reply);
		goto out;
	}
	json_array_foreach(json_object_get(reply, "domains"), i, v)
		if (buf_addf(&domains, "%s%s", i ? " " : "", json_string_value(v)) < 0)
			goto out;
	json_array_foreach(json_object_get(reply, "targets"), i, v)
		if (buf_addf(&targets, "%s%s", i ? " " : "", json_string_value(v)) < 0)
			goto out;
	snprintf(size, sizeof(size), "%lld",
		 (long long)json_integer_value(json_object_get(reply, "max_body_bytes")));
	{
		struct cli_report_row rows[] = {
			{ "Router domains", domains.buf },
			{ "Router targets", targets.buf },
			{ "Router max body size", size },
			{ "Router redirect https",
			  json_is_true(json_object_get(reply, "redirect_https")) ? "true" : "false" },
			{ "Router paused", json_is_true(json_object_get(reply, "paused")) ? "true"
											  : "false" },
			{ "Router maintenance",
			  json_is_true(json_object_get(reply, "maintenance")) ? "true" : "false" },
		};
		ret = cli_report_show(title.buf, rows, sizeof(rows) / sizeof(rows[0]), o.flag, json);
	}
out:
	json_decref(reply);
	buf_release(&path);
	buf_release(&title);
	buf_release(&domains);
	buf_release(&targets);
	return ret;
}
