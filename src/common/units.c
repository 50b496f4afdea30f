/* units.c - sizes, durations and points in time as users type them ("256m", "90s",
 * "2026-01-01T10:00:00Z"): the one parser of each, for every part. Pure: no I/O. */
#include "common.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#define SIZE_MAX_BYTES (1LL << 50) /* a pebibyte: beyond any limit wharf sets */

int size_parse(const char *s, long long *bytes)
{
	const char *p = s ? s : "";
	long long v = 0, mult = 1;
	size_t digits = strspn(p, "0123456789");

	*bytes = 0;
	/* Digits only in front: "-1m", " 256m" or "0x10m" are typos, not sizes. */
	if (!digits || digits > 16)
		goto bad;
	for (; isdigit((unsigned char)*p); p++)
		v = v * 10 + (*p - '0');
	switch (tolower((unsigned char)*p)) {
	case '\0':
		break;
	case 'b':
		p++;
		break;
	case 'k':
		mult = 1LL << 10;
		p++;
		break;
	case 'm':
		mult = 1LL << 20;
		p++;
		break;
	case 'g':
		mult = 1LL << 30;
		p++;
		break;
	default:
		goto bad;
	}
	if (mult > 1 && tolower((unsigned char)*p) == 'b')
		p++; /* "256mb" is "256m" */
	if (*p)
		goto bad;
	if (v > SIZE_MAX_BYTES / mult)
		return err_set("size '%s' is too large", s);
	*bytes = v * mult;
	return 0;
bad:
	return err_set("invalid size '%s': use a whole number with an optional unit b, k, m or g "
		       "(256m, 1g)",
		       s ? s : "");
}

int num_parse(const char *s, long long lo, long long hi, long long *out)
{
	const char *p = s + (*s == '-');
	unsigned long long v = 0;
	long long n;

	if (!*p)
		return -1;
	for (; *p; p++) {
		/* Past 2^62 no bound a caller has is near: refused before it overflows. */
		if (*p < '0' || *p > '9' || v > (1ULL << 62) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	n = *s == '-' ? -(long long)v : (long long)v;
	if (n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

int size_format(struct buf *out, long long bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		return buf_addf(out, "%lldB", bytes);
	return buf_addf(out, "%.*f%s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
}

int duration_parse(const char *s, long long *secs)
{
	const char *p = s ? s : "";
	long long total = 0;

	*secs = 0;
	if (!*p)
		goto bad;
	/* One or more NUMBER UNIT groups, Go's way ("1h30m"); units s, m, h, d. */
	while (*p) {
		size_t digits = strspn(p, "0123456789");
		long long v = 0, mult;

		if (!digits || digits > 9)
			goto bad;
		for (; isdigit((unsigned char)*p); p++)
			v = v * 10 + (*p - '0');
		switch (*p++) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			goto bad;
		}
		total += v * mult;
		if (total > 100LL * 365 * 86400)
			return err_set("duration '%s' is more than 100 years", s);
	}
	*secs = total;
	return 0;
bad:
	return err_set("invalid duration '%s': use a number with a unit s, m, h or d (90s, 10m, "
		       "1h30m, 2d)",
		       s ? s : "");
}

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" with an optional "Z" (UTC either way). */
static int iso_parse(const char *s, long long *out)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return -1;
	if (*end == 'T' || *end == ' ') {
		const char *e2 = strptime(end + 1, "%H:%M:%S", &tm);
		if (!e2)
			e2 = strptime(end + 1, "%H:%M", &tm);
		if (!e2)
			return -1;
		end = e2;
	}
	if (*end == 'Z')
		end++;
	if (*end || tm.tm_year < 70 || tm.tm_year > 1100)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (long long)t;
	return 0;
}

int time_parse_since(const char *s, long long now, long long *out)
{
	const char *p = s ? s : "";
	size_t n = strlen(p);
	long long d;

	*out = 0;
	/* Seconds since the epoch, as Docker's own `since`. */
	if (n && n <= 12 && strspn(p, "0123456789") == n) {
		for (; *p; p++)
			*out = *out * 10 + (*p - '0');
		return 0;
	}
	if (n && n <= 32 && iso_parse(p, out) == 0)
		return 0;
	if (duration_parse(p, &d) == 0) {
		*out = now > d ? now - d : 0;
		return 0;
	}
	return err_set("invalid time '%s': use a duration (10m, 2h, 1d), a UTC time "
		       "(2026-01-01T10:00:00Z) or seconds since 1970",
		       s ? s : "");
}
