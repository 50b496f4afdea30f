/* scheduler.c - scheduler:set <app>|--global selected [docker-local|swarm] and
 * scheduler:report: where an app's processes run (app.json's and global.json's
 * "scheduler"; docs/cluster.md). */
#include "cli.h"
#include "cluster/cluster.h"

#include <stdio.h>
#include <string.h>

/* Validates a selection: docker-local, or swarm on a cluster manager. */
static int check_selection(const char *v)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	int have;

	if (!strcmp(v, "docker-local"))
		return 0;
	if (strcmp(v, "swarm"))
		return err_set("invalid scheduler '%s': use docker-local or swarm", v);
	have = cluster_load(&st);
	cluster_state_release(&st);
	if (have < 0)
		return -1;
	if (!have)
		return err_set("the swarm scheduler needs a cluster: run cluster:init ADDR first");
	return 0;
}

/* app_global_update() callback: *data is the selection, NULL to unset. */
static int store_global(const char *app, json_t *doc, void *data)
{
	(void)app;
	return app_set_str(doc, APP_SCHEDULER, data) < 0 ? -1 : 1;
}

int cmd_scheduler_set(int argc, char **argv)
{
	struct cli_opts o;
	const char *v;
	int first;

	if (cli_opts_parse(&o, argc, argv, "--global", NULL) < 0)
		return -1;
	first = o.global ? 0 : 1;
	if (o.npos < first + 1 || o.npos > first + 2)
		return cli_usage(argv[0]);
	if (!o.global && cli_opts_app(&o, 1) < 0)
		return -1;
	if (strcmp(o.pos[first], "selected"))
		return err_set("unknown scheduler property '%s': only selected", o.pos[first]);
	v = o.npos == first + 2 && *o.pos[first + 1] ? o.pos[first + 1] : NULL;
	if (v && check_selection(v) < 0)
		return -1;
	if ((o.global ? app_global_update(store_global, (void *)v)
		      : app_update_key(o.pos[0], APP_SCHEDULER, v ? json_string(v) : NULL)) < 0)
		return -1;
	if (v)
		say_step("Setting selected to %s%s", v, o.global ? " (global)" : "");
	else
		say_step("Unsetting selected%s", o.global ? " (global)" : "");
	return 0;
}

static int scheduler_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT;
	json_t *app = NULL, *global = NULL;
	int ret = -1;

	if (app_load(name, &app) < 0 || app_global_load(&global) < 0 ||
	    buf_addf(&title, "%s scheduler information", name) < 0)
		goto out;
	{
		struct cli_report_row rows[] = {
			{ "Scheduler selected", app_get_str_or(app, APP_SCHEDULER, "") },
			{ "Scheduler global selected", app_get_str_or(global, APP_SCHEDULER, "") },
			{ "Scheduler computed selected", app_scheduler(app, global) },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	json_decref(global);
	buf_release(&title);
	return ret;
}

int cmd_scheduler_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--scheduler-", scheduler_report);
}
