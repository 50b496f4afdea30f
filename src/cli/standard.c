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

	if (app_list(&apps) < 0)
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
	if (app_load(o.pos[0], &app) < 0 || app_domains(o.pos[0], app, &domains) < 0)
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
	if (app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v)
		if ((ret = report_app(json_string_value(v))) < 0)
			break;
	json_decref(apps);
	return ret;
}

/* ---- cleanup ---------------------------------------------------------------- */

int cmd_cleanup(int argc, char **argv)
{
	struct cli_opts o;
	int containers, images;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	if (o.npos == 1 && cli_opts_app(&o, 1) < 0)
		return -1;
	if (deploy_cleanup(&(struct deploy_request){ .app = o.npos ? o.pos[0] : NULL }, &containers,
			   &images) < 0)
		return -1;
	say_step("Removed %d container%s and %d image%s", containers, containers == 1 ? "" : "s",
		 images, images == 1 ? "" : "s");
	return 0;
}
