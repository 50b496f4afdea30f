/* src/receiver/internal.h - helpers shared by the receiver's files. */
#ifndef WHARF_RECEIVER_INTERNAL_H
#define WHARF_RECEIVER_INTERNAL_H

#include <git2.h>

#include "receiver.h"

/* Records "<what>: <libgit2's last message>" and returns -1. */
static inline int receiver__git_fail(const char *what)
{
	const git_error *e = git_error_last();
	return err_set("%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

#endif
