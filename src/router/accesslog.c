/* accesslog.c - the router's access log, one file per app with size rotation:
 * <dir>/<app>.log, rotated to <app>.log.1 … when it would grow past max_bytes.
 * The router writes its access log lines to one stdio stream (proxy.c); with a
 * directory, that stream is this one (fopencookie), which passes every line on
 * to the single access log (if any) and appends it to its app's file, named by
 * the line's "app=NAME". Lines of unrouted requests ("app=-") go to the single
 * log only. Writes happen when the stream is flushed (every second). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPEN_FILES_MAX 128 /* app files kept open; the least recent closes first */

struct app_file {
	char app[64];
	int fd;
	off_t size;
	unsigned long used; /* tick of the last write */
};

struct accesslog {
	char *dir;
	FILE *inner;     /* the single access log; NULL: none */
	int inner_owned; /* fclose() it with this stream */
	long long max_bytes;
	int max_files;
	struct buf partial; /* a line not yet ended */
	struct app_file files[OPEN_FILES_MAX];
	size_t nfiles;
	unsigned long tick;
};

/* <dir>/<app>.log, or with n > 0 <dir>/<app>.log.<n>. */
static int file_path(struct buf *out, const struct accesslog *l, const char *app, int n)
{
	buf_reset(out);
	return n ? buf_addf(out, "%s/%s.log.%d", l->dir, app, n)
		 : buf_addf(out, "%s/%s.log", l->dir, app);
}

static int file_open(struct accesslog *l, struct app_file *f)
{
	struct buf p = BUF_INIT;
	struct stat st;

	f->fd = -1;
	if (file_path(&p, l, f->app, 0) == 0)
		f->fd = open(p.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	f->size = f->fd >= 0 && fstat(f->fd, &st) == 0 ? st.st_size : 0;
	buf_release(&p);
	return f->fd;
}

/* <app>.log becomes <app>.log.1, .1 becomes .2 …; the oldest beyond max_files
 * is overwritten (or, keeping one file, removed). */
static void file_rotate(struct accesslog *l, struct app_file *f)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	int n;

	close(f->fd);
	f->fd = -1;
	if (l->max_files <= 1) {
		if (file_path(&from, l, f->app, 0) == 0)
			unlink(from.buf);
	}
	for (n = l->max_files - 1; n >= 1; n--)
		if (file_path(&from, l, f->app, n - 1) == 0 && file_path(&to, l, f->app, n) == 0)
			rename(from.buf, to.buf); /* a missing one is fine */
	file_open(l, f);
	buf_release(&from);
	buf_release(&to);
}

/* The open file of app, opened (and the least recently used one closed) as needed. */
static struct app_file *file_of(struct accesslog *l, const char *app, size_t n)
{
	struct app_file *f = NULL;
	size_t i;

	for (i = 0; i < l->nfiles; i++)
		if (strlen(l->files[i].app) == n && !memcmp(l->files[i].app, app, n))
			return &l->files[i];
	if (l->nfiles < OPEN_FILES_MAX) {
		f = &l->files[l->nfiles++];
	} else {
		f = &l->files[0];
		for (i = 1; i < l->nfiles; i++)
			if (l->files[i].used < f->used)
				f = &l->files[i];
		if (f->fd >= 0)
			close(f->fd);
	}
	memcpy(f->app, app, n);
	f->app[n] = '\0';
	file_open(l, f);
	return f;
}

/* The app a line names ("… app=NAME status=…"): *n gets its length, 0 for none. */
static const char *line_app(const char *line, size_t len, size_t *n)
{
	const char *p = memmem(line, len, " app=", 5), *end;
	char name[64];

	*n = 0;
	if (!p)
		return NULL;
	p += 5;
	end = memchr(p, ' ', len - (size_t)(p - line));
	if (!end || end == p || (size_t)(end - p) >= sizeof(name))
		return NULL;
	/* Never a path out of the directory: only a valid app name names a file. */
	memcpy(name, p, (size_t)(end - p));
	name[end - p] = '\0';
	if (valid_app_name(name) < 0) {
		err_clear(); /* handled: "-" (unrouted) or anything odd stays in the single log */
		return NULL;
	}
	*n = (size_t)(end - p);
	return p;
}

static void write_line(struct accesslog *l, const char *line, size_t len)
{
	size_t n;
	const char *app = line_app(line, len, &n);
	struct app_file *f;

	if (!app)
		return;
	f = file_of(l, app, n);
	if (f->fd >= 0 && f->size > 0 && f->size + (off_t)len > l->max_bytes)
		file_rotate(l, f);
	f->used = ++l->tick;
	if (f->fd >= 0 && write(f->fd, line, len) == (ssize_t)len)
		f->size += (off_t)len;
}

static ssize_t cookie_write(void *cookie, const char *data, size_t len)
{
	struct accesslog *l = cookie;
	size_t i = 0;

	if (l->inner && (fwrite(data, 1, len, l->inner) != len || fflush(l->inner) != 0))
		clearerr(l->inner); /* the single log's trouble must not stop the app logs */
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;

		if (!nl) {
			/* Kept for the next write; a line longer than a page is cut. */
			if (l->partial.len + n <= 65536)
				buf_add(&l->partial, data + i, n);
			break;
		}
		if (l->partial.len) {
			buf_add(&l->partial, data + i, n);
			write_line(l, l->partial.buf, l->partial.len);
			buf_reset(&l->partial);
		} else {
			write_line(l, data + i, n);
		}
		i += n;
	}
	return (ssize_t)len;
}

static int cookie_close(void *cookie)
{
	struct accesslog *l = cookie;
	size_t i;

	for (i = 0; i < l->nfiles; i++)
		if (l->files[i].fd >= 0)
			close(l->files[i].fd);
	if (l->inner)
		fflush(l->inner);
	if (l->inner && l->inner_owned)
		fclose(l->inner);
	buf_release(&l->partial);
	free(l->dir);
	free(l);
	return 0;
}

FILE *router__accesslog_open(const char *dir, FILE *inner, int inner_owned, long long max_bytes,
			     int max_files)
{
	static const cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };
	struct accesslog *l = calloc(1, sizeof(*l));
	FILE *f;

	if (!l || !(l->dir = strdup(dir))) {
		free(l);
		err_set("out of memory");
		return NULL;
	}
	l->inner = inner;
	l->inner_owned = inner_owned;
	l->max_bytes = max_bytes > 0 ? max_bytes : ROUTER_ACCESS_LOG_MAX_BYTES_DEFAULT;
	l->max_files = max_files > 0 ? max_files : ROUTER_ACCESS_LOG_MAX_FILES_DEFAULT;
	buf_init(&l->partial, 0);
	if (!(f = fopencookie(l, "w", io))) {
		err_set_errno("cannot make the per-app access log stream");
		free(l->dir);
		free(l);
	}
	return f;
}
