/* repo.c - an app's bare repository and the hook that deploys pushes to it. */
#include "internal.h"

#include <git2.h>
#include <string.h>

/* The hook is a two-line shell script: everything it needs reaches it through
 * the environment git-receive-pack inherited from `wharf ssh-command`. */
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
		     "exec '%s' git-hook '%s'\n", wharf_exe, app) < 0)
		goto out;
	ret = fs_write_atomic(path.buf, body.buf, body.len, 0755);
out:
	buf_release(&path);
	buf_release(&body);
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
		ret = write_hook(path.buf, app, wharf_exe);   /* refresh: wharf may have moved */
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
	    git_config_set_bool(cfg, "receive.denyDeleteCurrent", 1) < 0) {
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
