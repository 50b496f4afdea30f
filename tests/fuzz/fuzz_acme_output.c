/* fuzz_acme_output.c - the ACME client's output (uacme's, with the CA's problem documents in
 * it) on arbitrary bytes: the reason picked for the error is NUL-terminated, within the
 * buffer, and free of control characters, whatever the size of the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 2, 7, 512 };
	char out[512];
	size_t i, k, n;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(out, 'Z', sizeof(out));
		deploy__le_reason(out, sizes[k], (const char *)data, size);
		n = strnlen(out, sizes[k]);
		if (n >= sizes[k])
			abort();
		for (i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				abort();
		if (sizes[k] > 1 && !n)
			abort();
	}
	return 0;
}
