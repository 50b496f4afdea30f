/* ps.c - ps:scale, ps:restart, ps:rebuild, ps:restore, ps:stop, ps:start, ps:report,
 * ps:set: the app's processes. */
#include "cli.h"
#include "plugins/plugins.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		char *eq = strchr(argv[i], '=');
		long long n;
		if (!eq) {
			err_set("'%s' is not TYPE=COUNT", argv[i]);
			goto out;
		}
		*eq = '\0';
		if (valid_process_type(argv[i]) < 0) {
			*eq = '=';
			goto out;
		}
		if (num_parse(eq + 1, 0, SCALE_MAX, &n) < 0) {
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
	if (app_list_or_one(argc == 2 ? argv[1] : NULL, &apps) < 0) {
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
#define ROW_TEXT        96

/* The report's rows for one process: its status, restarts and last exit. */
struct proc_rows {
	char type[64];
	char status_label[ROW_TEXT], status[ROW_TEXT];
	char restarts_label[ROW_TEXT], restarts[32];
	char exit_label[ROW_TEXT], exit[ROW_TEXT];
};

static void proc_rows_fill(struct proc_rows *r, struct scheduler *sched, const struct sched_proc *p,
			   size_t nth)
{
	struct sched_state st;
	const char *type = p->type[0] ? p->type : "?";

	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->status_label, sizeof(r->status_label), "Status %s %zu", type, nth);
	if (p->node[0]) /* a swarm task: where it runs */
		snprintf(r->status, sizeof(r->status), "%.15s on %.40s (task: %.12s)", p->state,
			 p->node, p->id);
	else
		snprintf(r->status, sizeof(r->status), "%s (CID: %.12s)", p->state, p->id);
	snprintf(r->restarts_label, sizeof(r->restarts_label), "Restarts %s %zu", type, nth);
	snprintf(r->exit_label, sizeof(r->exit_label), "Last exit %s %zu", type, nth);
	/* Inspect's State: a process gone between the list and now reads as unknown. */
	if (scheduler_state(sched, p->id, &st) < 0) {
		err_clear(); /* handled: shown as unknown */
		snprintf(r->restarts, sizeof(r->restarts), "unknown");
		snprintf(r->exit, sizeof(r->exit), "unknown");
		return;
	}
	snprintf(r->restarts, sizeof(r->restarts), "%d", st.restarts);
	if (!st.finished_at[0])
		snprintf(r->exit, sizeof(r->exit), "none");
	else if (st.exit_code < 0)
		snprintf(r->exit, sizeof(r->exit), "unknown at %s", st.finished_at);
	else
		snprintf(r->exit, sizeof(r->exit), "%d%s at %s", st.exit_code,
			 st.oom_killed ? " (out of memory)" : "", st.finished_at);
}

static int ps_report(struct scheduler *sched, const char *name, const char *flag, int json,
		     json_t *all)
{
	struct cli_report_row rows[5 + 3 * STATUS_ROWS_MAX];
	struct proc_rows *pr = NULL;
	char count[32];
	struct buf title = BUF_INIT;
	struct sched_procs procs = SCHED_PROCS_INIT;
	struct scheduler *own = NULL;
	json_t *app = NULL, *rels = NULL;
	const char *running;
	size_t i, j, n = 0, k = 0;
	long version;
	int up = 0, down = 0, ret = -1;

	/* A swarm app's processes are the swarm's tasks. */
	if (deploy_scheduler(name, sched, &own, &sched) < 0 || app_load(name, &app) < 0 ||
	    app_releases_load(name, &rels) < 0 || buf_addf(&title, "%s ps information", name) < 0 ||
	    scheduler_list(sched, name, &procs) < 0)
		goto out;
	if (!(pr = calloc(STATUS_ROWS_MAX, sizeof(*pr)))) {
		err_set("out of memory");
		goto out;
	}
	version = (long)app_get_int(app_release_current(rels), APP_VERSION);
	/* The list is newest first; a report reads better oldest first. Containers
	 * are numbered per process type, as Dokku does ("Status web 1"). */
	for (i = procs.n; i-- > 0 && k < STATUS_ROWS_MAX;) {
		const struct sched_proc *p = &procs.v[i];
		size_t nth = 1;
		if (p->release != version)
			continue;
		if (!strcmp(p->state, "running"))
			up++;
		else
			down++;
		for (j = 0; j < k; j++)
			nth += !strcmp(pr[j].type, p->type[0] ? p->type : "?");
		proc_rows_fill(&pr[k++], sched, p, nth);
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
		rows[n].label = pr[i].status_label;
		rows[n++].value = pr[i].status;
	}
	for (i = 0; i < k; i++) {
		rows[n].label = pr[i].restarts_label;
		rows[n++].value = pr[i].restarts;
		rows[n].label = pr[i].exit_label;
		rows[n++].value = pr[i].exit;
	}
	ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
out:
	scheduler_free(own);
	free(pr);
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

/* Takes `name VALUE` (or name=VALUE) out of argv, for the flags cli_opts_parse()
 * does not know; *value stays NULL when absent. */
static int take_flag(int *argc, char **argv, const char *name, const char **value)
{
	size_t n = strlen(name);
	int i, j;

	*value = NULL;
	for (i = 1; i < *argc; i++) {
		int used;
		if (!strcmp(argv[i], name)) {
			if (i + 1 >= *argc)
				return err_set("%s needs a value", name);
			*value = argv[i + 1];
			used = 2;
		} else if (!strncmp(argv[i], name, n) && argv[i][n] == '=') {
			*value = argv[i] + n + 1;
			used = 1;
		} else {
			continue;
		}
		for (j = i; j + used <= *argc; j++)
			argv[j] = argv[j + used];
		*argc -= used;
		return 0;
	}
	return 0;
}

/* ---- ps:stats ------------------------------------------------------------------------ */

static json_t *stats_json(const struct deploy_usage *x)
{
	const struct docker_stats *u = &x->st;
	json_t *e;

	/* What could not be measured is marked, without figures. */
	if (x->error[0])
		e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app", x->app, "container", x->id,
			      "name", x->name, "type", x->type, "error", x->error);
	else
		e = json_pack(
			"{s:s, s:s, s:s, s:s, s:f, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:i}",
			"app", x->app, "container", x->id, "name", x->name, "type", x->type,
			"cpu_percent", u->cpu_percent, "memory_usage", (json_int_t)u->mem_usage,
			"memory_limit", (json_int_t)u->mem_limit, "memory_percent",
			u->mem_limit ? 100.0 * (double)u->mem_usage / (double)u->mem_limit : 0.0,
			"net_rx", (json_int_t)u->net_rx, "net_tx", (json_int_t)u->net_tx,
			"block_read", (json_int_t)u->blk_read, "block_write",
			(json_int_t)u->blk_write, "pids", (json_int_t)u->pids, "restarts",
			x->restarts);
	/* A swarm task: the node it runs on. */
	if (e && x->node[0] && json_object_set_new(e, "node", json_string(x->node)) < 0) {
		json_decref(e);
		e = NULL;
	}
	return e;
}

/* A row of the table; with_node adds the NODE column (swarm tasks listed). */
static void stats_line(const json_t *e, int with_node)
{
	struct buf mem = BUF_INIT, lim = BUF_INIT, rx = BUF_INIT, tx = BUF_INIT, rd = BUF_INIT,
		   wr = BUF_INIT, io = BUF_INIT, net = BUF_INIT, mu = BUF_INIT;

	size_format(&mem, json_int(e, "memory_usage", 0));
	size_format(&lim, json_int(e, "memory_limit", 0));
	size_format(&rx, json_int(e, "net_rx", 0));
	size_format(&tx, json_int(e, "net_tx", 0));
	size_format(&rd, json_int(e, "block_read", 0));
	size_format(&wr, json_int(e, "block_write", 0));
	buf_addf(&mu, "%s / %s", mem.buf, lim.buf);
	buf_addf(&net, "%s / %s", rx.buf, tx.buf);
	buf_addf(&io, "%s / %s", rd.buf, wr.buf);
	printf("%-28s %-10s %7.2f%% %-22s %6.2f%% %-22s %-22s %5lld %8lld", json_str(e, "name", ""),
	       json_str(e, "type", ""), json_real_value(json_object_get(e, "cpu_percent")), mu.buf,
	       json_real_value(json_object_get(e, "memory_percent")), net.buf, io.buf,
	       json_int(e, "pids", 0), json_int(e, "restarts", 0));
	if (with_node)
		printf(" %s", json_str(e, "node", "-"));
	printf("\n");
	buf_release(&mem);
	buf_release(&lim);
	buf_release(&rx);
	buf_release(&tx);
	buf_release(&rd);
	buf_release(&wr);
	buf_release(&mu);
	buf_release(&net);
	buf_release(&io);
}

/* Appends the figures of every running process of the apps to list, each app's
 * oldest first, as ps:report lists them (deploy_usage() measures them at once). */
static int apps_stats(struct scheduler *sched, const json_t *apps, json_t *list)
{
	struct deploy_usage *v = NULL;
	size_t i, n = 0;
	int ret = -1;

	if (deploy_usage(sched, apps, 1, 1, &v, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		json_t *e = stats_json(&v[i]);

		if (!e || json_array_append_new(list, e) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	free(v);
	return ret;
}

int cmd_ps_stats(int argc, char **argv)
{
	struct cli_opts o;
	struct scheduler *sched = NULL;
	json_t *apps = NULL, *list = NULL, *v;
	size_t i;
	int json, with_node = 0, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1 && cli_opts_app(&o, 1) < 0)
		return -1;
	if (app_list_or_one(o.npos ? o.pos[0] : NULL, &apps) < 0)
		return -1;
	if (!(list = json_array())) {
		err_set("out of memory");
		goto out;
	}
	if (scheduler_new(&sched, NULL) < 0)
		goto out;
	if (apps_stats(sched, apps, list) < 0)
		goto out;
	/* The one app asked could not be listed at all (a swarm app off a manager). */
	v = json_array_get(list, 0);
	if (o.npos == 1 && json_array_size(list) == 1 && !*json_str(v, "name", "")) {
		err_set("%s", json_str(v, "error", "?"));
		goto out;
	}
	if (json) {
		cli_print_json(list, 0);
		ret = 0;
		goto out;
	}
	if (o.npos == 1)
		say_section("%s ps stats", o.pos[0]);
	json_array_foreach(list, i, v)
		with_node |= json_object_get(v, "node") != NULL;
	printf("%-28s %-10s %8s %-22s %7s %-22s %-22s %5s %8s%s\n", "CONTAINER", "TYPE", "CPU %",
	       "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS", "RESTARTS",
	       with_node ? " NODE" : "");
	json_array_foreach(list, i, v)
		if (!json_object_get(v, "error"))
			stats_line(v, with_node);
	/* A partial result: what could not be read says so, and why. */
	json_array_foreach(list, i, v)
		if (json_object_get(v, "error") && *json_str(v, "name", ""))
			say_warn("%s (%s) could not be read: %s", json_str(v, "name", ""),
				 json_str(v, "type", ""), json_str(v, "error", ""));
		else if (json_object_get(v, "error"))
			say_warn("%s: %s", json_str(v, "app", ""), json_str(v, "error", ""));
	ret = 0;
out:
	json_decref(apps);
	json_decref(list);
	scheduler_free(sched);
	return ret;
}

/* ---- ps:top -------------------------------------------------------------------------- */

static void top_print(const json_t *top)
{
	const json_t *titles = json_object_get(top, "Titles"),
		     *procs = json_object_get(top, "Processes"), *row, *v;
	size_t i, j;

	json_array_foreach(titles, j, v)
		printf("%s%-10s", j ? " " : "       ",
		       json_string_value(v) ? json_string_value(v) : "");
	printf("\n");
	json_array_foreach(procs, i, row) {
		json_array_foreach(row, j, v)
			printf("%s%-10s", j ? " " : "       ",
			       json_string_value(v) ? json_string_value(v) : "");
		printf("\n");
	}
}

int cmd_ps_top(int argc, char **argv)
{
	struct cli_opts o;
	struct scheduler *sched = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	json_t *all = NULL, *top = NULL;
	size_t i;
	int json, shown = 0, unread = 0, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos < 1 || o.npos > 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || (o.npos == 2 && valid_process_type(o.pos[1]) < 0))
		return -1;
	if (!(all = json_array())) {
		err_set("out of memory");
		goto out;
	}
	if (deploy_scheduler(o.pos[0], NULL, &sched, &sched) < 0 ||
	    scheduler_list(sched, o.pos[0], &procs) < 0)
		goto out;
	for (i = procs.n; i-- > 0;) {
		const struct sched_proc *p = &procs.v[i];
		if (strcmp(p->state, "running") || (o.npos == 2 && strcmp(p->type, o.pos[1])))
			continue;
		if (scheduler_top(sched, p->id, &top) < 0 && !p->node[0]) {
			err_clear(); /* handled: it stopped meanwhile */
			continue;
		}
		if (!top) {
			/* A swarm task whose node could not be reached (or that stopped):
			 * the others are still shown. */
			json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "container", p->id,
					      "name", p->name, "type", p->type, "node", p->node,
					      "error", err_msg());
			unread++;
			if (!json)
				say_warn("%s (%s) on %s could not be read: %s", p->name, p->type,
					 p->node, err_msg());
			err_clear(); /* handled: said */
			if (!e || json_array_append_new(all, e) < 0) {
				err_set("out of memory");
				goto out;
			}
			continue;
		}
		shown++;
		if (json) {
			json_t *e = json_pack("{s:s, s:s, s:s, s:O, s:O}", "container", p->id,
					      "name", p->name, "type", p->type, "titles",
					      json_object_get(top, "Titles"), "processes",
					      json_object_get(top, "Processes"));
			if (e && p->node[0])
				json_object_set_new(e, "node", json_string(p->node));
			if (!e || json_array_append_new(all, e) < 0) {
				err_set("out of memory");
				goto out;
			}
		} else {
			if (p->node[0]) /* a swarm task: where it runs */
				say_section("%s (%s) on %s", p->name, p->type, p->node);
			else
				say_section("%s (%s)", p->name, p->type);
			top_print(top);
		}
		json_decref(top);
		top = NULL;
	}
	if (json) {
		cli_print_json(all, 0);
	} else if (!shown && unread) {
		err_set("none of %s's %d running task%s could be read", o.pos[0], unread,
			unread > 1 ? "s" : "");
		goto out;
	} else if (!shown) {
		err_set("%s has no running containers", o.pos[0]);
		goto out;
	}
	ret = 0;
out:
	json_decref(top);
	json_decref(all);
	sched_procs_release(&procs);
	scheduler_free(sched);
	return ret;
}

/* ---- ps:events ----------------------------------------------------------------------- */

int cmd_ps_events(int argc, char **argv)
{
	struct cli_opts o;
	struct scheduler *sched = NULL;
	const char *since_arg;
	json_t *events = NULL, *e;
	long long now = (long long)time(NULL), since;
	size_t i;
	int json, shown = 0, ret = -1;

	if (take_flag(&argc, argv, "--since", &since_arg) < 0 ||
	    cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 ||
	    time_parse_since(since_arg ? since_arg : "24h", now, &since) < 0)
		return -1;
	if (deploy_scheduler(o.pos[0], NULL, &sched, &sched) < 0 ||
	    scheduler_events(sched, o.pos[0], since, now + 1, &events) < 0)
		goto out;
	if (json) {
		cli_print_json(events, 0);
		ret = 0;
		goto out;
	}
	say_section("%s ps events", o.pos[0]);
	json_array_foreach(events, i, e) {
		const json_t *code = json_object_get(e, "exit_code"),
			     *replicas = json_object_get(e, "replicas");
		/* A swarm node whose events could not be read: the others are shown. */
		if (json_object_get(e, "error")) {
			say_warn("events of node %s could not be read: %s", json_str(e, "node", ""),
				 json_str(e, "error", ""));
			continue;
		}
		shown++;
		printf("       %s  %-8s %-10s %s", json_str(e, "time", ""),
		       json_str(e, "action", ""), json_str(e, "process", ""),
		       json_str(e, "name", ""));
		if (code)
			printf("  exit %lld", (long long)json_integer_value(code));
		if (replicas)
			printf("  replicas %lld", (long long)json_integer_value(replicas));
		if (json_object_get(e, "node"))
			printf("  on %s", json_str(e, "node", ""));
		printf("\n");
	}
	if (!shown)
		say_detail("no exits, restarts or starts since %s",
			   since_arg ? since_arg : "24h ago");
	ret = 0;
out:
	json_decref(events);
	scheduler_free(sched);
	return ret;
}
