/* git.c - git:set <app> deploy-branch [BRANCH], git:from-image <app> IMAGE, git:report:
 * how pushes (and images) deploy. */
#include "cli.h"
#include "build/build.h"
#include "receiver/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A branch name git accepts (check-ref-format) and that is safe to print and
 * store: [A-Za-z0-9._/-], no "..", "//", "@{", leading '-', '/' or '.',
 * trailing '/', '.' or ".lock", at most 200 characters. */
static int valid_branch(const char *b)
{
	size_t n = strlen(b);
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-";

	if (!n || n > 200 || strspn(b, ok) != n || strchr("-/.", b[0]) || strchr("/.", b[n - 1]) ||
	    strstr(b, "..") || strstr(b, "//") || strstr(b, "/.") ||
	    (n >= 5 && !strcmp(b + n - 5, ".lock")))
		return err_set("invalid branch name '%s'", b);
	return 0;
}

/* A push size: digits with an optional k, m or g (case-insensitive), 1k to 100g. */
static int parse_push_size(const char *s, long long *bytes)
{
	size_t digits = strspn(s, "0123456789");
	long long v = 0, mult = 1;
	const char *p;

	if (!digits || digits > 9)
		goto bad;
	for (p = s; p < s + digits; p++)
		v = v * 10 + (*p - '0');
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1LL << 10;
		p++;
		break;
	case 'm':
	case 'M':
		mult = 1LL << 20;
		p++;
		break;
	case 'g':
	case 'G':
		mult = 1LL << 30;
		p++;
		break;
	default:
		goto bad;
	}
	if (*p || v * mult < 1024 || v * mult > (100LL << 30))
		goto bad;
	*bytes = v * mult;
	return 0;
bad:
	return err_set("invalid push size '%s': from 1k to 100g (200m, 1g)", s);
}

/* app_global_update() callback of git:set --global max-push-size: *data is the
 * size in bytes, 0 to unset. */
static int store_push_size(const char *app, json_t *doc, void *data)
{
	long long bytes = *(long long *)data;

	(void)app;
	if (!bytes) {
		app_unset(doc, APP_GIT_MAX_PUSH_SIZE);
		return 1;
	}
	return app_set_int(doc, APP_GIT_MAX_PUSH_SIZE, bytes) < 0 ? -1 : 1;
}

/* git:set --global max-push-size [SIZE]: receive.maxInputSize of every app's
 * repository from its next push (without SIZE: the default, 200m). */
static int set_global(const struct cli_opts *o, const char *cmd)
{
	long long bytes = 0;

	if (o->npos < 1 || o->npos > 2)
		return cli_usage(cmd);
	if (strcmp(o->pos[0], "max-push-size"))
		return err_set("unknown global git property '%s': only max-push-size", o->pos[0]);
	if (o->npos == 2 && parse_push_size(o->pos[1], &bytes) < 0)
		return -1;
	if (app_global_update(store_push_size, &bytes) < 0)
		return -1;
	if (o->npos == 2)
		say_step("Setting max-push-size to %s (from each app's next push)", o->pos[1]);
	else
		say_step("Unsetting max-push-size (200m)");
	return 0;
}

int cmd_git_set(int argc, char **argv)
{
	struct cli_opts o;

	if (cli_opts_parse(&o, argc, argv, "--global", NULL) < 0)
		return -1;
	if (o.global)
		return set_global(&o, argv[0]);
	if (o.npos < 2 || o.npos > 3)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (strcmp(o.pos[1], "deploy-branch"))
		return err_set("unknown git property '%s': only deploy-branch", o.pos[1]);
	if (o.npos == 3 && valid_branch(o.pos[2]) < 0)
		return -1;
	if (app_update_key(o.pos[0], APP_DEPLOY_BRANCH,
			   o.npos == 3 ? json_string(o.pos[2]) : NULL) < 0)
		return -1;
	if (o.npos == 3)
		say_step("Setting deploy-branch to %s", o.pos[2]);
	else
		say_step("Unsetting deploy-branch");
	return 0;
}

/* A local image reference: name[:tag][@digest] or an id, in the characters
 * Docker allows ([A-Za-z0-9._/:@-]), at most 255; nothing a path, query or shell
 * could read differently. */
static int valid_image_ref(const char *ref)
{
	size_t n = strlen(ref);
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-";

	if (!n || n > 255 || strspn(ref, ok) != n ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", ref[0]) ||
	    strstr(ref, "..") || strstr(ref, "//"))
		return err_set("invalid image reference '%s'", ref);
	return 0;
}

int cmd_git_from_image(int argc, char **argv)
{
	struct cli_opts o;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || valid_image_ref(o.pos[1]) < 0)
		return -1;
	return deploy_image(&(struct deploy_request){
		.app = o.pos[0], .image = o.pos[1], .deployer = cli_caller_is_deployer() });
}

static int git_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT;
	json_t *app = NULL, *rels = NULL, *cur;
	const char *branch;
	char max_push[32];
	int ret = -1;

	if (app_load(name, &app) < 0 || app_releases_load(name, &rels) < 0 ||
	    buf_addf(&title, "%s git information", name) < 0)
		goto out;
	cur = app_release_current(rels);
	branch = app_get_str_or(app, APP_DEPLOY_BRANCH, "");
	snprintf(max_push, sizeof(max_push), "%lld", receiver_push_max_bytes());
	{
		struct cli_report_row rows[] = {
			{ "Git deploy branch", branch },
			{ "Git computed deploy branch", *branch ? branch : "main master" },
			{ "Git rev", app_get_str_or(cur, APP_GIT_REV, "") },
			{ "Git last updated at", app_get_str_or(cur, APP_CREATED_AT, "") },
			/* What the current release came from: a push, or git:from-image. */
			{ "Git source image", app_get_str_or(cur, APP_SOURCE_IMAGE, "") },
			{ "Git max push size", max_push },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	json_decref(rels);
	buf_release(&title);
	return ret;
}

int cmd_git_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--git-", git_report);
}
