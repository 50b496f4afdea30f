/* err.c - the one thread-local error message, in the manner of git_error_set(). */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_text[1024];

int err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_text, sizeof(err_text), fmt, ap);
	va_end(ap);
	return -1;
}

int err_set_errno(const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_text, sizeof(err_text), fmt, ap);
	va_end(ap);
	n = strlen(err_text);
	snprintf(err_text + n, sizeof(err_text) - n, ": %s", strerror(saved));
	errno = saved;
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
