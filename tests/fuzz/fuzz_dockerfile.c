/* fuzz_dockerfile.c - the FROM-line parser must never crash on any Dockerfile, and
 * every image it returns must be a checkable reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *images = json_array(), *v;
	size_t i;

	if (!images)
		return 0;
	if (build__from_images((const char *)data, size, images) == 0) {
		json_array_foreach(images, i, v) {
			const char *s = json_string_value(v);
			if (!s || !*s || strchr(s, '$') || strchr(s, ' ') || !strcmp(s, "scratch"))
				abort();
		}
	}
	json_decref(images);
	return 0;
}
