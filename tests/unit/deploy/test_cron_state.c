/* test_cron_state.c - the bookkeeping that keeps cron runs single: a minute is
 * claimed once (a restarted daemon, or a second one, finds it claimed), an entry's
 * run lock is seen as running, ids from users are checked before they name files,
 * and entries come from the current release. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "app/app.h"
#include "deploy/deploy.h"

static char tmpdir[] = "/tmp/wharf-test-cron-XXXXXX";
static const char *app = "crony";

static int setup(void **state)
{
	char root[256];

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	setenv("WHARF_ROOT", root, 1);
	return app_create(app);
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(tmpdir);
}

static void a_minute_is_claimed_once(void **state)
{
	json_t *st = NULL;

	(void)state;
	assert_int_equal(deploy_cron_claim(app, "0123456789ab", 1796381040), 1);
	assert_int_equal(deploy_cron_claim(app, "0123456789ab", 1796381040), 0);
	/* An earlier minute (a clock stepped back) is not run again either. */
	assert_int_equal(deploy_cron_claim(app, "0123456789ab", 1796380980), 0);
	assert_int_equal(deploy_cron_claim(app, "0123456789ab", 1796381100), 1);
	/* Entries are independent. */
	assert_int_equal(deploy_cron_claim(app, "ba9876543210", 1796381040), 1);
	assert_int_equal(deploy_cron_state_load(app, &st), 0);
	assert_int_equal(json_int(json_object_get(st, "0123456789ab"), "last_scheduled", 0),
			 1796381100);
	json_decref(st);
}

static void a_held_run_lock_is_running(void **state)
{
	struct buf p = BUF_INIT;
	int fd;

	(void)state;
	assert_int_equal(deploy_cron_running(app, "0123456789ab"), 0);
	assert_int_equal(buf_addf(&p, "%s/root/apps/%s/cron/0123456789ab.lock", tmpdir, app), 0);
	fd = open(p.buf, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	/* flock belongs to the open file: another open of it, as another process's. */
	assert_int_equal(deploy_cron_running(app, "0123456789ab"), 1);
	close(fd);
	assert_int_equal(deploy_cron_running(app, "0123456789ab"), 0);
	buf_release(&p);
}

static void ids_from_users_are_checked(void **state)
{
	struct buf p = BUF_INIT;

	(void)state;
	assert_int_equal(deploy_cron_log_path(&p, app, "../../../x"), -1);
	assert_non_null(strstr(err_msg(), "is not a cron id"));
	assert_int_equal(deploy_cron_log_path(&p, app, "0123456789AB"), -1);
	assert_int_equal(deploy_cron_log_path(&p, app, "0123456789ab"), 0);
	assert_non_null(strstr(p.buf, "/apps/crony/cron/0123456789ab.log"));
	buf_release(&p);
}

static void entries_come_from_the_current_release(void **state)
{
	json_t *rels = NULL, *entries = NULL, *cron;
	struct app_release r = { 0 };

	(void)state;
	assert_int_equal(deploy_cron_entries(app, &entries), 0);
	assert_int_equal(json_array_size(entries), 0);
	json_decref(entries);
	cron = json_pack("[{s:s,s:s,s:s}]", "id", "0123456789ab", "schedule", "@daily", "command",
			 "echo hi");
	assert_int_equal(app_releases_load(app, &rels), 0);
	r.version = 1;
	r.image = "img";
	r.cron = cron;
	assert_int_equal(app_release_append(rels, &r), 0);
	assert_int_equal(app_releases_save(app, rels), 0);
	assert_int_equal(deploy_cron_entries(app, &entries), 0);
	assert_non_null(deploy_cron_find(entries, app, "0123456789ab"));
	assert_null(deploy_cron_find(entries, app, "ba9876543210"));
	assert_non_null(strstr(err_msg(), "has no cron entry 'ba9876543210'"));
	json_decref(entries);
	json_decref(rels);
	json_decref(cron);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_minute_is_claimed_once),
		cmocka_unit_test(a_held_run_lock_is_running),
		cmocka_unit_test(ids_from_users_are_checked),
		cmocka_unit_test(entries_come_from_the_current_release),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
