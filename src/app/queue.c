/* queue.c - the per-app lock: a queue of tickets in apps/<app>/queue, served in
 * arrival order (app_lock() in app.h). */
#include "app.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A ticket is alive while its owner holds a flock on it; one nobody holds
 * belongs to a process that is gone (a dropped ssh session, SIGKILL). */
static int ticket_alive(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), alive = 1;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		alive = 0;
	close(fd);
	return alive;
}

/* The oldest live ticket in the queue dir, or "" when none; stale ones go. */
static int queue_head(const char *dir, char *head, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	head[0] = '\0';
	if (!d)
		return err_set_errno("cannot read the deploy queue '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		struct buf p = BUF_INIT;
		if (e->d_name[0] == '.' || strspn(e->d_name, "0123456789.") != strlen(e->d_name))
			continue; /* not a ticket (or one still being made) */
		if (buf_addf(&p, "%s/%s", dir, e->d_name) == 0 && !ticket_alive(p.buf)) {
			unlink(p.buf);
		} else if ((!head[0] || strcmp(e->d_name, head) < 0) && strlen(e->d_name) < size) {
			strcpy(head, e->d_name);
		}
		buf_release(&p);
	}
	closedir(d);
	return 0;
}

/* Makes the ticket under a temporary name, flocks it, then renames it into the
 * queue: nobody can see it unheld and take it for stale. */
static int ticket_take(struct lock *l, struct buf *ticket, const char *dir)
{
	struct buf tmp = BUF_INIT;
	struct timespec now;
	int fd = -1, ret = -1;

	clock_gettime(CLOCK_REALTIME, &now);
	if (buf_addf(ticket, "%s/%013lld%09ld.%ld", dir, (long long)now.tv_sec, (long)now.tv_nsec,
		     (long)getpid()) < 0 ||
	    buf_addf(&tmp, "%s.new", ticket->buf) < 0)
		goto out;
	fd = open(tmp.buf, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_SH) < 0 || rename(tmp.buf, ticket->buf) < 0) {
		err_set_errno("cannot join the deploy queue in '%s'", dir);
		goto out;
	}
	l->ticket_fd = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.buf);
	}
	buf_release(&tmp);
	return ret;
}

int app_lock(struct lock *l, const char *app)
{
	struct buf lockp = BUF_INIT, dir = BUF_INIT, ticket = BUF_INIT, msg = BUF_INIT;
	char head[128];
	const char *mine;
	int said = 0, ret = -1;

	if (wharf_app_path(&lockp, app, "deploy.lock") < 0 ||
	    wharf_app_path(&dir, app, "queue") < 0 || fs_mkdir_p(dir.buf, 0755) < 0 ||
	    buf_addf(&msg, "Waiting for another deploy or change of '%s' to finish", app) < 0 ||
	    ticket_take(l, &ticket, dir.buf) < 0)
		goto out;
	mine = strrchr(ticket.buf, '/') + 1;
	for (;;) {
		int waited = lock_take(l, lockp.buf, said ? NULL : msg.buf);
		if (waited < 0 || queue_head(dir.buf, head, sizeof(head)) < 0)
			break;
		said |= waited;
		if (!strcmp(head, mine)) {
			l->ticket = buf_detach(&ticket, NULL);
			ret = 0;
			break;
		}
		/* Someone who came earlier is still waiting: let them go first. */
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		if (!said++)
			say_step("%s", msg.buf);
		usleep(100 * 1000);
	}
out:
	if (ret < 0) {
		if (ticket.len)
			unlink(ticket.buf);
		lock_release(l);
	}
	buf_release(&lockp);
	buf_release(&dir);
	buf_release(&ticket);
	buf_release(&msg);
	return ret;
}

int app_lock_try(struct lock *l, const char *app)
{
	struct buf lockp = BUF_INIT, dir = BUF_INIT;
	char head[128];
	int ret = -1;

	if (wharf_app_path(&lockp, app, "deploy.lock") < 0 ||
	    wharf_app_path(&dir, app, "queue") < 0 || fs_mkdir_p(dir.buf, 0755) < 0 ||
	    (ret = lock_try(l, lockp.buf)) <= 0)
		goto out;
	/* Held, but someone queued (between two holders, or about to take it): they
	 * go first, as they would through app_lock(). */
	if (queue_head(dir.buf, head, sizeof(head)) < 0 || head[0]) {
		ret = head[0] ? 0 : -1;
		lock_release(l);
	}
out:
	buf_release(&lockp);
	buf_release(&dir);
	return ret;
}
