/* ssh.c - what an ssh client may ask for: a git push/fetch of one app, or a
 * wharf command. Everything else is refused before anything runs. */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

void ssh_request_release(struct ssh_request *r)
{
	free(r->app);
	receiver_words_free(r->argv);
	r->app = NULL;
	r->argv = NULL;
	r->argc = 0;
}

int receiver_app_from_path(struct buf *app, const char *path)
{
	size_t n;
	size_t start = app->len;

	if (*path == '/')
		path++;
	n = strlen(path);
	if (n && path[n - 1] == '/')
		n--;
	if (n >= 4 && !memcmp(path + n - 4, ".git", 4))
		n -= 4;
	if (buf_add(app, path, n) < 0)
		return -1;
	if (valid_app_name(app->buf + start) < 0) {
		buf_setlen(app, start);
		return -1;
	}
	return 0;
}

int receiver_parse_ssh(struct ssh_request *out, const char *cmdline)
{
	struct buf app = BUF_INIT;
	int ret = -1;

	*out = (struct ssh_request)SSH_REQUEST_INIT;
	if (!cmdline || !*cmdline)
		return err_set("no command given; try `ssh wharf@HOST help`");
	if (receiver_split_words(&out->argv, &out->argc, cmdline) < 0)
		goto out;
	if (!strcmp(out->argv[0], "git-receive-pack"))
		out->kind = SSH_GIT_RECEIVE;
	else if (!strcmp(out->argv[0], "git-upload-pack"))
		out->kind = SSH_GIT_UPLOAD;
	else if (!strncmp(out->argv[0], "git-", 4) || !strcmp(out->argv[0], "git"))
		goto refused_git;
	if (out->kind == SSH_WHARF) {
		ret = 0;
		goto out;
	}
	if (out->argc != 2)
		goto refused_git;
	if (receiver_app_from_path(&app, out->argv[1]) < 0) {
		err_set("refused: '%s' is not an app (app names use lowercase letters, "
			"digits, '.' and '-')",
			out->argv[1]);
		goto out;
	}
	out->app = buf_detach(&app, NULL);
	ret = 0;
	goto out;
refused_git:
	err_set("refused: only `git-receive-pack '<app>'` and `git-upload-pack '<app>'` "
		"are accepted");
out:
	if (ret < 0)
		ssh_request_release(out);
	buf_release(&app);
	return ret;
}
