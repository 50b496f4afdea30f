/* fuzz_procfile.c - the Procfile parser must never crash on any bytes; every type it
 * returns must match ^[A-Za-z0-9_-]+$ and every command be non-empty, trimmed and
 * free of newlines; the shell processes made from them must be three strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *types = NULL, *procs = NULL, *v;
	const char *k;

	if (build_procfile_parse((const char *)data, size, &types) < 0) {
		if (types || !*err_msg())
			abort();
		return 0;
	}
	json_object_foreach(types, k, v) {
		const char *c = json_string_value(v);
		size_t n;
		if (!*k ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789_-") != strlen(k) ||
		    strlen(k) > 63)
			abort();
		if (!c || !(n = strlen(c)) || strchr(c, '\n') || c[0] == ' ' || c[0] == '\t' ||
		    c[n - 1] == ' ' || c[n - 1] == '\t')
			abort();
	}
	if (build_procfile_shell_processes(types, &procs) < 0)
		abort();
	if (json_object_size(procs) != json_object_size(types))
		abort();
	json_object_foreach(procs, k, v)
		if (json_array_size(v) != 3)
			abort();
	json_decref(procs);
	json_decref(types);
	return 0;
}
