/* certs.c - `certs:add|generate|remove|report`: an app's TLS certificate, kept in its
 * state (apps/<app>/cert.json) and given to the router (PUT/DELETE/GET
 * /apps/<app>/cert on its control socket) now and with every route PUT. */
#include "cli.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CERT_FILE_MAX (1024 * 1024)

int cli_router_put(const char *app, const char *what, const json_t *body, json_t **reply)
{
	return deploy_router_put(app, what, body, reply);
}

int cli_cert_sync(const char *app)
{
	json_t *cert = NULL;
	int ret = -1;

	if (deploy_cert_load(app, &cert) == 0)
		ret = cert ? deploy_router_put(app, "cert", cert, NULL) : 0;
	json_decref(cert);
	return ret;
}

int cli_cert_forget(const char *app)
{
	return deploy_router_cert_delete(app) < 0 ? -1 : 0;
}

static void print_info(const json_t *info)
{
	json_t *names = json_object_get(info, "names"), *v;
	struct buf list = BUF_INIT;
	size_t i;

	json_array_foreach(names, i, v) {
		if ((list.len && buf_addstr(&list, " ") < 0) ||
		    buf_addstr(&list, json_string_value(v) ? json_string_value(v) : "") < 0)
			break;
	}
	printf("       Ssl enabled:                 true\n"
	       "       Ssl hostnames:               %s\n"
	       "       Ssl expires at:              %s\n"
	       "       Ssl issuer:                  %s\n"
	       "       Ssl subject:                 %s\n",
	       list.buf, json_string_value(json_object_get(info, "expires")),
	       json_string_value(json_object_get(info, "issuer")),
	       json_string_value(json_object_get(info, "subject")));
	buf_release(&list);
}

/* certs:add <app> CRT KEY */
int cmd_certs_add(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	struct buf crt = BUF_INIT, key = BUF_INIT;
	json_t *cert = NULL, *info = NULL;
	int ret = -1;

	if (argc != 4)
		return err_set("usage: certs:add <app> CRT-FILE KEY-FILE");
	if (cli_need_app(argc, argv, 3, 1) < 0)
		return -1;
	if (fs_read_file(argv[2], &crt, CERT_FILE_MAX) < 0 ||
	    fs_read_file(argv[3], &key, CERT_FILE_MAX) < 0)
		goto out;
	if (!(cert = json_pack("{s:s, s:s}", "cert", crt.buf, "key", key.buf))) {
		err_set("invalid certificate or key file (not text?)");
		goto out;
	}
	if (app_lock(&l, argv[1]) < 0)
		goto out;
	say_step("Adding certificate to %s", argv[1]);
	if (deploy_cert_install(argv[1], cert, &info) < 0)
		goto out;
	print_info(info);
	ret = 0;
out:
	lock_release(&l);
	json_decref(cert);
	json_decref(info);
	buf_release(&crt);
	buf_release(&key);
	return ret;
}

/* certs:remove <app>: from the router and from the app's state. */
int cmd_certs_remove(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	int had, ret = -1;

	if (argc != 2)
		return err_set("usage: certs:remove <app>");
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (app_lock(&l, argv[1]) < 0 || (had = deploy_cert_remove(argv[1])) < 0)
		goto out;
	if (!had) {
		err_set("no certificate for this app");
		goto out;
	}
	say_step("Removed the certificate of %s", argv[1]);
	ret = 0;
out:
	lock_release(&l);
	return ret;
}

/* certs:report <app>: what the router holds for the app. */
int cmd_certs_report(int argc, char **argv)
{
	struct buf path = BUF_INIT;
	json_t *reply = NULL;
	long status;
	int ret = -1;

	if (argc != 2)
		return err_set("usage: certs:report <app>");
	if (cli_need_app(argc, argv, 1, 1) < 0 || buf_addf(&path, "/apps/%s/cert", argv[1]) < 0)
		goto out;
	if ((status = router_client_call("GET", path.buf, NULL, 0, &reply)) < 0)
		goto out;
	if (status != 200 && status != 404) {
		router_client_error(status, reply, NULL);
		goto out;
	}
	printf("=====> %s ssl information\n", argv[1]);
	if (status == 404)
		printf("       Ssl enabled:                 false\n");
	else
		print_info(reply);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&path);
	return ret;
}

#define CERT_DAYS 365

/* Appends the PEM of a self-signed certificate for names (the first is the
 * subject's CN; all go in subjectAltName) and of its new P-256 key. */
static int self_signed(struct buf *crt, struct buf *key, char *const *names, size_t n)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	BIGNUM *serial = NULL;
	BIO *bio = NULL;
	struct buf san = BUF_INIT;
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_ext_key_usage, "serverAuth" },
	};
	char *data;
	long len;
	size_t i;
	int ret = -1;

	for (i = 0; i < n; i++)
		if (buf_addf(&san, "%sDNS:%s", i ? "," : "", names[i]) < 0)
			goto out;
	if (!(pkey = EVP_EC_gen("P-256")) || !(x = X509_new()) || !(serial = BN_new()) ||
	    !X509_set_version(x, 2) || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * CERT_DAYS) ||
	    !X509_set_pubkey(x, pkey) ||
	    /* A CN holds at most 64 characters; the names that count are in the SAN. */
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)names[0],
					strlen(names[0]) > 64 ? 64 : -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)))
		goto ssl_failed;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (i = 0; i <= sizeof(exts) / sizeof(exts[0]); i++) {
		ext = i < sizeof(exts) / sizeof(exts[0])
			      ? X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value)
			      : X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san.buf);
		if (!ext || !X509_add_ext(x, ext, -1)) {
			X509_EXTENSION_free(ext);
			goto ssl_failed;
		}
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pkey, EVP_sha256()) || !(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_X509(bio, x))
		goto ssl_failed;
	len = BIO_get_mem_data(bio, &data);
	if (buf_add(crt, data, (size_t)len) < 0)
		goto out;
	(void)BIO_reset(bio);
	if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
		goto ssl_failed;
	len = BIO_get_mem_data(bio, &data);
	if (buf_add(key, data, (size_t)len) < 0)
		goto out;
	ret = 0;
	goto out;
ssl_failed:
	err_set("cannot make the certificate: %s",
		ERR_reason_error_string(ERR_get_error()) ? ERR_reason_error_string(ERR_get_error())
							 : "OpenSSL error");
out:
	BIO_free(bio);
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(pkey);
	buf_release(&san);
	return ret;
}

/* certs:generate <app> [DOMAIN ...]: a self-signed certificate for the domains
 * given, or else for the domains the router serves the app on. */
int cmd_certs_generate(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	struct buf crt = BUF_INIT, key = BUF_INIT, path = BUF_INIT;
	json_t *route = NULL, *body = NULL, *reply = NULL, *v;
	char **names = NULL;
	size_t n = 0, i;
	long status;
	int ret = -1;

	if (argc < 2)
		return err_set("usage: certs:generate <app> [DOMAIN ...]");
	if (cli_need_app(argc, argv, 1, 1) < 0 || buf_addf(&path, "/apps/%s", argv[1]) < 0)
		goto out;
	if (!(names = calloc((size_t)argc + 101, sizeof(*names)))) {
		err_set("out of memory");
		goto out;
	}
	for (i = 2; i < (size_t)argc; i++) {
		if (valid_domain(argv[i]) < 0)
			goto out;
		names[n++] = argv[i];
	}
	if (!n) {
		if ((status = router_client_call("GET", path.buf, NULL, 0, &route)) < 0)
			goto out;
		json_array_foreach(json_object_get(route, "domains"), i, v)
			if (json_string_value(v) && n < 100)
				names[n++] = (char *)json_string_value(v);
	}
	if (!n) {
		err_set("the router serves %s on no domain: give them, "
			"as in `certs:generate %s %s.example.com`",
			argv[1], argv[1], argv[1]);
		goto out;
	}
	say_step("Generating a self-signed certificate for %s", argv[1]);
	if (self_signed(&crt, &key, names, n) < 0)
		goto out;
	if (!(body = json_pack("{s:s, s:s}", "cert", crt.buf, "key", key.buf))) {
		err_set("out of memory");
		goto out;
	}
	if (app_lock(&l, argv[1]) < 0 || deploy_cert_install(argv[1], body, &reply) < 0)
		goto out;
	print_info(reply);
	say_detail("valid for %d days; browsers will warn: it is signed by no authority",
		   CERT_DAYS);
	ret = 0;
out:
	lock_release(&l);
	free(names);
	json_decref(body);
	json_decref(reply);
	json_decref(route);
	buf_release(&crt);
	buf_release(&key);
	buf_release(&path);
	return ret;
}
