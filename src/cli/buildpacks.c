/* buildpacks.c - the buildpacks:* commands (the app's buildpack chain, kept in
 * app.json as "buildpacks") and repo:purge-cache. */
#include "cli.h"
#include "build/build.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	if (cli_need_app(argc, argv, 1, 1) < 0 || app_load(argv[1], &app) < 0)
		goto out;
	print_chain(argv[1], app_get(app, APP_BUILDPACKS));
	ret = 0;
out:
	json_decref(app);
	return ret;
}

/* One change of the chain, made by change_chain() under the app's lock. */
enum chain_change { CHAIN_ADD, CHAIN_REMOVE, CHAIN_CLEAR };

struct chain_req {
	enum chain_change what;
	const char *ref; /* the buildpack added or removed */
	long index;      /* CHAIN_ADD: 1-based position, 0 for the end */
	json_t *chain;   /* after the change, for print_chain() (a reference) */
};

/* app_update() callback: the change to app.json's "buildpacks". */
static int change_chain(const char *app, json_t *doc, void *data)
{
	struct chain_req *rq = data;
	json_t *chain = app_ensure(doc, APP_BUILDPACKS);
	long i;

	if (!chain)
		return -1;
	if (rq->what == CHAIN_ADD) {
		if (chain_find(chain, rq->ref) >= 0)
			return err_set("%s already uses the buildpack %s", app, rq->ref);
		if (rq->index && (size_t)rq->index <= json_array_size(chain))
			json_array_insert_new(chain, (size_t)rq->index - 1, json_string(rq->ref));
		else
			json_array_append_new(chain, json_string(rq->ref));
	} else if (rq->what == CHAIN_REMOVE) {
		if ((i = chain_find(chain, rq->ref)) < 0)
			return err_set("%s does not use the buildpack %s", app, rq->ref);
		json_array_remove(chain, (size_t)i);
	} else {
		json_array_clear(chain);
		app_unset(doc, APP_BUILDPACKS);
	}
	rq->chain = json_incref(chain);
	return 1;
}

/* Runs one change and prints the chain after it (CHAIN_CLEAR prints nothing). */
static int update_chain(const char *app, struct chain_req *rq)
{
	int ret = app_update(app, change_chain, rq);

	if (ret >= 0 && rq->what != CHAIN_CLEAR)
		print_chain(app, rq->chain);
	json_decref(rq->chain);
	return ret < 0 ? -1 : 0;
}

/* buildpacks:add [--index N] <app> URL: appends (or inserts at 1-based N). */
int cmd_buildpacks_add(int argc, char **argv)
{
	struct chain_req rq = { .what = CHAIN_ADD };

	if (argc > 2 && !strcmp(argv[1], "--index")) {
		long long index;
		if (num_parse(argv[2], 1, LONG_MAX, &index) < 0)
			return err_set("--index takes a position from 1");
		rq.index = (long)index;
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc != 3)
		return cli_usage(argv[0]);
	if (cli_need_app(argc, argv, 2, 1) < 0 || build_buildpack_check(argv[2]) < 0)
		return -1;
	/* A path on the server would let any pusher read repositories of this host
	 * (another app's repo.git): only an admin on the server may name one. */
	if (caller_is_remote() && build_buildpack_is_local(argv[2]))
		return err_set("a buildpack path on the server can only be added on the server "
			       "(wharf buildpacks:add as root), not over ssh");
	rq.ref = argv[2];
	return update_chain(argv[1], &rq);
}

int cmd_buildpacks_remove(int argc, char **argv)
{
	struct chain_req rq = { .what = CHAIN_REMOVE };

	if (argc != 3)
		return cli_usage(argv[0]);
	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	rq.ref = argv[2];
	return update_chain(argv[1], &rq);
}

int cmd_buildpacks_clear(int argc, char **argv)
{
	struct chain_req rq = { .what = CHAIN_CLEAR };

	if (cli_need_app(argc, argv, 1, 1) < 0 || update_chain(argv[1], &rq) < 0)
		return -1;
	say_step("Cleared the buildpacks of %s: the next push detects one", argv[1]);
	return 0;
}

int cmd_repo_purge_cache(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	/* Under the app's lock: a build running now keeps its cache until it ends. */
	if (cli_need_app(argc, argv, 1, 1) < 0 || app_lock(&l, argv[1]) < 0)
		goto out;
	if (build_purge_cache(argv[1]) < 0)
		goto out;
	say_step("Purged the build cache of %s", argv[1]);
	ret = 0;
out:
	lock_release(&l);
	return ret;
}
