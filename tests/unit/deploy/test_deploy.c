/* test_deploy.c - the deploy layer's orchestration against a fake Docker and a
 * fake router (tests/unit/lib/fakes.c): a push starts the new container beside
 * the old, routes it, then retires the old; a failed check or a refusing router
 * keeps the old; a rollback runs the old image with the old config; retention
 * removes old images; stop/start. Pushes are real: a git repository, exported
 * with libgit2, built through the (fake) Engine API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "deploy/deploy.h"
#include "lib/fakes.h"

static char tmpdir[] = "/tmp/wharf-deploy-test-XXXXXX";
static char workdir[512];

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Makes app with its bare repository and a work tree to commit from. */
static void make_app(const char *app)
{
	assert_int_equal(app_create(app), 0);
	assert_int_equal(sh("git init -q --bare %s/root/apps/%s/repo.git && "
			    "git init -q -b main %s/work-%s",
			    tmpdir, app, tmpdir, app),
			 0);
	snprintf(workdir, sizeof(workdir), "%s/work-%s", tmpdir, app);
}

/* Commits a Dockerfile (and a CHECKS file when checks is not NULL) with a
 * marker, pushes it to app's repository; rev gets the commit id. */
static void commit(const char *app, const char *marker, const char *checks, char rev[41])
{
	char path[600];
	FILE *f;

	snprintf(workdir, sizeof(workdir), "%s/work-%s", tmpdir, app);
	snprintf(path, sizeof(path), "%s/Dockerfile", workdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "FROM wharf-test/base:1\nCMD [\"app\", \"%s\"]\n", marker);
	fclose(f);
	snprintf(path, sizeof(path), "%s/CHECKS", workdir);
	if (checks) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(checks, f);
		fclose(f);
	} else {
		unlink(path);
	}
	assert_int_equal(sh("cd %s && git add -A && git -c user.name=t -c user.email=t@t commit "
			    "-q -m %s && git push -q %s/root/apps/%s/repo.git main 2>/dev/null",
			    workdir, marker, tmpdir, app),
			 0);
	snprintf(path, sizeof(path), "git -C %s rev-parse HEAD", workdir);
	f = popen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(rev, 41, f));
	pclose(f);
}

static int push(const char *app, const char *rev)
{
	struct deploy_request r = { .app = app, .rev = rev };
	return deploy_push(&r);
}

static void set_config(const char *app, const char *key, const char *value)
{
	json_t *obj = NULL;

	assert_int_equal(app_load(app, &obj), 0);
	if (!json_is_object(json_object_get(obj, "config")))
		json_object_set_new(obj, "config", json_object());
	json_object_set_new(json_object_get(obj, "config"), key, json_string(value));
	assert_int_equal(app_save(app, obj), 0);
	json_decref(obj);
}

/* The app's containers in the fake Docker (newest first). */
static json_t *containers_of(const char *app)
{
	json_t *all = fakes_containers(), *out = json_array(), *c;
	size_t i;

	json_array_foreach(all, i, c)
		if (!strcmp(json_str(json_object_get(c, "Labels"), "wharf.app", ""), app))
			json_array_append(out, c);
	json_decref(all);
	return out;
}

static long current_version(const char *app)
{
	json_t *rels = NULL;
	long v;

	assert_int_equal(app_releases_load(app, &rels), 0);
	v = (long)json_int(app_release_current(rels), "version", 0);
	json_decref(rels);
	return v;
}

static const char *env_of(const json_t *c, const char *key)
{
	size_t i, k = strlen(key);
	json_t *v;

	json_array_foreach(json_object_get(c, "Env"), i, v)
		if (!strncmp(json_string_value(v), key, k) && json_string_value(v)[k] == '=')
			return json_string_value(v) + k + 1;
	return NULL;
}

static void target_of(const json_t *c, char *out, size_t n)
{
	snprintf(out, n, "127.0.0.1:%s", env_of(c, "PORT"));
}

static int setup(void **state)
{
	char root[600];

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	setenv("WHARF_ROOT", root, 1);
	setenv("WHARF_PORT_RANGE", "43100-43900", 1);
	unsetenv("WHARF_SSH_KEY");
	unsetenv("WHARF_SCHEDULER");
	if (fakes_start(tmpdir) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fakes_reset();
	sh("rm -rf %s", tmpdir);
	return 0;
}

static int each(void **state)
{
	(void)state;
	fakes_reset();
	fakes_image_add("wharf-test/base:1", "sha256:base");
	return 0;
}

/* A push: the new container is created and started, the router gets its target,
 * and only then is the old one stopped and removed. */
static void push_starts_new_routes_then_retires_old(void **state)
{
	char rev1[41], rev2[41], t1[64], t2[64];
	json_t *list, *route, *c1, *c2;
	long create, start, put, stop, del;

	(void)state;
	make_app("demo");
	commit("demo", "one", NULL, rev1);
	assert_int_equal(push("demo", rev1), 0);
	list = containers_of("demo");
	assert_int_equal(json_array_size(list), 1);
	c1 = json_incref(json_array_get(list, 0));
	json_decref(list);
	assert_string_equal(json_str(c1, "State", ""), "running");
	assert_string_equal(json_str(json_object_get(c1, "Labels"), "wharf.release", ""), "1");
	target_of(c1, t1, sizeof(t1));
	route = fakes_route("demo");
	assert_string_equal(json_string_value(json_array_get(json_object_get(route, "targets"), 0)),
			    t1);
	json_decref(route);

	fakes_log_clear();
	commit("demo", "two", NULL, rev2);
	assert_int_equal(push("demo", rev2), 0);
	list = containers_of("demo");
	assert_int_equal(json_array_size(list), 1);
	c2 = json_array_get(list, 0);
	assert_string_not_equal(json_str(c2, "Id", ""), json_str(c1, "Id", ""));
	assert_string_equal(json_str(json_object_get(c2, "Labels"), "wharf.release", ""), "2");
	target_of(c2, t2, sizeof(t2));
	assert_string_not_equal(t1, t2);

	create = fakes_log_find(0, "docker POST /containers/create", "demo.web.2", NULL);
	start = fakes_log_find(create, "docker POST /containers/", json_str(c2, "Id", ""), "/start",
			       NULL);
	put = fakes_log_find(start, "router PUT /apps/demo ", t2, NULL);
	stop = fakes_log_find(put, "docker POST /containers/", json_str(c1, "Id", ""), "/stop",
			      NULL);
	del = fakes_log_find(stop, "docker DELETE /containers/", json_str(c1, "Id", ""), NULL);
	assert_true(create >= 0 && start > create && put > start && stop > put && del > stop);
	route = fakes_route("demo");
	assert_int_equal(json_array_size(json_object_get(route, "targets")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(route, "targets"), 0)),
			    t2);
	assert_int_equal(current_version("demo"), 2);
	json_decref(route);
	json_decref(list);
	json_decref(c1);
}

/* A new container that fails its check is removed; the old one serves on and
 * no release is recorded. */
static void failed_check_keeps_old(void **state)
{
	char rev1[41], rev2[41], t1[64];
	json_t *list, *c1, *route;
	long create, del;
	const char *new_id;
	struct buf log = BUF_INIT, line = BUF_INIT;

	(void)state;
	make_app("chk");
	commit("chk", "one", NULL, rev1);
	assert_int_equal(push("chk", rev1), 0);
	list = containers_of("chk");
	c1 = json_incref(json_array_get(list, 0));
	json_decref(list);
	target_of(c1, t1, sizeof(t1));

	/* The next release's container answers 500 to its check. */
	set_config("chk", "FAKE_STATUS", "500");
	commit("chk", "two", "WAIT=0\nTIMEOUT=1\nATTEMPTS=1\n/health ok\n", rev2);
	fakes_log_clear();
	assert_int_equal(push("chk", rev2), -1);
	assert_non_null(strstr(err_msg(), "the previous release keeps serving"));
	assert_non_null(strstr(err_msg(), "check /health failed"));

	create = fakes_log_find(0, "docker POST /containers/create", "chk.web.2", NULL);
	assert_true(create >= 0);
	fakes_log(&log);
	/* The id of the new container is in the start line after the create. */
	new_id = strstr(log.buf, "/start");
	assert_non_null(new_id);
	buf_add(&line, new_id - 64, 64);
	del = fakes_log_find(create, "docker DELETE /containers/", line.buf, NULL);
	assert_true(del > create);
	assert_int_equal(fakes_log_find(0, "router PUT /apps/chk ", NULL), -1);
	assert_int_equal(fakes_log_find(0, "/containers/", json_str(c1, "Id", ""), "/stop", NULL),
			 -1);

	list = containers_of("chk");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_str(json_array_get(list, 0), "Id", ""), json_str(c1, "Id", ""));
	assert_string_equal(json_str(json_array_get(list, 0), "State", ""), "running");
	route = fakes_route("chk");
	assert_string_equal(json_string_value(json_array_get(json_object_get(route, "targets"), 0)),
			    t1);
	assert_int_equal(current_version("chk"), 1);
	json_decref(route);
	json_decref(list);
	json_decref(c1);
	buf_release(&log);
	buf_release(&line);
}

/* The router refusing the new targets keeps the old container, and the new
 * one goes. */
static void router_refusal_keeps_old(void **state)
{
	struct deploy_request r = { .app = "rr", .why = "restart" };
	char rev1[41], t1[64];
	json_t *list, *c1, *route;

	(void)state;
	make_app("rr");
	commit("rr", "one", NULL, rev1);
	assert_int_equal(push("rr", rev1), 0);
	list = containers_of("rr");
	c1 = json_incref(json_array_get(list, 0));
	json_decref(list);
	target_of(c1, t1, sizeof(t1));

	fakes_router_refuse(1);
	fakes_log_clear();
	assert_int_equal(deploy_redeploy(&r), -1);
	fakes_router_refuse(0);
	assert_non_null(strstr(err_msg(), "health check"));
	assert_true(fakes_log_find(0, "docker POST /containers/create", "rr.web.2", NULL) >= 0);
	assert_true(fakes_log_find(0, "router PUT /apps/rr ", NULL) >= 0);
	assert_int_equal(fakes_log_find(0, "/containers/", json_str(c1, "Id", ""), "/stop", NULL),
			 -1);
	list = containers_of("rr");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_str(json_array_get(list, 0), "Id", ""), json_str(c1, "Id", ""));
	route = fakes_route("rr");
	assert_string_equal(json_string_value(json_array_get(json_object_get(route, "targets"), 0)),
			    t1);
	assert_int_equal(current_version("rr"), 1);
	json_decref(route);
	json_decref(list);
	json_decref(c1);
}

/* A rollback deploys the old release's image with its config, which becomes the
 * app's config again. */
static void rollback_runs_old_image_with_old_config(void **state)
{
	struct deploy_request r = { .app = "rb", .version = 1 };
	char rev1[41], rev2[41];
	json_t *rels = NULL, *list, *c, *v1, *v3, *app = NULL;

	(void)state;
	make_app("rb");
	set_config("rb", "GREETING", "one");
	commit("rb", "one", NULL, rev1);
	assert_int_equal(push("rb", rev1), 0);
	set_config("rb", "GREETING", "two");
	commit("rb", "two", NULL, rev2);
	assert_int_equal(push("rb", rev2), 0);
	list = containers_of("rb");
	assert_string_equal(env_of(json_array_get(list, 0), "GREETING"), "two");
	json_decref(list);

	assert_int_equal(deploy_rollback(&r), 0);
	assert_int_equal(app_releases_load("rb", &rels), 0);
	v1 = json_array_get(json_object_get(rels, "releases"), 0);
	v3 = json_array_get(json_object_get(rels, "releases"), 2);
	assert_int_equal(json_int(v3, "version", 0), 3);
	assert_string_equal(json_str(v3, "image", ""), json_str(v1, "image", "x"));
	assert_string_equal(json_str(json_object_get(v3, "config"), "GREETING", ""), "one");
	assert_string_equal(json_str(v3, "description", ""), "rollback to v1");
	list = containers_of("rb");
	assert_int_equal(json_array_size(list), 1);
	c = json_array_get(list, 0);
	assert_string_equal(json_str(c, "Image", ""), json_str(v1, "image", "x"));
	assert_string_equal(env_of(c, "GREETING"), "one");
	assert_string_equal(json_str(json_object_get(c, "Labels"), "wharf.release", ""), "3");
	assert_int_equal(app_load("rb", &app), 0);
	assert_string_equal(json_str(json_object_get(app, "config"), "GREETING", ""), "one");
	json_decref(app);
	json_decref(list);
	json_decref(rels);
}

/* Beyond the retain count, old releases' images are removed and the releases
 * marked pruned; a rollback to one of them is refused. */
static void retention_removes_old_images(void **state)
{
	struct deploy_request r = { .app = "ret", .version = 1 };
	char rev[41], marker[8];
	json_t *rels = NULL, *app = NULL, *arr;
	int i;

	(void)state;
	make_app("ret");
	assert_int_equal(app_load("ret", &app), 0);
	json_object_set_new(app, "retain", json_integer(1));
	assert_int_equal(app_save("ret", app), 0);
	json_decref(app);
	for (i = 1; i <= 3; i++) {
		snprintf(marker, sizeof(marker), "m%d", i);
		commit("ret", marker, NULL, rev);
		assert_int_equal(push("ret", rev), 0);
	}
	assert_int_equal(app_releases_load("ret", &rels), 0);
	arr = json_object_get(rels, "releases");
	assert_int_equal(json_array_size(arr), 3);
	for (i = 0; i < 2; i++) {
		const char *img = json_str(json_array_get(arr, (size_t)i), "image", "");
		assert_true(
			json_is_true(json_object_get(json_array_get(arr, (size_t)i), "pruned")));
		assert_false(fakes_image_exists(img));
		assert_true(fakes_log_find(0, "docker DELETE /images/", img, NULL) >= 0);
	}
	assert_null(json_object_get(json_array_get(arr, 2), "pruned"));
	assert_true(fakes_image_exists(json_str(json_array_get(arr, 2), "image", "")));
	assert_int_equal(deploy_rollback(&r), -1);
	assert_non_null(strstr(err_msg(), "was removed"));
	json_decref(rels);
}

/* ps:stop stops the containers and removes the route; ps:start deploys again. */
static void stop_then_start(void **state)
{
	struct deploy_request r = { .app = "ss" };
	char rev[41];
	json_t *list, *route;
	int stopped = -1;

	(void)state;
	make_app("ss");
	commit("ss", "one", NULL, rev);
	assert_int_equal(push("ss", rev), 0);
	assert_int_equal(deploy_stop(&r, &stopped), 0);
	assert_int_equal(stopped, 1);
	list = containers_of("ss");
	assert_string_equal(json_str(json_array_get(list, 0), "State", ""), "exited");
	json_decref(list);
	assert_null(fakes_route("ss"));
	assert_int_equal(deploy_start(&r), 0);
	list = containers_of("ss");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_str(json_array_get(list, 0), "State", ""), "running");
	assert_string_equal(json_str(json_object_get(json_array_get(list, 0), "Labels"),
				     "wharf.release", ""),
			    "2");
	route = fakes_route("ss");
	assert_non_null(route);
	json_decref(route);
	json_decref(list);
}

/* An image deploy tags the image as the release's and runs that tag. */
static void image_deploy_tags_and_runs(void **state)
{
	struct deploy_request r = { .app = "img", .image = "user/app:7" };
	json_t *list;

	(void)state;
	make_app("img");
	fakes_image_add("user/app:7", "sha256:user7");
	assert_int_equal(deploy_image(&r), 0);
	assert_true(fakes_image_exists("wharf/img:1"));
	list = containers_of("img");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_str(json_array_get(list, 0), "Image", ""), "wharf/img:1");
	json_decref(list);
	r.image = "nobody/here:1";
	assert_int_equal(deploy_image(&r), -1);
	assert_non_null(strstr(err_msg(), "does not exist in the local Docker"));
}

/* checks:run checks the running web container; cleanup removes exited
 * containers the router does not serve and dangling images no release runs. */
static void checks_run_and_cleanup(void **state)
{
	struct deploy_request r = { .app = "cc" };
	char rev[41];
	json_t *list;
	int containers = -1, images = -1, stopped;

	(void)state;
	make_app("cc");
	commit("cc", "one", NULL, rev);
	assert_int_equal(push("cc", rev), 0);
	assert_int_equal(deploy_checks_run(&r), 0);
	fakes_image_add(NULL, "sha256:dangling");
	assert_int_equal(deploy_cleanup(&r, &containers, &images), 0);
	assert_int_equal(containers, 0);
	assert_int_equal(images, 1);
	assert_false(fakes_image_exists("sha256:dangling"));
	assert_int_equal(deploy_stop(&r, &stopped), 0);
	assert_int_equal(deploy_checks_run(&r), -1);
	assert_non_null(strstr(err_msg(), "no running web container"));
	assert_int_equal(deploy_cleanup(&r, &containers, &images), 0);
	assert_int_equal(containers, 1);
	list = containers_of("cc");
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

/* Only the schedulers this wharf has can be asked for. */
static void unknown_scheduler_refused(void **state)
{
	struct scheduler *s = NULL;

	(void)state;
	assert_int_equal(scheduler_new(&s, "kubernetes"), -1);
	assert_null(s);
	assert_non_null(strstr(err_msg(), "unknown scheduler 'kubernetes'"));
	/* The swarm scheduler is this host's Docker as the manager. */
	assert_int_equal(scheduler_new(&s, "swarm"), 0);
	assert_string_equal(s->ops->name, "swarm");
	scheduler_free(s);
	assert_int_equal(scheduler_new(&s, NULL), 0);
	assert_string_equal(s->ops->name, "docker-local");
	scheduler_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(push_starts_new_routes_then_retires_old, each),
		cmocka_unit_test_setup(failed_check_keeps_old, each),
		cmocka_unit_test_setup(router_refusal_keeps_old, each),
		cmocka_unit_test_setup(rollback_runs_old_image_with_old_config, each),
		cmocka_unit_test_setup(retention_removes_old_images, each),
		cmocka_unit_test_setup(stop_then_start, each),
		cmocka_unit_test_setup(image_deploy_tags_and_runs, each),
		cmocka_unit_test_setup(checks_run_and_cleanup, each),
		cmocka_unit_test_setup(unknown_scheduler_refused, each),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
