/* ps.c - ps:scale, ps:restart, ps:rebuild, ps:restore, ps:stop, ps:start, ps:report,
 * ps:set: the app's processes. */
#include "cli.h"
#include "plugins/plugins.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_MAX 20

static int valid_process_type(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > 63 ||
	    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return err_set("invalid process type '%s'", t);
	if (!strcmp(t, "release"))
		return err_set("the release process runs once per deploy and cannot be scaled");
	return 0;
}

int cmd_ps_scale(int argc, char **argv)
{
	json_t *app = NULL, *rels = NULL, *counts = NULL, *formation, *procs, *v;
	const char *k;
	int i, ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (app_load(argv[1], &app) < 0 || app_releases_load(argv[1], &rels) < 0)
		goto out;
	formation = app_get(app, APP_FORMATION);
	procs = app_get(app_release_current(rels), APP_PROCESSES);
	if (argc == 2) {
		/* No changes: print the formation, as Dokku does. */
		say_section("Scaling for %s", argv[1]);
		printf("       %-12s %s\n", "proctype:", "qty:");
		printf("       %-12s %lld\n", "web:", json_int(formation, "web", 1));
		json_object_foreach(procs, k, v)
			if (strcmp(k, "web") && strcmp(k, "release"))
				printf("       %-12s %lld\n", k, json_int(formation, k, 0));
		ret = 0;
		goto out;
	}
	/* Validate every TYPE=N before changing anything. */
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;
		long n;
		if (!eq) {
			err_set("'%s' is not TYPE=COUNT", argv[i]);
			goto out;
		}
		*eq = '\0';
		errno = 0;
		n = strtol(eq + 1, &end, 10);
		if (valid_process_type(argv[i]) < 0) {
			*eq = '=';
			goto out;
		}
		if (errno || end == eq + 1 || *end || n < 0 || n > SCALE_MAX) {
			err_set("'%s' is not a count from 0 to %d", eq + 1, SCALE_MAX);
			*eq = '=';
			goto out;
		}
		if (strcmp(argv[i], "web") && !json_object_get(procs, argv[i])) {
			err_set("%s has no process type '%s' (its Procfile defines: %s)", argv[1],
				argv[i], procs ? "see releases:info" : "web only");
			*eq = '=';
			goto out;
		}
		*eq = '=';
	}
	counts = json_object();
	for (i = 2; counts && i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		*eq = '\0';
		json_object_set_new(counts, argv[i], json_integer(atol(eq + 1)));
		*eq = '=';
	}
	if (!counts) {
		err_set("out of memory");
		goto out;
	}
	ret = deploy_scale(&(struct deploy_request){ .app = argv[1] }, counts);
out:
	json_decref(app);
	json_decref(rels);
	json_decref(counts);
	return ret;
}

int cmd_ps_restart(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	return deploy_restart(&(struct deploy_request){ .app = argv[1] });
}

int cmd_ps_rebuild(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	return deploy_rebuild(
		&(struct deploy_request){ .app = argv[1], .deployer = cli_caller_is_deployer() });
}

int cmd_ps_restore(int argc, char **argv)
{
	struct scheduler *sched = NULL;
	json_t *apps = NULL, *v;
	size_t i;
	int failed = 0;

	if (argc > 2)
		return cli_usage(argv[0]);
	if (argc == 2 && cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (scheduler_new(&sched, NULL) < 0)
		return -1;
	/* What apps depend on comes back first (the services plugin starts its
	 * databases here); a failure is a warning: the apps are restored anyway. */
	if (argc == 1)
		plugins_post("pre-restore", NULL, (const char *[]){ NULL });
	if (argc == 2) {
		apps = json_array();
		json_array_append_new(apps, json_string(argv[1]));
	} else if (app_list(&apps) < 0) {
		scheduler_free(sched);
		return -1;
	}
	json_array_foreach(apps, i, v) {
		struct deploy_request r = { .app = json_string_value(v), .sched = sched };
		if (deploy_restore(&r) < 0) {
			say_warn("%s: %s", json_string_value(v), err_msg());
			failed++;
		}
	}
	json_decref(apps);
	scheduler_free(sched);
	return failed ? err_set("%d app%s could not be restored", failed, failed > 1 ? "s" : "")
		      : 0;
}

/* ps:stop: the app stays stopped (deploys record their release without starting
 * it, ps:restore leaves it) until ps:start. */
int cmd_ps_stop(int argc, char **argv)
{
	int stopped;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc != 2)
		return cli_usage(argv[0]);
	return deploy_stop(&(struct deploy_request){ .app = argv[1] }, &stopped);
}

int cmd_ps_start(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc != 2)
		return cli_usage(argv[0]);
	return deploy_start(&(struct deploy_request){ .app = argv[1] });
}

int cmd_ps_set(int argc, char **argv)
{
	struct cli_opts o;
	int retry;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos < 2 || o.npos > 3)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (strcmp(o.pos[1], "restart-policy"))
		return err_set("unknown ps property '%s': only restart-policy", o.pos[1]);
	if (o.npos == 3 && runtime_parse_restart_policy(o.pos[2], NULL, &retry) < 0)
		return -1;
	if (app_update_key(o.pos[0], APP_RESTART_POLICY,
			   o.npos == 3 ? json_string(o.pos[2]) : NULL) < 0)
		return -1;
	if (o.npos == 3)
		say_step("Setting restart-policy to %s", o.pos[2]);
	else
		say_step("Unsetting restart-policy (default: %s)",
			 app_key_info(APP_RESTART_POLICY)->defs);
	say_detail("applies from the next deploy (ps:restart %s)", o.pos[0]);
	return 0;
}

#define STATUS_ROWS_MAX 64

static int ps_report(struct scheduler *sched, const char *name, const char *flag, int json,
		     json_t *all)
{
	struct cli_report_row rows[5 + STATUS_ROWS_MAX];
	char labels[STATUS_ROWS_MAX][96], values[STATUS_ROWS_MAX][96], count[32];
	struct buf title = BUF_INIT;
	struct sched_procs procs = SCHED_PROCS_INIT;
	json_t *app = NULL, *rels = NULL;
	const char *running;
	size_t i, n = 0, k = 0;
	long version;
	int up = 0, down = 0, ret = -1;

	if (app_load(name, &app) < 0 || app_releases_load(name, &rels) < 0 ||
	    buf_addf(&title, "%s ps information", name) < 0 ||
	    scheduler_list(sched, name, &procs) < 0)
		goto out;
	version = (long)app_get_int(app_release_current(rels), APP_VERSION);
	/* The list is newest first; a report reads better oldest first. */
	for (i = procs.n; i-- > 0 && k < STATUS_ROWS_MAX;) {
		const struct sched_proc *p = &procs.v[i];
		if (p->release != version)
			continue;
		if (!strcmp(p->state, "running"))
			up++;
		else
			down++;
		snprintf(labels[k], sizeof(labels[k]), "Status %s %zu", p->type[0] ? p->type : "?",
			 k + 1);
		snprintf(values[k], sizeof(values[k]), "%s (CID: %.12s)", p->state, p->id);
		k++;
	}
	/* Number the containers per process type, as Dokku does ("Status web 1"). */
	for (i = 0; i < k; i++) {
		size_t j, nth = 1;
		char type[64];
		sscanf(labels[i], "Status %63s", type);
		for (j = 0; j < i; j++) {
			char other[64];
			sscanf(labels[j], "Status %63s", other);
			nth += !strcmp(type, other);
		}
		snprintf(labels[i], sizeof(labels[i]), "Status %s %zu", type, nth);
	}
	running = !up ? "false" : down ? "mixed" : "true";
	snprintf(count, sizeof(count), "%d", up + down);
	rows[n].label = "Deployed";
	rows[n++].value = version ? "true" : "false";
	rows[n].label = "Processes";
	rows[n++].value = count;
	rows[n].label = "Ps restart policy";
	rows[n++].value = app_get_str(app, APP_RESTART_POLICY);
	rows[n].label = "Restore";
	rows[n++].value = app_get_bool(app, APP_STOPPED) ? "false" : "true";
	rows[n].label = "Running";
	rows[n++].value = running;
	for (i = 0; i < k; i++) {
		rows[n].label = labels[i];
		rows[n++].value = values[i];
	}
	if (all)
		ret = json_object_set_new(all, name, cli_report_json(rows, n));
	else
		ret = cli_report_show(title.buf, rows, n, flag, json);
out:
	json_decref(app);
	json_decref(rels);
	sched_procs_release(&procs);
	buf_release(&title);
	return ret;
}

int cmd_ps_report(int argc, char **argv)
{
	struct cli_opts o;
	struct scheduler *sched = NULL;
	json_t *apps = NULL, *all = NULL, *v;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", "--ps-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1 && cli_opts_app(&o, 1) < 0)
		return -1;
	if (o.npos == 0 && o.flag)
		return err_set("%s needs an app", o.flag);
	if (scheduler_new(&sched, NULL) < 0)
		return -1;
	if (o.npos == 1) {
		/* Dokku's keys carry no "ps-" but the restart policy's: --ps-running is
		 * the "Running" row, --ps-restart-policy the "Ps restart policy" one. */
		char flag[128];
		if (o.flag && strcmp(o.flag, "--ps-restart-policy"))
			snprintf(flag, sizeof(flag), "--%s", o.flag + 5);
		else
			snprintf(flag, sizeof(flag), "%s", o.flag ? o.flag : "");
		ret = ps_report(sched, o.pos[0], o.flag ? flag : NULL, json, NULL);
		if (ret < 0 && o.flag && strstr(err_msg(), "unknown flag"))
			err_set("unknown flag '%s'", o.flag);
		goto out;
	}
	if (app_list(&apps) < 0)
		goto out;
	if (json)
		all = json_object();
	json_array_foreach(apps, i, v)
		if (ps_report(sched, json_string_value(v), NULL, 0, all) < 0)
			goto out;
	if (json) {
		char *s = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
		printf("%s\n", s ? s : "{}");
		free(s);
	}
	ret = 0;
out:
	json_decref(apps);
	json_decref(all);
	scheduler_free(sched);
	return ret;
}
