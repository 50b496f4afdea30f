/* test_push.c - cluster_push_image(): what it refuses before talking to Docker (no
 * cluster, a bad app name, a reference that is not a local tag). It is also the entry
 * point tests/e2e/cluster.bats pushes through on a real cluster, as no command does
 * yet: with WHARF_TEST_PUSH_APP, WHARF_TEST_PUSH_REF and WHARF_TEST_PUSH_OUT set, the
 * test `pushes_on_a_real_cluster` pushes REF for APP with wharf's DOCKER_HOST and
 * WHARF_ROOT and writes the pinned reference to OUT (without them it is skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cluster/cluster.h"

static char root[64];
static char *saved_root; /* the caller's WHARF_ROOT, for pushes_on_a_real_cluster */

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-cluster-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	saved_root = getenv("WHARF_ROOT") ? strdup(getenv("WHARF_ROOT")) : NULL;
	setenv("WHARF_ROOT", root, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(root);
	if (saved_root)
		setenv("WHARF_ROOT", saved_root, 1);
	else
		unsetenv("WHARF_ROOT");
	free(saved_root);
	saved_root = NULL;
	return 0;
}

static void refused_before_docker(void **state)
{
	struct buf pinned = BUF_INIT;

	(void)state;
	buf_addstr(&pinned, "stale");
	/* d is never used on these paths: NULL shows no call is made. */
	assert_int_equal(cluster_push_image(NULL, "web", "wharf/web:1", &pinned), -1);
	assert_non_null(strstr(err_msg(), "not a cluster manager"));
	assert_int_equal(pinned.len, 0);
	assert_int_equal(cluster_push_image(NULL, "../web", "wharf/web:1", &pinned), -1);
	assert_int_equal(cluster_push_image(NULL, "web", "", &pinned), -1);
	assert_int_equal(cluster_push_image(NULL, "web", "wharf/web@sha256:00", &pinned), -1);
	assert_non_null(strstr(err_msg(), "not a local image reference"));
	buf_release(&pinned);
}

static void pushes_on_a_real_cluster(void **state)
{
	const char *app = getenv("WHARF_TEST_PUSH_APP"), *ref = getenv("WHARF_TEST_PUSH_REF"),
		   *out = getenv("WHARF_TEST_PUSH_OUT");
	struct buf pinned = BUF_INIT;
	struct docker *d = NULL;
	int ret;

	(void)state;
	if (!app || !ref || !out)
		skip();
	assert_int_equal(docker_new(&d, NULL), 0);
	ret = cluster_push_image(d, app, ref, &pinned);
	if (ret < 0)
		fprintf(stderr, "cluster_push_image: %s\n", err_msg());
	assert_int_equal(ret, 0);
	assert_int_equal(buf_addch(&pinned, '\n'), 0);
	assert_int_equal(fs_write_atomic(out, pinned.buf, pinned.len, 0644), 0);
	buf_release(&pinned);
	docker_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refused_before_docker, setup, teardown),
		cmocka_unit_test(pushes_on_a_real_cluster),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
