/* src/cli/cli.h - the command table shared by the files of src/cli/. */
#ifndef WHARF_CLI_H
#define WHARF_CLI_H

#include "common.h"

/* A command returns 0 on success, or -1 after err_set() (main prints it with
 * " !     " and exits 1), or a positive exit code it chose itself. argv[0] is the
 * command name; options specific to the command follow. */
typedef int command_fn(int argc, char **argv);

struct command {
	const char *name;        /* "config:set" */
	command_fn *fn;
	const char *args;        /* "<app> KEY=VALUE…" for help */
	const char *help;        /* one line */
	unsigned    flags;
};
#define CMD_SSH_OK   0x1     /* may be run through `ssh wharf@host …` */
#define CMD_HIDDEN   0x2     /* internal: not listed in help */
#define CMD_AS_ROOT  0x4     /* keeps root: does not drop to WHARF_ROOT's owner */

extern const struct command commands[];
const struct command *command_find(const char *name);
/* Runs argv[0] from the command table (used by main and ssh-command). */
int command_dispatch(int argc, char **argv);

/* Global flags parsed by main (Dokku's --quiet, --force, --app). */
extern int cli_force;
extern int cli_quiet;

int cmd_router(int argc, char **argv);   /* src/cli/router.c */

#endif
