/* fuzz_dockerfile.c - the FROM-line parser must never crash on any Dockerfile, and
 * every image it returns must be a checkable reference; the same bytes read as a
 * .dockerignore must parse and match without crashing. */
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

	struct build__ignore ig = BUILD__IGNORE_INIT;
	static const char *const paths[] = { "Dockerfile",    "src/a/b/c.o", "a", "node_modules/x",
					     "docs/sub/a.md", "**",          "" };
	if (build__ignore_parse(&ig, (const char *)data, size) == 0)
		for (i = 0; i < sizeof(paths) / sizeof(*paths); i++)
			build__ignore_match(&ig, paths[i]);
	build__ignore_release(&ig);
	return 0;
}
