/* test_pubkey.c - the keys ssh-keys:add accepts, and their fingerprints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/receiver.h"

/* A real ed25519 public key and the fingerprint ssh-keygen -l gives it. */
#define ED_KEY                                                                              \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl " \
	"alice@host"
#define ED_FP "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU" /* ssh-keygen -l */

static void accepts_a_real_key(void **state)
{
	struct receiver_pubkey *k = calloc(1, sizeof(*k));
	struct buf fp = BUF_INIT;

	(void)state;
	assert_int_equal(receiver_pubkey_parse(k, ED_KEY), 0);
	assert_string_equal(k->type, "ssh-ed25519");
	receiver_pubkey_fingerprint(&fp, k);
	assert_string_equal(fp.buf, ED_FP);
	buf_release(&fp);
	free(k);
}

static void refuses_bad_keys(void **state)
{
	const char *bad[] = {
		"",
		"ssh-ed25519",
		"ssh-dss AAAAB3NzaC1kc3MAAACBAP1",
		"command=\"sh\" ssh-ed25519 "
		"AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
		"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
		"ssh-ed25519 AAAA\"C3Nz",
		"ssh-ed25519 AAA",
		NULL
	};
	struct receiver_pubkey *k = calloc(1, sizeof(*k));
	int i;

	(void)state;
	for (i = 0; bad[i]; i++)
		assert_int_equal(receiver_pubkey_parse(k, bad[i]), -1);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_a_real_key),
		cmocka_unit_test(refuses_bad_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
