/* daemon.c - `wharf daemon`: the minute loop that runs the job table, one
 * daemon per WHARF_ROOT (a flock), its log, and the children jobs start. */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN_MAX 256

struct child {
	pid_t pid; /* 0: free slot */
	char key[192];
	double started;
};

struct daemon {
	const struct daemon_opts *opts;
	struct buf log_path;
	int log_fd, lock_fd;
	struct child children[CHILDREN_MAX];
};

static volatile sig_atomic_t stopping, reopen;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen = 1;
	else
		stopping = 1;
}

int daemon_once(const struct daemon *d)
{
	return d->opts->once;
}

void daemon_log(struct daemon *d, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;

	clock_utc_iso8601(&line);
	buf_addstr(&line, " wharf daemon: ");
	va_start(ap, fmt);
	buf_vaddf(&line, fmt, ap);
	va_end(ap);
	buf_addch(&line, '\n');
	/* Best effort: a full disk must not stop the jobs. */
	if (d && d->log_fd >= 0 && write(d->log_fd, line.buf, line.len) < 0)
		errno = 0;
	if (write(2, line.buf, line.len) < 0)
		errno = 0;
	buf_release(&line);
}

static int open_log(struct daemon *d)
{
	int fd = open(d->log_path.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_set_errno("cannot open the daemon's log %s", d->log_path.buf);
	if (d->log_fd >= 0)
		close(d->log_fd);
	d->log_fd = fd;
	return 0;
}

/* One daemon per WHARF_ROOT: the lock file holds the pid of the one that runs. */
static int take_lock(struct daemon *d, const char *dir)
{
	struct buf p = BUF_INIT, pid = BUF_INIT;
	int ret = -1, tries;

	if (buf_addf(&p, "%s/daemon.lock", dir) < 0)
		goto out;
	d->lock_fd = open(p.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		err_set_errno("cannot open %s", p.buf);
		goto out;
	}
	/* A few tries: cron:report's look at the lock holds it shared for an instant. */
	for (tries = 0;
	     flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK && tries < 10;
	     tries++)
		usleep(100 * 1000);
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK && fs_read_file(p.buf, &pid, 32) == 0)
			err_set("a wharf daemon already runs for %s (pid %.*s)", wharf_root(),
				(int)strcspn(pid.buf, "\n"), pid.buf);
		else
			err_set_errno("cannot lock %s", p.buf);
		goto out;
	}
	buf_addf(&pid, "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || pwrite(d->lock_fd, pid.buf, pid.len, 0) < 0) {
		err_set_errno("cannot write %s", p.buf);
		goto out;
	}
	ret = 0;
out:
	buf_release(&p);
	buf_release(&pid);
	return ret;
}

int daemon_spawn(struct daemon *d, const char *key, const char *const *argv, int out_fd)
{
	const char *args[32];
	struct child *free_slot = NULL;
	size_t i, n;
	pid_t pid;

	for (i = 0; i < CHILDREN_MAX; i++) {
		if (d->children[i].pid && !strcmp(d->children[i].key, key))
			return 0;
		if (!d->children[i].pid && !free_slot)
			free_slot = &d->children[i];
	}
	if (!free_slot)
		return err_set("%d jobs still run: %s not started", CHILDREN_MAX, key);
	args[0] = d->opts->self_exe;
	for (n = 0; argv[n] && n + 2 < sizeof(args) / sizeof(args[0]); n++)
		args[n + 1] = argv[n];
	args[n + 1] = NULL;
	if (out_fd < 0)
		out_fd = d->log_fd;
	pid = fork();
	if (pid < 0)
		return err_set_errno("cannot start %s", key);
	if (pid == 0) {
		/* Its own session: a daemon stopped or restarted leaves it running (a
		 * cron run finishes; its lock keeps the next daemon from repeating it). */
		int null = open("/dev/null", O_RDONLY);
		setsid();
		if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execv(args[0], (char *const *)args);
		dprintf(2, "wharf daemon: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	free_slot->pid = pid;
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->started = clock_now_s();
	daemon_log(d, "%s: started (pid %ld)", key, (long)pid);
	return 1;
}

/* Logs and forgets the children that ended. */
static int reap(struct daemon *d)
{
	int status, running = 0;
	size_t i;

	for (i = 0; i < CHILDREN_MAX; i++) {
		struct child *c = &d->children[i];
		pid_t r;
		if (!c->pid)
			continue;
		r = waitpid(c->pid, &status, WNOHANG);
		if (r == 0) {
			running++;
			continue;
		}
		if (r < 0)
			daemon_log(d, "%s: lost (pid %ld): %s", c->key, (long)c->pid,
				   strerror(errno));
		else if (WIFEXITED(status))
			daemon_log(d, "%s: exit %d (%.1fs)", c->key, WEXITSTATUS(status),
				   clock_now_s() - c->started);
		else
			daemon_log(d, "%s: killed by signal %d (%.1fs)", c->key, WTERMSIG(status),
				   clock_now_s() - c->started);
		c->pid = 0;
	}
	return running;
}

/* The jobs whose schedule matches minute. */
static void tick(struct daemon *d, long long minute)
{
	const struct daemon_job *j;
	struct cron_expr e;

	for (j = daemon_jobs; j->name; j++) {
		if (!j->fn)
			continue;
		if (cron_parse(&e, j->schedule) < 0) {
			daemon_log(d, "%s: bad schedule '%s': %s", j->name, j->schedule, err_msg());
			continue;
		}
		if (cron_matches(&e, minute) && j->fn(d, minute, j->data) < 0)
			daemon_log(d, "%s: %s", j->name, err_msg());
	}
}

static int setup(struct daemon *d, const struct daemon_opts *opts)
{
	struct buf dir = BUF_INIT;
	struct sigaction sa;
	const struct daemon_job *j;
	int ret = -1;

	d->opts = opts;
	d->log_fd = d->lock_fd = -1;
	if (buf_addf(&dir, "%s/daemon", wharf_root()) < 0 || fs_mkdir_p(dir.buf, 0700) < 0 ||
	    take_lock(d, dir.buf) < 0)
		goto out;
	if ((opts->log_path ? buf_addstr(&d->log_path, opts->log_path)
			    : buf_addf(&d->log_path, "%s/daemon.log", dir.buf)) < 0 ||
	    open_log(d) < 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon_log(d, "started (pid %ld) for %s, log %s", (long)getpid(), wharf_root(),
		   d->log_path.buf);
	for (j = daemon_jobs; j->name; j++)
		daemon_log(d, "job %s: %s%s", j->name, j->schedule, j->fn ? "" : " (disabled)");
	ret = 0;
out:
	buf_release(&dir);
	return ret;
}

int daemon_main(const struct daemon_opts *opts)
{
	struct daemon *d = calloc(1, sizeof(*d));
	long long done = 0, minute;
	int ret = -1;

	if (!d)
		return err_set("out of memory");
	buf_init(&d->log_path, 0);
	stopping = reopen = 0;
	if (setup(d, opts) < 0)
		goto out;
	while (!stopping) {
		if (reopen) {
			reopen = 0;
			if (open_log(d) < 0)
				daemon_log(d, "%s", err_msg());
		}
		minute = (long long)time(NULL) / 60 * 60;
		/* Each minute once, the current one only: a minute the loop slept
		 * through (a suspended machine) is not made up. */
		if (minute > done) {
			done = minute;
			tick(d, minute);
			if (opts->once)
				break;
		}
		reap(d);
		sleep(1);
	}
	/* --once waits for what it started; a stopping daemon leaves it running. */
	while (opts->once && reap(d))
		usleep(200 * 1000);
	daemon_log(d, "stopped");
	ret = 0;
out:
	if (d->log_fd >= 0)
		close(d->log_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	buf_release(&d->log_path);
	free(d);
	return ret;
}

int daemon_running(long *pid)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	int fd, ret = -1;

	*pid = 0;
	if (buf_addf(&p, "%s/daemon/daemon.lock", wharf_root()) < 0)
		goto out;
	if ((fd = open(p.buf, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = errno == ENOENT ? 0 : err_set_errno("cannot open %s", p.buf);
		goto out;
	}
	/* A shared lock is refused only while the daemon holds its exclusive one. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		ret = 0;
	} else if (errno == EWOULDBLOCK) {
		ret = 1;
		if (fs_read_file(p.buf, &text, 32) == 0)
			*pid = strtol(text.buf, NULL, 10);
	} else {
		err_set_errno("cannot lock %s", p.buf);
	}
	close(fd);
out:
	buf_release(&p);
	buf_release(&text);
	return ret;
}
