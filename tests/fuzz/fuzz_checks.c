/* fuzz_checks.c - a pushed CHECKS file or app.json must never crash the parser,
 * and every check it accepts has a URL path or none. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = NULL, *app, *c;
	size_t i;

	if (runtime_checks_parse_file(&out, (const char *)data, size) == 0) {
		json_array_foreach(out, i, c)
			if (json_str(c, "path", "/")[0] != '/')
				abort();
		json_decref(out);
	}
	app = json_loadb((const char *)data, size, 0, NULL);
	if (app && runtime_checks_parse_appjson(&out, app) == 0)
		json_decref(out);
	json_decref(app);
	return 0;
}
