/* lock.c - per-app exclusive locks with flock(2); a waiter is told it waits. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

int lock_take(struct lock *l, const char *path, const char *waiting_msg)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), waited = 0;

	if (fd < 0)
		return err_set_errno("cannot open lock file '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			close(fd);
			return err_set_errno("cannot lock '%s'", path);
		}
		/* Someone else holds it: a second push queues behind the first one
		 * instead of failing, and the pusher is told why nothing happens. */
		if (waiting_msg)
			say_step("%s", waiting_msg);
		waited = 1;
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				close(fd);
				return err_set_errno("cannot lock '%s'", path);
			}
		}
	}
	l->fd = fd;
	return waited;
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
	if (l->fd >= 0) {
		flock(l->fd, LOCK_UN);
		close(l->fd);
	}
	l->fd = -1;
}

static int keep_fd(int fd)
{
	int flags = fd < 0 ? 0 : fcntl(fd, F_GETFD);

	if (fd >= 0 && (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0))
		return err_set_errno("cannot keep the lock across exec");
	return 0;
}

int lock_keep_on_exec(struct lock *l)
{
	/* The ticket stays held too: the queue sees the new program as its owner. */
	return keep_fd(l->fd) < 0 || keep_fd(l->ticket_fd) < 0 ? -1 : 0;
}
