/* test_manifests.c - the registry's retention without a registry: which manifests
 * cluster_manifests_to_delete() picks from the tags and their digests (a digest a kept
 * tag shares stays, each digest once), and the registry's lock: a push (shared) waits
 * while the garbage collection (exclusive) holds it, and two pushes do not wait for each
 * other. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "cluster/cluster.h"

#define D(c)                                                                                      \
	"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c

static char root[64];

static int setup(void **state)
{
	struct buf p = BUF_INIT;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-manifests-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	buf_addf(&p, "%s/cluster/registry", root);
	fs_mkdir_p(p.buf, 0700);
	buf_release(&p);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(root);
	return 0;
}

/* The digests picked, joined by spaces. */
static void picked(const char *tags_json, const char *keep_json, struct buf *out)
{
	json_t *tags = json_loads(tags_json, 0, NULL), *keep = json_loads(keep_json, 0, NULL);
	json_t *del = NULL, *d;
	size_t i;

	assert_non_null(tags);
	assert_int_equal(cluster_manifests_to_delete(tags, keep, &del), 0);
	buf_reset(out);
	json_array_foreach(del, i, d)
		buf_addf(out, "%s%s", i ? " " : "", json_string_value(d));
	json_decref(tags);
	json_decref(keep);
	json_decref(del);
}

static void old_tags_go_unless_a_kept_tag_shares_their_digest(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	/* v1, v2 old; v3, v4 kept */
	picked("{\"1\": \"" D("a") "\", \"2\": \"" D("b") "\", \"3\": \"" D("c") "\", \"4\": \"" D(
		       "d") "\"}",
	       "[\"3\", \"4\"]", &b);
	assert_string_equal(b.buf, D("a") " " D("b"));
	/* v2 and v4 are one image (a rollback to v2, a config:set): its manifest stays,
	 * whichever tag is asked; v1 and v3 share theirs: deleted once */
	picked("{\"1\": \"" D("a") "\", \"2\": \"" D("b") "\", \"3\": \"" D("a") "\", \"4\": \"" D(
		       "b") "\"}",
	       "[\"4\"]", &b);
	assert_string_equal(b.buf, D("a"));
	/* a kept release the registry has no tag of (it ran here before): nothing to keep */
	picked("{\"1\": \"" D("a") "\"}", "[\"7\"]", &b);
	assert_string_equal(b.buf, D("a"));
	/* no keep (apps:destroy): everything, each once */
	picked("{\"1\": \"" D("a") "\", \"2\": \"" D("a") "\", \"3\": \"" D("c") "\"}", "null", &b);
	assert_string_equal(b.buf, D("a") " " D("c"));
	/* everything kept, or nothing pushed: nothing */
	picked("{\"1\": \"" D("a") "\"}", "[\"1\"]", &b);
	assert_string_equal(b.buf, "");
	picked("{}", "[\"1\"]", &b);
	assert_string_equal(b.buf, "");
	buf_release(&b);
}

/* A child takes the lock (shared or not) and exits 10 + what cluster_registry_lock()
 * returned (1: it waited). */
static pid_t child_lock(int exclusive)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct lock l = LOCK_INIT;
		int r = cluster_registry_lock(&l, exclusive, NULL);
		lock_release(&l);
		_exit(10 + r);
	}
	return pid;
}

static int exit_code(pid_t pid, int nohang)
{
	int status = 0;
	pid_t r = waitpid(pid, &status, nohang ? WNOHANG : 0);

	if (r == 0)
		return -1; /* still running */
	assert_int_equal(r, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

static void a_push_waits_for_the_collection_not_for_another_push(void **state)
{
	struct lock gc = LOCK_INIT, push = LOCK_INIT;
	pid_t pid;

	(void)state;
	/* The collection holds it: a push waits until it is done. */
	assert_int_equal(cluster_registry_lock(&gc, 1, NULL), 0);
	pid = child_lock(0);
	usleep(300 * 1000);
	assert_int_equal(exit_code(pid, 1), -1);
	lock_release(&gc);
	assert_int_equal(exit_code(pid, 0), 11);
	/* A push holds it: another push goes through at once, the collection waits. */
	assert_int_equal(cluster_registry_lock(&push, 0, NULL), 0);
	assert_int_equal(exit_code(child_lock(0), 0), 10);
	pid = child_lock(1);
	usleep(300 * 1000);
	assert_int_equal(exit_code(pid, 1), -1);
	lock_release(&push);
	assert_int_equal(exit_code(pid, 0), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(old_tags_go_unless_a_kept_tag_shares_their_digest),
		cmocka_unit_test_setup_teardown(
			a_push_waits_for_the_collection_not_for_another_push, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
