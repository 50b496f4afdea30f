/* router.c - `router:set|report`: an app's router options, kept in its app.json and
 * sent with every route PUT (the daemon, `wharf router`, is in routerd.c). */
#include "cli.h"
#include "router/router.h"

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

int cli_router_options(const json_t *appobj, json_t **out)
{
	const json_t *o = json_object_get(appobj, "router"), *max;

	*out = NULL;
	if (!json_is_object(o))
		return 0;
	max = json_object_get(o, "max_body_bytes");
	*out = json_pack("{s:b, s:O}", "redirect_https",
			 json_is_true(json_object_get(o, "redirect_https")), "max_body_bytes",
			 json_is_integer(max) ? (json_t *)max : json_null());
	return *out ? 0 : err_set("out of memory");
}

/* PUT /apps/<app>/options with body; 0 or -1 with the router's message. */
static int put_options(const char *app, const json_t *body)
{
	return cli_router_put(app, "options", body, NULL);
}

/* router:set <app> max-body-size [SIZE] | redirect-https [on|off]; no value sets
 * the default back. The app's lock keeps a deploy from sending the old value
 * after us; the router is told first, so a router that refuses (or is down)
 * leaves app.json as it was, and app.json is put back if it cannot be saved. */
int cmd_router_set(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *appobj = NULL, *opts, *body = NULL, *undo = NULL, *old;
	const char *app, *key, *value, *field;
	unsigned long long size = 0;
	int on = 0, ret = -1;

	if (argc != 3 && argc != 4)
		return err_set("usage: router:set <app> max-body-size|redirect-https [VALUE]");
	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	app = argv[1];
	key = argv[2];
	value = argc == 4 ? argv[3] : NULL;
	if (!strcmp(key, "max-body-size")) {
		if (value && parse_size(&size, value) < 0)
			return -1;
		field = "max_body_bytes";
		body = value ? json_pack("{s:I}", field, (json_int_t)size)
			     : json_pack("{s:n}", field);
	} else if (!strcmp(key, "redirect-https")) {
		if (value && parse_switch(&on, value) < 0)
			return -1;
		field = "redirect_https";
		body = json_pack("{s:b}", field, on);
	} else {
		return err_set("unknown router property '%s': give max-body-size or redirect-https",
			       key);
	}
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	if (state_app_lock(&l, app) < 0 || state_app_load(app, &appobj) < 0)
		goto out;
	if (!json_is_object(json_object_get(appobj, "router")))
		json_object_set_new(appobj, "router", json_object());
	opts = json_object_get(appobj, "router");
	/* What the router had, to put back if app.json cannot be saved. */
	old = json_object_get(opts, field);
	undo = json_pack("{s:O}", field, old ? old : !strcmp(field, "redirect_https")
							 ? json_false() : json_null());
	if (value)
		json_object_set_new(opts, field, json_deep_copy(json_object_get(body, field)));
	else
		json_object_del(opts, field);
	if (value)
		say_step("Setting %s to %s for %s", key, value, app);
	else
		say_step("Unsetting %s for %s", key, app);
	if (put_options(app, body) < 0)
		goto out;
	if (state_app_save(app, appobj) < 0) {
		struct err_saved why;

		err_save(&why);
		if (undo && put_options(app, undo) < 0)
			say_warn("the router keeps the new value: %s", err_msg());
		err_restore(&why);
		goto out;
	}
	ret = 0;
out:
	lock_release(&l);
	json_decref(appobj);
	json_decref(body);
	json_decref(undo);
	return ret;
}

/* router:report <app> [--format json] [--router-KEY]: what the router does for
 * the app, from GET /apps/<app>; an app it does not serve now (stopped, not
 * deployed) shows no domains or targets and the options of its app.json, which
 * its next route gets. */
int cmd_router_report(int argc, char **argv)
{
	struct cli_opts o;
	struct buf path = BUF_INIT, title = BUF_INIT, domains = BUF_INIT, targets = BUF_INIT;
	json_t *reply = NULL, *appobj = NULL, *opts = NULL, *src, *v;
	char size[32];
	long status;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", "--router-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || state_app_load(o.pos[0], &appobj) < 0 ||
	    cli_router_options(appobj, &opts) < 0 || buf_addf(&path, "/apps/%s", o.pos[0]) < 0 ||
	    buf_addf(&title, "%s router information", o.pos[0]) < 0)
		goto out;
	if ((status = router_client_call("GET", path.buf, NULL, 0, &reply)) < 0)
		goto out;
	if (status != 200 && status != 404) {
		router_client_error(status, reply, NULL);
		goto out;
	}
	if (status == 404) {
		json_decref(reply);
		reply = NULL;
	}
	json_array_foreach(json_object_get(reply, "domains"), i, v)
		if (buf_addf(&domains, "%s%s", i ? " " : "", json_string_value(v)) < 0)
			goto out;
	json_array_foreach(json_object_get(reply, "targets"), i, v)
		if (buf_addf(&targets, "%s%s", i ? " " : "", json_string_value(v)) < 0)
			goto out;
	src = reply ? reply : opts;
	v = json_object_get(src, "max_body_bytes");
	snprintf(size, sizeof(size), "%llu",
		 json_is_integer(v) ? (unsigned long long)json_integer_value(v)
				    : ROUTER_BODY_MAX_DEFAULT);
	{
		struct cli_report_row rows[] = {
			{ "Router domains", domains.buf },
			{ "Router targets", targets.buf },
			{ "Router max body size", size },
			{ "Router redirect https",
			  json_is_true(json_object_get(src, "redirect_https")) ? "true" : "false" },
			{ "Router paused", json_is_true(json_object_get(reply, "paused")) ? "true"
											  : "false" },
			{ "Router maintenance",
			  json_is_true(json_object_get(reply, "maintenance")) ? "true" : "false" },
		};
		ret = cli_report_show(title.buf, rows, sizeof(rows) / sizeof(rows[0]), o.flag, json);
	}
out:
	json_decref(reply);
	json_decref(appobj);
	json_decref(opts);
	buf_release(&path);
	buf_release(&title);
	buf_release(&domains);
	buf_release(&targets);
	return ret;
}
