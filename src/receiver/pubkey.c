/* pubkey.c - the public keys allowed in: one authorized_keys key, checked. */
#include "receiver.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/="

static const char *const key_types[] = { "ssh-ed25519",
					 "ssh-rsa",
					 "ecdsa-sha2-nistp256",
					 "ecdsa-sha2-nistp384",
					 "ecdsa-sha2-nistp521",
					 "sk-ssh-ed25519@openssh.com",
					 "sk-ecdsa-sha2-nistp256@openssh.com",
					 NULL };

/* Decodes the base64 blob and checks it starts with the declared key type. */
int receiver_pubkey_parse(struct receiver_pubkey *k, const char *line)
{
	unsigned char *raw = NULL;
	size_t b64len, pad;
	int i, n, ok = 0;
	unsigned int fplen;
	uint32_t tlen;

	if (sscanf(line, "%63s %16383s", k->type, k->b64) != 2)
		return err_set("expected one public key line: TYPE BASE64 [COMMENT]");
	for (i = 0; key_types[i]; i++)
		ok |= !strcmp(k->type, key_types[i]);
	if (!ok)
		return err_set(
			"'%s' is not a public key type wharf accepts (ssh-ed25519, "
			"ssh-rsa, ecdsa-sha2-*, sk-*); options before the key are not accepted",
			k->type);
	b64len = strlen(k->b64);
	pad = strspn(k->b64 + strcspn(k->b64, "="), "=");
	/* Padding only at the end, at most two: EVP_DecodeBlock counts padded bytes
	 * as data, and more '=' would drive the length below zero. */
	if (b64len % 4 || strspn(k->b64, B64_CHARS) != b64len || pad > 2 ||
	    strcspn(k->b64, "=") + pad != b64len)
		return err_set("the key's base64 part is malformed");
	raw = malloc(b64len);
	n = raw ? EVP_DecodeBlock(raw, (const unsigned char *)k->b64, (int)b64len) : -1;
	ok = 0;
	if (n >= 0)
		n -= (int)pad;
	if (n >= 4) {
		tlen = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
		       raw[3];
		ok = tlen == strlen(k->type) && (size_t)n >= 4 + tlen &&
		     !memcmp(raw + 4, k->type, tlen);
	}
	if (ok)
		EVP_Digest(raw, (size_t)n, k->fp, &fplen, EVP_sha256(), NULL);
	free(raw);
	return ok ? 0 : err_set("the key's data does not match its type '%s'", k->type);
}

void receiver_pubkey_fingerprint(struct buf *out, const struct receiver_pubkey *k)
{
	unsigned char enc[64];
	int n = EVP_EncodeBlock(enc, k->fp, 32);

	while (n > 0 && enc[n - 1] == '=')
		n--;
	buf_addf(out, "SHA256:%.*s", n, enc);
}
