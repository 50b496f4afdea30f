/* fuzz_pubkey.c - the public key given to ssh-keys:add must never crash its
 * parser, and an accepted key always has an accepted type and pure base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receiver_pubkey *k = calloc(1, sizeof(*k));
	char *s = malloc(size + 1);

	if (s && k) {
		memcpy(s, data, size);
		s[size] = '\0';
		if (receiver_pubkey_parse(k, s) == 0 &&
		    (strspn(k->b64,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=") !=
			     strlen(k->b64) ||
		     strchr(k->type, '"')))
			abort();
	}
	free(s);
	free(k);
	return 0;
}
