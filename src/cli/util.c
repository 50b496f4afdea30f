/* util.c - small helpers shared by the command families. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage(const char *name)
{
	const struct command *c = command_find(name);
	return err_set("usage: wharf %s %s", name, c ? c->args : "");
}

int cli_need_app(int argc, char **argv, int min_args, int must_exist)
{
	if (argc < min_args + 1)
		return cli_usage(argv[0]);
	if (valid_app_name(argv[1]) < 0)
		return -1;
	if (must_exist && !app_exists(argv[1]))
		return err_set("app '%s' does not exist", argv[1]);
	return 0;
}

int cli_self_exe(struct buf *out)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n < 0)
		return err_set_errno("cannot find wharf's own path");
	path[n] = '\0';
	return buf_addstr(out, path);
}
