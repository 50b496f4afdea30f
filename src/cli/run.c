/* run.c - `run <app> CMD…` (a one-off container of the current release) and
 * `enter <app> [PROCESS] [CMD…]` (a command in a running container): output
 * streamed, stdin forwarded, a TTY when wharf's own stdin and stdout are one
 * (`ssh -t`), the command's exit code passed back as wharf's. */
#include "cli.h"
#include "runtime/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_SHELL "/bin/sh"

static volatile sig_atomic_t got_stop;      /* SIGINT, SIGTERM or SIGHUP arrived */
static volatile sig_atomic_t got_winch;     /* the terminal changed size */

static void on_stop(int sig)
{
	got_stop = sig;
}

static void on_winch(int sig)
{
	(void)sig;
	got_winch = 1;
}

/* Signals interrupt the pump instead of killing wharf, so the one-off container
 * is removed on ^C (without a TTY), a kill or an ssh drop (SIGHUP). SIGPIPE
 * becomes EPIPE on the write that failed, for the same reason. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;         /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The local terminal in raw mode while a TTY session runs: keys (^C included)
 * go to the container's terminal, which does its own echo and line editing. */
struct term {
	int            raw;
	struct termios saved;
};

static void term_raw(struct term *t)
{
	struct termios r;

	t->raw = 0;
	if (tcgetattr(0, &t->saved) < 0)
		return;
	r = t->saved;
	cfmakeraw(&r);
	if (tcsetattr(0, TCSANOW, &r) == 0)
		t->raw = 1;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		tcsetattr(0, TCSANOW, &t->saved);
	t->raw = 0;
}

struct session {
	struct docker *d;
	const char    *kind;     /* "containers" or "exec", for resizes */
	const char    *id;
	int            tty;
};

static void resize(struct session *s)
{
	struct winsize ws;

	if (s->tty && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
	    docker_resize(s->d, s->kind, s->id, ws.ws_row, ws.ws_col) < 0)
		err_clear();        /* a lost resize is cosmetic */
}

static int tick(void *data)
{
	struct session *s = data;

	if (got_stop)
		return err_set("interrupted (signal %d)", (int)got_stop);
	if (got_winch) {
		got_winch = 0;
		resize(s);
	}
	return 0;
}

static int add_env(json_t *arr, const char *k, const char *v)
{
	struct buf kv = BUF_INIT;
	int ret = buf_addf(&kv, "%s=%s", k, v);

	if (!ret)
		json_array_append_new(arr, json_string(kv.buf));
	buf_release(&kv);
	return ret;
}

static const char **str_vec(const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof(*v));

	for (i = 0; v && i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	return v;
}

/* The limits of a one-off container: the app's "run" values, else its own. */
static int run_limits(const json_t *appobj, long long *memory, long long *nano)
{
	const json_t *res = json_object_get(appobj, "resources");
	const json_t *own = json_object_get(json_object_get(res, "process"), "run");
	const char *mem = json_str(own, "memory", json_str(res, "memory", NULL));
	const char *cpu = json_str(own, "cpu", json_str(res, "cpu", NULL));

	*memory = *nano = 0;
	if ((mem && runtime_parse_memory(mem, memory) < 0) ||
	    (cpu && runtime_parse_cpus(cpu, nano) < 0))
		return -1;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct session s = { 0 };
	struct term term = { 0 };
	struct docker *d = NULL;
	struct buf id = BUF_INIT, name = BUF_INIT, net = BUF_INIT;
	json_t *appobj = NULL, *rels = NULL, *cfg = NULL, *env = json_array(), *labels = NULL, *v;
	const json_t *rel;
	const char **envv = NULL, **binds = NULL, *k;
	int conn = -1, ret = -1;
	long long code = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		goto out;
	if (state_app_load(argv[1], &appobj) < 0 || state_releases_load(argv[1], &rels) < 0)
		goto out;
	rel = state_current_release(rels);
	if (!json_str(rel, "image", NULL)) {
		err_set("%s has no release yet: push first", argv[1]);
		goto out;
	}
	/* The app's config as its containers get it, plus what a deploy adds. */
	if (state_app_env(argv[1], &cfg) < 0)
		goto out;
	json_object_foreach(cfg, k, v)
		if (json_is_string(v) && add_env(env, k, json_string_value(v)) < 0)
			goto out;
	if (add_env(env, "WHARF_APP", argv[1]) < 0 || add_env(env, "WHARF_PROCESS", "run") < 0 ||
	    (json_str(rel, "git_rev", NULL) && add_env(env, "GIT_REV", json_str(rel, "git_rev", "")) < 0))
		goto out;
	/* No wharf.app label: deploys retire and clean the app's containers by it,
	 * and a one-off command must outlive a deploy. */
	labels = json_pack("{s:s,s:s,s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT, wharf_root(),
			   DOCKER_LABEL_RUN, argv[1]);
	if (!labels || !(envv = str_vec(env)) || cli_storage_binds(appobj, &binds) < 0 ||
	    run_limits(appobj, &spec.memory, &spec.nano_cpus) < 0 ||
	    buf_addf(&name, "%s.run.%04x", argv[1], (unsigned)(rand() & 0xffff)) < 0) {
		if (!labels || !envv)
			err_set("out of memory");
		goto out;
	}
	s.tty = isatty(0) && isatty(1);
	spec.name = name.buf;
	spec.image = json_str(rel, "image", "");
	spec.env = envv;
	spec.cmd = (const char **)argv + 2;
	spec.labels = labels;
	spec.restart_policy = "no";
	spec.binds = binds;
	spec.tty = s.tty;
	spec.open_stdin = 1;
	/* On the app's network, as its other containers: never the host's. */
	if (docker_new(&d, NULL) < 0 || runtime_app_network(d, argv[1], &net, NULL) < 0)
		goto out;
	spec.network = net.buf;
	if (docker_container_create(d, &spec, &id) < 0)
		goto out;
	catch_signals();
	s.d = d;
	s.kind = "containers";
	s.id = id.buf;
	/* Attached before it starts, so no byte of output is missed. */
	if (docker_container_attach(d, id.buf, 1, &conn) < 0)
		goto out;
	if (s.tty)
		term_raw(&term);
	if (docker_container_start(d, id.buf) < 0)
		goto out;
	resize(&s);
	if (docker_pump(conn, 0, s.tty, tick, &s) < 0)
		goto out;
	term_restore(&term);
	if (docker_container_wait(d, id.buf, &code) < 0)
		goto out;
	ret = code < 0 ? 1 : code > 255 ? 255 : (int)code;
out:
	term_restore(&term);
	if (conn >= 0)
		close(conn);
	if (id.len && d) {
		/* Keep the failure's message: the removal may set another. */
		struct err_saved why;
		err_save(&why);
		if (docker_container_remove(d, id.buf, 1) < 0)
			say_warn("could not remove the one-off container %.12s: %s", id.buf, err_msg());
		if (ret < 0)
			err_restore(&why);
	}
	free(envv);
	free(binds);
	json_decref(appobj);
	json_decref(rels);
	json_decref(cfg);
	json_decref(env);
	json_decref(labels);
	buf_release(&id);
	buf_release(&name);
	buf_release(&net);
	docker_free(d);
	return ret;
}

/* The newest running container of the app of process type (NULL: web if one
 * runs, else any). */
static int pick_container(struct docker *d, const char *app, const char *type, struct buf *id)
{
	json_t *list = NULL, *c, *any = NULL;
	size_t i;
	int ret = -1;

	if (runtime_app_containers(d, app, &list) < 0)
		return -1;
	json_array_foreach(list, i, c) {
		const char *t = json_str(json_object_get(c, "Labels"), DOCKER_LABEL_PROCESS, "");
		if (strcmp(json_str(c, "State", ""), "running"))
			continue;
		if (type ? !strcmp(t, type) : !strcmp(t, "web")) {
			any = c;
			break;
		}
		if (!type && !any)
			any = c;
	}
	if (!any)
		err_set(type ? "%s has no running %s container" : "%s has no running container",
			app, type);
	else
		ret = buf_addstr(id, json_str(any, "Id", ""));
	json_decref(list);
	return ret;
}

int cmd_enter(int argc, char **argv)
{
	static const char *shell[] = { DEFAULT_SHELL, NULL };
	struct session s = { 0 };
	struct term term = { 0 };
	struct docker *d = NULL;
	struct buf cid = BUF_INIT, exec_id = BUF_INIT;
	const char *type = argc > 2 ? argv[2] : NULL;
	const char **cmd = argc > 3 ? (const char **)argv + 3 : shell;
	int conn = -1, tries, ret = -1;
	long long code = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		goto out;
	if (type && (!*type || strlen(type) > 63 ||
		     strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			     strlen(type))) {
		err_set("invalid process type '%s'", type);
		goto out;
	}
	s.tty = isatty(0) && isatty(1);
	if (docker_new(&d, NULL) < 0 || pick_container(d, argv[1], type, &cid) < 0 ||
	    docker_exec_create(d, cid.buf, cmd, NULL, s.tty, &exec_id) < 0)
		goto out;
	catch_signals();
	s.d = d;
	s.kind = "exec";
	s.id = exec_id.buf;
	if (docker_exec_start(d, exec_id.buf, s.tty, &conn) < 0)
		goto out;
	if (s.tty)
		term_raw(&term);
	resize(&s);
	if (docker_pump(conn, 0, s.tty, tick, &s) < 0)
		goto out;
	term_restore(&term);
	/* The output ends as the process exits; its code shows a moment later. */
	for (tries = 0; tries < 50; tries++) {
		if (docker_exec_exit_code(d, exec_id.buf, &code) < 0)
			goto out;
		if (code >= 0)
			break;
		usleep(100 * 1000);
	}
	ret = code < 0 ? 1 : code > 255 ? 255 : (int)code;
out:
	term_restore(&term);
	if (conn >= 0)
		close(conn);
	buf_release(&cid);
	buf_release(&exec_id);
	docker_free(d);
	return ret;
}
