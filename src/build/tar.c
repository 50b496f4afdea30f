/* src/build/tar.c - writes a directory as a tar build context with libarchive,
 * honouring .dockerignore and never following a symlink. */
#include "build/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each level of the walk holds a directory fd open; deeper trees are refused. */
#define TAR_MAX_DEPTH 128

struct walk {
	struct archive *a;
	struct build__ignore ig;
	struct buf rel; /* path of the current entry in the tar */
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

/* Reads the names in dirfd (sorted, so the tar is the same for the same tree),
 * without "." and "..". */
static int list_dir(int dirfd, const char *rel, char ***out, size_t *count)
{
	char **names = NULL, **grown;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *dp;
	int fd = dup(dirfd);

	*out = NULL;
	*count = 0;
	if (fd < 0 || !(dp = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_set_errno("cannot list '%s'", *rel ? rel : ".");
	}
	rewinddir(dp);
	while ((errno = 0, de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			if (!(grown = realloc(names, alloc * sizeof(*names))))
				goto oom;
			names = grown;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	if (errno) {
		err_set_errno("cannot list '%s'", *rel ? rel : ".");
		goto fail;
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
oom:
	err_set("out of memory");
fail:
	closedir(dp);
	free_names(names, n);
	return -1;
}

static int archive_fail(struct archive *a, const char *what, const char *path)
{
	return err_set("cannot write %s of '%s' to the build context: %s", what, path,
		       archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* Copies exactly size bytes of fd; a file that shrinks meanwhile is an error. */
static int copy_data(struct archive *a, int fd, off_t size, const char *path)
{
	char chunk[65536];

	while (size > 0) {
		size_t want = size < (off_t)sizeof(chunk) ? (size_t)size : sizeof(chunk);
		ssize_t r = read(fd, chunk, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set_errno("cannot read '%s'", path);
		if (r == 0)
			return err_set("'%s' changed while it was being packed", path);
		if (archive_write_data(a, chunk, (size_t)r) != r)
			return archive_fail(a, "the content", path);
		size -= r;
	}
	return 0;
}

static int write_header(struct archive *a, struct archive_entry *e, const char *path)
{
	int r = archive_write_header(a, e);

	/* ARCHIVE_WARN: a name that is not valid in the locale's charset was stored
	 * as raw bytes, which is what the daemon wants anyway. */
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return archive_fail(a, "the header", path);
	return 0;
}

static int walk(struct walk *w, int dirfd, int depth, int top);

/* Adds the entry `name` of dirfd, whose path in the tar is w->rel (already holding
 * it). An excluded entry is left out, except a directory that a "!" pattern might
 * re-include something in: it is walked without an entry of its own. */
static int add_entry(struct walk *w, int dirfd, const char *name, int depth)
{
	struct archive *a = w->a;
	struct buf *rel = &w->rel;
	int excluded = build__ignore_match(&w->ig, rel->buf);
	struct archive_entry *e = NULL;
	struct stat st;
	char target[4096];
	int fd = -1, ret = -1;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		err_set_errno("cannot stat '%s'", rel->buf);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		/* O_NOFOLLOW: if it became a symlink since fstatat, refuse it. */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			err_set_errno("cannot open '%s'", rel->buf);
			goto out;
		}
	} else if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
		ret = 0; /* sockets, fifos, devices: not build input */
		goto out;
	}
	if (excluded && (!S_ISDIR(st.st_mode) || !w->ig.has_negations)) {
		ret = 0;
		goto out;
	}
	if (!(e = archive_entry_new())) {
		err_set("out of memory");
		goto out;
	}
	archive_entry_set_pathname(e, rel->buf);
	archive_entry_set_mode(e, st.st_mode);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	/* Like the docker CLI: files in the context belong to root. */
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			err_set_errno("cannot read the symlink '%s'", rel->buf);
			goto out;
		}
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st.st_mode)) {
		archive_entry_set_size(e, st.st_size);
	} else {
		archive_entry_set_size(e, 0);
	}
	if (!excluded && write_header(a, e, rel->buf) < 0)
		goto out;
	if (S_ISREG(st.st_mode)) {
		ret = copy_data(a, fd, st.st_size, rel->buf);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= TAR_MAX_DEPTH) {
			err_set("'%s' is nested too deeply (limit %d levels)", rel->buf,
				TAR_MAX_DEPTH);
			goto out;
		}
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err_set_errno("cannot open '%s'", rel->buf);
			goto out;
		}
		ret = walk(w, fd, depth + 1, 0);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return ret;
}

/* Adds every entry below dirfd; w->rel holds the directory's path in the tar (""
 * at the top) and is restored before returning. */
static int walk(struct walk *w, int dirfd, int depth, int top)
{
	struct buf *rel = &w->rel;
	size_t base = rel->len, n = 0, i;
	char **names = NULL;
	int ret = -1;

	if (list_dir(dirfd, rel->buf, &names, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		/* A repository's metadata is never build input (a submodule's .git
		 * may be a file, so skip any kind). */
		if (!strcmp(names[i], ".git"))
			continue;
		buf_setlen(rel, base);
		if ((base && buf_addch(rel, '/') < 0) || buf_addstr(rel, names[i]) < 0)
			goto out;
		/* The daemon reads these two, so like the docker CLI we always send
		 * them, whatever .dockerignore says. */
		if (top &&
		    (!strcmp(names[i], "Dockerfile") || !strcmp(names[i], ".dockerignore"))) {
			struct build__ignore none = BUILD__IGNORE_INIT, saved = w->ig;
			w->ig = none;
			ret = add_entry(w, dirfd, names[i], depth);
			w->ig = saved;
			if (ret < 0)
				goto out;
			ret = -1;
			continue;
		}
		if (add_entry(w, dirfd, names[i], depth) < 0)
			goto out;
	}
	ret = 0;
out:
	buf_setlen(rel, base);
	free_names(names, n);
	return ret;
}

/* Loads dir/.dockerignore when it is a regular file (a symlink is not followed). */
static int load_ignore(struct build__ignore *ig, int dirfd)
{
	struct buf text = BUF_INIT;
	struct stat st;
	int fd, ret = -1;

	fd = openat(dirfd, ".dockerignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = 0;
		goto out;
	}
	if (st.st_size > (off_t)BUILD__DOCKERFILE_MAX) {
		err_set(".dockerignore is larger than %zu bytes", BUILD__DOCKERFILE_MAX);
		goto out;
	}
	for (;;) {
		char chunk[8192];
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set_errno("cannot read .dockerignore");
			goto out;
		}
		if (r == 0)
			break;
		if (buf_add(&text, chunk, (size_t)r) < 0)
			goto out;
	}
	ret = build__ignore_parse(ig, text.buf, text.len);
out:
	close(fd);
	buf_release(&text);
	return ret;
}

int build_tar_dir(const char *dir, int fd)
{
	struct walk w = { .a = archive_write_new(), .ig = BUILD__IGNORE_INIT, .rel = BUF_INIT };
	int dirfd = -1, ret = -1;

	if (!w.a)
		return err_set("out of memory");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err_set_errno("cannot open '%s'", dir);
		goto out;
	}
	if (load_ignore(&w.ig, dirfd) < 0)
		goto out;
	if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
		err_set("cannot start the build context: %s", archive_error_string(w.a));
		goto out;
	}
	if (walk(&w, dirfd, 0, 1) < 0)
		goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		err_set("cannot finish the build context: %s", archive_error_string(w.a));
		goto out;
	}
	ret = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	archive_write_free(w.a);
	build__ignore_release(&w.ig);
	buf_release(&w.rel);
	return ret;
}
