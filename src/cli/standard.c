/* standard.c - Dokku's "standard" commands that span families: url, report
 * (every family's report of an app), cleanup; and the shared shape of
 * `<family>:report [<app>] [--format json] [--<family>-KEY]`. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_report_every_app(cli_report_fn *fn, int json)
{
	json_t *apps = NULL, *all = NULL, *v;
	size_t i;
	int ret = -1;

	if (state_app_list(&apps) < 0)
		return -1;
	if (json)
		all = json_object();
	json_array_foreach(apps, i, v)
		if (fn(json_string_value(v), NULL, 0, all) < 0)
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
	return ret;
}

int cli_report_family(int argc, char **argv, const char *prefix, cli_report_fn *fn)
{
	struct cli_opts o;
	int json;

	if (cli_opts_parse(&o, argc, argv, "--format", prefix) < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1)
		return cli_opts_app(&o, 1) < 0 ? -1 : fn(o.pos[0], o.flag, json, NULL);
	if (o.flag)
		return err_set("%s needs an app", o.flag);
	return cli_report_every_app(fn, json);
}

int cmd_url(int argc, char **argv)
{
	struct cli_opts o;
	json_t *app = NULL, *domains = NULL;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (state_app_load(o.pos[0], &app) < 0 || state_app_domains(o.pos[0], app, &domains) < 0)
		goto out;
	if (!json_array_size(domains)) {
		err_set("%s has no domains: see `wharf domains:report %s`", o.pos[0], o.pos[0]);
		goto out;
	}
	printf("http://%s\n", json_string_value(json_array_get(domains, 0)));
	ret = 0;
out:
	json_decref(app);
	json_decref(domains);
	return ret;
}

/* Every `<family>:report [<app>] …` of the table, in table order. */
static int report_app(const char *app)
{
	const struct command *c;

	for (c = commands; c->name; c++) {
		size_t n = strlen(c->name);
		char *rargv[3];
		if (n < 7 || strcmp(c->name + n - 7, ":report") || strncmp(c->args, "[<app>]", 7))
			continue;
		rargv[0] = (char *)c->name;
		rargv[1] = (char *)app;
		rargv[2] = NULL;
		if (c->fn(2, rargv) < 0)
			return -1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct cli_opts o;
	json_t *apps = NULL, *v;
	size_t i;
	int ret = 0;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1)
		return cli_opts_app(&o, 1) < 0 ? -1 : report_app(o.pos[0]);
	if (state_app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v)
		if ((ret = report_app(json_string_value(v))) < 0)
			break;
	json_decref(apps);
	return ret;
}

/* ---- cleanup ---------------------------------------------------------------- */

/* Removes the app's exited or dead containers that the router does not serve.
 * The caller holds the app's lock, so no deploy of it is under way. */
static int cleanup_containers(struct docker *d, const char *app, int *removed)
{
	json_t *list = NULL, *route = NULL, *c;
	size_t i;
	int ret = -1;

	if (runtime_app_containers(d, app, &list) < 0 || router_client_get(app, &route) < 0)
		goto out;
	json_array_foreach(list, i, c) {
		const char *state = json_str(c, "State", ""), *id = json_str(c, "Id", "");
		const char *port = json_str(json_object_get(c, "Labels"), DOCKER_LABEL_PORT, NULL);
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		json_t *t;
		size_t j;
		int served = 0;

		if (strcmp(state, "exited") && strcmp(state, "dead"))
			continue;
		json_array_foreach(json_object_get(route, "targets"), j, t) {
			const char *colon = strrchr(json_string_value(t), ':');
			served |= port && colon && !strcmp(colon + 1, port);
		}
		if (served)
			continue;
		if (docker_container_remove(d, id, 1) < 0) {
			say_warn("could not remove container %.12s: %s", id, err_msg());
			continue;
		}
		say_detail("removed container %.12s (%s, %s)", id, name ? name + (*name == '/') : "?",
			   state);
		(*removed)++;
	}
	ret = 0;
out:
	json_decref(list);
	json_decref(route);
	return ret;
}

/* The image of every release of every app: never garbage, even when untagged. */
static int release_images(json_t *out)
{
	json_t *apps = NULL, *v;
	size_t i;

	if (state_app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v) {
		json_t *rels = NULL, *r;
		size_t j;
		if (state_releases_load(json_string_value(v), &rels) < 0) {
			json_decref(apps);
			return -1;
		}
		json_array_foreach(json_object_get(rels, "releases"), j, r)
			if (json_str(r, "image", NULL))
				json_object_set_new(out, json_str(r, "image", ""), json_true());
		json_decref(rels);
	}
	json_decref(apps);
	return 0;
}

/* Removes dangling (untagged) images that wharf built on this root (for one app,
 * or all): what failed builds and retagged releases leave. */
static int cleanup_images(struct docker *d, const char *app, int *removed)
{
	struct docker_labels l = DOCKER_LABELS_INIT;
	json_t *list = NULL, *keep = json_object(), *img;
	size_t i;
	int ret = -1;

	if (docker_labels_add(&l, DOCKER_LABEL_ROOT, wharf_root()) < 0 ||
	    (app && docker_labels_add(&l, DOCKER_LABEL_APP, app) < 0) ||
	    release_images(keep) < 0 || docker_image_list(d, l.v, 1, &list) < 0)
		goto out;
	json_array_foreach(list, i, img) {
		const char *id = json_str(img, "Id", "");
		if (json_object_get(keep, id))
			continue;
		if (docker_image_remove(d, id, 0) < 0) {
			say_warn("could not remove image %.19s: %s", id, err_msg());
			continue;
		}
		say_detail("removed dangling image %.19s", id);
		(*removed)++;
	}
	ret = 0;
out:
	json_decref(list);
	json_decref(keep);
	docker_labels_release(&l);
	return ret;
}

int cmd_cleanup(int argc, char **argv)
{
	struct cli_opts o;
	struct docker *d = NULL;
	json_t *apps = NULL, *v;
	size_t i;
	int containers = 0, images = 0, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1 && cli_opts_app(&o, 1) < 0)
		return -1;
	if (o.npos == 1)
		apps = json_pack("[s]", o.pos[0]);
	else if (state_app_list(&apps) < 0)
		return -1;
	if (docker_new(&d, NULL) < 0)
		goto out;
	say_step("Cleaning up%s%s", o.npos ? " " : "", o.npos ? o.pos[0] : "");
	json_array_foreach(apps, i, v) {
		struct lock l = LOCK_INIT;
		int r;
		/* The app's lock: a deploy under way has containers that are not yet (or
		 * no longer) served, and they are not garbage. */
		if (state_app_lock(&l, json_string_value(v)) < 0)
			goto out;
		r = cleanup_containers(d, json_string_value(v), &containers);
		lock_release(&l);
		if (r < 0)
			goto out;
	}
	if (cleanup_images(d, o.npos ? o.pos[0] : NULL, &images) < 0)
		goto out;
	say_step("Removed %d container%s and %d image%s", containers, containers == 1 ? "" : "s",
		 images, images == 1 ? "" : "s");
	ret = 0;
out:
	json_decref(apps);
	docker_free(d);
	return ret;
}
