/* lock.c - per-app exclusive locks (and shared ones) with flock(2); a waiter is told it
 * waits. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int lock_take_mode(struct lock *l, const char *path, int shared, const char *waiting_msg)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), waited = 0;
	int op = shared ? LOCK_SH : LOCK_EX;

	if (fd < 0)
		return err_set_errno("cannot open lock file '%s'", path);
	if (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			close(fd);
			return err_set_errno("cannot lock '%s'", path);
		}
		/* Someone else holds it: a second push queues behind the first one
		 * instead of failing, and the pusher is told why nothing happens. */
		if (waiting_msg)
			say_step("%s", waiting_msg);
		waited = 1;
		while (flock(fd, op) < 0) {
			if (errno != EINTR) {
				close(fd);
				return err_set_errno("cannot lock '%s'", path);
			}
		}
	}
	l->fd = fd;
	return waited;
}

int lock_take(struct lock *l, const char *path, const char *waiting_msg)
{
	return lock_take_mode(l, path, 0, waiting_msg);
}

int lock_try(struct lock *l, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return err_set_errno("cannot open lock file '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;
		close(fd);
		return busy ? 0 : err_set_errno("cannot lock '%s'", path);
	}
	l->fd = fd;
	return 1;
}

void lock_release(struct lock *l)
{
	if (l->ticket) {
		unlink(l->ticket);
		free(l->ticket);
		l->ticket = NULL;
	}
	if (l->ticket_fd >= 0)
		close(l->ticket_fd);
	l->ticket_fd = -1;
	/* A borrowed lock is the handing process's: unlocking would unlock it for
	 * that process too (flock belongs to the open file description). */
	if (l->fd >= 0) {
		if (!l->borrowed)
			flock(l->fd, LOCK_UN);
		close(l->fd);
	}
	l->fd = -1;
	l->borrowed = 0;
}

int lock_handover(const struct lock *l, struct buf *env)
{
	if (l->fd < 0)
		return err_set("no lock to hand over");
	return buf_addf(env, LOCK_FD_ENV "=%d", l->fd);
}

/* Is fd an open file description of path that holds path's exclusive flock?
 * The same file (device and inode), someone holds the lock (a fresh open of the
 * file cannot take it), and that someone is fd (taking it again through fd
 * succeeds: flock belongs to the open file description). */
static int holds_lock(int fd, const char *path)
{
	struct stat held, file;
	int probe, busy;

	if (fstat(fd, &held) < 0 || stat(path, &file) < 0 || held.st_dev != file.st_dev ||
	    held.st_ino != file.st_ino)
		return 0;
	probe = open(path, O_RDONLY | O_CLOEXEC);
	if (probe < 0)
		return 0;
	busy = flock(probe, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(probe); /* releases the lock if the probe took it */
	return busy && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

int lock_adopt(struct lock *l, const char *path)
{
	const char *v = getenv(LOCK_FD_ENV);
	char *end;
	long fd;
	int ok;

	if (!v || !*v)
		return 0;
	fd = strtol(v, &end, 10);
	/* Whatever happens, the number is used once and reaches no child. */
	unsetenv(LOCK_FD_ENV);
	if (*end || fd < 3 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
		return 0;
	ok = holds_lock((int)fd, path);
	if (!ok || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return 0;
	l->fd = (int)fd;
	l->borrowed = 1;
	return 1;
}

int lock_adopt_app(struct lock *l, const char *app)
{
	struct buf path = BUF_INIT;
	int ret = 0;

	if (getenv(LOCK_FD_ENV) && wharf_app_path(&path, app, "deploy.lock") == 0)
		ret = lock_adopt(l, path.buf);
	unsetenv(LOCK_FD_ENV);
	buf_release(&path);
	return ret;
}
