/* router.c - `router:set|report`: an app's options in the running router (the daemon,
 * `wharf router`, is in routerd.c). */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
