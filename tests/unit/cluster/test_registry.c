/* test_registry.c - what cluster_prepare() leaves in a temp WHARF_ROOT (no Docker, no
 * registry process): a CA and a server certificate for the address that verifies with
 * it, a bcrypt htpasswd that accepts the generated password and nothing else, the
 * config, secrets 0600, the CA installed in the given certs dir; and the X-Registry-Auth
 * value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "cluster/cluster.h"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-cluster-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(root);
	return 0;
}

static void read_path(struct buf *b, const char *leaf)
{
	struct buf p = BUF_INIT;

	assert_int_equal(buf_addf(&p, "%s/%s", root, leaf), 0);
	assert_int_equal(fs_read_file(p.buf, b, 1 << 20), 0);
	buf_release(&p);
}

static mode_t mode_of(const char *leaf)
{
	struct buf p = BUF_INIT;
	struct stat st;

	assert_int_equal(buf_addf(&p, "%s/%s", root, leaf), 0);
	assert_int_equal(stat(p.buf, &st), 0);
	buf_release(&p);
	return st.st_mode & 07777;
}

static X509 *load_cert(const char *leaf)
{
	struct buf pem = BUF_INIT;
	BIO *bio;
	X509 *x;

	read_path(&pem, leaf);
	bio = BIO_new_mem_buf(pem.buf, (int)pem.len);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	buf_release(&pem);
	assert_non_null(x);
	return x;
}

static void prepare_makes_a_registry_the_nodes_can_trust(void **state)
{
	struct cluster_init_opts o = CLUSTER_INIT_OPTS_INIT;
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf certs = BUF_INIT, b = BUF_INIT, installed = BUF_INIT;
	X509 *ca, *srv;
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *vp;
	char *colon, *hash;
	struct crypt_data cd;

	(void)state;
	assert_int_equal(buf_addf(&certs, "%s/certs.d", root), 0);
	o.addr = "10.66.0.1";
	o.certs_dir = certs.buf;
	assert_int_equal(cluster_prepare(&o), 0);
	assert_int_equal(cluster_load(&st), 1);
	assert_string_equal(st.addr, "10.66.0.1");
	assert_string_equal(st.registry, "10.66.0.1:5000");
	assert_string_equal(st.user, "wharf");
	assert_int_equal(strlen(st.password), 48);

	/* Secrets are the owner's alone. */
	assert_int_equal(mode_of("cluster"), 0700);
	assert_int_equal(mode_of("cluster/cluster.json"), 0600);
	assert_int_equal(mode_of("cluster/registry/htpasswd"), 0600);
	assert_int_equal(mode_of("cluster/registry/ca.key"), 0600);
	assert_int_equal(mode_of("cluster/registry/server.key"), 0600);
	assert_int_equal(mode_of("cluster/registry/config.yml"), 0600);
	assert_int_equal(mode_of("cluster/ssh/id_ed25519"), 0600);

	/* The server certificate verifies with the CA for the IP address, and only it. */
	ca = load_cert("cluster/registry/ca.crt");
	srv = load_cert("cluster/registry/server.crt");
	store = X509_STORE_new();
	X509_STORE_add_cert(store, ca);
	ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, srv, NULL);
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set1_ip_asc(vp, "10.66.0.1");
	X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_cleanup(ctx);
	X509_STORE_CTX_init(ctx, store, srv, NULL);
	X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), "10.66.0.2");
	assert_int_not_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(srv);

	/* htpasswd: bcrypt of the generated password. */
	read_path(&b, "cluster/registry/htpasswd");
	assert_memory_equal(b.buf, "wharf:$2b$", 10);
	colon = strchr(b.buf, ':');
	colon[strcspn(colon, "\n")] = 0;
	memset(&cd, 0, sizeof(cd));
	hash = crypt_r(st.password, colon + 1, &cd);
	assert_string_equal(hash, colon + 1);
	memset(&cd, 0, sizeof(cd));
	assert_string_not_equal(crypt_r("wrong", colon + 1, &cd), colon + 1);
	buf_reset(&b);

	/* The config names the address, TLS and the htpasswd. */
	read_path(&b, "cluster/registry/config.yml");
	assert_non_null(strstr(b.buf, "addr: 10.66.0.1:5000\n"));
	assert_non_null(strstr(b.buf, "tls:\n"));
	assert_non_null(strstr(b.buf, "htpasswd:\n"));
	buf_reset(&b);

	/* The CA is where a dockerd reads it for that registry. */
	read_path(&b, "cluster/registry/ca.crt");
	read_path(&installed, "certs.d/10.66.0.1:5000/ca.crt");
	assert_string_equal(b.buf, installed.buf);

	/* Again on the same address: kept (same password); another address: refused. */
	{
		struct cluster_state again = CLUSTER_STATE_INIT;

		assert_int_equal(cluster_prepare(&o), 0);
		assert_int_equal(cluster_load(&again), 1);
		assert_string_equal(again.password, st.password);
		cluster_state_release(&again);
	}
	o.addr = "10.66.0.9";
	assert_int_equal(cluster_prepare(&o), -1);
	assert_non_null(strstr(err_msg(), "on 10.66.0.1 already"));
	o.addr = "10.66.0";
	assert_int_equal(cluster_prepare(&o), -1);

	cluster_state_release(&st);
	buf_release(&certs);
	buf_release(&b);
	buf_release(&installed);
}

static void registry_auth_is_base64url_json(void **state)
{
	struct cluster_state st = { .user = "wharf",
				    .password = "p?>?",
				    .registry = "10.0.0.1:5000" };
	struct buf b = BUF_INIT;
	unsigned char raw[256];
	json_t *j;
	size_t i;
	int n;

	(void)state;
	assert_int_equal(cluster_registry_auth(&st, &b), 0);
	assert_null(strpbrk(b.buf, "+/"));
	for (i = 0; i < b.len; i++)
		b.buf[i] = b.buf[i] == '-' ? '+' : b.buf[i] == '_' ? '/' : b.buf[i];
	n = EVP_DecodeBlock(raw, (const unsigned char *)b.buf, (int)b.len);
	assert_true(n > 0);
	raw[n] = 0;
	j = json_loads((const char *)raw, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_string_equal(json_str(j, "username", ""), "wharf");
	assert_string_equal(json_str(j, "password", ""), "p?>?");
	assert_string_equal(json_str(j, "serveraddress", ""), "10.0.0.1:5000");
	json_decref(j);
	buf_release(&b);
}

static void only_dotted_ipv4(void **state)
{
	(void)state;
	assert_true(cluster_valid_ipv4("10.60.0.1"));
	assert_false(cluster_valid_ipv4("10.60.0"));
	assert_false(cluster_valid_ipv4("h1"));
	assert_false(cluster_valid_ipv4("::1"));
	assert_false(cluster_valid_ipv4(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(prepare_makes_a_registry_the_nodes_can_trust, setup,
						teardown),
		cmocka_unit_test(registry_auth_is_base64url_json),
		cmocka_unit_test(only_dotted_ipv4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
