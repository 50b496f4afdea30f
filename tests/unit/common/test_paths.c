/* test_paths.c - the environment interface of issue 2: WHARF_ROOT, DOCKER_HOST and
 * WHARF_ROUTER_SOCKET with their defaults, and app paths derived from WHARF_ROOT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void defaults_without_the_environment(void **state)
{
	(void)state;
	unsetenv("WHARF_ROOT");
	unsetenv("DOCKER_HOST");
	unsetenv("WHARF_ROUTER_SOCKET");
	assert_string_equal(wharf_root(), "/var/lib/wharf");
	assert_string_equal(wharf_docker_host(), "unix:///var/run/docker.sock");
	assert_string_equal(wharf_router_socket(), "/run/wharf/router.sock");
	/* Empty counts as unset, as for the docker CLI. */
	setenv("WHARF_ROOT", "", 1);
	setenv("DOCKER_HOST", "", 1);
	setenv("WHARF_ROUTER_SOCKET", "", 1);
	assert_string_equal(wharf_root(), "/var/lib/wharf");
	assert_string_equal(wharf_docker_host(), "unix:///var/run/docker.sock");
	assert_string_equal(wharf_router_socket(), "/run/wharf/router.sock");
}

static void the_environment_wins_and_paths_follow_it(void **state)
{
	struct buf p = BUF_INIT;

	(void)state;
	setenv("WHARF_ROOT", "/tmp/w1", 1);
	setenv("DOCKER_HOST", "unix:///tmp/w1/d.sock", 1);
	setenv("WHARF_ROUTER_SOCKET", "/tmp/w1/r.sock", 1);
	assert_string_equal(wharf_root(), "/tmp/w1");
	assert_string_equal(wharf_docker_host(), "unix:///tmp/w1/d.sock");
	assert_string_equal(wharf_router_socket(), "/tmp/w1/r.sock");
	assert_int_equal(wharf_app_path(&p, "hello", "repo.git"), 0);
	assert_string_equal(p.buf, "/tmp/w1/apps/hello/repo.git");
	buf_reset(&p);
	assert_int_equal(wharf_app_path(&p, "hello", NULL), 0);
	assert_string_equal(p.buf, "/tmp/w1/apps/hello");
	buf_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_without_the_environment),
		cmocka_unit_test(the_environment_wins_and_paths_follow_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
