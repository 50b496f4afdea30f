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

	if (!n || n > 63 || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return err_set("invalid process type '%s'", t);
	if (!strcmp(t, "release"))
		return err_set("the release process runs once per deploy and cannot be scaled");
	return 0;
}

int cmd_ps_scale(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *rels = NULL, *formation, *procs, *v;
	const char *k;
	int i, ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (state_app_load(argv[1], &app) < 0 || state_releases_load(argv[1], &rels) < 0)
		goto out;
	if (!json_is_object(json_object_get(app, "formation")))
		json_object_set_new(app, "formation", json_object());
	formation = json_object_get(app, "formation");
	procs = json_object_get(state_current_release(rels), "processes");
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
	json_decref(app);
	app = NULL;
	if (state_app_lock(&l, argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	if (!json_is_object(json_object_get(app, "formation")))
		json_object_set_new(app, "formation", json_object());
	formation = json_object_get(app, "formation");
	say_step("Scaling %s processes", argv[1]);
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		*eq = '\0';
		json_object_set_new(formation, argv[i], json_integer(atol(eq + 1)));
		say_detail("%s: %s", argv[i], eq + 1);
		*eq = '=';
	}
	if (state_app_save(argv[1], app) < 0)
		goto out;
	lock_release(&l);
	ret = cli_redeploy(argv[1], "scale");
out:
	lock_release(&l);
	json_decref(app);
	json_decref(rels);
	return ret;
}

int cmd_ps_restart(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (plugins_pre("pre-restart", argv[1], (const char *[]){ argv[1], NULL }) < 0)
		return -1;
	return cli_redeploy(argv[1], "restart");
}

int cmd_ps_rebuild(int argc, char **argv)
{
	json_t *rels = NULL;
	const char *rev;
	struct buf r = BUF_INIT;
	int ret;

	if (cli_need_app(argc, argv, 1, 1) < 0 || state_releases_load(argv[1], &rels) < 0)
		return -1;
	rev = json_str(state_current_release(rels), "git_rev", NULL);
	if (!rev) {
		json_decref(rels);
		return err_set("%s has no pushed commit to rebuild: push first", argv[1]);
	}
	buf_addstr(&r, rev);
	json_decref(rels);
	ret = cli_deploy_push(argv[1], r.buf);
	buf_release(&r);
	return ret;
}

/* Brings one app back to its current release after dockerd or the machine
 * restarted: stopped containers are started; if the formation is not complete,
 * the current release is redeployed; then the router is told the targets. */
static int restore_app(struct docker *d, const char *app)
{
	struct lock l = LOCK_INIT;
	json_t *rels = NULL, *list = NULL, *appobj = NULL, *c;
	char rel[32];
	size_t i;
	int running = 0, ret = -1;
	long version;

	/* Under the app's lock: a restore must not race a deploy. */
	if (state_app_lock(&l, app) < 0 || state_releases_load(app, &rels) < 0 ||
	    state_app_load(app, &appobj) < 0)
		goto out;
	if (json_is_true(json_object_get(appobj, "stopped"))) {
		say_step("%s is stopped (ps:stop): not restored", app);
		ret = 0;
		goto out;
	}
	version = (long)json_int(state_current_release(rels), "version", 0);
	if (!version) {
		ret = 0;        /* never deployed */
		goto out;
	}
	snprintf(rel, sizeof(rel), "%ld", version);
	if (runtime_app_containers(d, app, &list) < 0)
		goto out;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", "");
		if (strcmp(json_str(json_object_get(c, "Labels"), DOCKER_LABEL_RELEASE, ""), rel))
			continue;
		if (strcmp(json_str(c, "State", ""), "running") && docker_container_start(d, id) < 0)
			say_warn("could not start %.12s: %s", id, err_msg());
		else
			running++;
	}
	if (!running) {
		lock_release(&l);
		say_step("Redeploying %s v%ld", app, version);
		ret = cli_redeploy(app, "restore");
		goto out;
	}
	say_step("%s: %d container%s of v%ld running", app, running, running > 1 ? "s" : "",
		 version);
	ret = cli_route_refresh_locked(app, 1);
out:
	lock_release(&l);
	json_decref(rels);
	json_decref(appobj);
	json_decref(list);
	return ret;
}

int cmd_ps_restore(int argc, char **argv)
{
	struct docker *d = NULL;
	json_t *apps = NULL, *v;
	size_t i;
	int failed = 0;

	if (argc > 2)
		return cli_usage(argv[0]);
	if (argc == 2 && cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (docker_new(&d, NULL) < 0)
		return -1;
	if (argc == 2) {
		apps = json_array();
		json_array_append_new(apps, json_string(argv[1]));
	} else if (state_app_list(&apps) < 0) {
		docker_free(d);
		return -1;
	}
	json_array_foreach(apps, i, v) {
		if (restore_app(d, json_string_value(v)) < 0) {
			say_warn("%s: %s", json_string_value(v), err_msg());
			failed++;
		}
	}
	json_decref(apps);
	docker_free(d);
	return failed ? err_set("%d app%s could not be restored", failed, failed > 1 ? "s" : "") : 0;
}

/* Sets or clears app.json's "stopped" under the app's lock. */
static int set_stopped(struct lock *l, const char *app, int stopped)
{
	json_t *obj = NULL;
	int ret = -1;

	if (state_app_lock(l, app) < 0 || state_app_load(app, &obj) < 0)
		goto out;
	if (stopped)
		json_object_set_new(obj, "stopped", json_true());
	else
		json_object_del(obj, "stopped");
	ret = state_app_save(app, obj);
out:
	json_decref(obj);
	return ret;
}

/* Stops every container of the app and keeps it stopped: deploys record their
 * release without starting it, and ps:restore leaves it, until ps:start. The
 * containers stay (stopped) for logs; their restart policy becomes "no" first,
 * so neither Docker nor a reboot brings them back. */
int cmd_ps_stop(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	json_t *list = NULL, *c;
	size_t i;
	int stopped = 0, ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc != 2)
		return cli_usage(argv[0]);
	if (docker_new(&d, NULL) < 0 || set_stopped(&l, argv[1], 1) < 0)
		goto out;
	say_step("Stopping %s", argv[1]);
	if (runtime_app_containers(d, argv[1], &list) < 0)
		goto out;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", "");
		if (strcmp(json_str(c, "State", ""), "running") &&
		    strcmp(json_str(c, "State", ""), "restarting"))
			continue;
		if (docker_container_set_restart(d, id, "no", 0) < 0 ||
		    docker_container_stop(d, id, 10) < 0) {
			say_warn("could not stop %.12s: %s", id, err_msg());
			goto out;
		}
		stopped++;
	}
	/* Nothing serves it now: the router answers 502 quickly instead of trying
	 * dead targets; ps:start routes it again. */
	if (router_client_delete(argv[1]) < 0)
		say_warn("the router still has %s: %s", argv[1], err_msg());
	say_detail("%d container%s stopped; `ps:start %s` starts it again", stopped,
		   stopped == 1 ? "" : "s", argv[1]);
	plugins_post("post-stop", argv[1], (const char *[]){ argv[1], NULL });
	ret = 0;
out:
	lock_release(&l);
	json_decref(list);
	docker_free(d);
	return ret;
}

/* Removes the containers ps:stop left (none of them runs), so the deploy that
 * follows does not take them for leftovers of an interrupted deploy. */
static int remove_stopped(struct docker *d, const char *app)
{
	json_t *list = NULL, *c;
	size_t i;
	int n = 0;

	if (runtime_app_containers(d, app, &list) < 0)
		return -1;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", "");
		if (!strcmp(json_str(c, "State", ""), "running"))
			continue;
		if (docker_container_remove(d, id, 1) < 0)
			say_warn("could not remove stopped container %.12s: %s", id, err_msg());
		else
			n++;
	}
	if (n)
		say_detail("removed %d stopped container%s", n, n == 1 ? "" : "s");
	json_decref(list);
	return 0;
}

int cmd_ps_start(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	int ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc != 2)
		return cli_usage(argv[0]);
	if (docker_new(&d, NULL) < 0 || set_stopped(&l, argv[1], 0) < 0)
		goto out;
	say_step("Starting %s", argv[1]);
	if (remove_stopped(d, argv[1]) < 0)
		goto out;
	lock_release(&l);
	ret = cli_redeploy(argv[1], "start");
	if (ret == 0)
		plugins_post("post-start", argv[1], (const char *[]){ argv[1], NULL });
out:
	lock_release(&l);
	docker_free(d);
	return ret;
}

int cmd_ps_set(int argc, char **argv)
{
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	json_t *app = NULL;
	int retry, ret = -1;

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
	if (state_app_lock(&l, o.pos[0]) < 0 || state_app_load(o.pos[0], &app) < 0)
		goto out;
	if (o.npos == 3) {
		json_object_set_new(app, "restart_policy", json_string(o.pos[2]));
		say_step("Setting restart-policy to %s", o.pos[2]);
	} else {
		json_object_del(app, "restart_policy");
		say_step("Unsetting restart-policy (default: on-failure)");
	}
	if (state_app_save(o.pos[0], app) < 0)
		goto out;
	say_detail("applies from the next deploy (ps:restart %s)", o.pos[0]);
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

#define STATUS_ROWS_MAX 64

static int ps_report(struct docker *d, const char *name, const char *flag, int json, json_t *all)
{
	struct cli_report_row rows[5 + STATUS_ROWS_MAX];
	char labels[STATUS_ROWS_MAX][96], values[STATUS_ROWS_MAX][96], count[32];
	struct buf title = BUF_INIT;
	json_t *app = NULL, *rels = NULL, *list = NULL, *c;
	const char *running;
	char rel[32];
	size_t i, n = 0, k = 0;
	long version;
	int up = 0, down = 0, ret = -1;

	if (state_app_load(name, &app) < 0 || state_releases_load(name, &rels) < 0 ||
	    buf_addf(&title, "%s ps information", name) < 0 ||
	    runtime_app_containers(d, name, &list) < 0)
		goto out;
	version = (long)json_int(state_current_release(rels), "version", 0);
	snprintf(rel, sizeof(rel), "%ld", version);
	/* The list is newest first; a report reads better oldest first. */
	for (i = json_array_size(list); i-- > 0 && k < STATUS_ROWS_MAX;) {
		json_t *lb;
		const char *state;
		c = json_array_get(list, i);
		lb = json_object_get(c, "Labels");
		if (strcmp(json_str(lb, DOCKER_LABEL_RELEASE, ""), rel))
			continue;
		state = json_str(c, "State", "");
		if (!strcmp(state, "running"))
			up++;
		else
			down++;
		snprintf(labels[k], sizeof(labels[k]), "Status %s %zu",
			 json_str(lb, DOCKER_LABEL_PROCESS, "?"), k + 1);
		snprintf(values[k], sizeof(values[k]), "%s (CID: %.12s)", state, json_str(c, "Id", ""));
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
	rows[n++].value = json_str(app, "restart_policy", "on-failure");
	rows[n].label = "Restore";
	rows[n++].value = json_is_true(json_object_get(app, "stopped")) ? "false" : "true";
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
	json_decref(list);
	buf_release(&title);
	return ret;
}

int cmd_ps_report(int argc, char **argv)
{
	struct cli_opts o;
	struct docker *d = NULL;
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
	if (docker_new(&d, NULL) < 0)
		return -1;
	if (o.npos == 1) {
		/* Dokku's keys carry no "ps-" but the restart policy's: --ps-running is
		 * the "Running" row, --ps-restart-policy the "Ps restart policy" one. */
		char flag[128];
		if (o.flag && strcmp(o.flag, "--ps-restart-policy"))
			snprintf(flag, sizeof(flag), "--%s", o.flag + 5);
		else
			snprintf(flag, sizeof(flag), "%s", o.flag ? o.flag : "");
		ret = ps_report(d, o.pos[0], o.flag ? flag : NULL, json, NULL);
		if (ret < 0 && o.flag && strstr(err_msg(), "unknown flag"))
			err_set("unknown flag '%s'", o.flag);
		goto out;
	}
	if (state_app_list(&apps) < 0)
		goto out;
	if (json)
		all = json_object();
	json_array_foreach(apps, i, v)
		if (ps_report(d, json_string_value(v), NULL, 0, all) < 0)
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
	docker_free(d);
	return ret;
}
