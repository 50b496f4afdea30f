/* cron.c - cron schedules: the five-field syntax of Vixie cron (minute hour
 * day-of-month month day-of-week: '*', N, N-M, lists, '/STEP', month and day
 * names) and Dokku's macros (@hourly, @daily…), evaluated in UTC. Pure: parsing
 * untrusted text from a pushed app.json, fuzzed by tests/fuzz/fuzz_cron.c. */
#include "common.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CRON_TEXT_MAX 256

struct field {
	const char *what; /* for messages */
	int lo, hi;
	const char *const *names; /* NULL, or names of lo..hi (3 letters) */
};

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
				      "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

/* Day of week accepts 7 as Sunday, as every cron does; it is folded into 0. */
static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },  { "hour", 0, 23, NULL },       { "day of month", 1, 31, NULL },
	{ "month", 1, 12, months }, { "day of week", 0, 7, days },
};

static const struct {
	const char *name, *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A number or (for fields with names) a name; advances *p. */
static int value(const char **p, const struct field *f, int *out)
{
	const char *s = *p;
	long n = 0;
	int i, digits = 0;

	if (f->names && isalpha((unsigned char)s[0])) {
		for (i = 0; f->names[i]; i++)
			if (!strncasecmp(s, f->names[i], 3) && !isalnum((unsigned char)s[3])) {
				*out = f->lo + i;
				*p = s + 3;
				return 0;
			}
		return err_set("unknown %s name '%.3s'", f->what, s);
	}
	while (isdigit((unsigned char)*s) && digits < 3) {
		n = n * 10 + (*s++ - '0');
		digits++;
	}
	if (!digits || isdigit((unsigned char)*s))
		return err_set("%s: expected a number from %d to %d", f->what, f->lo, f->hi);
	if (n < f->lo || n > f->hi)
		return err_set("%s %ld is out of range (%d-%d)", f->what, n, f->lo, f->hi);
	*out = (int)n;
	*p = s;
	return 0;
}

/* One comma-separated item: '*', N or N-M, each with an optional /STEP. */
static int item(const char **p, const struct field *f, uint64_t *bits)
{
	int lo, hi, step = 1, v;

	if (**p == '*') {
		lo = f->lo;
		hi = f->hi;
		(*p)++;
	} else {
		if (value(p, f, &lo) < 0)
			return -1;
		hi = lo;
		if (**p == '-') {
			(*p)++;
			if (value(p, f, &hi) < 0)
				return -1;
			if (hi < lo)
				return err_set("%s range %d-%d goes backwards", f->what, lo, hi);
		} else if (**p == '/') {
			hi = f->hi; /* "N/S": from N to the end, as Vixie cron */
		}
	}
	if (**p == '/') {
		const struct field sf = { "step", 1, f->hi - f->lo + 1, NULL };
		(*p)++;
		if (value(p, &sf, &step) < 0)
			return err_prefix("%s: ", f->what);
	}
	for (v = lo; v <= hi; v += step)
		*bits |= 1ull << v;
	return 0;
}

static int field_parse(const char *text, size_t len, const struct field *f, uint64_t *bits,
		       int *star)
{
	char tmp[CRON_TEXT_MAX];
	const char *p = tmp;

	memcpy(tmp, text, len);
	tmp[len] = '\0';
	*bits = 0;
	*star = tmp[0] == '*';
	for (;;) {
		if (item(&p, f, bits) < 0)
			return -1;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return err_set("%s: unexpected '%c' in '%s'", f->what, *p, tmp);
		p++;
	}
}

int cron_parse(struct cron_expr *out, const char *text)
{
	const char *s = text, *start[5];
	size_t len[5], i, n = 0;
	uint64_t bits[5];
	int star[5];

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return err_set("empty schedule");
	if (strlen(text) >= CRON_TEXT_MAX)
		return err_set("schedule longer than %d characters", CRON_TEXT_MAX - 1);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '@') {
		size_t m = strcspn(s, " \t\r\n");
		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == m && !strncasecmp(s, macros[i].name, m)) {
				const char *rest = s + m;
				while (isspace((unsigned char)*rest))
					rest++;
				if (*rest)
					return err_set("unexpected text after %s", macros[i].name);
				return cron_parse(out, macros[i].expr);
			}
		return err_set("unknown macro '%.*s' (use @yearly, @annually, @monthly, @weekly, "
			       "@daily, @midnight or @hourly)",
			       (int)(m > 32 ? 32 : m), s);
	}
	while (*s) {
		if (n == 5)
			return err_set("more than 5 fields (minute hour day-of-month month "
				       "day-of-week)");
		start[n] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		len[n] = (size_t)(s - start[n]);
		n++;
		while (isspace((unsigned char)*s))
			s++;
	}
	if (n != 5)
		return err_set("%zu field%s, expected 5 (minute hour day-of-month month "
			       "day-of-week) or a macro such as @daily",
			       n, n == 1 ? "" : "s");
	for (i = 0; i < 5; i++)
		if (field_parse(start[i], len[i], &fields[i], &bits[i], &star[i]) < 0)
			return -1;
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
	out->dom_star = star[2];
	out->dow_star = star[4];
	/* A schedule that can never fire ("0 0 30 2 *") is a mistake worth reporting
	 * at push time; 8 years always include a Feb 29 and every weekday of it. */
	{
		long long next;
		if (cron_next(out, 0, &next) < 0)
			return err_set("the schedule never fires (no such day)");
	}
	return 0;
}

/* Vixie cron's rule: when both day fields are restricted, either may match. */
static int day_matches(const struct cron_expr *e, const struct tm *tm)
{
	int dom = (e->dom >> tm->tm_mday) & 1, dow = (e->dow >> tm->tm_wday) & 1;

	if (e->dom_star || e->dow_star)
		return dom && dow;
	return dom || dow;
}

int cron_matches(const struct cron_expr *e, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return 0;
	return ((e->minute >> tm.tm_min) & 1) && ((e->hour >> tm.tm_hour) & 1) &&
	       ((e->month >> (tm.tm_mon + 1)) & 1) && day_matches(e, &tm);
}

int cron_next(const struct cron_expr *e, long long after, long long *out)
{
	long long t = (after < 0 ? 0 : after) / 60 * 60 + 60, limit = t + 8LL * 366 * 86400;
	struct tm tm;
	time_t tt;

	/* Each step skips a whole month, day, hour or minute that cannot match, so
	 * the loop is short even for a schedule that fires once a year. */
	while (t < limit) {
		tt = (time_t)t;
		if (!gmtime_r(&tt, &tm))
			break;
		if (!((e->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!day_matches(e, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		} else if (!((e->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
		} else if (!((e->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
			tm.tm_sec = 0;
		} else {
			*out = t;
			return 0;
		}
		t = (long long)timegm(&tm);
	}
	return err_set("the schedule does not fire in the next 8 years");
}
