/* letsencrypt.c - `letsencrypt:*`: Dokku's letsencrypt commands on the deploy layer's ACME
 * certificates (src/deploy/letsencrypt.c), and `letsencrypt:hook`, the program uacme runs
 * for each challenge, which hands http-01 tokens to the router. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LE_SET_KEYS "email, server or graceperiod"

/* letsencrypt:enable|disable|revoke <app>: fn on an existing app. */
static int app_command(int argc, char **argv, int (*fn)(const char *app))
{
	if (argc != 2)
		return err_set("usage: %s <app>", argv[0]);
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	return fn(argv[1]);
}

int cmd_letsencrypt_enable(int argc, char **argv)
{
	return app_command(argc, argv, deploy_letsencrypt_enable);
}

int cmd_letsencrypt_disable(int argc, char **argv)
{
	return app_command(argc, argv, deploy_letsencrypt_disable);
}

int cmd_letsencrypt_revoke(int argc, char **argv)
{
	return app_command(argc, argv, deploy_letsencrypt_revoke);
}

/* letsencrypt:auto-renew [<app>]: the app's certificate if due (whatever its backoff: a
 * person asked), or every due one as the wharf daemon's timer does. */
int cmd_letsencrypt_auto_renew(int argc, char **argv)
{
	int rc;

	if (argc > 2)
		return err_set("usage: letsencrypt:auto-renew [<app>]");
	if (argc == 1) {
		say_step("Renewing the certificates that expire within their grace period");
		return deploy_certs_renew_due();
	}
	if (cli_need_app(argc, argv, 1, 1) < 0 ||
	    (rc = deploy_letsencrypt_renew(argv[1], 0, 0)) < 0)
		return -1;
	if (rc == 0)
		say_step("The certificate of %s is not due for renewal", argv[1]);
	return 0;
}

static void fmt_time(char *out, size_t size, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm)))
		snprintf(out, size, "-");
}

/* "12d 3h" until t, or "expired". */
static void fmt_left(char *out, size_t size, long long t, long long now)
{
	long long d = t - now;

	if (t <= 0)
		snprintf(out, size, "-");
	else if (d <= 0)
		snprintf(out, size, "expired");
	else
		snprintf(out, size, "%lldd, %lldh, %lldm", d / 86400, d % 86400 / 3600,
			 d % 3600 / 60);
}

/* letsencrypt:list: apps with letsencrypt on, their domains and expiry. */
int cmd_letsencrypt_list(int argc, char **argv)
{
	json_t *apps = NULL, *v, *doc = NULL, *doms = NULL, *d;
	long long now = (long long)time(NULL);
	char when[40], left[40];
	size_t i, k;
	int ret = -1;

	(void)argv;
	if (argc != 1)
		return err_set("usage: letsencrypt:list");
	if (app_list(&apps) < 0)
		return -1;
	if (!cli_quiet)
		printf("-----> %-28s %-32s %-24s %s\n", "App name", "Domains", "Certificate expiry",
		       "Time before expiry");
	json_array_foreach(apps, i, v) {
		const char *app = json_string_value(v);
		struct buf list = BUF_INIT;
		json_t *le;

		if (app_load(app, &doc) < 0)
			goto out;
		le = app_get(doc, APP_LETSENCRYPT);
		if (app_get_bool(le, APP_LE_ENABLED) && app_domains(app, doc, &doms) == 0) {
			json_array_foreach(doms, k, d)
				if ((list.len && buf_addstr(&list, ",") < 0) ||
				    buf_addstr(&list, json_string_value(d)) < 0)
					break;
			fmt_time(when, sizeof(when), app_get_int(le, APP_LE_EXPIRES));
			fmt_left(left, sizeof(left), app_get_int(le, APP_LE_EXPIRES), now);
			printf("%-35s %-32s %-24s %s\n", app, list.buf, when, left);
		}
		buf_release(&list);
		json_decref(doms);
		json_decref(doc);
		doms = doc = NULL;
	}
	ret = 0;
out:
	json_decref(apps);
	return ret;
}

struct le_set {
	enum app_key key;
	const char *value; /* NULL: unset */
	long long n;
};

static int le_set_fn(const char *app, json_t *doc, void *data)
{
	struct le_set *s = data;
	json_t *le = app_ensure(doc, APP_LETSENCRYPT);

	(void)app;
	if (!le)
		return -1;
	if (!s->value)
		app_unset(le, s->key);
	else if (s->key == APP_LE_GRACEPERIOD ? app_set_int(le, s->key, s->n) < 0
					      : app_set_str(le, s->key, s->value) < 0)
		return -1;
	return 1;
}

/* A value letsencrypt:set accepts for key. */
static int le_set_check(struct le_set *s, const char *key)
{
	const char *v = s->value, *p;

	if (!strcmp(key, "email"))
		s->key = APP_LE_EMAIL;
	else if (!strcmp(key, "server"))
		s->key = APP_LE_SERVER;
	else if (!strcmp(key, "graceperiod"))
		s->key = APP_LE_GRACEPERIOD;
	else
		return err_set("unknown letsencrypt property '%s': give " LE_SET_KEYS, key);
	if (!v)
		return 0;
	for (p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return err_set("invalid %s: no spaces or control characters", key);
	if (strlen(v) > 512)
		return err_set("invalid %s: at most 512 characters", key);
	if (s->key == APP_LE_EMAIL && (!strchr(v, '@') || *v == '-' || *v == '@'))
		return err_set("invalid email '%s'", v);
	if (s->key == APP_LE_SERVER && strcmp(v, "production") && strcmp(v, "staging") &&
	    strncmp(v, "https://", 8))
		return err_set("invalid server '%s': give production, staging or an https:// "
			       "ACME directory URL",
			       v);
	if (s->key == APP_LE_GRACEPERIOD) {
		if (num_parse(v, 0, 10LL * 365 * 86400, &s->n) < 0)
			return err_set("invalid graceperiod '%s': seconds before expiry to renew "
				       "(default 2592000, 30 days)",
				       v);
	}
	return 0;
}

/* letsencrypt:set [--global|<app>] email|server|graceperiod [VALUE] */
int cmd_letsencrypt_set(int argc, char **argv)
{
	struct le_set s = { .value = NULL };
	int global;

	if (argc != 3 && argc != 4)
		return err_set("usage: letsencrypt:set [--global|<app>] " LE_SET_KEYS " [VALUE]");
	global = !strcmp(argv[1], "--global");
	if (!global && cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	s.value = argc == 4 ? argv[3] : NULL;
	if (le_set_check(&s, argv[2]) < 0)
		return -1;
	if ((global ? app_global_update(le_set_fn, &s) : app_update(argv[1], le_set_fn, &s)) < 0)
		return -1;
	if (s.value)
		say_step("Setting letsencrypt %s to %s for %s", argv[2], s.value,
			 global ? "all apps" : argv[1]);
	else
		say_step("Unsetting letsencrypt %s for %s", argv[2], global ? "all apps" : argv[1]);
	return 0;
}

static void report_line(const char *name, const char *value)
{
	printf("       %-32s %s\n", name, value && *value ? value : "");
}

/* letsencrypt:report [<app>|--global] [--format json] */
int cmd_letsencrypt_report(int argc, char **argv)
{
	json_t *doc = NULL, *gdoc = NULL, *le, *gle, *out = NULL;
	const char *app = NULL, *computed;
	char when[40], retry[40], grace[32], fails[32];
	int i, json = 0, global = 0, ret = -1;
	long long g;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json")) {
			json = 1;
			i++;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc &&
			   !strcmp(argv[i + 1], "stdout")) {
			i++;
		} else if (!strcmp(argv[i], "--global") && !app && !global) {
			global = 1;
		} else if (argv[i][0] != '-' && !app && !global) {
			app = argv[i];
		} else {
			return err_set(
				"usage: letsencrypt:report [<app>|--global] [--format json]");
		}
	}
	if (!app && !global)
		return err_set("usage: letsencrypt:report [<app>|--global] [--format json]");
	if (app && (valid_app_name(app) < 0 || app_load(app, &doc) < 0))
		return -1;
	if (app_global_load(&gdoc) < 0)
		goto out;
	le = app_get(doc, APP_LETSENCRYPT);
	gle = app_get(gdoc, APP_LETSENCRYPT);
	g = json_is_integer(json_object_get(le, "graceperiod"))
		    ? app_get_int(le, APP_LE_GRACEPERIOD)
		    : app_get_int(gle, APP_LE_GRACEPERIOD);
	snprintf(grace, sizeof(grace), "%lld", g);
	computed = deploy_letsencrypt_url(app_get_str(le, APP_LE_SERVER)
						  ? app_get_str(le, APP_LE_SERVER)
						  : app_get_str(gle, APP_LE_SERVER));
	fmt_time(when, sizeof(when), app_get_int(le, APP_LE_EXPIRES));
	fmt_time(retry, sizeof(retry), app_get_int(le, APP_LE_RETRY_AT));
	if (json) {
		out = json_pack("{s:b, s:s?, s:s?, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:I}", "active",
				app_get_bool(le, APP_LE_ENABLED), "email",
				app_get_str(le, APP_LE_EMAIL), "global-email",
				app_get_str(gle, APP_LE_EMAIL), "computed-server", computed,
				"expires", when, "graceperiod", (json_int_t)g, "server",
				app_get_str(le, APP_LE_SERVER), "global-server",
				app_get_str(gle, APP_LE_SERVER), "last-error",
				app_get_str(le, APP_LE_LAST_ERROR), "failures",
				(json_int_t)app_get_int(le, APP_LE_FAILURES));
		if (!out || json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS) < 0) {
			err_set("out of memory");
			goto out;
		}
		printf("\n");
		ret = 0;
		goto out;
	}
	printf("=====> %s letsencrypt information\n", global ? "global" : app);
	if (!global) {
		report_line("Letsencrypt active:",
			    app_get_bool(le, APP_LE_ENABLED) ? "true" : "false");
		report_line("Letsencrypt expires at:", when);
		snprintf(fails, sizeof(fails), "%lld", app_get_int(le, APP_LE_FAILURES));
		report_line("Letsencrypt failures:", fails);
		report_line("Letsencrypt last error:", app_get_str(le, APP_LE_LAST_ERROR));
		report_line("Letsencrypt next retry:",
			    app_get_int(le, APP_LE_RETRY_AT) ? retry : "-");
		report_line("Letsencrypt email:", app_get_str(le, APP_LE_EMAIL));
		report_line("Letsencrypt server:", app_get_str(le, APP_LE_SERVER));
	}
	report_line("Letsencrypt global email:", app_get_str(gle, APP_LE_EMAIL));
	report_line("Letsencrypt global server:", app_get_str(gle, APP_LE_SERVER));
	report_line("Letsencrypt computed server:", computed);
	report_line("Letsencrypt graceperiod:", grace);
	ret = 0;
out:
	json_decref(out);
	json_decref(doc);
	json_decref(gdoc);
	return ret;
}

/* letsencrypt:cron-job --add|--remove: accepted for Dokku's scripts; nothing to do. */
int cmd_letsencrypt_cron_job(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "--add") && strcmp(argv[1], "--remove")))
		return err_set("usage: letsencrypt:cron-job --add|--remove");
	say_step("No cron job %s: wharf renews certificates by itself (the wharf daemon runs "
		 "letsencrypt:auto-renew on a timer)",
		 !strcmp(argv[1], "--add") ? "added" : "to remove");
	return 0;
}

/* letsencrypt:hook METHOD TYPE IDENT TOKEN AUTH: uacme's hook (see uacme(1)). begin of
 * an http-01 challenge puts the token in the router (exit 0: accepted); any other type
 * is declined (exit 1); done and failed take it out again. */
int cmd_letsencrypt_hook(int argc, char **argv)
{
	struct buf path = BUF_INIT;
	json_t *body = NULL;
	int ret = -1, begin;

	if (argc != 6)
		return err_set("usage: letsencrypt:hook begin|done|failed TYPE IDENT TOKEN AUTH");
	begin = !strcmp(argv[1], "begin");
	if (!begin && strcmp(argv[1], "done") && strcmp(argv[1], "failed"))
		return err_set("unknown hook method '%s'", argv[1]);
	if (strcmp(argv[2], "http-01"))
		return 1; /* declined: wharf answers http-01 only */
	/* The router checks it too; here it must not reach a URL path ("../" would move it). */
	if (!*argv[4] || strlen(argv[4]) > 128 ||
	    strspn(argv[4], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		    strlen(argv[4]))
		return err_set("invalid challenge token");
	if (buf_addf(&path, "/acme/challenges/%s", argv[4]) < 0 ||
	    (begin && !(body = json_pack("{s:s}", "key_authorization", argv[5])))) {
		err_set("out of memory");
		goto out;
	}
	if (router_client_request(begin ? "PUT" : "DELETE", path.buf, body, !begin,
				  "the router refused the challenge", NULL) < 0)
		goto out;
	ret = 0;
out:
	json_decref(body);
	buf_release(&path);
	return ret;
}
