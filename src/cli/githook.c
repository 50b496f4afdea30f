/* githook.c - `wharf git-hook <app>`, run by the app repository's pre-receive
 * hook: a push to the deploy branch deploys; a failed deploy rejects the push. */
#include "cli.h"
#include "plugins/plugins.h"
#include "receiver/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REFS 1000

/* The deploy branch is the app's `deploy_branch`, else main or master. */
static int is_deploy_ref(const json_t *app, const char *ref)
{
	const char *branch = json_str(app, "deploy_branch", NULL);

	if (strncmp(ref, "refs/heads/", 11))
		return 0;
	ref += 11;
	if (branch)
		return !strcmp(ref, branch);
	return !strcmp(ref, "main") || !strcmp(ref, "master");
}

/* Other branches are kept, but not without bound: each push is held to
 * receive.maxInputSize, and the repository to RECEIVER_REFS_MAX refs. */
static int refs_room(const char *app, int created, const char *deploy_branch)
{
	struct buf repo = BUF_INIT;
	size_t have = 0;
	int ret = -1;

	if (wharf_app_path(&repo, app, "repo.git") < 0 || receiver_repo_count_refs(repo.buf, &have) < 0)
		goto out;
	if (have + (size_t)created > RECEIVER_REFS_MAX) {
		err_set("refused: %s keeps at most %d branches and tags; only %s deploys: delete "
			"branches you no longer need (git push REMOTE :BRANCH)", app, RECEIVER_REFS_MAX,
			deploy_branch);
		goto out;
	}
	ret = 0;
out:
	buf_release(&repo);
	return ret;
}

int cmd_git_hook(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct push_ref ref, deploy;
	json_t *app = NULL;
	int nrefs = 0, have_deploy = 0, created = 0, ret = -1;

	if (argc != 2)
		return cli_usage(argv[0]);
	/* The pusher's key name, handed down by ssh-command through git: kept as
	 * the record of who deployed (and told to plugins), never used to decide. */
	caller_set(getenv("WHARF_SSH_KEY"), CALLER_LOCAL, 0);
	if (valid_app_name(argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		return -1;
	/* apps:lock: the push is refused before anything is built. */
	if (json_is_true(json_object_get(app, "locked"))) {
		err_set("%s is locked: apps:unlock %s to deploy", argv[1], argv[1]);
		goto out;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = strcspn(line, "\n");
		if (++nrefs > MAX_REFS) {
			err_set("refused: more than %d refs in one push", MAX_REFS);
			goto out;
		}
		if (receiver_parse_ref_line(&ref, line, len) < 0)
			goto out;
		if (!is_deploy_ref(app, ref.ref)) {
			if (receiver_oid_is_zero(ref.old_oid) && !receiver_oid_is_zero(ref.new_oid))
				created++;
			say_step("Not deploying %s: only the deploy branch deploys (%s)", ref.ref,
				 json_str(app, "deploy_branch", "main or master"));
			continue;
		}
		if (receiver_oid_is_zero(ref.new_oid)) {
			err_set("refused: deleting the deploy branch %s is not allowed", ref.ref);
			goto out;
		}
		deploy = ref;
		have_deploy = 1;
	}
	if (created && refs_room(argv[1], created, json_str(app, "deploy_branch", "main")) < 0)
		goto out;
	if (!have_deploy) {
		ret = 0;
		goto out;
	}
	if (plugins_pre("pre-receive-app", argv[1],
			(const char *[]){ argv[1], deploy.new_oid, deploy.ref, NULL }) < 0)
		goto out;
	ret = cli_deploy_push(argv[1], deploy.new_oid);
out:
	free(line);
	json_decref(app);
	return ret;
}
