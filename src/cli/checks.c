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
			       "list) first",
			       what);
	json_array_foreach(types, i, v)
		for (j = json_array_size(list); j-- > 0;)
			if (!strcmp(json_string_value(json_array_get(list, j)),
				    json_string_value(v)))
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

struct checks_req {
	enum checks_change what;
	const json_t *types; /* the types named, or [_all_] */
};

/* app_update() callback: moves the types between enabled, disabled and skipped. */
static int change_types(const char *app, json_t *doc, void *data)
{
	static const char *const verbs[] = { "Enabling", "Disabling", "Skipping" };
	const struct checks_req *rq = data;
	enum checks_change what = rq->what;
	const json_t *types = rq->types;
	json_t *disabled = app_ensure(doc, APP_CHECKS_DISABLED);
	json_t *skipped = app_ensure(doc, APP_CHECKS_SKIPPED);
	struct buf shown = BUF_INIT;

	if (!disabled || !skipped)
		return -1;
	/* A type is enabled, disabled or skipped: never two of them. Only "every
	 * type is skipped" may stay beside a disabled type, as disabled wins. */
	if ((what != DISABLE && remove_types(disabled, types, "disabled") < 0) ||
	    (what == ENABLE && remove_types(skipped, types, "skipped") < 0))
		return -1;
	if (what == DISABLE && !runtime_type_listed(skipped, ALL))
		remove_types(skipped, types, "skipped");
	if (what == DISABLE)
		add_types(disabled, types);
	else if (what == SKIP)
		add_types(skipped, types);
	join_types(&shown, types);
	say_step("%s zero downtime for app's (%s) proctypes (%s)", verbs[what], app, shown.buf);
	if (what == DISABLE)
		say_detail("the old containers of those types stop before the new ones start: "
			   "deploys cause downtime");
	buf_release(&shown);
	return 1;
}

static int change(int argc, char **argv, enum checks_change what)
{
	struct cli_opts o;
	struct checks_req rq = { .what = what };
	json_t *types = NULL;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos < 1 || o.npos > 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 ||
	    cli_checks_parse_types(&types, o.npos == 2 ? o.pos[1] : ALL) < 0)
		return -1;
	rq.types = types;
	if (app_update(o.pos[0], change_types, &rq) < 0)
		goto out;
	say_detail("applies from the next deploy");
	ret = 0;
out:
	json_decref(types);
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

/* checks:run: the current release's checks against each of its running web
 * containers, now. The first failing one fails the command. */
int cmd_checks_run(int argc, char **argv)
{
	struct cli_opts o;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	return deploy_checks_run(&(struct deploy_request){ .app = o.pos[0] });
}

static int checks_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT, dis = BUF_INIT, skip = BUF_INIT, web = BUF_INIT;
	json_t *app = NULL, *rels = NULL, *cur;
	const json_t *d, *s;
	int ret = -1;

	if (app_load(name, &app) < 0 || app_releases_load(name, &rels) < 0 ||
	    buf_addf(&title, "%s checks information", name) < 0)
		goto out;
	d = app_get(app, APP_CHECKS_DISABLED);
	s = app_get(app, APP_CHECKS_SKIPPED);
	join_types(&dis, d);
	join_types(&skip, s);
	cur = app_release_current(rels);
	buf_addstr(&web, runtime_type_listed(d, "web")   ? "disabled"
			 : runtime_type_listed(s, "web") ? "skipped"
							 : "enabled");
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
		snprintf(count, sizeof(count), "%zu", json_array_size(app_get(cur, APP_CHECKS)));
		rows[3].value = count;
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
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
