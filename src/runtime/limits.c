/* src/runtime/limits.c - parsers for what users set on containers: restart policies,
 * memory sizes and CPU counts, in Docker's units. Pure: no I/O, unit-tested. */
#include "runtime/runtime.h"

#include <ctype.h>
#include <string.h>

#define RETRY_MAX  1000
#define MEMORY_MIN (6LL << 20) /* Docker refuses less than 6 MiB */
#define MEMORY_MAX (1024LL << 30)
#define NANO       1000000000LL
#define CPUS_MAX   1024

int runtime_parse_restart_policy(const char *given, struct buf *name, int *max_retry)
{
	static const char *plain[] = { "no", "always", "unless-stopped", "on-failure", NULL };
	const char **p, *s = given ? given : "";
	size_t n;
	long v = 0;

	*max_retry = 0;
	for (p = plain; *p; p++)
		if (!strcmp(s, *p))
			return name ? buf_addstr(name, s) : 0;
	if (strncmp(s, "on-failure:", 11))
		goto bad;
	s += 11;
	n = strlen(s);
	/* Digits only: "on-failure:+3", " 3" or "0x3" are typos, not counts. */
	if (!n || n > 4 || strspn(s, "0123456789") != n || s[0] == '0')
		goto bad;
	for (; *s; s++)
		v = v * 10 + (*s - '0');
	if (v > RETRY_MAX)
		goto bad;
	*max_retry = (int)v;
	return name ? buf_addstr(name, "on-failure") : 0;
bad:
	return err_set("invalid restart policy '%s': use no, always, unless-stopped, on-failure "
		       "or on-failure:N (N from 1 to %d)",
		       given ? given : "", RETRY_MAX);
}

/* The one size parser (size_parse(), src/common) with Docker's bounds for memory. */
int runtime_parse_memory(const char *s, long long *bytes)
{
	long long v;

	*bytes = 0;
	if (size_parse(s, &v) < 0) {
		if (!strncmp(err_msg(), "invalid", 7))
			return err_set("invalid memory '%s': use a whole number with an optional "
				       "unit b, k, m or g (256m, 1g)",
				       s ? s : "");
		v = MEMORY_MAX + 1; /* too large to count: over the bound */
	}
	if (v > MEMORY_MAX)
		return err_set("memory '%s' is more than 1024g", s);
	if (v < MEMORY_MIN)
		return err_set("memory '%s' is less than 6m, the least Docker accepts", s);
	*bytes = v;
	return 0;
}

int runtime_parse_cpus(const char *s, long long *nano)
{
	const char *p = s ? s : "";
	long long whole = 0, frac = 0, scale = NANO;
	size_t w = strspn(p, "0123456789"), f = 0;

	*nano = 0;
	if (!w || w > 4)
		goto bad;
	for (; isdigit((unsigned char)*p); p++)
		whole = whole * 10 + (*p - '0');
	if (*p == '.') {
		p++;
		f = strspn(p, "0123456789");
		if (!f || f > 9)
			goto bad;
		for (; isdigit((unsigned char)*p); p++) {
			scale /= 10;
			frac += (*p - '0') * scale;
		}
	}
	if (*p)
		goto bad;
	if (whole > CPUS_MAX || (whole == CPUS_MAX && frac))
		return err_set("cpu '%s' is more than %d CPUs", s, CPUS_MAX);
	if (whole * NANO + frac < NANO / 100)
		return err_set("cpu '%s' is less than 0.01, the least Docker accepts", s);
	*nano = whole * NANO + frac;
	return 0;
bad:
	return err_set("invalid cpu '%s': use a number of CPUs such as 0.5, 1 or 2", s ? s : "");
}
