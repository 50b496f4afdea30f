/* say.c - progress and error lines in Dokku's output conventions. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int quiet;
static int to_stderr;
static struct buf *tap;

void say_tap(struct buf *b)
{
	tap = b;
}

/* A full tap keeps the newest output: a failure's reason comes last. */
static void tap_add(const char *prefix, const char *text, size_t len)
{
	size_t need = strlen(prefix) + len + 1;

	if (!tap)
		return;
	if (tap->max && need > tap->max)
		return;
	if (tap->max && tap->len + need > tap->max) {
		/* A quarter more than needed goes, so this is not done on every line. */
		size_t drop = tap->len + need - tap->max + tap->max / 4;
		buf_remove_front(tap, drop > tap->len ? tap->len : drop);
	}
	if (buf_addstr(tap, prefix) < 0 || buf_add(tap, text, len) < 0 || buf_addch(tap, '\n') < 0)
		buf_reset(tap);
}

void say_set_stderr(int on)
{
	to_stderr = on;
}

void say_set_quiet(int q)
{
	quiet = q;
}

static void say_v(const char *prefix, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (buf_vaddf(&b, fmt, ap) == 0)
		say_lines(prefix, b.buf, b.len);
	buf_release(&b);
}

#define SAY_BODY(cond, prefix)  \
	va_list ap;             \
	if (!(cond))            \
		return;         \
	va_start(ap, fmt);      \
	say_v(prefix, fmt, ap); \
	va_end(ap)

void say_step(const char *fmt, ...)
{
	va_list ap;

	if (say_tracing()) {
		struct buf b = BUF_INIT;

		va_start(ap, fmt);
		if (buf_vaddf(&b, fmt, ap) == 0)
			say_trace("step: %s", b.buf);
		va_end(ap);
		buf_release(&b);
	}
	if (quiet)
		return;
	va_start(ap, fmt);
	say_v("-----> ", fmt, ap);
	va_end(ap);
}
void say_section(const char *fmt, ...)
{
	SAY_BODY(!quiet, "=====> ");
}
void say_detail(const char *fmt, ...)
{
	SAY_BODY(!quiet, "       ");
}

/* --trace sets WHARF_TRACE=1 in the environment, so the processes a command starts
 * (git receive-pack, the pre-receive hook's `wharf git-hook`) trace too. */
int say_tracing(void)
{
	static int tracing = -1;
	const char *v;

	if (tracing < 0) {
		v = getenv("WHARF_TRACE");
		tracing = v && *v && strcmp(v, "0") != 0;
	}
	return tracing;
}

/* Wall-clock time with milliseconds: comparable across the processes of a push. */
void say_trace(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (!say_tracing())
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) == 0) {
		fflush(stdout);
		fprintf(stderr, " trace  %02d:%02d:%02d.%03ld  %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, (long)(tv.tv_usec / 1000), b.buf);
		fflush(stderr);
	}
	va_end(ap);
	buf_release(&b);
}

void say_warn(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(&b, fmt, ap) == 0) {
		fflush(stdout);
		fprintf(stderr, " !     %s\n", b.buf);
		fflush(stderr);
		tap_add(" !     ", b.buf, b.len);
	}
	va_end(ap);
	buf_release(&b);
}

/* Prints text line by line, each with prefix; a missing final newline is added.
 * Carriage returns (progress bars) end a line too, so output stays one line per line. */
void say_lines(const char *prefix, const char *text, size_t len)
{
	size_t i = 0;

	FILE *f = to_stderr ? stderr : stdout;

	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		if (j > i) {
			fprintf(f, "%s%.*s\n", prefix, (int)(j - i), text + i);
			tap_add(prefix, text + i, j - i);
		}
		i = j + 1;
	}
	fflush(f);
}
