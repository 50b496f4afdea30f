/* domains.c - domains:add, remove, set, clear, reset, enable, disable, report,
 * add-global, remove-global, set-global, clear-global; urls. An app is served on
 * "<app>.<global domain>" for each global domain (unless disabled) and on its own
 * domains (app.json "domains"). */
#include "cli.h"
#include "plugins/plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return (int)i + 1;
	return 0;
}

static void join_domains(struct buf *out, const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		buf_addf(out, "%s%s", i ? " " : "", json_string_value(v));
}

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

/* The app (other than app) that serves domain, in *other (a new string), or NULL.
 * With wild, another app's "*.parent" covering domain counts too. */
static int served_by_other(char **other, const char *domain, const char *app, int wild)
{
	json_t *apps = NULL, *v;
	size_t i;
	const char *dot = strchr(domain, '.');

	*other = NULL;
	if (app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v) {
		const char *name = json_string_value(v);
		json_t *obj = NULL, *served = NULL, *d;
		size_t j;
		if (!strcmp(name, app))
			continue;
		if (app_load(name, &obj) < 0 || app_domains(name, obj, &served) < 0) {
			err_clear();
			json_decref(obj);
			continue;
		}
		json_array_foreach(served, j, d) {
			const char *s = json_string_value(d);
			if (!s)
				continue;
			if (!strcasecmp(s, domain) ||
			    (wild && dot && s[0] == '*' && !strcasecmp(s + 1, dot)))
				*other = strdup(name);
			if (*other)
				break;
		}
		json_decref(obj);
		json_decref(served);
		if (*other)
			break;
	}
	json_decref(apps);
	return 0;
}

/* Every domain to add must be free: no other app serves it (for admins too; the
 * router would refuse it at the next deploy anyway), and a deployer gets only
 * what cli_domain_deployer_ok() allows. Checked before anything is saved. */
static int check_new_domains(const char *app, const json_t *have, int n, char **domains)
{
	json_t *globals = NULL;
	int i, deployer = cli_caller_is_deployer(), ret = -1;

	if (app_global_domains(&globals) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char *other = NULL;
		if (array_has(have, domains[i]))
			continue; /* the app has it already: nothing is taken */
		if (deployer && cli_domain_deployer_ok(domains[i], app, globals, PSL_FILE) < 0)
			goto out;
		if (served_by_other(&other, domains[i], app, deployer) < 0)
			goto out;
		if (other) {
			err_set("domain '%s' is already served by app '%s'; remove it there first",
				domains[i], other);
			free(other);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(globals);
	return ret;
}

/* Parses `<app> DOMAIN…` (at least min domains, all valid). */
static int app_domain_args(struct cli_opts *o, int argc, char **argv, int min, int max)
{
	int i;

	if (cli_opts_parse(o, argc, argv, "", NULL) < 0)
		return -1;
	if (o->npos < 1 + min || (max >= 0 && o->npos > 1 + max))
		return cli_usage(argv[0]);
	if (cli_opts_app(o, 1) < 0)
		return -1;
	for (i = 1; i < o->npos; i++)
		if (valid_domain(o->pos[i]) < 0)
			return -1;
	return 0;
}

enum change { ADD, REMOVE, SET, CLEAR, RESET, ENABLE, DISABLE };

struct domains_req {
	enum change what;
	const struct cli_opts *o; /* pos[1..] are the domains */
};

/* app_update() callback: one change to the app's domains. */
static int change_domains(const char *name, json_t *app, void *data)
{
	const struct domains_req *rq = data;
	const struct cli_opts *o = rq->o;
	enum change what = rq->what;
	json_t *domains = app_get(app, APP_DOMAINS); /* app_load() made it */
	int i;

	if ((what == ADD || what == SET) &&
	    check_new_domains(name, domains, o->npos - 1, (char **)o->pos + 1) < 0)
		return -1;
	if (what == SET || what == CLEAR || what == RESET)
		json_array_clear(domains);
	for (i = 1; i < o->npos; i++) {
		int at = array_has(domains, o->pos[i]);
		if (what != REMOVE && !at) {
			json_array_append_new(domains, json_string(o->pos[i]));
			say_step("Added %s to %s", o->pos[i], name);
		} else if (what != REMOVE) {
			say_detail("%s is already a domain of %s", o->pos[i], name);
		} else if (at) {
			json_array_remove(domains, (size_t)at - 1);
			say_step("Removed %s from %s", o->pos[i], name);
		} else {
			say_warn("%s is not a domain of %s", o->pos[i], name);
		}
	}
	if (what == CLEAR)
		say_step("Cleared domains in %s", name);
	if ((what == RESET || what == ENABLE || what == DISABLE) &&
	    app_set_bool(app, APP_DEFAULT_DOMAIN, what != DISABLE) < 0)
		return -1;
	if (what == RESET)
		say_step("Reset domains in %s", name);
	if (what == ENABLE || what == DISABLE)
		say_step("%s the default domain of %s", what == ENABLE ? "Enabled" : "Disabled",
			 name);
	return 1;
}

/* Applies one change to the app's domains under its lock, then tells the router. */
static int change_app(int argc, char **argv, enum change what)
{
	static const int min[] = { 1, 1, 1, 0, 0, 0, 0 };
	struct cli_opts o;
	struct domains_req rq = { .what = what, .o = &o };
	int ret;

	if (app_domain_args(&o, argc, argv, min[what], min[what] ? -1 : 0) < 0)
		return -1;
	if (app_update(o.pos[0], change_domains, &rq) < 0)
		return -1;
	ret = deploy_route_refresh(&(struct deploy_request){ .app = o.pos[0] }, 0);
	cli_trigger_post("post-domains-update", o.pos[0], o.pos[0], argv[0] + 8, o.npos - 1,
			 o.pos + 1);
	return ret;
}

int cmd_domains_add(int argc, char **argv)
{
	return change_app(argc, argv, ADD);
}

int cmd_domains_remove(int argc, char **argv)
{
	return change_app(argc, argv, REMOVE);
}

int cmd_domains_set(int argc, char **argv)
{
	return change_app(argc, argv, SET);
}

int cmd_domains_clear(int argc, char **argv)
{
	return change_app(argc, argv, CLEAR);
}

int cmd_domains_reset(int argc, char **argv)
{
	return change_app(argc, argv, RESET);
}

int cmd_domains_enable(int argc, char **argv)
{
	return change_app(argc, argv, ENABLE);
}

int cmd_domains_disable(int argc, char **argv)
{
	return change_app(argc, argv, DISABLE);
}

/* ---- global domains ------------------------------------------------------------- */

/* Every app's default domains follow the global ones. */
static void refresh_all_routes(void)
{
	json_t *apps = NULL, *v;
	size_t i;

	if (app_list(&apps) < 0) {
		say_warn("%s", err_msg());
		return;
	}
	json_array_foreach(apps, i, v)
		if (deploy_route_refresh(&(struct deploy_request){ .app = json_string_value(v) },
					 0) < 0)
			say_warn("%s", err_msg());
	json_decref(apps);
}

struct global_req {
	enum change what;
	const struct cli_opts *o; /* pos[] are the domains */
};

/* app_global_update() callback: one change to the global domains. */
static int change_global_domains(const char *app, json_t *g, void *data)
{
	const struct global_req *rq = data;
	const struct cli_opts *o = rq->o;
	enum change what = rq->what;
	json_t *list = NULL;
	int i, ret;

	(void)app;
	if (app_global_domains(&list) < 0)
		return -1;
	if (what == SET || what == CLEAR)
		json_array_clear(list);
	for (i = 0; i < o->npos; i++) {
		int at = array_has(list, o->pos[i]);
		if (what != REMOVE && !at)
			json_array_append_new(list, json_string(o->pos[i]));
		else if (what == REMOVE && at)
			json_array_remove(list, (size_t)at - 1);
		else if (what == REMOVE)
			say_warn("%s is not a global domain", o->pos[i]);
	}
	ret = app_global_set_domains(g, list) < 0 ? -1 : 1;
	json_decref(list);
	return ret;
}

static int change_global(int argc, char **argv, enum change what)
{
	struct cli_opts o;
	struct global_req rq = { .what = what, .o = &o };
	struct buf p = BUF_INIT;
	int i;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (what == CLEAR ? o.npos != 0 : o.npos < 1)
		return cli_usage(argv[0]);
	for (i = 0; i < o.npos; i++)
		if (valid_domain(o.pos[i]) < 0)
			return -1;
	if (app_global_update(change_global_domains, &rq) < 0)
		return -1;
	for (i = 0; i < o.npos; i++)
		buf_addf(&p, "%s%s", i ? " " : "", o.pos[i]);
	if (what == CLEAR)
		say_step("Cleared global domains");
	else
		say_step("%s global domains: %s",
			 what == REMOVE ? "Removed"
			 : what == SET  ? "Set"
					: "Added",
			 p.buf);
	refresh_all_routes();
	cli_trigger_post("post-domains-update", NULL, "--global", argv[0] + 8, o.npos, o.pos);
	buf_release(&p);
	return 0;
}

int cmd_domains_set_global(int argc, char **argv)
{
	return change_global(argc, argv, SET);
}

int cmd_domains_add_global(int argc, char **argv)
{
	return change_global(argc, argv, ADD);
}

int cmd_domains_remove_global(int argc, char **argv)
{
	return change_global(argc, argv, REMOVE);
}

int cmd_domains_clear_global(int argc, char **argv)
{
	return change_global(argc, argv, CLEAR);
}

/* ---- report ----------------------------------------------------------------------- */

/* Reports one app (or the global settings with app NULL); adds to all when given. */
static int domains_report(const char *app, const char *flag, int json, json_t *all)
{
	struct buf vhosts = BUF_INIT, gvhosts = BUF_INIT, title = BUF_INIT;
	json_t *obj = NULL, *domains = NULL, *globals = NULL;
	int ret = -1;

	if (app_global_domains(&globals) < 0)
		goto out;
	join_domains(&gvhosts, globals);
	if (app && (app_load(app, &obj) < 0 || app_domains(app, obj, &domains) < 0))
		goto out;
	if (app)
		join_domains(&vhosts, domains);
	buf_addf(&title, "%s domains information", app ? app : "Global");
	{
		const char *enabled = app_get_bool(obj, APP_DEFAULT_DOMAIN) ? "true" : "false";
		struct cli_report_row rows[] = {
			{ "Domains app enabled", enabled },
			{ "Domains app vhosts", vhosts.buf },
			{ "Domains global enabled", json_array_size(globals) ? "true" : "false" },
			{ "Domains global vhosts", gvhosts.buf },
		};
		const struct cli_report_row *r = app ? rows : rows + 2;
		size_t n = app ? 4 : 2;
		ret = cli_report_app(all, app, title.buf, r, n, flag, json);
	}
out:
	json_decref(obj);
	json_decref(domains);
	json_decref(globals);
	buf_release(&vhosts);
	buf_release(&gvhosts);
	buf_release(&title);
	return ret;
}

int cmd_domains_report(int argc, char **argv)
{
	struct cli_opts o;
	int json;

	if (cli_opts_parse(&o, argc, argv, "--format --global", "--domains-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1 || (o.global && o.npos))
		return cli_usage(argv[0]);
	if (o.global)
		return domains_report(NULL, o.flag, json, NULL);
	if (o.npos == 1)
		return cli_opts_app(&o, 1) < 0 ? -1 : domains_report(o.pos[0], o.flag, json, NULL);
	if (o.flag)
		return err_set("%s needs an app or --global", o.flag);
	return cli_report_every_app(domains_report, json);
}

int cmd_urls(int argc, char **argv)
{
	struct cli_opts o;
	json_t *app = NULL, *domains = NULL, *v;
	size_t i;

	if (app_domain_args(&o, argc, argv, 0, 0) < 0)
		return -1;
	if (app_load(o.pos[0], &app) < 0 || app_domains(o.pos[0], app, &domains) < 0) {
		json_decref(app);
		return -1;
	}
	json_array_foreach(domains, i, v)
		printf("http://%s\n", json_string_value(v));
	json_decref(app);
	json_decref(domains);
	return 0;
}
