/* fuzz_ssh_command.c - SSH_ORIGINAL_COMMAND parsing must never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_request r;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (receiver_parse_ssh(&r, s) == 0) {
		if (r.kind != SSH_WHARF && valid_app_name(r.app) != 0)
			abort(); /* a git request must always name a valid app */
		ssh_request_release(&r);
	}
	free(s);
	return 0;
}
