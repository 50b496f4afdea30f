/* fuzz_acme_challenge.c - the ACME challenge control API on arbitrary bytes: the bytes up to
 * the first newline are the token of a PUT /acme/challenges/<token> (and a control URL), the
 * rest its body. A token is taken only when it is 1..128 base64url characters, and a body
 * only when its key authorization is that token, a dot and base64url. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

static int b64url(const char *s, size_t n)
{
	return n &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(in, '\n', size);
	size_t tlen = nl ? (size_t)(nl - in) : size;
	char *token = malloc(tlen + 1), *auth = NULL;
	const char *body = nl ? nl + 1 : "";
	size_t blen = nl ? size - tlen - 1 : 0;

	if (!token)
		return 0;
	memcpy(token, in, tlen);
	token[tlen] = '\0';
	if (router__acme_token_valid(token, tlen) != (tlen <= 128 && b64url(token, tlen)))
		abort();
	(void)router__acme_control_path(in, size);
	if (router__acme_parse(token, body, blen, &auth) == 0) {
		size_t n = strlen(token);
		/* (the token is a C string: the bytes before a NUL in the input are it) */
		if (!auth || strncmp(auth, token, n) || auth[n] != '.' ||
		    !b64url(auth + n + 1, strlen(auth + n + 1)))
			abort();
	} else if (auth || !*err_msg()) {
		abort();
	}
	free(auth);
	free(token);
	return 0;
}
