/* sshcmd.c - `wharf ssh-command --key NAME`: the forced command of every key.
 * Runs exactly what SSH_ORIGINAL_COMMAND asks for when it is a git push or fetch
 * of an app, or a wharf command allowed over ssh, to the keys the access rules
 * let in; refuses everything else, and records every request in the audit log. */
#include "cli.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"
#include "plugins/plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first push of an app creates it (cli_app_create: only when Docker answers,
 * and never half). Nothing may go to stdout here: it carries git's protocol. */
static int ensure_app_for_push(const char *app)
{
	struct buf exe = BUF_INIT;
	int created, ret = -1;

	if (!app_exists(app) && cli_app_create(app, 1) < 0)
		goto out;
	if (cli_self_exe(&exe) < 0 || receiver_repo_ensure(app, exe.buf, &created) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&exe);
	return ret;
}

/* Runs git's side of a push or fetch as a child (stdin/stdout carry git's
 * protocol) and returns its exit code, so the audit log can record it. A push
 * hands the app's lock to git, and through it to the pre-receive hook, by its
 * fd (LOCK_FD_ENV): nothing else this process runs gets it. The key's name
 * goes along as the record of who deployed. */
static int run_git(const char *service, const char *app, const struct lock *l)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf repo = BUF_INIT, lockenv = BUF_INIT, keyenv = BUF_INIT;
	const char *env[3] = { NULL, NULL, NULL };
	int n = 0, ret = -1;

	if (wharf_app_path(&repo, app, "repo.git") < 0 ||
	    buf_addf(&keyenv, "WHARF_SSH_KEY=%s", caller_get()->key) < 0)
		goto out;
	env[n++] = keyenv.buf;
	if (l && l->fd >= 0) {
		if (lock_handover(l, &lockenv) < 0)
			goto out;
		env[n++] = lockenv.buf;
		o.keep_fds[0] = l->fd;
		o.keep_fds[1] = l->ticket_fd;
	}
	o.argv = (const char *[]){ "git", service, repo.buf, NULL };
	o.env_set = env;
	ret = proc_run(&o);
out:
	buf_release(&repo);
	buf_release(&lockenv);
	buf_release(&keyenv);
	return ret;
}

/* The built-in rules (acl.json), then the user-auth trigger, which may refuse
 * too: `user-auth KEY ROLE COMMAND [ARGS…]`. */
static int authorize(const json_t *acl, const char *key, const char *app,
		     enum receiver_access access, int argc, char **argv, const char *app_flag)
{
	const char **targs;
	int i, ret;

	if ((app ? receiver_acl_check_app(acl, key, app)
		 : receiver_acl_check_command(acl, key, access, argc, argv, app_flag)) < 0)
		return -1;
	targs = calloc((size_t)argc + 3, sizeof(*targs));
	if (!targs)
		return err_set("out of memory");
	targs[0] = key;
	targs[1] = receiver_acl_role(acl, key);
	for (i = 0; i < argc; i++)
		targs[i + 2] = argv[i];
	ret = plugins_pre("user-auth", app, targs);
	if (ret < 0)
		err_prefix("refused by plugin ");
	free(targs);
	return ret;
}

static int ssh_run(const char *key)
{
	struct ssh_request req = SSH_REQUEST_INIT;
	struct lock l = LOCK_INIT;
	const struct command *c;
	const char *app_flag = NULL;
	enum receiver_access access;
	json_t *acl = NULL;
	int i = 0, ret = -1;

	if (receiver_parse_ssh(&req, getenv("SSH_ORIGINAL_COMMAND")) < 0 ||
	    receiver_acl_load(&acl) < 0)
		goto out;
	caller_set(key,
		   strcmp(receiver_acl_role(acl, key), "admin") ? CALLER_DEPLOYER : CALLER_ADMIN,
		   1);
	switch (req.kind) {
	case SSH_GIT_RECEIVE:
		/* Pushes of an app queue here, before git receive-pack even advertises
		 * its refs: git updates a ref only if it still has the value the pusher
		 * saw, so a push let in while another deploys would be refused after its
		 * own deploy ran. The lock stays held through exec and the hook; the
		 * queue's messages go to stderr, as stdout carries git's protocol. */
		say_set_stderr(1);
		if (authorize(acl, key, req.app, ACCESS_DEPLOYER, req.argc, req.argv, NULL) < 0)
			goto out;
		if (ensure_app_for_push(req.app) < 0 || app_lock(&l, req.app) < 0)
			goto out;
		ret = run_git("receive-pack", req.app, &l);
		goto out;
	case SSH_GIT_UPLOAD:
		say_set_stderr(1);
		if (authorize(acl, key, req.app, ACCESS_DEPLOYER, req.argc, req.argv, NULL) < 0)
			goto out;
		if (!app_exists(req.app)) {
			err_set("app '%s' does not exist", req.app);
			goto out;
		}
		ret = run_git("upload-pack", req.app, NULL);
		goto out;
	case SSH_WHARF:
		break;
	}
	/* Global flags may come first, as with a local `wharf`; the command after
	 * them must be one that is allowed over ssh. */
	while (i < req.argc && req.argv[i][0] == '-') {
		if (!strcmp(req.argv[i], "--app") && i + 1 < req.argc)
			app_flag = req.argv[i + 1];
		i += !strcmp(req.argv[i], "--app") ? 2 : 1;
	}
	if (i >= req.argc) {
		err_set("refused: no command given; see `ssh wharf@HOST help`");
		goto out;
	}
	c = command_find(req.argv[i]);
	/* Help is harmless: `FAMILY:help`, a bare family name (Dokku shows the family's
	 * help) and `COMMAND --help` of any command print text and run nothing. A name
	 * wharf lacks may be a plugin's command (dispatch asks the plugins). */
	access = cli_command_access(c);
	/* A plugin's command is for admins, unless its plugin lists it for deployers
	 * (then the app words must be the key's own, as for wharf's). */
	if (!c && plugins_deployer_command(req.argv[i]))
		access = ACCESS_DEPLOYER;
	if (access == ACCESS_LOCAL) {
		if (!strcmp(c->name, "router") || !cli_wants_help(req.argc - i, req.argv + i)) {
			err_set("refused: `%s` cannot be run over ssh", req.argv[i]);
			goto out;
		}
		access = ACCESS_ADMIN; /* its --help, for those who may see it */
	}
	if (authorize(acl, key, NULL, access, req.argc - i, req.argv + i, app_flag) < 0)
		goto out;
	ret = cli_run_argv(req.argc, req.argv);
out:
	lock_release(&l);
	json_decref(acl);
	ssh_request_release(&req);
	return ret;
}

int cmd_ssh_command(int argc, char **argv)
{
	struct err_saved msg;
	const char *key = NULL;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "--key") && valid_key_name(argv[2]) == 0)
		key = argv[2];
	if (!key)
		return err_set("usage: wharf ssh-command --key NAME (run by sshd for a key)");
	/* Remote from here on; the least role until the rules are read. */
	caller_set(key, CALLER_DEPLOYER, 1);
	ret = ssh_run(key);
	/* Every request is recorded, refused ones too, with the exit code the
	 * client sees; the command's own error message is kept for main to print. */
	err_save(&msg);
	fflush(stdout);
	if (receiver_audit_append(key, getenv("SSH_ORIGINAL_COMMAND"), ret < 0 ? 1 : ret) < 0)
		fprintf(stderr, " !     audit log: %s\n", err_msg());
	err_restore(&msg);
	return ret;
}
