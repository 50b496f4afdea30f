/* test_tar.c - the build context tar keeps files, dirs, symlinks and modes, skips
 * .git and special files, never follows a symlink; builder detection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/internal.h"

static char dir[256];

static void write_file(const char *rel, const char *text, mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void make_dir(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(chmod(p, 0750), 0);
}

static int setup(void **state)
{
	char p[512];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wharf-test-tar-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	write_file("Dockerfile", "FROM scratch\n", 0644);
	write_file("run.sh", "#!/bin/sh\necho hi\n", 0755);
	make_dir("src");
	write_file("src/main.c", "int main(void) { return 0; }\n", 0600);
	make_dir("src/empty");
	make_dir(".git");
	write_file(".git/HEAD", "ref: refs/heads/main\n", 0644);
	make_dir("sub");
	write_file("sub/.git", "gitdir: ../.git/modules/sub\n", 0644);
	snprintf(p, sizeof(p), "%s/escape", dir);
	if (symlink("../../../../etc/passwd", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/src/link", dir);
	if (symlink("main.c", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo", dir);
	if (mkfifo(p, 0644) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(dir);
}

static void tar_keeps_tree_and_modes(void **state)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct buf seen = BUF_INIT;
	char tmpl[] = "/tmp/wharf-test-ctx-XXXXXX";
	int fd = mkstemp(tmpl);

	(void)state;
	assert_true(fd >= 0);
	unlink(tmpl);
	assert_int_equal(build_tar_dir(dir, fd), 0);
	lseek(fd, 0, SEEK_SET);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		mode_t mode = archive_entry_mode(e);

		buf_addf(&seen, "%s %o", name, (unsigned)mode);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		if (S_ISLNK(mode))
			buf_addf(&seen, " -> %s", archive_entry_symlink(e));
		if (!strcmp(name, "run.sh")) {
			char data[64] = { 0 };
			assert_int_equal(archive_read_data(a, data, sizeof(data) - 1), 18);
			assert_string_equal(data, "#!/bin/sh\necho hi\n");
		}
		buf_addch(&seen, '\n');
	}
	assert_string_equal(seen.buf, "Dockerfile 100644\n"
				      "escape 120777 -> ../../../../etc/passwd\n"
				      "run.sh 100755\n"
				      "src/ 40750\n"
				      "src/empty/ 40750\n"
				      "src/link 120777 -> main.c\n"
				      "src/main.c 100600\n"
				      "sub/ 40750\n");
	archive_read_free(a);
	close(fd);
	buf_release(&seen);
}

/* Lists the entries of a tar of d as "name\n" lines. */
static void tar_names(const char *d, struct buf *seen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char tmpl[] = "/tmp/wharf-test-ctx-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	unlink(tmpl);
	assert_int_equal(build_tar_dir(d, fd), 0);
	lseek(fd, 0, SEEK_SET);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		buf_addf(seen, "%s\n", archive_entry_pathname(e));
	archive_read_free(a);
	close(fd);
}

static void tar_honours_dockerignore(void **state)
{
	struct buf seen = BUF_INIT;
	char saved[256], p[512];

	(void)state;
	memcpy(saved, dir, sizeof(saved));
	snprintf(p, sizeof(p), "%s/ign", saved);
	assert_int_equal(mkdir(p, 0755), 0);
	memcpy(dir, p, strlen(p) + 1);
	write_file(".dockerignore",
		   "# build junk\n\n  node_modules  \n*.log\n!keep.log\n"
		   "/secret/\n**/*.tmp\nDockerfile\n.dockerignore\n"
		   "vendor\n!vendor/keep/**\n",
		   0644);
	write_file("Dockerfile", "FROM scratch\n", 0644);
	make_dir("node_modules");
	write_file("node_modules/x.js", "x", 0644);
	write_file("a.log", "a", 0644);
	write_file("keep.log", "k", 0644);
	make_dir("secret");
	write_file("secret/key", "k", 0600);
	make_dir("src");
	write_file("src/b.tmp", "b", 0644);
	make_dir("src/deep");
	write_file("src/deep/c.tmp", "c", 0644);
	write_file("src/main.c", "m", 0644);
	make_dir("vendor");
	write_file("vendor/drop.c", "d", 0644);
	make_dir("vendor/keep");
	write_file("vendor/keep/lib.c", "l", 0644);
	tar_names(dir, &seen);
	memcpy(dir, saved, sizeof(saved));
	assert_string_equal(seen.buf, ".dockerignore\nDockerfile\nkeep.log\nsrc/\nsrc/deep/\n"
				      "src/main.c\nvendor/keep/\nvendor/keep/lib.c\n");
	buf_release(&seen);
	fs_rm_rf(p);
}

static void ignore_patterns_match_like_docker(void **state)
{
	struct build__ignore ig = BUILD__IGNORE_INIT;
	const char *text = "/a/./b/\n**/**/*.o\n!keep.o\ndocs/*.md\n#x\n[\n";

	(void)state;
	assert_int_equal(build__ignore_parse(&ig, text, strlen(text)), 0);
	assert_int_equal(ig.n, 5);
	assert_string_equal(ig.rules[0].pattern, "a/b");
	assert_string_equal(ig.rules[1].pattern, "**/*.o");
	assert_true(build__ignore_match(&ig, "a/b"));
	assert_true(build__ignore_match(&ig, "a/b/c/d"));
	assert_false(build__ignore_match(&ig, "a/bc"));
	assert_true(build__ignore_match(&ig, "x.o"));
	assert_true(build__ignore_match(&ig, "x/y/z.o"));
	assert_false(build__ignore_match(&ig, "keep.o"));
	assert_true(build__ignore_match(&ig, "docs/a.md"));
	assert_false(build__ignore_match(&ig, "docs/sub/a.md"));
	assert_false(build__ignore_match(&ig, "main.c"));
	build__ignore_release(&ig);
}

static void tar_of_missing_dir_fails(void **state)
{
	(void)state;
	assert_int_equal(build_tar_dir("/nonexistent/wharf", 1), -1);
	assert_non_null(strstr(err_msg(), "cannot open '/nonexistent/wharf'"));
}

static void detect_needs_a_regular_dockerfile(void **state)
{
	const char *b = "x";
	char p[512];

	(void)state;
	assert_int_equal(build_detect(dir, &b), 0);
	assert_string_equal(b, "dockerfile");
	assert_int_equal(build_detect("/nonexistent", &b), -1);
	assert_null(b);
	assert_string_equal(err_msg(),
			    "no Dockerfile found in the pushed tree; wharf can build: "
			    "dockerfile (add a Dockerfile at the repo root), buildpacks "
			    "(add package.json, requirements.txt, index.html or a Procfile, "
			    "or name a buildpack with buildpacks:add)");
	/* A directory named Dockerfile is not one. */
	snprintf(p, sizeof(p), "%s/src", dir);
	make_dir("src/Dockerfile");
	assert_int_equal(build_detect(p, &b), -1);
	snprintf(p, sizeof(p), "%s/src/Dockerfile", dir);
	rmdir(p);
	assert_string_equal(build_builders[0], "dockerfile");
	assert_string_equal(build_builders[1], "buildpacks");
	assert_null(build_builders[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tar_keeps_tree_and_modes),
		cmocka_unit_test(tar_honours_dockerignore),
		cmocka_unit_test(ignore_patterns_match_like_docker),
		cmocka_unit_test(tar_of_missing_dir_fails),
		cmocka_unit_test(detect_needs_a_regular_dockerfile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
