/* domains.c - domains:add, domains:remove, domains:report, domains:set-global, urls. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return (int)i + 1;
	return 0;
}

/* Adds (add != 0) or removes the domains argv[2..] of app argv[1]. */
static int change_domains(int argc, char **argv, int add)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *domains;
	int i, ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	for (i = 2; i < argc; i++)
		if (valid_domain(argv[i]) < 0)
			return -1;
	if (state_app_lock(&l, argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	domains = json_object_get(app, "domains");
	for (i = 2; i < argc; i++) {
		int at = array_has(domains, argv[i]);
		if (add && !at) {
			json_array_append_new(domains, json_string(argv[i]));
			say_step("Added %s to %s", argv[i], argv[1]);
		} else if (add) {
			say_detail("%s is already a domain of %s", argv[i], argv[1]);
		} else if (at) {
			json_array_remove(domains, (size_t)at - 1);
			say_step("Removed %s from %s", argv[i], argv[1]);
		} else {
			say_warn("%s is not a domain of %s", argv[i], argv[1]);
		}
	}
	if (state_app_save(argv[1], app) < 0)
		goto out;
	lock_release(&l);
	ret = cli_route_refresh(argv[1]);
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

int cmd_domains_add(int argc, char **argv)
{
	return change_domains(argc, argv, 1);
}

int cmd_domains_remove(int argc, char **argv)
{
	return change_domains(argc, argv, 0);
}

static void join_domains(struct buf *out, const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		buf_addf(out, "%s%s", i ? " " : "", json_string_value(v));
}

int cmd_domains_report(int argc, char **argv)
{
	struct buf vhosts = BUF_INIT, global = BUF_INIT;
	json_t *app = NULL, *domains = NULL;
	int ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (state_app_load(argv[1], &app) < 0 || state_app_domains(argv[1], app, &domains) < 0 ||
	    state_global_domain(&global) < 0)
		goto out;
	join_domains(&vhosts, domains);
	if (argc > 2 && !strcmp(argv[2], "--domains-app-vhosts")) {
		printf("%s\n", vhosts.buf);
	} else if (argc > 2 && !strcmp(argv[2], "--domains-global-vhosts")) {
		printf("%s\n", global.buf);
	} else if (argc > 2) {
		err_set("unknown flag '%s'", argv[2]);
		goto out;
	} else {
		say_section("%s domains information", argv[1]);
		printf("       %-31s%s\n", "Domains app vhosts:", vhosts.buf);
		printf("       %-31s%s\n", "Domains global vhosts:", global.buf);
	}
	ret = 0;
out:
	json_decref(app);
	json_decref(domains);
	buf_release(&vhosts);
	buf_release(&global);
	return ret;
}

int cmd_domains_set_global(int argc, char **argv)
{
	json_t *g = NULL, *apps = NULL, *v;
	size_t i;
	int ret = -1;

	if (argc != 2)
		return cli_usage(argv[0]);
	if (valid_domain(argv[1]) < 0 || state_global_load(&g) < 0)
		return -1;
	json_object_set_new(g, "domain", json_string(argv[1]));
	if (state_global_save(g) < 0)
		goto out;
	say_step("Set global domain to %s", argv[1]);
	/* Every app's default domain follows the global one. */
	if (state_app_list(&apps) < 0)
		goto out;
	json_array_foreach(apps, i, v)
		if (cli_route_refresh(json_string_value(v)) < 0)
			say_warn("%s", err_msg());
	ret = 0;
out:
	json_decref(g);
	json_decref(apps);
	return ret;
}

int cmd_urls(int argc, char **argv)
{
	json_t *app = NULL, *domains = NULL, *v;
	size_t i;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (state_app_load(argv[1], &app) < 0 || state_app_domains(argv[1], app, &domains) < 0) {
		json_decref(app);
		return -1;
	}
	json_array_foreach(domains, i, v)
		printf("http://%s\n", json_string_value(v));
	json_decref(app);
	json_decref(domains);
	return 0;
}
