/* fuzz_cron.c - cron schedules come from a pushed app.json: the parser must never
 * crash on any bytes, refuse with a message, and any schedule it accepts must
 * give a next run that is later than the start, on a minute, and matching. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long starts[] = { 0, 1796383032LL, 4102444799LL };
	struct cron_expr e;
	char *s = malloc(size + 1);
	size_t i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err_clear();
	if (cron_parse(&e, s) < 0) {
		if (!*err_msg())
			abort();
		free(s);
		return 0;
	}
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		long long t;
		if (cron_next(&e, starts[i], &t) < 0)
			continue; /* possible near the end of the 8-year window */
		if (t <= starts[i] || t % 60 || !cron_matches(&e, t))
			abort();
	}
	free(s);
	return 0;
}
