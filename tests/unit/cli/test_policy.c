/* test_policy.c - the isolation rules that need no host: which domains a deployer
 * may add, and which host dirs storage:mount may bind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static json_t *globals;

static int dom(const char *d, const char *app)
{
	err_clear();
	return cli_domain_deployer_ok(d, app, globals, NULL);
}

static void deployer_domains(void **state)
{
	(void)state;
	globals = json_pack("[s,s]", "wharf.test", "apps.example.org");
	/* Its own default domain and names under no global domain are fine. */
	assert_int_equal(dom("a.wharf.test", "a"), 0);
	assert_int_equal(dom("shop.example.com", "a"), 0);
	assert_int_equal(dom("www.a-shop.io", "a"), 0);
	/* Another app's default domain, existing or not, in any case. */
	assert_int_equal(dom("b2.wharf.test", "a"), -1);
	assert_string_equal(err_msg(), "refused: b2.wharf.test is the default domain of app 'b2' "
			    "(reserved for it even before it exists); deployers may not add it");
	assert_int_equal(dom("B2.Wharf.Test", "a"), -1);
	assert_int_equal(dom("x.a.wharf.test", "a"), -1);     /* app "x.a" */
	assert_int_equal(dom("b.apps.example.org", "a"), -1);
	/* Wildcards, bare global domains, public suffixes. */
	assert_int_equal(dom("*.wharf.test", "a"), -1);
	assert_string_equal(err_msg(), "refused: deployers may not add the wildcard domain "
			    "*.wharf.test (an admin may)");
	assert_int_equal(dom("*.com", "a"), -1);
	assert_int_equal(dom("*.shop.example.com", "a"), -1);
	assert_int_equal(dom("wharf.test", "a"), -1);
	assert_string_equal(err_msg(), "refused: wharf.test is a global domain; deployers may not add it");
	assert_int_equal(dom("apps.example.org", "a"), -1);
	assert_int_equal(dom("com", "a"), -1);
	assert_string_equal(err_msg(), "refused: com is a public suffix; deployers may not add it");
	assert_int_equal(dom("co.uk", "a"), -1);
	assert_int_equal(dom("github.io", "a"), -1);
	/* A label that is no valid app name reserves nothing. */
	assert_int_equal(dom("under_score.wharf.test", "a"), 0);   /* no app may be named so */
	json_decref(globals);
}

static void public_suffix_file(void **state)
{
	char path[] = "/tmp/wharf-psl-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "// comment\nfoo\n*.bar\n!ok.bar\nzap.foo\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	assert_int_equal(cli_domain_is_public_suffix("foo", path), 1);
	assert_int_equal(cli_domain_is_public_suffix("zap.foo", path), 1);
	assert_int_equal(cli_domain_is_public_suffix("x.bar", path), 1);
	assert_int_equal(cli_domain_is_public_suffix("ok.bar", path), 0);
	assert_int_equal(cli_domain_is_public_suffix("a.x.bar", path), 0);
	assert_int_equal(cli_domain_is_public_suffix("shop.foo", path), 0);
	assert_int_equal(cli_domain_is_public_suffix("net", path), 1);     /* built in */
	assert_int_equal(cli_domain_is_public_suffix("net", "/nonexistent"), 1);
	assert_int_equal(cli_domain_is_public_suffix("shop.net", "/nonexistent"), 0);
	unlink(path);
}

static int host(const char *dir, const json_t *allow)
{
	err_clear();
	return cli_storage_host_ok(dir, allow, "/var/lib/wharf");
}

static void mount_allow_list(void **state)
{
	json_t *allow = json_pack("[s,s,s]", "/srv", "/", "/var");
	json_t *none = json_array(), *srv = json_pack("[s]", "/srv");

	(void)state;
	/* Nothing is allowed until root allows it. */
	assert_int_equal(host("/srv/data", none), -1);
	assert_string_equal(err_msg(), "refused: /srv/data is not under a host dir root allowed "
			    "for mounts (`wharf storage:allow DIR`, as root on the host)");
	assert_int_equal(host("/srv/data", allow), 0);
	assert_int_equal(host("/srv", allow), 0);
	assert_int_equal(host("/srvx", srv), -1);
	assert_int_equal(host("/srv/x/y", srv), 0);
	/* Never these, even when "/" or "/var" is allowed. */
	assert_int_equal(host("/", allow), -1);
	assert_string_equal(err_msg(), "refused: / is the whole host; wharf never mounts it");
	assert_int_equal(host("/etc", allow), -1);
	assert_string_equal(err_msg(), "refused: /etc would expose /etc of the host; wharf never "
			    "mounts it, even when a parent dir is allowed");
	assert_int_equal(host("/etc/ssl", allow), -1);
	assert_int_equal(host("/var/run", allow), -1);
	assert_int_equal(host("/var/run/docker.sock", allow), -1);
	assert_int_equal(host("/run", allow), -1);
	assert_int_equal(host("/proc", allow), -1);
	assert_int_equal(host("/sys/fs", allow), -1);
	assert_int_equal(host("/dev", allow), -1);
	assert_int_equal(host("/var/lib/docker", allow), -1);
	/* wharf's own state, its parents and what is below it. */
	assert_int_equal(host("/var/lib/wharf", allow), -1);
	assert_string_equal(err_msg(), "refused: /var/lib/wharf would expose wharf's own state "
			    "(WHARF_ROOT); wharf never mounts it, even when a parent dir is allowed");
	assert_int_equal(host("/var/lib/wharf/apps/a", allow), -1);
	assert_int_equal(host("/var/lib", allow), -1);
	assert_int_equal(host("/var", allow), -1);
	assert_int_equal(host("/var/www", allow), 0);
	json_decref(allow);
	json_decref(none);
	json_decref(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deployer_domains),
		cmocka_unit_test(public_suffix_file),
		cmocka_unit_test(mount_allow_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
