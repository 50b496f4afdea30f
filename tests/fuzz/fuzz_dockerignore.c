/* fuzz_dockerignore.c - a pushed .dockerignore must never crash the parser or
 * the matcher. */
#include <stdint.h>

#include <string.h>

#include "build/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"a", "a/b", "node_modules/x/y.js", ".git/config", "Dockerfile", "dir/sub/file.txt",
		"",  NULL
	};
	struct build__ignore ig;
	int i;

	memset(&ig, 0, sizeof(ig));
	if (build__ignore_parse(&ig, (const char *)data, size) == 0)
		for (i = 0; paths[i]; i++)
			build__ignore_match(&ig, paths[i]);
	build__ignore_release(&ig);
	return 0;
}
