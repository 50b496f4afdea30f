/* buildpacks.c - the buildpacks:* commands (the app's buildpack chain, kept in
 * app.json as "buildpacks") and repo:purge-cache. */
#include "cli.h"
#include "build/build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads the app under its lock and hands its "buildpacks" array (created when
 * missing) to the caller, who saves with save_chain(). */
static int load_chain(struct lock *l, const char *app, json_t **appobj, json_t **chain)
{
	if (state_app_lock(l, app) < 0 || state_app_load(app, appobj) < 0)
		return -1;
	*chain = json_object_get(*appobj, "buildpacks");
	if (!json_is_array(*chain)) {
		*chain = json_array();
		if (json_object_set_new(*appobj, "buildpacks", *chain) < 0)
			return err_set("out of memory");
	}
	return 0;
}

static void print_chain(const char *app, const json_t *chain)
{
	json_t *v;
	size_t i;

	say_section("%s buildpack urls", app);
	if (!json_array_size(chain))
		say_detail("(none: detected from the bundled ones at each push)");
	json_array_foreach(chain, i, v)
		printf("%s\n", json_string_value(v));
	fflush(stdout);
}

static long chain_find(const json_t *chain, const char *ref)
{
	json_t *v;
	size_t i;

	json_array_foreach(chain, i, v)
		if (!strcmp(json_string_value(v), ref))
			return (long)i;
	return -1;
}

int cmd_buildpacks_list(int argc, char **argv)
{
	json_t *app = NULL;
	int ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	print_chain(argv[1], json_object_get(app, "buildpacks"));
	ret = 0;
out:
	json_decref(app);
	return ret;
}

/* buildpacks:add [--index N] <app> URL: appends (or inserts at 1-based N). */
int cmd_buildpacks_add(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *chain;
	long index = 0;
	int ret = -1;

	if (argc > 2 && !strcmp(argv[1], "--index")) {
		char *end;
		index = strtol(argv[2], &end, 10);
		if (*end || index < 1)
			return err_set("--index takes a position from 1");
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3) {
		cli_usage(argv[0]);
		goto out;
	}
	if (cli_need_app(argc, argv, 2, 1) < 0 || build_buildpack_check(argv[2]) < 0)
		goto out;
	/* A path on the server would let any pusher read repositories of this host
	 * (another app's repo.git): only an admin on the server may name one. */
	if (caller_is_remote() && build_buildpack_is_local(argv[2])) {
		err_set("a buildpack path on the server can only be added on the server "
			"(wharf buildpacks:add as root), not over ssh");
		goto out;
	}
	if (load_chain(&l, argv[1], &app, &chain) < 0)
		goto out;
	if (chain_find(chain, argv[2]) >= 0) {
		err_set("%s already uses the buildpack %s", argv[1], argv[2]);
		goto out;
	}
	if (index && (size_t)index <= json_array_size(chain))
		json_array_insert_new(chain, (size_t)index - 1, json_string(argv[2]));
	else
		json_array_append_new(chain, json_string(argv[2]));
	if (state_app_save(argv[1], app) < 0)
		goto out;
	print_chain(argv[1], chain);
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

int cmd_buildpacks_remove(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *chain;
	long i;
	int ret = -1;

	if (argc != 3) {
		cli_usage(argv[0]);
		goto out;
	}
	if (cli_need_app(argc, argv, 2, 1) < 0 || load_chain(&l, argv[1], &app, &chain) < 0)
		goto out;
	if ((i = chain_find(chain, argv[2])) < 0) {
		err_set("%s does not use the buildpack %s", argv[1], argv[2]);
		goto out;
	}
	json_array_remove(chain, (size_t)i);
	if (state_app_save(argv[1], app) < 0)
		goto out;
	print_chain(argv[1], chain);
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

int cmd_buildpacks_clear(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *chain;
	int ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0 || load_chain(&l, argv[1], &app, &chain) < 0)
		goto out;
	json_array_clear(chain);
	json_object_del(app, "buildpacks");
	if (state_app_save(argv[1], app) < 0)
		goto out;
	say_step("Cleared the buildpacks of %s: the next push detects one", argv[1]);
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

int cmd_repo_purge_cache(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	/* Under the app's lock: a build running now keeps its cache until it ends. */
	if (cli_need_app(argc, argv, 1, 1) < 0 || state_app_lock(&l, argv[1]) < 0)
		goto out;
	if (build_purge_cache(argv[1]) < 0)
		goto out;
	say_step("Purged the build cache of %s", argv[1]);
	ret = 0;
out:
	lock_release(&l);
	return ret;
}
