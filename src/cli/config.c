/* config.c - config:set, get, unset, show, keys, clear, export, import: an app's
 * config vars (app.json "config") or, with --global, every app's (global.json
 * "config", under the app's own at deploy: state_app_env()). */
#include "cli.h"
#include "plugins/plugins.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT_MAX (4u << 20)

/* Where the vars live: an app's app.json or global.json. */
struct target {
	const char *app;             /* NULL with --global */
	struct lock l;
	json_t     *doc;             /* app.json or global.json */
	json_t     *config;          /* borrowed from doc */
	char      **args;            /* positional words after the app */
	int         nargs;
};
#define TARGET_INIT { .app = NULL, .l = LOCK_INIT, .doc = NULL, .config = NULL }

/* Resolves --global or the app in pos[0]; with lock, takes the app's (or the
 * global file's) lock before loading, so a read-modify-write loses nothing. A
 * change of an app that will redeploy it (no --no-restart) is refused here,
 * before anything is saved, when Docker does not answer: a config that no
 * release runs would otherwise be left behind. */
static int target_open(struct target *t, const struct cli_opts *o, int lock)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (o->global) {
		t->args = (char **)o->pos;
		t->nargs = o->npos;
		if (lock && (buf_addf(&p, "%s/global.lock", wharf_root()) < 0 ||
			     fs_mkdir_p(wharf_root(), 0755) < 0 || lock_take(&t->l, p.buf, NULL) < 0))
			goto out;
		if (state_global_load(&t->doc) < 0)
			goto out;
	} else {
		if (cli_opts_app(o, 1) < 0)
			goto out;
		t->app = o->pos[0];
		t->args = (char **)o->pos + 1;
		t->nargs = o->npos - 1;
		if (lock && state_app_lock(&t->l, t->app) < 0)
			goto out;
		if (lock && !o->no_restart && cli_redeploy_check(t->app) < 0)
			goto out;
		if (state_app_load(t->app, &t->doc) < 0)
			goto out;
	}
	if (!json_is_object(json_object_get(t->doc, "config")))
		json_object_set_new(t->doc, "config", json_object());
	t->config = json_object_get(t->doc, "config");
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

static int target_save(struct target *t)
{
	return t->app ? state_app_save(t->app, t->doc) : state_global_save(t->doc);
}

/* Saves, unlocks, and redeploys the app unless asked not to. Global values reach
 * each app on its next deploy: redeploying every app at once is not what an
 * admin setting one shared value expects. */
static int target_commit(struct target *t, const struct cli_opts *o, const char *why)
{
	if (target_save(t) < 0)
		return -1;
	lock_release(&t->l);
	/* why is "config set|unset|clear|import": the trigger gets the verb. */
	plugins_post("post-config-update", t->app,
		     (const char *[]){ t->app ? t->app : "--global", why + strlen("config "), NULL });
	if (!t->app) {
		say_detail("global config applies to each app on its next deploy or restart");
		return 0;
	}
	return o->no_restart ? 0 : cli_redeploy(t->app, why);
}

static void target_release(struct target *t)
{
	lock_release(&t->l);
	json_decref(t->doc);
}

/* The vars a read shows: the target's, or with --merged the app's environment. */
static int target_view(struct target *t, const struct cli_opts *o, json_t **view)
{
	if (o->merged && t->app)
		return state_app_env(t->app, view);
	*view = json_incref(t->config);
	return 0;
}

static void print_vars(const json_t *config, const char **keys, size_t n)
{
	size_t width = 0, i;

	for (i = 0; i < n; i++)
		if (strlen(keys[i]) > width)
			width = strlen(keys[i]);
	for (i = 0; i < n; i++) {
		const char *v = json_str(config, keys[i], "");
		printf("       %s:%*s %s\n", keys[i], (int)(width - strlen(keys[i]) + 1), "", v);
	}
}

int cmd_config_set(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf val = BUF_INIT;
	json_t *changes = NULL;
	const char **keys = NULL;
	size_t n = 0;
	int i, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --encoded --no-restart", NULL) < 0)
		return -1;
	if (o.npos < (o.global ? 1 : 2))
		return cli_usage(argv[0]);
	if (!o.global && cli_opts_app(&o, 1) < 0)
		return -1;
	/* Validate and decode every pair before changing anything: a bad one loses nothing. */
	changes = json_object();
	for (i = o.global ? 0 : 1; i < o.npos; i++) {
		char *eq = strchr(o.pos[i], '=');
		int bad;
		if (!eq) {
			err_set("'%s' is not KEY=VALUE", o.pos[i]);
			goto out;
		}
		*eq = '\0';
		bad = valid_config_key(o.pos[i]);
		buf_reset(&val);
		if (!bad && o.encoded)
			bad = cli_base64_decode(&val, eq + 1);
		else if (!bad)
			bad = buf_addstr(&val, eq + 1);
		if (!bad)
			json_object_set_new(changes, o.pos[i], json_string(val.buf));
		*eq = '=';
		if (bad < 0)
			goto out;
	}
	if (target_open(&t, &o, 1) < 0 || json_object_update(t.config, changes) < 0)
		goto out;
	keys = cli_env_sorted_keys(changes, &n);
	say_step("Setting config vars");
	print_vars(t.config, keys, n);
	ret = target_commit(&t, &o, "config set");
out:
	target_release(&t);
	json_decref(changes);
	buf_release(&val);
	free(keys);
	return ret;
}

int cmd_config_unset(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	int i, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --no-restart", NULL) < 0)
		return -1;
	if (o.npos < (o.global ? 1 : 2))
		return cli_usage(argv[0]);
	for (i = o.global ? 0 : 1; i < o.npos; i++)
		if (valid_config_key(o.pos[i]) < 0)
			return -1;
	if (target_open(&t, &o, 1) < 0)
		goto out;
	say_step("Unsetting config vars");
	for (i = 0; i < t.nargs; i++) {
		if (json_object_del(t.config, t.args[i]) == 0)
			say_detail("%s", t.args[i]);
		else
			say_warn("%s is not set", t.args[i]);
	}
	ret = target_commit(&t, &o, "config unset");
out:
	target_release(&t);
	return ret;
}

int cmd_config_clear(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --no-restart", NULL) < 0)
		return -1;
	if (o.npos != (o.global ? 0 : 1))
		return cli_usage(argv[0]);
	if (target_open(&t, &o, 1) < 0)
		goto out;
	say_step("Clearing config vars");
	json_object_clear(t.config);
	ret = target_commit(&t, &o, "config clear");
out:
	target_release(&t);
	return ret;
}

int cmd_config_get(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf q = BUF_INIT;
	json_t *view = NULL;
	const char *v;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --quoted --merged", NULL) < 0)
		return -1;
	if (o.npos != (o.global ? 1 : 2))
		return cli_usage(argv[0]);
	if (valid_config_key(o.pos[o.npos - 1]) < 0 || target_open(&t, &o, 0) < 0 ||
	    target_view(&t, &o, &view) < 0)
		goto out;
	v = json_str(view, t.args[0], NULL);
	if (!v) {
		ret = 1;                /* Dokku: an unset key prints nothing, exits 1 */
		goto out;
	}
	if (o.quoted && cli_shell_quote(&q, v) < 0)
		goto out;
	printf("%s\n", o.quoted ? q.buf : v);
	ret = 0;
out:
	target_release(&t);
	json_decref(view);
	buf_release(&q);
	return ret;
}

/* Opens the target (unlocked) and gives its view (see target_view) with its keys
 * sorted, as config:show and config:keys print them. */
static int sorted_view(struct target *t, const struct cli_opts *o, json_t **view,
		       const char ***keys, size_t *n)
{
	if (target_open(t, o, 0) < 0 || target_view(t, o, view) < 0)
		return -1;
	*keys = cli_env_sorted_keys(*view, n);
	return *keys ? 0 : err_set("out of memory");
}

int cmd_config_show(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	json_t *view = NULL;
	const char **keys = NULL;
	size_t n;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --merged", NULL) < 0)
		return -1;
	if (o.npos != (o.global ? 0 : 1))
		return cli_usage(argv[0]);
	if (sorted_view(&t, &o, &view, &keys, &n) < 0)
		goto out;
	say_section("%s env vars", t.app ? t.app : "global");
	print_vars(view, keys, n);
	ret = 0;
out:
	target_release(&t);
	json_decref(view);
	free(keys);
	return ret;
}

int cmd_config_keys(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	json_t *view = NULL;
	const char **keys = NULL;
	size_t n, i;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --merged", NULL) < 0)
		return -1;
	if (o.npos != (o.global ? 0 : 1))
		return cli_usage(argv[0]);
	if (sorted_view(&t, &o, &view, &keys, &n) < 0)
		goto out;
	for (i = 0; i < n; i++)
		printf("%s\n", keys[i]);
	ret = 0;
out:
	target_release(&t);
	json_decref(view);
	free(keys);
	return ret;
}

int cmd_config_export(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf text = BUF_INIT;
	json_t *view = NULL;
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --merged --format", NULL) < 0)
		return -1;
	if (o.npos != (o.global ? 0 : 1))
		return cli_usage(argv[0]);
	if (target_open(&t, &o, 0) < 0 || target_view(&t, &o, &view) < 0 ||
	    cli_env_export(&text, view, o.format ? o.format : "exports") < 0)
		goto out;
	fwrite(text.buf, 1, text.len, stdout);
	ret = 0;
out:
	target_release(&t);
	json_decref(view);
	buf_release(&text);
	return ret;
}

/* Reads all of fd into out, refusing more than IMPORT_MAX bytes. */
static int read_all(int fd, struct buf *out, const char *what)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set_errno("cannot read %s", what);
		if (out->len + (size_t)n > IMPORT_MAX)
			return err_set("%s is larger than %u bytes", what, IMPORT_MAX);
		if (buf_add(out, chunk, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

int cmd_config_import(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf text = BUF_INIT;
	json_t *vars = NULL;
	const char **keys = NULL, *src;
	size_t n, i;
	int fd = -1, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--global --replace --no-restart", NULL) < 0)
		return -1;
	if (o.npos > (o.global ? 1 : 2) || (!o.global && o.npos < 1))
		return cli_usage(argv[0]);
	if (!o.global && cli_opts_app(&o, 1) < 0)
		return -1;
	src = o.npos == (o.global ? 1 : 2) ? o.pos[o.npos - 1] : "-";
	if (strcmp(src, "-")) {
		/* Over ssh a path would name a file on the server, readable by wharf:
		 * remote imports come through stdin only. */
		if (caller_is_remote())
			return err_set("over ssh, config:import reads stdin only: "
				       "ssh wharf@HOST config:import APP - < FILE");
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_set_errno("cannot open '%s'", src);
	}
	if (read_all(fd < 0 ? 0 : fd, &text, fd < 0 ? "stdin" : src) < 0 ||
	    cli_env_parse(&vars, text.buf, text.len) < 0)
		goto out;
	if (target_open(&t, &o, 1) < 0)
		goto out;
	if (o.replace)
		json_object_clear(t.config);
	if (json_object_update(t.config, vars) < 0) {
		err_set("out of memory");
		goto out;
	}
	keys = cli_env_sorted_keys(vars, &n);
	if (!keys) {
		err_set("out of memory");
		goto out;
	}
	say_step("Importing %zu config var%s%s", n, n == 1 ? "" : "s",
		 o.replace ? " (replacing all others)" : "");
	for (i = 0; i < n; i++)
		say_detail("%s", keys[i]);
	ret = target_commit(&t, &o, "config import");
out:
	if (fd >= 0)
		close(fd);
	target_release(&t);
	json_decref(vars);
	buf_release(&text);
	free(keys);
	return ret;
}
