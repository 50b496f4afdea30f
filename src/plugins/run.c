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

extern char **environ;

#define OUT_MAX (8u << 20)       /* stdout or stderr of one plugin run */

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
	for (i = 0; i < n; i++) {
		err_clear();
		if (plugins_valid_name(ents[i]->d_name) == 0)
			json_array_append_new(*out, json_string(ents[i]->d_name));
	}
	err_clear();
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

static int env_set(json_t *env, const char *k, const char *v)
{
	return json_object_set_new(env, k, json_string(v ? v : "")) ? err_set("out of memory") : 0;
}

/* wharf's environment with the plugin's variables over it, as "K=V" strings. */
static char **plugin_env(const char *trigger, const char *app, const char *dir)
{
	json_t *env = json_object(), *v;
	struct buf root = BUF_INIT, self = BUF_INIT, kv = BUF_INIT;
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char **envp = NULL, **e;
	const char *k;
	size_t i = 0;

	path[n > 0 ? n : 0] = '\0';
	for (e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char key[256];
		if (!eq || (size_t)(eq - *e) >= sizeof(key))
			continue;
		memcpy(key, *e, (size_t)(eq - *e));
		key[eq - *e] = '\0';
		json_object_set_new(env, key, json_string(eq + 1));
	}
	plugins_path(&root, NULL);
	if (env_set(env, "WHARF_ROOT", wharf_root()) < 0 || env_set(env, "APP", app) < 0 ||
	    env_set(env, "WHARF_TRIGGER", trigger) < 0 ||
	    env_set(env, "WHARF_PLUGIN_PATH", root.buf) < 0 ||
	    env_set(env, "WHARF_PLUGIN_DIR", dir) < 0 || env_set(env, "WHARF_BIN", path) < 0)
		goto out;
	envp = calloc(json_object_size(env) + 1, sizeof(*envp));
	if (!envp)
		goto out;
	json_object_foreach(env, k, v) {
		if (!json_is_string(v))
			continue;
		buf_reset(&kv);
		buf_addf(&kv, "%s=%s", k, json_string_value(v));
		envp[i++] = buf_detach(&kv, NULL);
	}
out:
	json_decref(env);
	buf_release(&root);
	buf_release(&self);
	buf_release(&kv);
	return envp;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A file holding data, rewound, for the child's stdin (no pipe to keep fed, so
 * a plugin that never reads cannot block us). */
static int stdin_fd(const char *data, size_t len)
{
	char tmpl[] = "/tmp/wharf-plugin-stdin.XXXXXX";
	int fd;

	if (!data)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = mkstemp(tmpl);
	if (fd < 0)
		return err_set_errno("cannot create a temporary file for a plugin's stdin");
	unlink(tmpl);
	if ((len && write(fd, data, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return err_set_errno("cannot write a plugin's stdin");
	}
	return fd;
}

/* In the child: own process group (the timeout kills it whole), stdio set up,
 * every other fd closed (no lock or socket of ours leaks into a plugin). */
static void child_exec(const char *dir, const char *exe, char **argv, char **envp, int in,
		       int out, int errfd)
{
	int fd;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || (out >= 0 && dup2(out, 1) < 0) || (errfd >= 0 && dup2(errfd, 2) < 0))
		_exit(127);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	if (chdir(dir) < 0)
		_exit(127);
	execve(exe, argv, envp);
	fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
	_exit(127);
}

struct run_result {
	struct buf out, err;
	int        status;        /* exit code, 128+signal, or -1 for a timeout */
};

/* Reads both pipes until they close and the child exits, or the deadline passes
 * (then the child's group is killed). */
static int collect(pid_t pid, int ofd, int efd, int timeout_s, struct run_result *r)
{
	double deadline = clock_now_s() + timeout_s;
	struct pollfd pf[2] = { { .fd = ofd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
	int open_fds = 2, st = 0, timed_out = 0;

	while (open_fds) {
		double left = deadline - clock_now_s();
		int i, n;
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		n = poll(pf, 2, (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < 2; i++) {
			char chunk[4096];
			ssize_t got;
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(pf[i].fd, chunk, sizeof(chunk));
			if (got > 0) {
				/* Past the cap the rest is dropped, but still drained. */
				buf_add(i ? &r->err : &r->out, chunk, (size_t)got);
				continue;
			}
			pf[i].fd = -1;
			open_fds--;
		}
	}
	if (!timed_out) {
		/* Pipes closed: the plugin (or what it left behind) is done writing; give
		 * it what is left of its time to exit. */
		while (waitpid(pid, &st, WNOHANG) == 0) {
			if (clock_now_s() >= deadline) {
				timed_out = 1;
				break;
			}
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		r->status = -1;
		return 0;
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

static int run_one(struct run_result *r, const char *dir, const char *exe, char **argv,
		   char **envp, const struct plugins_run_opts *o, int timeout_s)
{
	int in = -1, op[2] = { -1, -1 }, ep[2] = { -1, -1 }, ret = -1;
	pid_t pid;

	if ((in = stdin_fd(o->stdin_data, o->stdin_len)) < 0)
		goto out;
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		err_set_errno("cannot create a pipe");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err_set_errno("cannot fork");
		goto out;
	}
	if (pid == 0)
		child_exec(dir, exe, argv, envp, in, op[1], ep[1]);
	setpgid(pid, pid);      /* both sides, so the kill below cannot race the child */
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	ret = collect(pid, op[0], ep[0], timeout_s, r);
out:
	if (in >= 0)
		close(in);
	if (op[0] >= 0)
		close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	return ret;
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
	json_t *names = NULL, *nv;
	char **argv = NULL, **envp = NULL;
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
			argv[a + 1] = (char *)args[a];
		argv[nargs + 1] = NULL;
		envp = plugin_env(trigger, o->app, dir.buf);
		if (!envp || run_one(&r, dir.buf, exe.buf, argv, envp, o, timeout_of(o)) < 0) {
			if (!envp)
				err_set("out of memory");
			buf_release(&r.out);
			buf_release(&r.err);
			goto out;
		}
		strv_free(envp);
		envp = NULL;
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
	strv_free(envp);
	free(argv);
	json_decref(names);
	buf_release(&dir);
	buf_release(&exe);
	buf_release(&first_err);
	buf_release(&msg);
	return ret;
}

void plugins_post(const char *trigger, const char *app, const char *const *args)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;

	o.app = app;
	o.keep_going = 1;
	if (plugins_trigger(NULL, trigger, args, &o) < 0)
		say_warn("plugin %s (not undone)", err_msg());
	err_clear();
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
	json_t *names = NULL, *nv;
	char **cargv = NULL, **envp = NULL;
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
		int has = plugin_exe(&dir, &exe, json_string_value(nv), "commands"), st = 0;
		pid_t pid;

		if (has < 0)
			goto out;
		if (!has)
			continue;
		cargv[0] = exe.buf;
		for (a = 0; a < argc; a++)
			cargv[a + 1] = argv[a];
		envp = plugin_env("commands", NULL, dir.buf);
		if (!envp) {
			err_set("out of memory");
			goto out;
		}
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			err_set_errno("cannot fork");
			goto out;
		}
		if (pid == 0)
			child_exec(dir.buf, exe.buf, cargv, envp, 0, -1, -1);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		strv_free(envp);
		envp = NULL;
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (st == 10)
			continue;       /* not mine: the next plugin is asked */
		ret = st;
		goto out;
	}
	err_set("`%s` is not a wharf command; see `wharf help`", argv[0]);
	ret = -2;
out:
	strv_free(envp);
	free(cargv);
	json_decref(names);
	buf_release(&dir);
	buf_release(&exe);
	return ret;
}
