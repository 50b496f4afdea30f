/* fuzz_control_json.c - the control API's other JSON bodies on arbitrary bytes: pause and
 * resume, maintenance, a certificate PUT (parsed only: no OpenSSL load) and the app
 * options; each parser either takes the body or refuses it with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct route_def spec = ROUTE_DEF_INIT;
	char *msg = NULL, *crt = NULL, *key = NULL;
	unsigned max_ms = 0;
	int enabled, i;

	if (router__pause_parse(in, size, 0, &max_ms) == 0 && max_ms > 3600000)
		abort();
	else if (router__pause_parse(in, size, 0, &max_ms) < 0 && !*err_msg())
		abort();
	(void)router__pause_parse(in, size, 1, &max_ms);
	for (i = 0; i < 2; i++) {
		enabled = i;
		if (router__maintenance_parse(in, size, &enabled, &msg) == 0) {
			if (msg && (!enabled || strlen(msg) > 4096))
				abort();
		} else if (msg || !*err_msg()) {
			abort();
		}
		free(msg);
		msg = NULL;
	}
	if (router__cert_parse(in, size, &crt, &key) == 0) {
		if (!crt || !key)
			abort();
	} else if (crt || key) {
		abort();
	}
	free(crt);
	free(key);
	if (router__options_parse(&spec, in, size) == 0) {
		json_t *j = router__route_options_json(&spec);
		if (!j)
			abort();
		json_decref(j);
	}
	router__route_release(&spec);
	return 0;
}
