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
#include <termios.h>
#include <unistd.h>

#define DEFAULT_SHELL "/bin/sh"

static volatile sig_atomic_t got_stop;  /* SIGINT, SIGTERM or SIGHUP arrived */
static volatile sig_atomic_t got_winch; /* the terminal changed size */

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
	sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR */
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
	int raw;
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

static int tick(void *data)
{
	(void)data;
	if (got_stop)
		return err_set("interrupted (signal %d)", (int)got_stop);
	if (got_winch) {
		got_winch = 0;
		return 1; /* the scheduler resizes the process's terminal */
	}
	return 0;
}

static void started(void *data)
{
	struct term *t = data;

	if (isatty(0) && isatty(1))
		term_raw(t);
}

/* Runs the session: signals caught, the terminal raw while it runs; the
 * command's exit code (0-255) or -1. */
static int session(int enter, const char *app, const char *type, const char **cmd)
{
	struct deploy_request r = { .app = app };
	struct term term = { 0 };
	struct sched_io io = { .tick = tick, .started = started, .data = &term };
	long long code = -1;
	int ret;

	io.tty = isatty(0) && isatty(1);
	catch_signals();
	ret = enter ? deploy_enter(&r, type, cmd, &io, &code) : deploy_run(&r, cmd, &io, &code);
	term_restore(&term);
	if (ret < 0)
		return -1;
	return code < 0 ? 1 : code > 255 ? 255 : (int)code;
}

int cmd_run(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	return session(0, argv[1], NULL, (const char **)argv + 2);
}

int cmd_enter(int argc, char **argv)
{
	static const char *shell[] = { DEFAULT_SHELL, NULL };
	const char *type = argc > 2 ? argv[2] : NULL;
	const char **cmd = argc > 3 ? (const char **)argv + 3 : shell;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (type &&
	    (!*type || strlen(type) > 63 ||
	     strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		     strlen(type)))
		return err_set("invalid process type '%s'", type);
	return session(1, argv[1], type, cmd);
}
