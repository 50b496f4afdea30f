/* export.c - writing a pushed commit's tree to a build directory with libgit2. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct export
{
	git_repository *repo;
	const char *dest;
	int failed;
};

static int safe_entry_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && strcasecmp(name, ".git") &&
	       !strchr(name, '/');
}

static int write_blob(struct export *ex, const git_tree_entry *e, const char *path,
		      git_filemode_t mode)
{
	git_blob *blob = NULL;
	const char *data;
	size_t len;
	int fd = -1, ret = -1;

	if (git_blob_lookup(&blob, ex->repo, git_tree_entry_id(e)) < 0) {
		receiver__git_fail("cannot read a pushed file");
		goto out;
	}
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if (mode == GIT_FILEMODE_LINK) {
		struct buf target = BUF_INIT;
		if (buf_add(&target, data, len) == 0 && symlink(target.buf, path) == 0)
			ret = 0;
		else
			err_set_errno("cannot create symlink '%s'", path);
		buf_release(&target);
		goto out;
	}
	/* O_EXCL|O_NOFOLLOW: a file never lands through a symlink the tree made. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd < 0) {
		err_set_errno("cannot create '%s'", path);
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set_errno("cannot write '%s'", path);
			goto out;
		}
		data += n;
		len -= (size_t)n;
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = err_set_errno("cannot write '%s'", path);
	git_blob_free(blob);
	return ret;
}

static int walk_cb(const char *root, const git_tree_entry *e, void *data)
{
	struct export *ex = data;
	const char *name = git_tree_entry_name(e);
	git_filemode_t mode = git_tree_entry_filemode(e);
	struct buf path = BUF_INIT;
	int ret = -1;

	if (!safe_entry_name(name)) {
		err_set("refused: the pushed tree has an entry named '%s'", name);
		goto out;
	}
	if (buf_addf(&path, "%s/%s%s", ex->dest, root, name) < 0)
		goto out;
	switch (mode) {
	case GIT_FILEMODE_TREE:
		if (mkdir(path.buf, 0755) < 0) {
			err_set_errno("cannot create directory '%s'", path.buf);
			goto out;
		}
		break;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
	case GIT_FILEMODE_LINK:
		if (write_blob(ex, e, path.buf, mode) < 0)
			goto out;
		break;
	case GIT_FILEMODE_COMMIT:
		say_warn("skipping submodule '%s%s': submodules are not fetched", root, name);
		break;
	default:
		err_set("unknown file mode %o for '%s%s'", (unsigned)mode, root, name);
		goto out;
	}
	ret = 0;
out:
	buf_release(&path);
	if (ret < 0)
		ex->failed = 1;
	return ret;
}

int receiver_export_tree(const char *repo_path, const char *rev, const char *dest_dir)
{
	struct export ex = { .dest = dest_dir };
	git_odb *odb = NULL;
	git_oid oid;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	const char *quarantine = getenv("GIT_QUARANTINE_PATH");
	int ret = -1;

	git_libgit2_init();
	if (git_repository_open_bare(&ex.repo, repo_path) < 0) {
		receiver__git_fail("cannot open the app's repository");
		goto out;
	}
	/* While pre-receive runs, the pushed objects live in a quarantine directory
	 * that git only moves into the repository once the hook accepts the push. */
	if (quarantine && *quarantine) {
		if (git_repository_odb(&odb, ex.repo) < 0 ||
		    git_odb_add_disk_alternate(odb, quarantine) < 0) {
			receiver__git_fail("cannot read the pushed objects");
			goto out;
		}
	}
	if (git_oid_fromstr(&oid, rev) < 0 || git_commit_lookup(&commit, ex.repo, &oid) < 0) {
		receiver__git_fail("cannot find the pushed commit");
		goto out;
	}
	if (git_commit_tree(&tree, commit) < 0) {
		receiver__git_fail("cannot read the pushed tree");
		goto out;
	}
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &ex) < 0) {
		if (!ex.failed)
			receiver__git_fail("cannot export the pushed tree");
		goto out;
	}
	ret = 0;
out:
	git_tree_free(tree);
	git_commit_free(commit);
	git_odb_free(odb);
	git_repository_free(ex.repo);
	return ret;
}
