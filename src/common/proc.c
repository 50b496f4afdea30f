/* proc.c - the one way wharf runs a child: argv (never a shell), an explicit
 * environment, cwd, stdio wiring, a timeout that ends the whole process group,
 * and an exit status that means one thing. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int name_is(const char *kv, const char *name)
{
	size_t n = strcspn(name, "=");

	return !strncmp(kv, name, n) && kv[n] == '=';
}

static int listed(const char *kv, const char *const *names)
{
	for (; names && *names; names++)
		if (name_is(kv, *names))
			return 1;
	return 0;
}

void proc_env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

int proc_env_build(char ***out, const char *const *base, const char *const *set,
		   const char *const *unset)
{
	const char *const *e;
	size_t n = 0, i = 0;
	char **env;

	*out = NULL;
	for (e = base; e && *e; e++)
		n++;
	for (e = set; e && *e; e++)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return err_set("out of memory");
	/* A variable that is set is dropped from the base first, so it appears once
	 * with the new value; names listed in unset are dropped from the base. A lock
	 * handed to this process is never handed on unless set says so. */
	for (e = base; e && *e; e++)
		if (strchr(*e, '=') && !listed(*e, unset) && !listed(*e, set) &&
		    !name_is(*e, LOCK_FD_ENV) && !(env[i++] = strdup(*e)))
			goto oom;
	for (e = set; e && *e; e++)
		if (strchr(*e, '=') && !(env[i++] = strdup(*e)))
			goto oom;
	*out = env;
	return 0;
oom:
	proc_env_free(env);
	return err_set("out of memory");
}

/* A file holding data, rewound, for the child's stdin: no pipe to keep fed, so
 * a child that never reads cannot block us. */
static int data_fd(const char *data, size_t len)
{
	char tmpl[] = "/tmp/wharf-stdin.XXXXXX";
	int fd = mkostemp(tmpl, O_CLOEXEC);

	if (fd < 0)
		return err_set_errno("cannot create a temporary file for a child's stdin");
	unlink(tmpl);
	if ((len && write(fd, data, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return err_set_errno("cannot write a child's stdin");
	}
	return fd;
}

/* The fd the child gets for one stream; *pipe_rd receives our end of a pipe. */
static int stream_fd(enum proc_io io, int fd, int is_in, int *pipe_rd, int *child_fd)
{
	int p[2];

	*child_fd = -1;
	switch (io) {
	case PROC_INHERIT:
		return 0;
	case PROC_FD:
		*child_fd = fd;
		return 0;
	case PROC_NULL:
		*child_fd = open("/dev/null", (is_in ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
		return *child_fd < 0 ? err_set_errno("cannot open /dev/null") : 0;
	case PROC_CAPTURE:
	case PROC_LINES:
		if (pipe2(p, O_CLOEXEC) < 0)
			return err_set_errno("cannot create a pipe");
		*pipe_rd = p[0];
		*child_fd = p[1];
		return 0;
	case PROC_DATA:
		break; /* stdin only; handled by the caller */
	}
	return err_set("bad stream setting");
}

static int is_kept(const struct proc_opts *o, int fd)
{
	size_t i;

	for (i = 0; i < PROC_KEEP_FDS_MAX; i++)
		if (o->keep_fds[i] == fd && fd > 2)
			return 1;
	return 0;
}

/* In the child: only async-signal-safe calls until exec. Any failure is told to
 * the parent through errfd (the errno) and ends the child with 127. */
static void child(const struct proc_opts *o, char **env, const int fds[3], int errfd, pid_t parent)
{
	int i, e;

	if (o->new_group || o->timeout_ms > 0)
		setpgid(0, 0);
	/* SIGTERM when the parent dies (a parent gone before the prctl: at once). */
	if (o->die_with_parent &&
	    (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || (getppid() != parent && (errno = ESRCH))))
		goto fail;
	signal(SIGPIPE, SIG_DFL);
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0 && (fds[i] == i ? fcntl(i, F_SETFD, 0) : dup2(fds[i], i)) < 0)
			goto fail;
	/* Nothing of ours leaks into the child (locks, sockets, pipes of another
	 * child) but the fds it was asked to keep. */
	for (i = 3; i < 1024; i++)
		if (i != errfd && !is_kept(o, i))
			close(i);
	for (i = 0; i < PROC_KEEP_FDS_MAX; i++)
		if (o->keep_fds[i] > 2 && fcntl(o->keep_fds[i], F_SETFD, 0) < 0)
			goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	if (strchr(o->argv[0], '/'))
		execve(o->argv[0], (char *const *)o->argv, env);
	else
		execvpe(o->argv[0], (char *const *)o->argv, env);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int proc_start(struct proc *p, const struct proc_opts *o)
{
	int fds[3] = { -1, -1, -1 }, ep[2] = { -1, -1 }, ret = -1, e = 0;
	char **env = NULL;
	pid_t parent;
	ssize_t n;

	*p = (struct proc)PROC_INIT;
	p->opts = o;
	if (!o->argv || !o->argv[0])
		return err_set("nothing to run");
	if (proc_env_build(&env, o->clear_env ? NULL : (const char *const *)environ, o->env_set,
			   o->env_unset) < 0)
		return -1;
	if (o->in == PROC_DATA) {
		if ((fds[0] = data_fd(o->in_data ? o->in_data : "", o->in_len)) < 0)
			goto out;
	} else if (stream_fd(o->in == PROC_CAPTURE || o->in == PROC_LINES ? PROC_NULL : o->in,
			     o->in_fd, 1, &p->fd[0], &fds[0]) < 0)
		goto out;
	if (stream_fd(o->out, o->out_fd, 0, &p->fd[0], &fds[1]) < 0 ||
	    stream_fd(o->err, o->err_fd, 0, &p->fd[1], &fds[2]) < 0)
		goto out;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		err_set_errno("cannot create a pipe");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	p->pid = fork();
	if (p->pid < 0) {
		err_set_errno("cannot run %s", o->argv[0]);
		goto out;
	}
	if (p->pid == 0)
		child(o, env, fds, ep[1], parent);
	if (o->new_group || o->timeout_ms > 0)
		setpgid(p->pid, p->pid); /* both sides, so a kill cannot race the child */
	close(ep[1]);
	ep[1] = -1;
	while ((n = read(ep[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == sizeof(e)) {
		/* exec failed: the child is gone; reap it and say why. */
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = -1;
		p->exec_errno = e;
		errno = e;
		err_set_errno("cannot run %s", o->argv[0]);
		goto out;
	}
	p->started = clock_now_s();
	ret = 0;
out:
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	/* The child's ends: ours are closed (a PROC_FD given to us stays the caller's). */
	if (fds[0] >= 0 && o->in != PROC_FD)
		close(fds[0]);
	if (fds[1] >= 0 && o->out != PROC_FD)
		close(fds[1]);
	if (fds[2] >= 0 && o->err != PROC_FD)
		close(fds[2]);
	if (ret < 0) {
		for (int i = 0; i < 2; i++)
			if (p->fd[i] >= 0)
				close(p->fd[i]);
		p->fd[0] = p->fd[1] = -1;
	}
	proc_env_free(env);
	return ret;
}

/* Hands complete lines of one stream to the callback; the rest waits in pend. */
static void emit_lines(const struct proc_opts *o, int stream, struct buf *pend, int final)
{
	size_t start = 0, i;

	for (i = 0; i < pend->len; i++)
		if (pend->buf[i] == '\n') {
			o->on_line(stream, pend->buf + start, i - start, o->data);
			start = i + 1;
		}
	if (final && start < pend->len) {
		o->on_line(stream, pend->buf + start, pend->len - start, o->data);
		start = pend->len;
	}
	buf_remove_front(pend, start);
}

static void consume(struct proc *p, int i, const char *chunk, size_t len)
{
	const struct proc_opts *o = p->opts;
	enum proc_io io = i ? o->err : o->out;
	struct buf *dst = i ? o->err_buf : o->out_buf;

	if (io == PROC_CAPTURE) {
		/* Past the cap the rest is dropped but still drained, so the child
		 * never blocks on a full pipe. */
		if (dst && buf_add(dst, chunk, len) < 0)
			p->truncated = 1;
		return;
	}
	buf_add(&p->pend[i], chunk, len);
	/* A line longer than the cap is handed over in pieces. */
	if (p->pend[i].len > PROC_LINE_MAX) {
		o->on_line(i + 1, p->pend[i].buf, p->pend[i].len, o->data);
		buf_reset(&p->pend[i]);
	}
	emit_lines(o, i + 1, &p->pend[i], 0);
}

static void kill_group(struct proc *p, int sig)
{
	if (p->opts->new_group || p->opts->timeout_ms > 0)
		kill(-p->pid, sig);
	kill(p->pid, sig);
}

static int reaped(struct proc *p, int *st, int block)
{
	pid_t r;

	while ((r = waitpid(p->pid, st, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	return r == p->pid;
}

int proc_wait(struct proc *p)
{
	const struct proc_opts *o = p->opts;
	double deadline = o->timeout_ms > 0 ? p->started + o->timeout_ms / 1000.0 : 0;
	int pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0), st = 0, exited = 0, i;

	if (p->pid < 0)
		return err_set("no child to wait for");
	/* Until both pipes are closed and the child is gone, or the deadline: a
	 * grandchild that keeps a pipe open keeps the child's run going too. */
	while (!exited || p->fd[0] >= 0 || p->fd[1] >= 0) {
		struct pollfd pf[3];
		int n, wait_ms = -1;
		double left = deadline ? deadline - clock_now_s() : 0;

		if (deadline && left <= 0) {
			p->timed_out = 1;
			break;
		}
		if (deadline)
			wait_ms = (int)(left * 1000) + 1;
		pf[0] = (struct pollfd){ .fd = p->fd[0], .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = p->fd[1], .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = exited ? -1 : pidfd, .events = POLLIN };
		/* Without a pidfd (old kernels) the child is looked at every 20 ms. */
		if (!exited && pidfd < 0 && (wait_ms < 0 || wait_ms > 20))
			wait_ms = 20;
		n = poll(pf, 3, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; n > 0 && i < 2; i++) {
			char chunk[4096];
			ssize_t got;
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(pf[i].fd, chunk, sizeof(chunk));
			if (got > 0) {
				consume(p, i, chunk, (size_t)got);
				continue;
			}
			if (got < 0 && errno == EINTR)
				continue;
			close(p->fd[i]);
			p->fd[i] = -1;
		}
		if (!exited && reaped(p, &st, 0))
			exited = 1;
	}
	if (p->timed_out) {
		/* SIGTERM to the whole group first, so a child can clean up; what is
		 * still there after the grace is killed. */
		kill_group(p, SIGTERM);
		if (!exited) {
			double end = clock_now_s() + o->grace_ms / 1000.0;
			while (!(exited = reaped(p, &st, 0)) && clock_now_s() < end) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
		kill_group(p, SIGKILL);
		if (!exited)
			reaped(p, &st, 1);
	} else if (!exited) {
		reaped(p, &st, 1);
	}
	for (i = 0; i < 2; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
		if ((i ? o->err : o->out) == PROC_LINES) {
			emit_lines(o, i + 1, &p->pend[i], 1);
			buf_release(&p->pend[i]);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	p->pid = -1;
	p->status = p->timed_out    ? PROC_TIMED_OUT
		    : WIFEXITED(st) ? WEXITSTATUS(st)
				    : 128 + WTERMSIG(st);
	return p->status;
}

int proc_run(const struct proc_opts *o)
{
	struct proc p;

	if (proc_start(&p, o) < 0)
		return -1;
	return proc_wait(&p);
}
