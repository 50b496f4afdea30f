/* fs.c - file helpers: atomic writes, whole-file reads, recursive removal. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode)
{
	struct buf p = BUF_INIT;
	size_t i;
	int ret = -1;

	if (buf_addstr(&p, path) < 0)
		goto out;
	for (i = 1; i <= p.len; i++) {
		if (p.buf[i] != '/' && p.buf[i] != '\0')
			continue;
		p.buf[i] = '\0';
		if (mkdir(p.buf, mode) < 0 && errno != EEXIST) {
			err_set_errno("cannot create directory '%s'", p.buf);
			goto out;
		}
		if (i < p.len)
			p.buf[i] = '/';
	}
	if (!fs_is_dir(path)) {
		err_set("'%s' exists and is not a directory", path);
		goto out;
	}
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int fs_private_dir(const char *path)
{
	struct stat st;

	if (fs_mkdir_p(path, 0700) < 0)
		return -1;
	/* A root made by an older wharf (0755) is closed on its next write. */
	if (stat(path, &st) == 0 && (st.st_mode & 077) && chmod(path, 0700) < 0)
		return err_set_errno("cannot make '%s' private", path);
	return 0;
}

static int fsync_parent(const char *path)
{
	struct buf dir = BUF_INIT;
	char *slash;
	int fd, ret = 0;

	if (buf_addstr(&dir, path) < 0)
		return -1;
	slash = strrchr(dir.buf, '/');
	if (slash && slash != dir.buf)
		*slash = '\0';
	else
		buf_setlen(&dir, 0), buf_addstr(&dir, slash ? "/" : ".");
	fd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) < 0)
			ret = err_set_errno("cannot sync directory of '%s'", path);
		close(fd);
	}
	buf_release(&dir);
	return ret;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	struct buf tmp = BUF_INIT;
	const char *p = data;
	int fd = -1, ret = -1;

	if (buf_addf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		goto out;
	fd = mkostemp(tmp.buf, O_CLOEXEC);
	if (fd < 0) {
		err_set_errno("cannot create '%s'", tmp.buf);
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		err_set_errno("cannot chmod '%s'", tmp.buf);
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set_errno("cannot write '%s'", tmp.buf);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		err_set_errno("cannot sync '%s'", tmp.buf);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set_errno("cannot close '%s'", tmp.buf);
		goto out;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		err_set_errno("cannot rename '%s' to '%s'", tmp.buf, path);
		goto out;
	}
	ret = fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp.len)
		unlink(tmp.buf);
	buf_release(&tmp);
	return ret;
}

static int read_fd(int fd, const char *path, struct buf *out, size_t max);

int fs_read_file(const char *path, struct buf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set_errno("cannot open '%s'", path);
	return read_fd(fd, path, out, max);
}

int fs_read_regular(const char *path, struct buf *out, size_t max)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0 && errno == ELOOP)
		return err_set("'%s' is a symlink; wharf reads it only as a regular file", name);
	if (fd < 0)
		return err_set_errno("cannot open '%s'", name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set("'%s' is not a regular file", name);
	}
	return read_fd(fd, path, out, max);
}

/* Reads fd to its end into out, then closes it. */
static int read_fd(int fd, const char *path, struct buf *out, size_t max)
{
	char chunk[8192];
	size_t total = 0;
	int ret = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set_errno("cannot read '%s'", path);
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (max && total > max) {
			ret = err_set("'%s' is larger than %zu bytes", path, max);
			break;
		}
		if (buf_add(out, chunk, (size_t)n) < 0) {
			ret = -1;
			break;
		}
	}
	close(fd);
	return ret;
}

int fs_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int fs_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set_errno("cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_set_errno("cannot remove '%s'", path);
		return 0;
	}
	d = opendir(path);
	if (!d)
		return err_set_errno("cannot open directory '%s'", path);
	while ((e = readdir(d)) != NULL) {
		struct buf child = BUF_INIT;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (buf_addf(&child, "%s/%s", path, e->d_name) < 0 || fs_rm_rf(child.buf) < 0)
			ret = -1;
		buf_release(&child);
		if (ret < 0)
			break;
	}
	closedir(d);
	if (ret == 0 && rmdir(path) < 0 && errno != ENOENT)
		ret = err_set_errno("cannot remove directory '%s'", path);
	return ret;
}

int fs_mkdtemp(struct buf *out, const char *parent, const char *prefix)
{
	size_t start = out->len;

	if (fs_mkdir_p(parent, 0700) < 0)
		return -1;
	if (buf_addf(out, "%s/%sXXXXXX", parent, prefix) < 0)
		return -1;
	if (!mkdtemp(out->buf + start)) {
		err_set_errno("cannot create a temporary directory in '%s'", parent);
		buf_setlen(out, start);
		return -1;
	}
	return 0;
}
