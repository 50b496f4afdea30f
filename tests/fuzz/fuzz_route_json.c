/* fuzz_route_json.c - the control API's PUT /apps/<app> body validation and the table
 * file parser, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_def rs = ROUTE_DEF_INIT, *specs = NULL;
	size_t n = 0, i;
	unsigned long long gen;

	if (router__route_parse(&rs, "web", (const char *)data, size) == 0) {
		json_t *j = router__route_to_json(&rs);
		const struct route_def *one = &rs;
		json_t *t = router__table_to_json(&one, 1, 1);
		if (!j || !t)
			abort();
		json_decref(j);
		json_decref(t);
	}
	router__route_release(&rs);
	if (router__table_parse(&specs, &n, &gen, (const char *)data, size) == 0) {
		for (i = 0; i < n; i++)
			router__route_release(&specs[i]);
	}
	free(specs);
	return 0;
}
