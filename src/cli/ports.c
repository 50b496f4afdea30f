/* ports.c - ports:list, add, set, remove, clear, report: an app's
 * scheme:host-port:container-port maps (app.json's "ports" array), and what they
 * mean with host networking (see docs/checks-and-ports.md). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORTS_MAX 32

/* Parses every MAP argument into a new array of canonical strings. */
static int parse_maps(json_t **out, char **args, int n)
{
	struct deploy_port_map m;
	int i;

	*out = json_array();
	for (i = 0; i < n; i++) {
		struct buf s = BUF_INIT;
		if (deploy_port_map_parse(&m, args[i]) < 0 || deploy_port_map_format(&s, &m) < 0) {
			buf_release(&s);
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		if (!json_array_has_str(*out, s.buf))
			json_array_append_new(*out, json_string(s.buf));
		buf_release(&s);
	}
	return 0;
}

/* What the maps do for this app, said after every change: port is
 * deploy_web_port(), nocheck whether checks are disabled for web. */
/* 1 when app runs on the swarm (scheduler:set), where each web task has its own PORT. */
static int on_swarm(const char *app)
{
	const char *sched = "docker-local";

	if (deploy_app_scheduler(app, &sched) < 0)
		err_clear(); /* handled: the deploy says it again */
	return !strcmp(sched, "swarm");
}

static void explain(const char *app, int port, int nocheck)
{
	if (port && on_swarm(app))
		say_detail("on the swarm each web task listens on its own $PORT (<P><slot>): "
			   "container port %d is not used%s (docs/cluster.md)",
			   port,
			   nocheck ? ", and with checks:disable web the next deploy is refused"
				   : "");
	else if (!port)
		say_detail("%s's web container gets a fresh $PORT on each deploy", app);
	else if (nocheck)
		say_detail("the web container gets PORT=%d (checks are disabled for web: no "
			   "overlap)",
			   port);
	else
		say_detail(
			"container port %d is used only without overlap (checks:disable %s web); "
			"zero-downtime deploys give each container a fresh $PORT",
			port, app);
	say_detail("applies from the next deploy");
}

enum ports_change { ADD, SET, REMOVE, CLEAR };

struct ports_req {
	enum ports_change what;
	const struct cli_opts *o;
	const json_t *maps; /* parsed MAP arguments (ADD, SET) */
	int port, nocheck;  /* for explain(), after the change */
};

/* app_update() callback: applies the change to app.json's "ports". */
static int change_maps(const char *app, json_t *doc, void *data)
{
	struct ports_req *rq = data;
	const struct cli_opts *o = rq->o;
	enum ports_change what = rq->what;
	json_t *cur = app_ensure(doc, APP_PORTS);
	size_t i;
	int k;

	if (!cur)
		return -1;
	if (what == SET || what == CLEAR)
		json_array_clear(cur);
	if (what == ADD || what == SET) {
		json_t *v;
		json_array_foreach(rq->maps, i, v)
			if (!json_array_has_str(cur, json_string_value(v)))
				json_array_append(cur, v);
		if (json_array_size(cur) > PORTS_MAX)
			return err_set("at most %d port mappings", PORTS_MAX);
	}
	if (what == REMOVE) {
		for (k = 1; k < o->npos; k++) {
			size_t before = json_array_size(cur);
			for (i = before; i-- > 0;) {
				const char *s = json_string_value(json_array_get(cur, i));
				const char *c1 = strchr(s, ':'),
					   *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
				int byport = strchr(o->pos[k], ':') == NULL;
				if (byport ? (c1 && c2 &&
					      (size_t)(c2 - c1 - 1) == strlen(o->pos[k]) &&
					      !strncmp(c1 + 1, o->pos[k], strlen(o->pos[k])))
					   : !strcmp(s, o->pos[k]))
					json_array_remove(cur, i);
			}
			if (json_array_size(cur) == before)
				return err_set("%s has no port mapping %s", app, o->pos[k]);
		}
	}
	rq->port = deploy_web_port(doc);
	rq->nocheck = runtime_type_listed(app_get(doc, APP_CHECKS_DISABLED), "web");
	return 1;
}

static int change(int argc, char **argv, enum ports_change what)
{
	struct cli_opts o;
	struct ports_req rq = { .what = what, .o = &o };
	json_t *maps = NULL;
	int k, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (what == CLEAR ? o.npos != 1 : o.npos < 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (what != REMOVE && parse_maps(&maps, o.pos + 1, o.npos - 1) < 0)
		return -1;
	if (what == REMOVE) {
		/* HOST-PORT or a whole map: each must be valid before anything changes. */
		struct deploy_port_map m;
		int port;
		for (k = 1; k < o.npos; k++)
			if (deploy_port_parse(o.pos[k], strlen(o.pos[k]), 1, &port) < 0 &&
			    deploy_port_map_parse(&m, o.pos[k]) < 0)
				return err_set("'%s' is neither a host port nor a port mapping",
					       o.pos[k]);
	}
	rq.maps = maps;
	if (app_update(o.pos[0], change_maps, &rq) < 0)
		goto out;
	if (what == CLEAR)
		say_step("Cleared port mappings of %s", o.pos[0]);
	else
		say_step("%s port mappings of %s", what == REMOVE ? "Removed" : "Setting",
			 o.pos[0]);
	explain(o.pos[0], rq.port, rq.nocheck);
	ret = 0;
out:
	json_decref(maps);
	return ret;
}

int cmd_ports_add(int argc, char **argv)
{
	return change(argc, argv, ADD);
}

int cmd_ports_set(int argc, char **argv)
{
	return change(argc, argv, SET);
}

int cmd_ports_remove(int argc, char **argv)
{
	return change(argc, argv, REMOVE);
}

int cmd_ports_clear(int argc, char **argv)
{
	return change(argc, argv, CLEAR);
}

int cmd_ports_list(int argc, char **argv)
{
	struct cli_opts o;
	struct deploy_port_map m;
	json_t *app = NULL, *maps, *v;
	size_t i;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || app_load(o.pos[0], &app) < 0)
		return -1;
	maps = app_get(app, APP_PORTS);
	if (!json_array_size(maps)) {
		say_step("No port mappings configured for app %s", o.pos[0]);
		say_detail("served on the router's http:80 (and https:443 with a certificate); "
			   "the web container gets a fresh $PORT");
		json_decref(app);
		return 0;
	}
	say_step("Port mappings for %s", o.pos[0]);
	printf("    %-25s %-25s %s\n", "-----> scheme", "host port", "container port");
	json_array_foreach(maps, i, v)
		if (deploy_port_map_parse(&m, json_string_value(v)) == 0)
			printf("    %-25s %-25d %d\n", m.scheme, m.host, m.container);
	json_decref(app);
	return 0;
}

static int ports_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT, map = BUF_INIT, port = BUF_INIT;
	json_t *app = NULL, *v;
	size_t i;
	int web, ret = -1;

	if (app_load(name, &app) < 0 || buf_addf(&title, "%s ports information", name) < 0)
		goto out;
	json_array_foreach(app_get(app, APP_PORTS), i, v)
		buf_addf(&map, "%s%s", i ? " " : "", json_string_value(v));
	web = deploy_web_port(app);
	if (on_swarm(name))
		buf_addstr(&port, "per task (swarm)");
	else if (web && runtime_type_listed(app_get(app, APP_CHECKS_DISABLED), "web"))
		buf_addf(&port, "%d", web);
	else
		buf_addstr(&port, "fresh per container");
	{
		struct cli_report_row rows[] = {
			{ "Ports map", map.buf },
			{ "Ports computed web port", port.buf },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	buf_release(&title);
	buf_release(&map);
	buf_release(&port);
	return ret;
}

int cmd_ports_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--ports-", ports_report);
}
