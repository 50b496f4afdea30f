/* clock.c - monotonic time for durations shown to users and for deadlines; UTC
 * timestamps for records. */
#include "common.h"

#include <time.h>

double clock_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int clock_utc_iso8601(struct buf *out)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf_addstr(out, t);
}
