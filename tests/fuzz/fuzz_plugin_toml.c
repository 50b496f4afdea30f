/* fuzz_plugin_toml.c - plugin.toml comes with a plugin from anywhere: the parser must
 * never crash; what it accepts is NUL-terminated within its fields, and a name it
 * returns either is empty or is what plugins_valid_name() decides about it. The same
 * bytes go through the plugin.json parser and the docker-args allow-list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/plugins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plugin_meta m;
	json_t *j;

	if (plugin_toml_parse(&m, (const char *)data, size) == 0) {
		if (strnlen(m.name, sizeof(m.name)) == sizeof(m.name) ||
		    strnlen(m.version, sizeof(m.version)) == sizeof(m.version) ||
		    strnlen(m.description, sizeof(m.description)) == sizeof(m.description))
			abort();
	} else if (!*err_msg()) {
		abort();
	}
	if (plugin_json_parse(&m, (const char *)data, size) == 0 &&
	    strnlen(m.name, sizeof(m.name)) == sizeof(m.name))
		abort();
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j && plugins_docker_args_check(j) == 0) {
		/* Accepted: only the two sections, nothing else. */
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
			if (strcmp(k, "Config") && strcmp(k, "HostConfig"))
				abort();
	}
	json_decref(j);
	err_clear();
	return 0;
}
