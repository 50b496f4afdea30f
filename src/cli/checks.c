/* checks.c - checks:enable, disable, skip, run, report: which process types get
 * startup checks and zero-downtime overlap on the next deploy (app.json's
 * "checks_disabled" and "checks_skipped" arrays of types, "_all_" for every type). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL "_all_"

/* "web,worker", or "none" for an empty list. Appends to out. */
static void join_types(struct buf *out, const json_t *types)
{
	size_t i;
	json_t *v;

	json_array_foreach(types, i, v)
		buf_addf(out, "%s%s", i ? "," : "", json_string_value(v));
	if (!json_array_size(types))
		buf_addstr(out, "none");
}

/* The array app[key], created when missing. Borrowed. */
static json_t *types_of(json_t *app, const char *key)
{
	json_t *a = json_object_get(app, key);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(app, key, a);
	}
	return a;
}

/* Removes the types from list. A list of every type ("_all_") cannot lose one of
 * them: wharf does not know every type an app will have. */
static int remove_types(json_t *list, const json_t *types, const char *what)
{
	size_t i, j;
	json_t *v;

	if (runtime_type_listed(types, ALL)) {
		json_array_clear(list);
		return 0;
	}
	if (runtime_type_listed(list, ALL))
		return err_set("checks are %s for all process types: change them all (no type "
			       "list) first", what);
	json_array_foreach(types, i, v)
		for (j = json_array_size(list); j-- > 0;)
			if (!strcmp(json_string_value(json_array_get(list, j)), json_string_value(v)))
				json_array_remove(list, j);
	return 0;
}

static int add_types(json_t *list, const json_t *types)
{
	size_t i;
	json_t *v;

	if (runtime_type_listed(types, ALL)) {
		json_array_clear(list);
		json_array_append_new(list, json_string(ALL));
		return 0;
	}
	json_array_foreach(types, i, v)
		if (!runtime_type_listed(list, json_string_value(v)))
			json_array_append(list, v);
	return 0;
}

enum checks_change { ENABLE, DISABLE, SKIP };

static int change(int argc, char **argv, enum checks_change what)
{
	static const char *const verbs[] = { "Enabling", "Disabling", "Skipping" };
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	struct buf shown = BUF_INIT;
	json_t *app = NULL, *types = NULL, *disabled, *skipped;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos < 1 || o.npos > 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 ||
	    cli_checks_parse_types(&types, o.npos == 2 ? o.pos[1] : ALL) < 0)
		return -1;
	if (state_app_lock(&l, o.pos[0]) < 0 || state_app_load(o.pos[0], &app) < 0)
		goto out;
	disabled = types_of(app, "checks_disabled");
	skipped = types_of(app, "checks_skipped");
	/* A type is enabled, disabled or skipped: never two of them. Only "every
	 * type is skipped" may stay beside a disabled type, as disabled wins. */
	if ((what != DISABLE && remove_types(disabled, types, "disabled") < 0) ||
	    (what == ENABLE && remove_types(skipped, types, "skipped") < 0))
		goto out;
	if (what == DISABLE && !runtime_type_listed(skipped, ALL))
		remove_types(skipped, types, "skipped");
	if (what == DISABLE)
		add_types(disabled, types);
	else if (what == SKIP)
		add_types(skipped, types);
	join_types(&shown, types);
	say_step("%s zero downtime for app's (%s) proctypes (%s)", verbs[what], o.pos[0],
		 shown.buf);
	if (what == DISABLE)
		say_detail("the old containers of those types stop before the new ones start: "
			   "deploys cause downtime");
	if (state_app_save(o.pos[0], app) < 0)
		goto out;
	say_detail("applies from the next deploy");
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	json_decref(types);
	buf_release(&shown);
	return ret;
}

int cmd_checks_enable(int argc, char **argv)
{
	return change(argc, argv, ENABLE);
}

int cmd_checks_disable(int argc, char **argv)
{
	return change(argc, argv, DISABLE);
}

int cmd_checks_skip(int argc, char **argv)
{
	return change(argc, argv, SKIP);
}

void cli_checks_apply(const json_t *appobj, struct deploy_req *req)
{
	req->checks_disabled = json_object_get(appobj, "checks_disabled");
	req->checks_skipped = json_object_get(appobj, "checks_skipped");
}

/* checks:run: the current release's checks against each of its running web
 * containers, now. The first failing one fails the command. */
int cmd_checks_run(int argc, char **argv)
{
	struct cli_opts o;
	struct docker *d = NULL;
	json_t *app = NULL, *rels = NULL, *cur, *list = NULL, *domains = NULL, *c;
	struct buf addr = BUF_INIT;
	const char *host;
	char rel[32];
	size_t i;
	int ret = -1, ran = 0;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (state_app_load(o.pos[0], &app) < 0 || state_releases_load(o.pos[0], &rels) < 0 ||
	    state_app_domains(o.pos[0], app, &domains) < 0)
		goto out;
	cur = state_current_release(rels);
	if (!cur) {
		err_set("%s has no release yet: push it first", o.pos[0]);
		goto out;
	}
	if (docker_new(&d, NULL) < 0 || runtime_app_containers(d, o.pos[0], &list) < 0)
		goto out;
	host = json_string_value(json_array_get(domains, 0));
	snprintf(rel, sizeof(rel), "%lld", json_int(cur, "version", 0));
	say_step("Running checks of %s v%s", o.pos[0], rel);
	json_array_foreach(list, i, c) {
		json_t *labels = json_object_get(c, "Labels");
		const char *port = json_str(labels, DOCKER_LABEL_PORT, NULL);
		if (!port || strcmp(json_str(labels, DOCKER_LABEL_RELEASE, ""), rel) ||
		    strcmp(json_str(labels, DOCKER_LABEL_PROCESS, ""), "web") ||
		    strcmp(json_str(c, "State", ""), "running"))
			continue;
		say_detail("web container %.12s on port %s", json_str(c, "Id", ""), port);
		/* At the container's address on the app's network, as the router sees it. */
		buf_reset(&addr);
		if (runtime_container_addr(&addr, c, o.pos[0]) < 0 ||
		    runtime_run_checks(d, json_str(c, "Id", ""), addr.buf, atoi(port),
				       host ? host : "localhost", json_object_get(cur, "checks")) < 0)
			goto out;
		ran++;
	}
	if (!ran) {
		err_set("%s v%s has no running web container to check", o.pos[0], rel);
		goto out;
	}
	say_step("All checks passed");
	ret = 0;
out:
	json_decref(app);
	json_decref(rels);
	json_decref(list);
	json_decref(domains);
	buf_release(&addr);
	docker_free(d);
	return ret;
}

static int checks_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT, dis = BUF_INIT, skip = BUF_INIT, web = BUF_INIT;
	json_t *app = NULL, *rels = NULL, *cur;
	const json_t *d, *s;
	int ret = -1;

	if (state_app_load(name, &app) < 0 || state_releases_load(name, &rels) < 0 ||
	    buf_addf(&title, "%s checks information", name) < 0)
		goto out;
	d = json_object_get(app, "checks_disabled");
	s = json_object_get(app, "checks_skipped");
	join_types(&dis, d);
	join_types(&skip, s);
	cur = state_current_release(rels);
	buf_addstr(&web, runtime_type_listed(d, "web") ? "disabled"
			 : runtime_type_listed(s, "web") ? "skipped" : "enabled");
	{
		struct cli_report_row rows[] = {
			{ "Checks disabled list", dis.buf },
			{ "Checks skipped list", skip.buf },
			{ "Checks computed web", web.buf },
			{ "Checks current count", NULL },
		};
		char count[32];
		size_t n = sizeof(rows) / sizeof(rows[0]);

		/* The checks the current release came with (CHECKS or app.json): 0 means the
		 * default check. */
		snprintf(count, sizeof(count), "%zu", json_array_size(json_object_get(cur, "checks")));
		rows[3].value = count;
		if (all)
			ret = json_object_set_new(all, name, cli_report_json(rows, n));
		else
			ret = cli_report_show(title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	json_decref(rels);
	buf_release(&title);
	buf_release(&dis);
	buf_release(&skip);
	buf_release(&web);
	return ret;
}

int cmd_checks_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--checks-", checks_report);
}
