/* tls.c - TLS termination for the router: OpenSSL behind a byte-level transport (memory
 * BIOs), SNI choosing an app's certificate, and the per-app certificate store. The
 * connection code (proxy.c) sees only router__tls_* and never an SSL_* call. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_conn {
	SSL *ssl;
	BIO *rbio; /* ciphertext from the client, owned by ssl */
	BIO *wbio; /* ciphertext to the client, owned by ssl */
};

static char tls_tmp[16384];

static const char *ssl_error(void)
{
	static char msg[256];
	unsigned long e = ERR_get_error();

	if (!e)
		return "unknown TLS error";
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

/* Path of an app's certificate or key under the router's state directory. */
static int cert_path(struct buf *out, struct router *r, const char *app, const char *ext)
{
	const char *slash = r->opts.state_file ? strrchr(r->opts.state_file, '/') : NULL;

	if (!slash)
		return err_set("the router has no state directory for certificates");
	return buf_addf(out, "%.*s/certs/%s.%s", (int)(slash - r->opts.state_file),
			r->opts.state_file, app, ext);
}

/* ALPN (RFC 7301): h2 when the client offers it, else http/1.1; a client that offers
 * neither goes on without ALPN (and is served HTTP/1.1). OpenSSL asks the context SNI
 * chose, so every context has this. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, ours, sizeof(ours) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

/* Session tickets sealed with the router's own keys (router__tls_tickets_*), so a
 * ticket outlives a takeover; a ticket under the previous key is accepted and renewed. */
static int on_ticket(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	struct router *r = SSL_get_app_data(ssl);
	const struct router_ticket_key *k = NULL;
	OSSL_PARAM params[3];
	size_t i;

	if (!r)
		return -1;
	if (enc) {
		if (router__tls_tickets_rotate(r, (uint64_t)time(NULL)) < 0 ||
		    RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) <= 0)
			return -1;
		k = &r->tickets[0];
		memcpy(name, k->name, 16);
	} else {
		for (i = 0; i < r->ntickets && !k; i++)
			if (!memcmp(name, r->tickets[i].name, 16))
				k = &r->tickets[i];
		if (!k)
			return 0; /* unknown or retired key: a full handshake */
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, 32);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_CTX_set_params(hctx, params))
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 1 : -1;
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
		return -1;
	return k == &r->tickets[0] ? 1 : 2;
}

static SSL_CTX *ctx_base(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	/* One session id context for every app's context: a session resumed after SNI
	 * switched contexts is checked against it. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"wharf", 5);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
	SSL_CTX_set_timeout(ctx, ROUTER_TICKET_ROTATE_S);
	return ctx;
}

int router__tls_tickets_rotate(struct router *r, uint64_t now)
{
	struct router_ticket_key k;

	if (r->ntickets && now < r->tickets[0].created + ROUTER_TICKET_ROTATE_S)
		return 0;
	if (RAND_bytes(k.name, sizeof(k.name)) <= 0 || RAND_bytes(k.aes, sizeof(k.aes)) <= 0 ||
	    RAND_bytes(k.hmac, sizeof(k.hmac)) <= 0)
		return -1;
	k.created = now;
	memmove(&r->tickets[1], &r->tickets[0], (ROUTER_TICKET_KEYS - 1) * sizeof(k));
	r->tickets[0] = k;
	if (r->ntickets < ROUTER_TICKET_KEYS)
		r->ntickets++;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

int router__tls_tickets_export(const struct router *r, struct buf *out)
{
	unsigned char rec[8 + 80];
	size_t i;
	int b;

	if (buf_add(out, "K", 1) < 0 || buf_add(out, (const char[]){ (char)r->ntickets }, 1) < 0)
		return -1;
	for (i = 0; i < r->ntickets; i++) {
		const struct router_ticket_key *k = &r->tickets[i];

		for (b = 0; b < 8; b++)
			rec[b] = (unsigned char)(k->created >> (56 - 8 * b));
		memcpy(rec + 8, k->name, 16);
		memcpy(rec + 24, k->aes, 32);
		memcpy(rec + 56, k->hmac, 32);
		if (buf_add(out, (const char *)rec, sizeof(rec)) < 0)
			return -1;
	}
	OPENSSL_cleanse(rec, sizeof(rec));
	return 0;
}

int router__tls_tickets_import(struct router *r, const char *data, size_t len)
{
	struct router_ticket_key keys[ROUTER_TICKET_KEYS] = { 0 };
	const unsigned char *p = (const unsigned char *)data;
	size_t i, n;
	int b;

	if (len < 2 || p[0] != 'K' || (n = p[1]) > ROUTER_TICKET_KEYS || len != 2 + n * 88)
		return err_set("malformed ticket keys");
	for (i = 0, p += 2; i < n; i++, p += 88) {
		keys[i].created = 0;
		for (b = 0; b < 8; b++)
			keys[i].created = keys[i].created << 8 | p[b];
		memcpy(keys[i].name, p + 8, 16);
		memcpy(keys[i].aes, p + 24, 32);
		memcpy(keys[i].hmac, p + 56, 32);
	}
	memcpy(r->tickets, keys, n * sizeof(keys[0]));
	r->ntickets = n;
	OPENSSL_cleanse(keys, sizeof(keys));
	return 0;
}

int router__tls_is_h2(const struct tls_conn *t)
{
	const unsigned char *p;
	unsigned len;

	SSL_get0_alpn_selected(t->ssl, &p, &len);
	return len == 2 && !memcmp(p, "h2", 2);
}

/* A context with the certificate chain and key in the given files; NULL and
 * err_set() when they do not load or do not match. */
static SSL_CTX *ctx_from_files(const char *crt, const char *key)
{
	SSL_CTX *ctx = ctx_base();

	if (!ctx) {
		err_set("cannot make a TLS context: %s", ssl_error());
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1) {
		err_set("invalid certificate: %s", ssl_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		err_set("invalid private key: %s", ssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		err_set("the private key does not match the certificate");
		ERR_clear_error();
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The app's context, loaded from the store on first use; borrowed or NULL. */
static SSL_CTX *app_ctx(struct router *r, struct app *a)
{
	struct buf crt = BUF_INIT, key = BUF_INIT;

	if (a->tls_ctx || a->tls_tried)
		return a->tls_ctx;
	a->tls_tried = 1;
	if (cert_path(&crt, r, a->spec.app, "crt") == 0 &&
	    cert_path(&key, r, a->spec.app, "key") == 0 && access(crt.buf, R_OK) == 0)
		a->tls_ctx = ctx_from_files(crt.buf, key.buf);
	err_clear(); /* handled: an app without a usable certificate is served without TLS */
	buf_release(&crt);
	buf_release(&key);
	return a->tls_ctx;
}

int router__app_has_cert(struct router *r, struct app *a)
{
	return app_ctx(r, a) != NULL;
}

/* SNI: the server name picks the app, the app its certificate. A name no app
 * serves, or an app without a certificate, ends the handshake. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	struct router *r = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char host[256];
	struct app *a;
	SSL_CTX *ctx;

	*alert = SSL_AD_UNRECOGNIZED_NAME;
	if (!name || router__host_normalise(host, sizeof(host), name, strlen(name)) < 0)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	if (!(a = router__app_for_host(r, host)) || !(ctx = app_ctx(r, a)))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

int router__tls_init(struct router *r)
{
	if (!(r->tls_default = ctx_base()))
		return err_set("cannot make a TLS context: %s", ssl_error());
	if (router__tls_tickets_rotate(r, (uint64_t)time(NULL)) < 0)
		return err_set("cannot make a session ticket key: %s", ssl_error());
	SSL_CTX_set_tlsext_servername_callback((SSL_CTX *)r->tls_default, on_servername);
	SSL_CTX_set_tlsext_servername_arg((SSL_CTX *)r->tls_default, r);
	return 0;
}

void router__tls_release(struct router *r)
{
	OPENSSL_cleanse(r->tickets, sizeof(r->tickets));
	SSL_CTX_free(r->tls_default);
	r->tls_default = NULL;
}

void router__app_tls_free(struct app *a)
{
	SSL_CTX_free(a->tls_ctx);
	a->tls_ctx = NULL;
}

struct tls_conn *router__tls_conn_new(struct router *r)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ssl = SSL_new(r->tls_default);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	SSL_set_app_data(t->ssl, r); /* for on_ticket() */
	SSL_set_accept_state(t->ssl);
	return t;
}

void router__tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Moves what OpenSSL wrote into wire. */
static int drain_wire(struct tls_conn *t, struct buf *wire)
{
	int n;

	while ((n = BIO_read(t->wbio, tls_tmp, sizeof(tls_tmp))) > 0)
		if (buf_add(wire, tls_tmp, (size_t)n) < 0)
			return -1;
	return 0;
}

int router__tls_feed(struct tls_conn *t, const char *in, size_t len, struct buf *plain,
		     struct buf *wire)
{
	int n, e, ret = 0;

	if (len && BIO_write(t->rbio, in, (int)len) != (int)len)
		return err_set("out of memory");
	for (;;) {
		n = SSL_read(t->ssl, tls_tmp, sizeof(tls_tmp));
		if (n > 0) {
			if (buf_add(plain, tls_tmp, (size_t)n) < 0)
				return -1;
			continue;
		}
		e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) {
			ret = 1;
			break;
		}
		err_set("TLS: %s", ssl_error());
		ret = -1;
		break;
	}
	/* Handshake messages and alerts go out even after an error. */
	if (drain_wire(t, wire) < 0)
		return -1;
	return ret;
}

static int seal_one(struct tls_conn *t, const char *data, size_t len)
{
	if (len && SSL_write(t->ssl, data, (int)len) != (int)len) {
		ERR_clear_error();
		return err_set("TLS write failed");
	}
	return 0;
}

/* Buffers that fit in one record together (a response head and a short body) are
 * gathered and sealed as one TLS record rather than a record each: one AEAD pass and
 * 22 bytes of framing fewer per buffer (nginx gathers into its ssl_buffer_size buffer,
 * HAProxy into its output buffer, before SSL_write). */
int router__tls_seal(struct tls_conn *t, const uv_buf_t *bufs, unsigned n, struct buf *wire)
{
	static char gather[16384];
	size_t have = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!bufs[i].len)
			continue;
		if (have + bufs[i].len > sizeof(gather)) {
			if (seal_one(t, gather, have) < 0)
				return -1;
			have = 0;
		}
		if (bufs[i].len > sizeof(gather)) {
			if (seal_one(t, bufs[i].base, bufs[i].len) < 0)
				return -1;
			continue;
		}
		memcpy(gather + have, bufs[i].base, bufs[i].len);
		have += bufs[i].len;
	}
	if (seal_one(t, gather, have) < 0)
		return -1;
	return drain_wire(t, wire);
}

/* ---- the certificate store ------------------------------------------------------- */

static int write_tmp(const char *path, const char *data, size_t len)
{
	return fs_write_atomic(path, data, len, 0600);
}

int router__cert_set(struct router *r, const char *app, const char *crt, const char *key)
{
	struct buf cp = BUF_INIT, kp = BUF_INIT, ct = BUF_INIT, kt = BUF_INIT, dir = BUF_INIT;
	struct app *a = router__app_find(r, app);
	SSL_CTX *ctx = NULL;
	int ret = -1;

	if (cert_path(&cp, r, app, "crt") < 0 || cert_path(&kp, r, app, "key") < 0 ||
	    buf_addf(&ct, "%s.new", cp.buf) < 0 || buf_addf(&kt, "%s.new", kp.buf) < 0 ||
	    buf_add(&dir, cp.buf, (size_t)(strrchr(cp.buf, '/') - cp.buf)) < 0)
		goto out;
	if (fs_mkdir_p(dir.buf, 0700) < 0 || write_tmp(ct.buf, crt, strlen(crt)) < 0 ||
	    write_tmp(kt.buf, key, strlen(key)) < 0)
		goto out;
	if (!(ctx = ctx_from_files(ct.buf, kt.buf)))
		goto out;
	if (rename(kt.buf, kp.buf) < 0 || rename(ct.buf, cp.buf) < 0) {
		err_set_errno("cannot store the certificate of %s", app);
		goto out;
	}
	if (a) {
		SSL_CTX_free(a->tls_ctx);
		a->tls_ctx = ctx; /* connections made with the old one keep it */
		a->tls_tried = 1;
		ctx = NULL;
	}
	ret = 0;
out:
	if (ret < 0) {
		unlink(ct.buf);
		unlink(kt.buf);
	}
	SSL_CTX_free(ctx);
	buf_release(&cp);
	buf_release(&kp);
	buf_release(&ct);
	buf_release(&kt);
	buf_release(&dir);
	return ret;
}

int router__cert_remove(struct router *r, const char *app)
{
	struct buf cp = BUF_INIT, kp = BUF_INIT;
	struct app *a = router__app_find(r, app);
	int ret = -1, had;

	if (cert_path(&cp, r, app, "crt") < 0 || cert_path(&kp, r, app, "key") < 0)
		goto out;
	had = access(cp.buf, F_OK) == 0;
	if ((unlink(cp.buf) < 0 && errno != ENOENT) || (unlink(kp.buf) < 0 && errno != ENOENT)) {
		err_set_errno("cannot remove the certificate of %s", app);
		goto out;
	}
	if (a) {
		router__app_tls_free(a);
		a->tls_tried = 1;
	}
	ret = had;
out:
	buf_release(&cp);
	buf_release(&kp);
	return ret;
}

json_t *router__cert_info(struct router *r, const char *app)
{
	struct buf cp = BUF_INIT;
	json_t *j = NULL, *names = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	BIO *mem = NULL;
	GENERAL_NAMES *sans = NULL;
	char subject[512], issuer[512];
	char *text = NULL;
	long tlen;
	int i;

	if (cert_path(&cp, r, app, "crt") < 0 || !(f = fopen(cp.buf, "re")))
		goto out;
	if (!(x = PEM_read_X509(f, NULL, NULL, NULL)) || !(mem = BIO_new(BIO_s_mem())))
		goto out;
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	ASN1_TIME_print(mem, X509_get0_notAfter(x));
	tlen = BIO_get_mem_data(mem, &text);
	names = json_array();
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS)
			json_array_append_new(
				names,
				json_stringn((const char *)ASN1_STRING_get0_data(g->d.dNSName),
					     (size_t)ASN1_STRING_length(g->d.dNSName)));
	}
	j = json_pack("{s:s, s:s, s:s, s:s#, s:O}", "app", app, "subject", subject, "issuer",
		      issuer, "expires", text ? text : "", (int)(text ? tlen : 0), "names", names);
out:
	ERR_clear_error();
	GENERAL_NAMES_free(sans);
	json_decref(names);
	BIO_free(mem);
	X509_free(x);
	if (f)
		fclose(f);
	buf_release(&cp);
	return j;
}
