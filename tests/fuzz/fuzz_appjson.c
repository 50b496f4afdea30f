/* fuzz_appjson.c - a pushed app.json's cron entries and deploy scripts: any bytes
 * are parsed or refused with a message; every entry kept has a 12-hex-digit id,
 * a schedule cron_parse() accepts and a one-line command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *cron = NULL, *scripts = NULL, *e;
	struct cron_expr ce;
	size_t i;

	err_clear();
	if (deploy_appjson_parse((const char *)data, size, &cron, &scripts) < 0) {
		if (cron || scripts || !*err_msg())
			abort();
		return 0;
	}
	json_array_foreach(cron, i, e) {
		const char *id = json_str(e, "id", ""), *cmd = json_str(e, "command", "");
		if (strlen(id) != 12 || strspn(id, "0123456789abcdef") != 12 || !*cmd ||
		    strchr(cmd, '\n') || cron_parse(&ce, json_str(e, "schedule", "")) < 0)
			abort();
	}
	json_decref(cron);
	json_decref(scripts);
	return 0;
}
