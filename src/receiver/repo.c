/* repo.c - an app's bare repository and the hook that deploys pushes to it. */
#include "internal.h"

#include <git2.h>
#include <string.h>

/* Branches other than the deploy branch are kept (pushes of them are bounded by
 * receive.maxInputSize and the hook's count of refs), and what a deleted or
 * rewritten branch held is removed at once, not after git's two weeks. */
static const char post_receive[] =
	"#!/bin/sh\n"
	"# Written by wharf: the objects of deleted or rewritten branches go at once.\n"
	"z=0000000000000000000000000000000000000000\n"
	"gc=\n"
	"while read -r old new ref; do\n"
	"\tif [ \"$new\" = $z ]; then gc=1\n"
	"\telif [ \"$old\" != $z ] && ! git merge-base --is-ancestor \"$old\" \"$new\" 2>/dev/null; then gc=1\n"
	"\tfi\n"
	"done\n"
	"[ -z \"$gc\" ] || exec git gc --quiet --prune=now\n";

/* The pre-receive hook is a two-line shell script: everything it needs reaches it
 * through the environment git-receive-pack inherited from `wharf ssh-command`. */
static int write_hook(const char *repo_path, const char *app, const char *wharf_exe)
{
	struct buf path = BUF_INIT, body = BUF_INIT;
	int ret = -1;

	if (strspn(wharf_exe, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+")
	    != strlen(wharf_exe) || wharf_exe[0] != '/') {
		err_set("wharf's path '%s' has characters a hook cannot carry", wharf_exe);
		goto out;
	}
	if (buf_addf(&path, "%s/hooks", repo_path) < 0 || fs_mkdir_p(path.buf, 0755) < 0)
		goto out;
	if (buf_addstr(&path, "/pre-receive") < 0 ||
	    buf_addf(&body, "#!/bin/sh\n# Written by wharf: deploys pushes to the deploy branch.\n"
		     "exec '%s' git-hook '%s'\n", wharf_exe, app) < 0 ||
	    fs_write_atomic(path.buf, body.buf, body.len, 0755) < 0)
		goto out;
	buf_setlen(&path, path.len - strlen("pre-receive"));
	if (buf_addstr(&path, "post-receive") < 0)
		goto out;
	ret = fs_write_atomic(path.buf, post_receive, strlen(post_receive), 0755);
out:
	buf_release(&path);
	buf_release(&body);
	return ret;
}

long long receiver_push_max_bytes(void)
{
	json_t *g = NULL;
	long long n = RECEIVER_PUSH_MAX_DEFAULT;

	if (state_global_load(&g) == 0 && json_is_integer(json_object_get(g, "git_max_push_size")) &&
	    json_integer_value(json_object_get(g, "git_max_push_size")) > 0)
		n = json_integer_value(json_object_get(g, "git_max_push_size"));
	err_clear();
	json_decref(g);
	return n;
}

/* receive.maxInputSize: git-receive-pack itself stops reading a pack that grows
 * past it ("pack exceeds maximum allowed size"), before any of it is kept. */
static int set_limits(git_repository *repo)
{
	git_config *cfg = NULL;
	int ret;

	ret = git_repository_config(&cfg, repo) < 0 ||
	      git_config_set_int64(cfg, "receive.maxInputSize", receiver_push_max_bytes()) < 0
		? -1 : 0;
	git_config_free(cfg);
	return ret;
}

int receiver_repo_ensure(const char *app, const char *wharf_exe, int *created)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	struct buf path = BUF_INIT;
	int ret = -1;

	*created = 0;
	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	if (valid_app_name(app) < 0 || wharf_app_path(&path, app, "repo.git") < 0)
		goto out;
	git_libgit2_init();
	if (fs_is_dir(path.buf)) {
		/* Refresh: wharf may have moved, the push limit may have changed. */
		if (write_hook(path.buf, app, wharf_exe) < 0)
			goto out;
		if (git_repository_open_bare(&repo, path.buf) < 0 || set_limits(repo) < 0) {
			receiver__git_fail("cannot configure the app's repository");
			goto out;
		}
		ret = 0;
		goto out;
	}
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		     GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	if (git_repository_init_ext(&repo, path.buf, &opts) < 0) {
		receiver__git_fail("cannot create the app's repository");
		goto out;
	}
	/* Objects from a push are checked by git itself before the hook sees them:
	 * names such as ".." or ".git" in a tree never reach the export. */
	if (git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_bool(cfg, "receive.fsckObjects", 1) < 0 ||
	    git_config_set_bool(cfg, "receive.denyDeleteCurrent", 1) < 0 || set_limits(repo) < 0) {
		receiver__git_fail("cannot configure the app's repository");
		goto out;
	}
	if (write_hook(path.buf, app, wharf_exe) < 0)
		goto out;
	*created = 1;
	ret = 0;
out:
	git_config_free(cfg);
	git_repository_free(repo);
	buf_release(&path);
	return ret;
}

int receiver_repo_count_refs(const char *repo_path, size_t *n)
{
	git_repository *repo = NULL;
	git_strarray refs = { 0 };
	int ret = -1;

	*n = 0;
	git_libgit2_init();
	if (git_repository_open_bare(&repo, repo_path) < 0 || git_reference_list(&refs, repo) < 0) {
		receiver__git_fail("cannot list the app's refs");
		goto out;
	}
	*n = refs.count;
	ret = 0;
out:
	git_strarray_dispose(&refs);
	git_repository_free(repo);
	return ret;
}
