/* err.c - the one thread-local error message, in the manner of git_error_set(),
 * with libgit2's save/restore around cleanup and a prefix added in place. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_text[ERR_MAX];

/* Formats into a scratch buffer first: an argument may point into err_text
 * (err_set("x: %s", err_msg())), and vsnprintf must not read what it writes. */
static void err_vset(const char *prefix_fmt, va_list ap, int keep, const char *suffix)
{
	char tmp[ERR_MAX];
	int n = vsnprintf(tmp, sizeof(tmp), prefix_fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(tmp) ? sizeof(tmp) - 1 : (size_t)n;

	if (keep)
		snprintf(tmp + len, sizeof(tmp) - len, "%s", err_msg());
	else if (suffix)
		snprintf(tmp + len, sizeof(tmp) - len, "%s", suffix);
	memcpy(err_text, tmp, sizeof(err_text));
}

int err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap, 0, NULL);
	va_end(ap);
	return -1;
}

int err_set_errno(const char *fmt, ...)
{
	int saved = errno;
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(saved));
	va_start(ap, fmt);
	err_vset(fmt, ap, 0, suffix);
	va_end(ap);
	errno = saved;
	return -1;
}

int err_prefix(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap, 1, NULL);
	va_end(ap);
	return -1;
}

const char *err_msg(void)
{
	return err_text[0] ? err_text : "unknown error";
}

void err_clear(void)
{
	err_text[0] = '\0';
}

void err_save(struct err_saved *s)
{
	memcpy(s->text, err_text, sizeof(s->text));
}

int err_restore(const struct err_saved *s)
{
	memcpy(err_text, s->text, sizeof(err_text));
	return -1;
}
