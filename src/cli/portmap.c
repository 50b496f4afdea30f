/* portmap.c - the pure parser of the checks family's process type lists
 * (unit-tested alone). The port maps moved to src/deploy/ports.c. */
#include "cli.h"

#include <string.h>

#define ALL "_all_"

/* A comma-separated list of process types (Procfile names, ^[A-Za-z0-9_-]+$, at
 * most 63 bytes each) or "_all_". *out is a new array without duplicates. */
int cli_checks_parse_types(json_t **out, const char *list)
{
	const char *p = list;
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

	*out = json_array();
	if (!*out)
		return err_set("out of memory");
	for (;;) {
		size_t n = strcspn(p, ",");
		char type[64];
		size_t i;
		int dup = 0;

		if (!n || n > 63 || strspn(p, ok) < n) {
			json_decref(*out);
			*out = NULL;
			return err_set("invalid process type list '%s': use TYPE[,TYPE...] with "
				       "letters, digits, '-' and '_'",
				       list);
		}
		memcpy(type, p, n);
		type[n] = '\0';
		for (i = 0; i < json_array_size(*out); i++)
			dup |= !strcmp(json_string_value(json_array_get(*out, i)), type);
		if (!dup)
			json_array_append_new(*out, json_string(type));
		if (!p[n])
			break;
		p += n + 1;
	}
	/* "_all_" with other types means all of them. */
	if (runtime_type_listed(*out, ALL) && json_array_size(*out) > 1) {
		json_array_clear(*out);
		json_array_append_new(*out, json_string(ALL));
	}
	return 0;
}
