/* fuzz_ref_line.c - pre-receive line parsing must never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct push_ref r;

	if (receiver_parse_ref_line(&r, (const char *)data, size) == 0 &&
	    (strlen(r.old_oid) != 40 || strlen(r.new_oid) != 40 || strchr(r.ref, ' ')))
		abort();
	return 0;
}
