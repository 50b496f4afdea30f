/* config.c - config:set, get, unset, show, keys, clear, export, import: an app's
 * config vars (app.json "config") or, with --global, every app's (global.json
 * "config", under the app's own at deploy: app_env()). */
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
	const char *app; /* NULL with --global */
	json_t *doc;     /* app.json or global.json, for reads */
	json_t *config;  /* borrowed from doc */
	char **args;     /* positional words after the app */
	int nargs;
};
#define TARGET_INIT                                      \
	{                                                \
		.app = NULL, .doc = NULL, .config = NULL \
	}

/* Resolves --global or the app in pos[0]; with load, reads its vars (unlocked:
 * changes go through target_change()). */
static int target_open(struct target *t, const struct cli_opts *o, int load)
{
	if (o->global) {
		t->args = (char **)o->pos;
		t->nargs = o->npos;
		if (load && app_global_load(&t->doc) < 0)
			return -1;
	} else {
		if (cli_opts_app(o, 1) < 0)
			return -1;
		t->app = o->pos[0];
		t->args = (char **)o->pos + 1;
		t->nargs = o->npos - 1;
		if (load && app_load(t->app, &t->doc) < 0)
			return -1;
	}
	if (load && !(t->config = app_ensure(t->doc, APP_CONFIG)))
		return -1;
	return 0;
}

/* What a change does to the vars (under the lock); 0 or -1 (err_set). */
typedef int config_change_fn(json_t *config, void *data);

struct config_change {
	const struct cli_opts *o;
	config_change_fn *fn;
	void *data;
};

/* app_update() callback. A change of an app that will redeploy it (no
 * --no-restart) is refused here, before anything is saved, when Docker does not
 * answer: a config that no release runs would otherwise be left behind. */
static int change_config(const char *app, json_t *doc, void *data)
{
	const struct config_change *cc = data;
	json_t *config;

	if (app && !cc->o->no_restart && deploy_redeploy_check(app) < 0)
		return -1;
	if (!(config = app_ensure(doc, APP_CONFIG)))
		return -1;
	return cc->fn(config, cc->data) < 0 ? -1 : 1;
}

/* Changes the target's vars with fn under the app's (or the global file's) lock,
 * so a read-modify-write loses nothing; then tells the plugins and redeploys the
 * app unless asked not to. Global values reach each app on its next deploy:
 * redeploying every app at once is not what an admin setting one shared value
 * expects. */
static int target_change(struct target *t, const struct cli_opts *o, config_change_fn *fn,
			 void *data, const char *why)
{
	struct config_change cc = { o, fn, data };

	if ((t->app ? app_update(t->app, change_config, &cc)
		    : app_global_update(change_config, &cc)) < 0)
		return -1;
	/* why is "config set|unset|clear|import": the trigger gets the verb. */
	plugins_post("post-config-update", t->app,
		     (const char *[]){ t->app ? t->app : "--global", why + strlen("config "),
				       NULL });
	if (!t->app) {
		say_detail("global config applies to each app on its next deploy or restart");
		return 0;
	}
	return o->no_restart
		       ? 0
		       : deploy_redeploy(&(struct deploy_request){ .app = t->app, .why = why });
}

static void target_release(struct target *t)
{
	json_decref(t->doc);
}

/* The vars a read shows: the target's, or with --merged the app's environment. */
static int target_view(struct target *t, const struct cli_opts *o, json_t **view)
{
	if (o->merged && t->app)
		return app_env(t->app, view);
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

/* config:set's change: the decoded pairs over the vars. */
static int set_vars(json_t *config, void *data)
{
	const json_t *changes = data;
	const char **keys;
	size_t n = 0;

	if (json_object_update(config, (json_t *)changes) < 0)
		return err_set("out of memory");
	keys = cli_env_sorted_keys(changes, &n);
	say_step("Setting config vars");
	print_vars(config, keys, n);
	free(keys);
	return 0;
}

int cmd_config_set(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf val = BUF_INIT;
	json_t *changes = NULL;
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
	if (target_open(&t, &o, 0) < 0)
		goto out;
	ret = target_change(&t, &o, set_vars, changes, "config set");
out:
	target_release(&t);
	json_decref(changes);
	buf_release(&val);
	return ret;
}

/* config:unset's change: the named vars go. */
static int unset_vars(json_t *config, void *data)
{
	const struct target *t = data;
	int i;

	say_step("Unsetting config vars");
	for (i = 0; i < t->nargs; i++) {
		if (json_object_del(config, t->args[i]) == 0)
			say_detail("%s", t->args[i]);
		else
			say_warn("%s is not set", t->args[i]);
	}
	return 0;
}

/* config:clear's change. */
static int clear_vars(json_t *config, void *data)
{
	(void)data;
	say_step("Clearing config vars");
	json_object_clear(config);
	return 0;
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
	if (target_open(&t, &o, 0) < 0)
		goto out;
	ret = target_change(&t, &o, unset_vars, &t, "config unset");
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
	if (target_open(&t, &o, 0) < 0)
		goto out;
	ret = target_change(&t, &o, clear_vars, NULL, "config clear");
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
	if (valid_config_key(o.pos[o.npos - 1]) < 0 || target_open(&t, &o, 1) < 0 ||
	    target_view(&t, &o, &view) < 0)
		goto out;
	v = json_str(view, t.args[0], NULL);
	if (!v) {
		ret = 1; /* Dokku: an unset key prints nothing, exits 1 */
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
	if (target_open(t, o, 1) < 0 || target_view(t, o, view) < 0)
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
	if (target_open(&t, &o, 1) < 0 || target_view(&t, &o, &view) < 0 ||
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

struct import_req {
	const json_t *vars;
	int replace;
};

/* config:import's change: the file's vars over (or instead of) the others. */
static int import_vars(json_t *config, void *data)
{
	const struct import_req *rq = data;
	const char **keys;
	size_t n, i;

	if (rq->replace)
		json_object_clear(config);
	if (json_object_update(config, (json_t *)rq->vars) < 0)
		return err_set("out of memory");
	keys = cli_env_sorted_keys(rq->vars, &n);
	if (!keys)
		return err_set("out of memory");
	say_step("Importing %zu config var%s%s", n, n == 1 ? "" : "s",
		 rq->replace ? " (replacing all others)" : "");
	for (i = 0; i < n; i++)
		say_detail("%s", keys[i]);
	free(keys);
	return 0;
}

int cmd_config_import(int argc, char **argv)
{
	struct cli_opts o;
	struct target t = TARGET_INIT;
	struct buf text = BUF_INIT;
	json_t *vars = NULL;
	const char *src;
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
	if (target_open(&t, &o, 0) < 0)
		goto out;
	ret = target_change(&t, &o, import_vars, &(struct import_req){ vars, o.replace },
			    "config import");
out:
	if (fd >= 0)
		close(fd);
	target_release(&t);
	json_decref(vars);
	buf_release(&text);
	return ret;
}
