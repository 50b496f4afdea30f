/* ps.c - ps:scale, ps:restart, ps:rebuild, ps:restore: the app's processes. */
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
	json_t *rels = NULL, *list = NULL, *c;
	char rel[32];
	size_t i;
	int running = 0, ret = -1;
	long version;

	/* Under the app's lock: a restore must not race a deploy. */
	if (state_app_lock(&l, app) < 0 || state_releases_load(app, &rels) < 0)
		goto out;
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
		if (strcmp(json_str(json_object_get(c, "Labels"), "wharf.release", ""), rel))
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
