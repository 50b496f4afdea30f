/* caller.c - who runs this wharf: set once by `wharf ssh-command` (or the git
 * hook it leads to), asked by commands that treat remote callers differently.
 * It lives in this process only: no child inherits it as a trusted variable. */
#include "common.h"

static struct caller current;   /* zero: local */

void caller_set(const char *key, enum caller_role role, int remote)
{
	current.key = key;
	current.role = role;
	current.remote = remote;
}

const struct caller *caller_get(void)
{
	return &current;
}

int caller_is_remote(void)
{
	return current.remote;
}
