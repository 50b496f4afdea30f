/* sshcmd.c - `wharf ssh-command --key NAME`: the forced command of every key.
 * Runs exactly what SSH_ORIGINAL_COMMAND asks for when it is a git push or fetch
 * of an app, or a wharf command allowed over ssh; refuses everything else. */
#include "cli.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first push of an app creates it, but only when Docker answers: a push to a
 * wharf whose dockerd is down must not leave a half-made app behind. Nothing
 * may go to stdout here: it carries git's protocol. */
static int ensure_app_for_push(const char *app)
{
	struct docker *d = NULL;
	struct buf exe = BUF_INIT;
	int created, ret = -1;

	if (!state_app_exists(app)) {
		if (docker_new(&d, NULL) < 0)
			goto out;
		fprintf(stderr, "-----> Creating app %s\n", app);
		if (state_app_create(app) < 0)
			goto out;
	}
	if (cli_self_exe(&exe) < 0 || receiver_repo_ensure(app, exe.buf, &created) < 0)
		goto out;
	ret = 0;
out:
	docker_free(d);
	buf_release(&exe);
	return ret;
}

static int exec_git(const char *service, const char *app)
{
	struct buf repo = BUF_INIT;

	if (wharf_app_path(&repo, app, "repo.git") < 0)
		return -1;
	fflush(stdout);
	execlp("git", "git", service, repo.buf, (char *)NULL);
	err_set_errno("cannot run git %s", service);
	buf_release(&repo);
	return -1;
}

static int has_help_flag(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

int cmd_ssh_command(int argc, char **argv)
{
	struct ssh_request req = SSH_REQUEST_INIT;
	struct lock l = LOCK_INIT;
	const struct command *c;
	const char *key = NULL;
	int i = 0, ret = -1;

	if (argc == 3 && !strcmp(argv[1], "--key") && valid_key_name(argv[2]) == 0)
		key = argv[2];
	if (!key)
		return err_set("usage: wharf ssh-command --key NAME (run by sshd for a key)");
	setenv("WHARF_SSH_KEY", key, 1);
	if (receiver_parse_ssh(&req, getenv("SSH_ORIGINAL_COMMAND")) < 0)
		goto out;
	switch (req.kind) {
	case SSH_GIT_RECEIVE:
		/* Pushes of an app queue here, before git receive-pack even advertises
		 * its refs: git updates a ref only if it still has the value the pusher
		 * saw, so a push let in while another deploys would be refused after its
		 * own deploy ran. The lock stays held through exec and the hook; the
		 * queue's messages go to stderr, as stdout carries git's protocol. */
		say_set_stderr(1);
		if (ensure_app_for_push(req.app) < 0 || state_app_lock(&l, req.app) < 0 ||
		    lock_keep_on_exec(&l) < 0)
			goto out;
		setenv("WHARF_APP_LOCKED", req.app, 1);
		ret = exec_git("receive-pack", req.app);
		goto out;
	case SSH_GIT_UPLOAD:
		if (!state_app_exists(req.app)) {
			err_set("app '%s' does not exist", req.app);
			goto out;
		}
		ret = exec_git("upload-pack", req.app);
		goto out;
	case SSH_WHARF:
		break;
	}
	/* Global flags may come first, as with a local `wharf`; the command after
	 * them must be one that is allowed over ssh. */
	while (i < req.argc && req.argv[i][0] == '-')
		i += !strcmp(req.argv[i], "--app") ? 2 : 1;
	if (i >= req.argc) {
		err_set("refused: no command given; see `ssh wharf@HOST help`");
		goto out;
	}
	c = command_find(req.argv[i]);
	/* Help is harmless: `FAMILY:help`, a bare family name (Dokku shows the family's
	 * help) and `COMMAND --help` of any command print text and run nothing. */
	if (!c && !strchr(req.argv[i], ':'))
		;
	else if (c && strcmp(c->name, "router") && has_help_flag(req.argc - i, req.argv + i))
		;
	else if (!strstr(req.argv[i], ":help") && (!c || !(c->flags & CMD_SSH_OK))) {
		err_set(c ? "refused: `%s` cannot be run over ssh"
			  : "refused: `%s` is not a wharf command; see `ssh wharf@HOST help`",
			req.argv[i]);
		goto out;
	}
	ret = cli_run_argv(req.argc, req.argv);
out:
	lock_release(&l);
	ssh_request_release(&req);
	return ret;
}
