/* test_export.c - a commit's tree written out with libgit2: files, modes,
 * symlinks, nested dirs; and the bare repo + hook made for an app. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receiver/receiver.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-unit-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	git_libgit2_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(root);
}

static void add_blob(git_repository *repo, git_treebuilder *tb, const char *name, const char *data,
		     git_filemode_t mode)
{
	git_oid oid;
	assert_int_equal(git_blob_create_from_buffer(&oid, repo, data, strlen(data)), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, name, &oid, mode), 0);
}

/* Makes a commit with Dockerfile, run.sh (755), sub/x.txt and link -> Dockerfile. */
static void make_commit(git_repository *repo, char out[41])
{
	git_treebuilder *top, *sub;
	git_oid sub_oid, top_oid, commit_oid;
	git_tree *tree;
	git_signature *sig;

	assert_int_equal(git_treebuilder_new(&sub, repo, NULL), 0);
	add_blob(repo, sub, "x.txt", "nested\n", GIT_FILEMODE_BLOB);
	assert_int_equal(git_treebuilder_write(&sub_oid, sub), 0);
	assert_int_equal(git_treebuilder_new(&top, repo, NULL), 0);
	add_blob(repo, top, "Dockerfile", "FROM scratch\n", GIT_FILEMODE_BLOB);
	add_blob(repo, top, "run.sh", "#!/bin/sh\n", GIT_FILEMODE_BLOB_EXECUTABLE);
	add_blob(repo, top, "link", "Dockerfile", GIT_FILEMODE_LINK);
	assert_int_equal(git_treebuilder_insert(NULL, top, "sub", &sub_oid, GIT_FILEMODE_TREE), 0);
	assert_int_equal(git_treebuilder_write(&top_oid, top), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &top_oid), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@example.com"), 0);
	assert_int_equal(git_commit_create_v(&commit_oid, repo, "refs/heads/main", sig, sig, NULL,
					     "c", tree, 0),
			 0);
	git_oid_tostr(out, 41, &commit_oid);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(top);
	git_treebuilder_free(sub);
}

static void repo_and_export(void **state)
{
	struct buf repo_path = BUF_INIT, dest = BUF_INIT, p = BUF_INIT, hook = BUF_INIT;
	git_repository *repo;
	char rev[41], link[64];
	struct stat st;
	ssize_t n;
	int created;

	(void)state;
	assert_int_equal(receiver_repo_ensure("demo", "/usr/local/bin/wharf", &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(receiver_repo_ensure("demo", "/usr/local/bin/wharf", &created), 0);
	assert_int_equal(created, 0);
	assert_int_equal(receiver_repo_ensure("demo", "/bin/wh arf", &created), -1);
	wharf_app_path(&repo_path, "demo", "repo.git");
	buf_addf(&hook, "%s/hooks/pre-receive", repo_path.buf);
	assert_int_equal(stat(hook.buf, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	buf_reset(&p);
	assert_int_equal(fs_read_file(hook.buf, &p, 0), 0);
	assert_non_null(strstr(p.buf, "exec '/usr/local/bin/wharf' git-hook 'demo'"));

	assert_int_equal(git_repository_open_bare(&repo, repo_path.buf), 0);
	make_commit(repo, rev);
	git_repository_free(repo);

	assert_int_equal(fs_mkdtemp(&dest, root, "export-"), 0);
	assert_int_equal(receiver_export_tree(repo_path.buf, rev, dest.buf), 0);
	buf_reset(&p);
	buf_addf(&p, "%s/run.sh", dest.buf);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	buf_reset(&p);
	buf_addf(&p, "%s/sub/x.txt", dest.buf);
	assert_int_equal(stat(p.buf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	buf_reset(&p);
	buf_addf(&p, "%s/link", dest.buf);
	n = readlink(p.buf, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "Dockerfile");

	/* An unknown commit is a clear error. */
	assert_int_equal(receiver_export_tree(repo_path.buf,
					      "1111111111111111111111111111111111111111", dest.buf),
			 -1);
	assert_non_null(strstr(err_msg(), "cannot find the pushed commit"));
	buf_release(&repo_path);
	buf_release(&dest);
	buf_release(&p);
	buf_release(&hook);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repo_and_export),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
