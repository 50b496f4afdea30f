/* run.c - the trigger runner: each enabled plugin's executable for a trigger,
 * fork/exec'd (never a shell) with documented arguments, environment and a
 * timeout; plugin commands; docker-args-* merged under an allow-list. */
#include "plugins.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX (8u << 20) /* stdout or stderr of one plugin run */

/* Enabled plugin names in name order (plugins/enabled/), or just `only`. */
static int plugin_names(json_t **out, const char *only)
{
	struct buf dir = BUF_INIT;
	struct dirent **ents = NULL;
	int i, n = 0, ret = -1;

	*out = json_array();
	if (only) {
		json_array_append_new(*out, json_string(only));
		return 0;
	}
	if (plugins_path(&dir, "enabled") < 0)
		goto out;
	n = scandir(dir.buf, &ents, NULL, alphasort);
	if (n < 0) {
		n = 0;
		ret = errno == ENOENT ? 0 : err_set_errno("cannot read %s", dir.buf);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (plugins_valid_name(ents[i]->d_name) == 0)
			json_array_append_new(*out, json_string(ents[i]->d_name));
	err_clear(); /* handled: entries that are not plugin names ('.', staging) are skipped */
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	buf_release(&dir);
	return ret;
}

/* The plugin's dir and its executable for `file`, if it has one: a regular,
 * executable file (lstat: a symlink never counts). Returns 1, 0 or -1. */
static int plugin_exe(struct buf *dir, struct buf *exe, const char *name, const char *file)
{
	struct stat st;

	buf_reset(dir);
	buf_reset(exe);
	if (plugins_path(dir, "available/") < 0 || buf_addstr(dir, name) < 0 ||
	    buf_addf(exe, "%s/%s", dir->buf, file) < 0)
		return -1;
	if (lstat(exe->buf, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
		return 0;
	return 1;
}

/* What a plugin gets over wharf's environment: WHARF_ROOT, APP, … as "K=V"
 * strings in vars (one NUL-separated buffer) pointed at by set. Never the lock
 * handed to this process nor a trusted caller variable: WHARF_SSH_KEY is the
 * caller's key name, for information only. */
struct plugin_env {
	struct buf text;
	const char *set[9];
};
#define PLUGIN_ENV_INIT          \
	{                        \
		.text = BUF_INIT \
	}

static const char *const plugin_env_unset[] = { LOCK_FD_ENV, "WHARF_APP_LOCKED", "WHARF_SSH_KEY",
						"WHARF_SSH_ROLE", NULL };

static int plugin_env(struct plugin_env *pe, const char *trigger, const char *app, const char *dir)
{
	struct buf root = BUF_INIT;
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	const struct caller *who = caller_get();
	const char *key = who->key;
	size_t offs[9], i, count = 0;
	int ret = -1;

	path[n > 0 ? n : 0] = '\0';
	buf_reset(&pe->text);
	if (plugins_path(&root, NULL) < 0)
		goto out;
#define ADD(fmt, v)                    \
	(offs[count++] = pe->text.len, \
	 buf_addf(&pe->text, fmt, v) < 0 || buf_addch(&pe->text, '\0') < 0)
	if (ADD("WHARF_ROOT=%s", wharf_root()) || ADD("APP=%s", app ? app : "") ||
	    ADD("WHARF_TRIGGER=%s", trigger) || ADD("WHARF_PLUGIN_PATH=%s", root.buf) ||
	    ADD("WHARF_PLUGIN_DIR=%s", dir) || ADD("WHARF_BIN=%s", path) ||
	    (key && ADD("WHARF_SSH_KEY=%s", key)) ||
	    /* Set by wharf from the key's role, never inherited: a plugin command that
	     * a deployer may run (deployer_commands) checks its own grants with it. */
	    (who->remote &&
	     ADD("WHARF_SSH_ROLE=%s", who->role == CALLER_DEPLOYER ? "deployer" : "admin")))
		goto out;
#undef ADD
	for (i = 0; i < count; i++)
		pe->set[i] = pe->text.buf + offs[i];
	pe->set[count] = NULL;
	ret = 0;
out:
	buf_release(&root);
	return ret;
}

struct run_result {
	struct buf out, err;
	int status; /* exit code, 128+signal, or -1 for a timeout */
};

/* Runs one plugin executable with cwd its dir, in its own process group, and
 * every fd of ours above 2 closed (no lock or socket leaks into a plugin). A
 * plugin that cannot be executed fails like one that exits 127 saying why. */
static int run_one(struct run_result *r, const char *dir, const char *const *argv,
		   const struct plugin_env *pe, const struct plugins_run_opts *o, int timeout_s)
{
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc p;
	int status;

	po.argv = argv;
	po.cwd = dir;
	po.env_set = pe->set;
	po.env_unset = plugin_env_unset;
	po.in = o->stdin_data ? PROC_DATA : PROC_NULL;
	po.in_data = o->stdin_data;
	po.in_len = o->stdin_len;
	po.out = po.err = PROC_CAPTURE;
	po.out_buf = &r->out;
	po.err_buf = &r->err;
	po.timeout_ms = timeout_s * 1000;
	po.grace_ms = 0; /* documented: killed at the timeout */
	if (proc_start(&p, &po) < 0) {
		if (!p.exec_errno)
			return -1;
		r->status = 127;
		return buf_addf(&r->err, "%s\n", err_msg());
	}
	status = proc_wait(&p);
	r->status = status == PROC_TIMED_OUT ? -1 : status;
	return 0;
}

static int timeout_of(const struct plugins_run_opts *o)
{
	const char *t = getenv("WHARF_PLUGIN_TIMEOUT");

	if (o->timeout_s > 0)
		return o->timeout_s;
	if (t && atoi(t) > 0)
		return atoi(t);
	return PLUGIN_TIMEOUT_DEFAULT_S;
}

/* The last non-empty line of text, trimmed, into msg (replacing it). */
static void last_line(struct buf *msg, const struct buf *text)
{
	size_t end = text->len, start;

	while (end && (text->buf[end - 1] == '\n' || text->buf[end - 1] == '\r' ||
		       text->buf[end - 1] == ' '))
		end--;
	start = end;
	while (start && text->buf[start - 1] != '\n')
		start--;
	buf_reset(msg);
	buf_add(msg, text->buf + start, end - start);
}

/* Says a plugin's stderr (without its last line when that became the message). */
static void show_stderr(const struct buf *err, int drop_last)
{
	size_t len = err->len;

	while (len && err->buf[len - 1] == '\n')
		len--;
	if (drop_last)
		while (len && err->buf[len - 1] != '\n')
			len--;
	if (!len)
		return;
	fflush(stdout);
	fwrite(err->buf, 1, len, stderr);
	if (err->buf[len - 1] != '\n')
		fputc('\n', stderr);
	fflush(stderr);
}

int plugins_trigger(struct buf *out, const char *trigger, const char *const *args,
		    const struct plugins_run_opts *opts)
{
	struct plugins_run_opts dflt = PLUGINS_RUN_OPTS_INIT;
	const struct plugins_run_opts *o = opts ? opts : &dflt;
	struct buf dir = BUF_INIT, exe = BUF_INIT, first_err = BUF_INIT, msg = BUF_INIT;
	struct plugin_env pe = PLUGIN_ENV_INIT;
	json_t *names = NULL, *nv;
	const char **argv = NULL;
	size_t i, nargs = 0;
	int failed = 0, ret = -1;

	if (plugins_valid_trigger(trigger) < 0 || plugin_names(&names, o->only) < 0)
		goto out;
	while (args && args[nargs])
		nargs++;
	argv = calloc(nargs + 2, sizeof(*argv));
	if (!argv) {
		err_set("out of memory");
		goto out;
	}
	json_array_foreach(names, i, nv) {
		struct run_result r = { .out = BUF_INIT, .err = BUF_INIT, .status = 0 };
		const char *name = json_string_value(nv);
		size_t a;
		int has = plugin_exe(&dir, &exe, name, trigger);

		if (has < 0)
			goto out;
		if (!has)
			continue;
		buf_init(&r.out, OUT_MAX);
		buf_init(&r.err, OUT_MAX);
		argv[0] = exe.buf;
		for (a = 0; a < nargs; a++)
			argv[a + 1] = args[a];
		argv[nargs + 1] = NULL;
		if (plugin_env(&pe, trigger, o->app, dir.buf) < 0 ||
		    run_one(&r, dir.buf, argv, &pe, o, timeout_of(o)) < 0) {
			buf_release(&r.out);
			buf_release(&r.err);
			goto out;
		}
		if (out)
			buf_add(out, r.out.buf, r.out.len);
		else if (r.out.len)
			say_lines("", r.out.buf, r.out.len);
		if (r.status) {
			if (r.status < 0)
				buf_addf(&msg, "timed out after %d s", timeout_of(o));
			else
				last_line(&msg, r.err.len ? &r.err : &r.out);
			if (!msg.len)
				buf_addf(&msg, "exit %d", r.status);
			show_stderr(&r.err, r.status > 0);
			if (!failed)
				buf_addf(&first_err, "%s %s: %s", name, trigger, msg.buf);
			failed = 1;
		} else {
			show_stderr(&r.err, 0);
		}
		buf_release(&r.out);
		buf_release(&r.err);
		if (failed && !o->keep_going)
			break;
	}
	if (failed) {
		err_set("%s", first_err.buf);
		goto out;
	}
	ret = 0;
out:
	free(argv);
	json_decref(names);
	buf_release(&dir);
	buf_release(&exe);
	buf_release(&first_err);
	buf_release(&msg);
	buf_release(&pe.text);
	return ret;
}

void plugins_post(const char *trigger, const char *app, const char *const *args)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;

	o.app = app;
	o.keep_going = 1;
	if (plugins_trigger(NULL, trigger, args, &o) < 0)
		say_warn("plugin %s (not undone)", err_msg());
	err_clear(); /* handled: said; a post-* failure does not fail the caller */
}

int plugins_pre(const char *trigger, const char *app, const char *const *args)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;

	o.app = app;
	return plugins_trigger(NULL, trigger, args, &o);
}

int plugins_command(int argc, char **argv)
{
	struct buf dir = BUF_INIT, exe = BUF_INIT;
	struct plugin_env pe = PLUGIN_ENV_INIT;
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc p;
	json_t *names = NULL, *nv;
	const char **cargv = NULL;
	size_t i;
	int a, ret = -1;

	if (plugin_names(&names, NULL) < 0)
		goto out;
	cargv = calloc((size_t)argc + 2, sizeof(*cargv));
	if (!cargv) {
		err_set("out of memory");
		goto out;
	}
	json_array_foreach(names, i, nv) {
		int has = plugin_exe(&dir, &exe, json_string_value(nv), "commands"), st;

		if (has < 0)
			goto out;
		if (!has)
			continue;
		cargv[0] = exe.buf;
		for (a = 0; a < argc; a++)
			cargv[a + 1] = argv[a];
		if (plugin_env(&pe, "commands", NULL, dir.buf) < 0)
			goto out;
		/* stdin, stdout and stderr passed through, no timeout: commands may be
		 * long. Its own process group, as every plugin. */
		po.argv = cargv;
		po.cwd = dir.buf;
		po.env_set = pe.set;
		po.env_unset = plugin_env_unset;
		po.new_group = 1;
		if (proc_start(&p, &po) < 0) {
			if (!p.exec_errno)
				goto out;
			/* Cannot be executed: said, and exit 127, as a shell would. */
			fprintf(stderr, "%s\n", err_msg());
			st = 127;
		} else {
			st = proc_wait(&p);
		}
		if (st == 10)
			continue; /* not mine: the next plugin is asked */
		ret = st;
		goto out;
	}
	err_set("`%s` is not a wharf command; see `wharf help`", argv[0]);
	ret = -2;
out:
	free(cargv);
	json_decref(names);
	buf_release(&dir);
	buf_release(&exe);
	buf_release(&pe.text);
	return ret;
}

int plugins_deployer_command(const char *cmd)
{
	struct buf dir = BUF_INIT;
	struct plugin_meta m;
	json_t *names = NULL, *nv;
	size_t i, n = strlen(cmd);
	int found = 0;

	if (!n || plugin_names(&names, NULL) < 0)
		goto out;
	json_array_foreach(names, i, nv) {
		const char *p;

		buf_reset(&dir);
		if (plugins_path(&dir, "available/") < 0 ||
		    buf_addstr(&dir, json_string_value(nv)) < 0 ||
		    plugin_meta_load(&m, dir.buf) < 0)
			goto out;
		for (p = m.deployer_commands; (p = strstr(p, cmd)); p += n)
			if ((p == m.deployer_commands || p[-1] == ' ') &&
			    (p[n] == ' ' || p[n] == '\0')) {
				found = 1;
				goto out;
			}
	}
out:
	err_clear(); /* handled: an unreadable plugin grants nothing */
	json_decref(names);
	buf_release(&dir);
	return found;
}
