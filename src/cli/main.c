/* main.c - wharf's entry: runs the command line through the command table
 * (src/cli/commands.c) and prints the error, if any, Dokku's way. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srand((unsigned)time(NULL) ^ (unsigned)getpid() << 16);
	ret = cli_run_argv(argc - 1, argv + 1);
	fflush(stdout);
	if (ret < 0) {
		say_warn("%s", err_msg());
		return 1;
	}
	return ret;
}
