/* letsencrypt.c - ACME certificates for apps: uacme (Debian's, a small C client driven by a
 * hook program) speaks the protocol; its http-01 hook is `wharf letsencrypt:hook`, which
 * hands each challenge to the router (PUT /acme/challenges/<token>), so validation reaches
 * the router on the app's domains while the app keeps serving. Issued certificates go
 * through deploy_cert_install() like certs:add's; renewal state (expiry, failures,
 * backoff) is kept in app.json's "letsencrypt" object. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define LE_PRODUCTION   "https://acme-v02.api.letsencrypt.org/directory"
#define LE_STAGING      "https://acme-staging-v02.api.letsencrypt.org/directory"
#define LE_TIMEOUT_MS   (300 * 1000) /* one uacme run: account, orders, validations */
#define LE_OUTPUT_MAX   (64 * 1024)
#define LE_PEM_MAX      (256 * 1024)
#define LE_BACKOFF_BASE 3600  /* seconds after a first failure, doubling */
#define LE_BACKOFF_MAX  86400 /* at most a day between tries */

const char *deploy_letsencrypt_url(const char *server)
{
	if (!server || !*server || !strcmp(server, "production"))
		return LE_PRODUCTION;
	if (!strcmp(server, "staging"))
		return LE_STAGING;
	return server;
}

/* A setting of the app's "letsencrypt" object, else global.json's (borrowed from the docs). */
static const char *le_setting(const json_t *appdoc, const json_t *gdoc, enum app_key k)
{
	const char *v = app_get_str_or(app_get(appdoc, APP_LETSENCRYPT), k, NULL);

	return v ? v : app_get_str_or(app_get(gdoc, APP_LETSENCRYPT), k, NULL);
}

static long long le_grace(const json_t *appdoc, const json_t *gdoc)
{
	const json_t *a = app_get(appdoc, APP_LETSENCRYPT), *g = app_get(gdoc, APP_LETSENCRYPT);

	if (json_is_integer(json_object_get(a, app_key_name(APP_LE_GRACEPERIOD))))
		return app_get_int(a, APP_LE_GRACEPERIOD);
	return app_get_int(g, APP_LE_GRACEPERIOD);
}

/* notAfter of the first certificate of a PEM chain, as seconds since the epoch; 0 when
 * it does not parse. */
static long long pem_expiry(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	struct tm tm;
	long long t = 0;

	if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		t = (long long)timegm(&tm);
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return t;
}

/* ---- running uacme --------------------------------------------------------------- */

struct le_run {
	const char *app;
	struct buf dir;   /* WHARF_ROOT/letsencrypt/<app> (uacme's confdir) */
	struct buf hook;  /* <dir>/hook */
	char *url;        /* the "server" setting (NULL: production) */
	char *email;      /* NULL: none */
	json_t *domains;  /* the app's, first = uacme's IDENTIFIER */
	struct lock lock; /* <dir>/lock: one uacme per app at a time */
};

static void le_run_release(struct le_run *r)
{
	lock_release(&r->lock);
	free(r->url);
	free(r->email);
	buf_release(&r->dir);
	buf_release(&r->hook);
	json_decref(r->domains);
}

static int line_starts(const char *p, const char *q, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(q - p) >= n && !memcmp(p, prefix, n);
}

void deploy__le_reason(char *out, size_t size, const char *text, size_t len)
{
	static const char key[] = "\"detail\"";
	const char *end = text + len, *p, *q, *line = NULL, *line_end = NULL, *d;
	size_t n = 0;
	int quoted = 0;

	for (p = text; p < end; p = q + 1) {
		if (!(q = memchr(p, '\n', (size_t)(end - p))))
			q = end;
		/* The CA's problem document (RFC 7807) says why; the last one wins. */
		if ((d = memmem(p, (size_t)(q - p), key, sizeof(key) - 1))) {
			for (d += sizeof(key) - 1; d < q && (*d == ' ' || *d == ':'); d++)
				;
			if (d < q && *d == '"') {
				line = d + 1;
				line_end = q;
				quoted = 1;
			}
		} else if (!quoted && q > p && !line_starts(p, q, "uacme: running ")) {
			line = p; /* its own last word, not a hook run it echoes */
			line_end = q;
		}
		if (q == end)
			break;
	}
	for (p = line; p && p < line_end && n + 1 < size; p++) {
		if (quoted && *p == '"')
			break;
		if (quoted && *p == '\\' && p + 1 < line_end)
			p++;
		out[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
	}
	if (!n && size > 1)
		out[n++] = '-';
	if (size)
		out[n] = '\0';
}

/* Runs uacme with argv (argv[0] replaced by the binary) for what ("issue", …); its whole
 * output goes to <dir>/uacme.log (0600), and the line that says why into the error on
 * failure. Returns its exit status (0 issued, 1 still current, 2 failed) or -1 when it
 * cannot run. */
static int uacme_run(const struct le_run *r, const char *what, const char **argv)
{
	struct proc_opts o = PROC_OPTS_INIT;
	struct buf out = BUF_INIT, log = BUF_INIT;
	const char *bin = getenv("WHARF_UACME");
	char reason[512];
	int status;

	argv[0] = bin && *bin ? bin : "uacme";
	buf_init(&out, LE_OUTPUT_MAX);
	o.argv = argv;
	o.in = PROC_NULL;
	o.out = o.err = PROC_CAPTURE;
	o.out_buf = o.err_buf = &out;
	o.timeout_ms = LE_TIMEOUT_MS;
	status = proc_run(&o);
	if (buf_addf(&log, "%s/uacme.log", r->dir.buf) == 0)
		(void)fs_write_atomic(log.buf, out.buf, out.len, 0600);
	if (status < 0) {
		err_prefix("the ACME client: ");
	} else if (status >= 2) {
		deploy__le_reason(reason, sizeof(reason), out.buf, out.len);
		if (status == PROC_TIMED_OUT)
			err_set("uacme %s timed out after %d s (see %s)", what,
				LE_TIMEOUT_MS / 1000, log.buf);
		else
			err_set("uacme %s failed: %s (see %s)", what, reason, log.buf);
	}
	buf_release(&log);
	buf_release(&out);
	return status;
}

/* The hook program uacme runs for each challenge: this wharf, as `letsencrypt:hook`. */
static int write_hook(struct le_run *r)
{
	char self[4096];
	struct buf text = BUF_INIT;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int ret;

	if (n <= 0)
		return err_set_errno("cannot find the wharf binary");
	self[n] = '\0';
	if (strchr(self, '\''))
		return err_set("the wharf binary's path has a quote: %s", self);
	ret = buf_addf(&text,
		       "#!/bin/sh\n# uacme's challenge hook (written by wharf)\n"
		       "exec '%s' letsencrypt:hook \"$@\"\n",
		       self) < 0 ||
			      fs_write_atomic(r->hook.buf, text.buf, text.len, 0700) < 0
		      ? -1
		      : 0;
	buf_release(&text);
	return ret;
}

/* Makes the confdir, takes its lock, loads the app's domains and settings. */
static int le_prepare(struct le_run *r, const char *app)
{
	json_t *appdoc = NULL, *gdoc = NULL, *v;
	const char *url, *email;
	size_t i;
	int ret = -1;

	r->app = app;
	if (app_load(app, &appdoc) < 0 || app_global_load(&gdoc) < 0 ||
	    app_domains(app, appdoc, &r->domains) < 0)
		goto out;
	if (!json_array_size(r->domains)) {
		err_set("%s has no domains: add one with domains:add %s DOMAIN", app, app);
		goto out;
	}
	json_array_foreach(r->domains, i, v) {
		if (!json_string_value(v) || strchr(json_string_value(v), '*')) {
			err_set("%s: a wildcard domain needs a dns-01 challenge, which wharf does "
				"not do; use certs:add",
				json_string_value(v) ? json_string_value(v) : "?");
			goto out;
		}
	}
	/* Strings borrowed from the docs are copied into the run's own buffers below. */
	if (buf_addf(&r->dir, "%s/letsencrypt/%s", wharf_root(), app) < 0 ||
	    buf_addf(&r->hook, "%s/hook", r->dir.buf) < 0 || fs_mkdir_p(r->dir.buf, 0700) < 0)
		goto out;
	{
		struct buf lp = BUF_INIT;
		int rc = buf_addf(&lp, "%s/lock", r->dir.buf) < 0
				 ? -1
				 : lock_take(&r->lock, lp.buf, "Waiting for another ACME run");
		buf_release(&lp);
		if (rc < 0)
			goto out;
	}
	if (write_hook(r) < 0)
		goto out;
	url = le_setting(appdoc, gdoc, APP_LE_SERVER);
	email = le_setting(appdoc, gdoc, APP_LE_EMAIL);
	/* The docs go below: the run keeps copies (le_run_release() frees them). */
	if ((url && !(r->url = strdup(url))) || (email && !(r->email = strdup(email)))) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(appdoc);
	json_decref(gdoc);
	return ret;
}

/* The account at r->url: made (with a new EC key) when there is none for this server. */
static int le_account(struct le_run *r)
{
	struct buf key = BUF_INIT, srv = BUF_INIT, have = BUF_INIT;
	const char *url = deploy_letsencrypt_url(r->url);
	const char *argv[12];
	int n = 0, ret = -1, st;

	if (buf_addf(&key, "%s/private/key.pem", r->dir.buf) < 0 ||
	    buf_addf(&srv, "%s/server", r->dir.buf) < 0)
		goto out;
	if (fs_exists(key.buf) && fs_read_file(srv.buf, &have, 4096) == 0 &&
	    !strcmp(have.buf, url)) {
		ret = 0;
		goto out;
	}
	/* Another server (or none yet): a new key, so the old server's account is left alone. */
	if (unlink(key.buf) < 0 && errno != ENOENT) {
		err_set_errno("cannot remove %s", key.buf);
		goto out;
	}
	argv[n++] = NULL;
	argv[n++] = "--confdir";
	argv[n++] = r->dir.buf;
	argv[n++] = "--acme-url";
	argv[n++] = url;
	argv[n++] = "--type";
	argv[n++] = "EC";
	argv[n++] = "--yes";
	argv[n++] = "new";
	if (r->email)
		argv[n++] = r->email;
	argv[n] = NULL;
	if ((st = uacme_run(r, "new", argv)) != 0) {
		if (st > 0)
			err_prefix("cannot create the ACME account: ");
		goto out;
	}
	ret = fs_write_atomic(srv.buf, url, strlen(url), 0600);
out:
	buf_release(&key);
	buf_release(&srv);
	buf_release(&have);
	return ret;
}

/* uacme issue for the app's domains; *cert gets {"cert", "key"} of the new one. */
static int le_issue(struct le_run *r, json_t **cert)
{
	struct buf crt = BUF_INIT, key = BUF_INIT, path = BUF_INIT;
	const char *argv[16 + 100];
	const char *first;
	size_t i;
	int n = 0, st, ret = -1;
	json_t *v;

	*cert = NULL;
	if (le_account(r) < 0)
		goto out;
	argv[n++] = NULL;
	argv[n++] = "--confdir";
	argv[n++] = r->dir.buf;
	argv[n++] = "--acme-url";
	argv[n++] = deploy_letsencrypt_url(r->url);
	argv[n++] = "--hook";
	argv[n++] = r->hook.buf;
	argv[n++] = "--type";
	argv[n++] = "EC";
	argv[n++] = "--no-ocsp"; /* renewal is decided by expiry, revocation by revoke */
	argv[n++] = "--force";
	argv[n++] = "--verbose";
	argv[n++] = "issue";
	json_array_foreach(r->domains, i, v) {
		if (i >= 100)
			break;
		argv[n++] = json_string_value(v);
	}
	argv[n] = NULL;
	if ((st = uacme_run(r, "issue", argv)) != 0) {
		if (st == 1)
			err_set("uacme issued nothing (the certificate is current)");
		goto out;
	}
	first = json_string_value(json_array_get(r->domains, 0));
	if (buf_addf(&path, "%s/%s/cert.pem", r->dir.buf, first) < 0 ||
	    fs_read_file(path.buf, &crt, LE_PEM_MAX) < 0)
		goto out;
	buf_reset(&path);
	if (buf_addf(&path, "%s/private/%s/key.pem", r->dir.buf, first) < 0 ||
	    fs_read_file(path.buf, &key, LE_PEM_MAX) < 0)
		goto out;
	if (!(*cert = json_pack("{s:s, s:s}", "cert", crt.buf, "key", key.buf)))
		err_set("the issued certificate or key is not text");
	else
		ret = 0;
	explicit_bzero(key.buf, key.len);
out:
	buf_release(&crt);
	buf_release(&key);
	buf_release(&path);
	return ret;
}

/* ---- app.json's letsencrypt state ------------------------------------------------ */

struct le_change {
	int enable;          /* 1 on, 0 off, -1 as it is */
	long long expires;   /* > 0: set */
	const char *failure; /* a failed try: counted, backed off */
	int success;         /* failures and backoff cleared */
	int redirect;        /* 1 on, 0 off, -1 as it is */
	long long retry_at;  /* out: after a failure */
	long long failures;  /* out */
};

static int le_change_fn(const char *app, json_t *doc, void *data)
{
	struct le_change *c = data;
	json_t *le = app_ensure(doc, APP_LETSENCRYPT), *ro;
	long long now = (long long)time(NULL), delay;
	int shift;

	(void)app;
	if (!le)
		return -1;
	if (c->enable >= 0 && app_set_bool(le, APP_LE_ENABLED, c->enable) < 0)
		return -1;
	if (c->expires > 0 && app_set_int(le, APP_LE_EXPIRES, c->expires) < 0)
		return -1;
	if (c->enable == 0)
		app_unset(le, APP_LE_EXPIRES);
	if (c->success || c->enable == 0) {
		app_unset(le, APP_LE_FAILURES);
		app_unset(le, APP_LE_RETRY_AT);
		app_unset(le, APP_LE_LAST_ERROR);
	}
	if (c->failure) {
		c->failures = app_get_int(le, APP_LE_FAILURES) + 1;
		shift = c->failures > 10 ? 10 : (int)c->failures - 1;
		delay = (long long)LE_BACKOFF_BASE << shift;
		c->retry_at = now + (delay > LE_BACKOFF_MAX ? LE_BACKOFF_MAX : delay);
		if (app_set_int(le, APP_LE_FAILURES, c->failures) < 0 ||
		    app_set_int(le, APP_LE_RETRY_AT, c->retry_at) < 0 ||
		    app_set_str(le, APP_LE_LAST_ERROR, c->failure) < 0)
			return -1;
	}
	if (c->redirect >= 0) {
		if (!(ro = app_ensure(doc, APP_ROUTER)) ||
		    app_set_bool(ro, APP_REDIRECT_HTTPS, c->redirect) < 0)
			return -1;
	}
	return 1;
}

/* Under the app's lock, held throughout so no deploy sends the router older options
 * meanwhile: cert installed (NULL: the app's removed), the router's redirect_https set
 * when c->redirect >= 0, and app.json's letsencrypt state changed as c says. */
static int le_apply(const char *app, const json_t *cert, struct le_change *c)
{
	struct lock l = LOCK_INIT;
	json_t *doc = NULL, *opts = NULL;
	int ret = -1;

	if (app_lock(&l, app) < 0 ||
	    (cert ? deploy_cert_install(app, cert, NULL) : deploy_cert_remove(app)) < 0)
		goto out;
	if (c->redirect >= 0) {
		if (!(opts = json_pack("{s:b}", "redirect_https", c->redirect))) {
			err_set("out of memory");
			goto out;
		}
		if (deploy_router_put(app, "options", opts, NULL) < 0)
			goto out;
	}
	if (app_load(app, &doc) < 0 || le_change_fn(app, doc, c) < 0 || app_save(app, doc) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(doc);
	json_decref(opts);
	return ret;
}

/* Installs cert and records it; with redirect, HTTP -> HTTPS on. Dokku's letsencrypt
 * does that with a certificate, as wharf does: router:set <app> redirect-https false
 * turns it off again, and renewals (redirect 0) leave it as it is. */
static int le_install(const char *app, const json_t *cert, int redirect)
{
	struct le_change c = { .enable = 1, .success = 1, .redirect = redirect ? 1 : -1 };

	c.expires = pem_expiry(json_string_value(json_object_get(cert, "cert")));
	return le_apply(app, cert, &c);
}

/* Records a failed try (counted, backed off) and says it on one line. */
static void le_failed(const char *app, const char *what)
{
	struct le_change c = { .enable = -1, .redirect = -1 };
	struct err_saved why;
	char when[32];
	time_t t;
	struct tm tm;

	err_save(&why);
	c.failure = why.text;
	if (app_update(app, le_change_fn, &c) < 0) {
		say_warn("letsencrypt: %s of %s failed: %s (and cannot record it: %s)", what, app,
			 why.text, err_msg());
		err_restore(&why);
		return;
	}
	t = (time_t)c.retry_at;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	say_warn("letsencrypt: %s of %s failed (failure %lld, next try after %s; the current "
		 "certificate keeps serving): %s",
		 what, app, c.failures, when, why.text);
	err_restore(&why);
}

/* ---- the operations --------------------------------------------------------------- */

/* Issues a certificate for the app's domains and installs it. */
static int le_obtain(const char *app, int redirect)
{
	struct le_run r = { .dir = BUF_INIT, .hook = BUF_INIT, .lock = LOCK_INIT };
	json_t *cert = NULL;
	int ret = -1;

	if (le_prepare(&r, app) < 0)
		goto out;
	say_step("Getting a certificate for %s from %s", app, deploy_letsencrypt_url(r.url));
	if (le_issue(&r, &cert) < 0 || le_install(app, cert, redirect) < 0)
		goto out;
	ret = 0;
out:
	if (cert)
		explicit_bzero((char *)json_string_value(json_object_get(cert, "key")),
			       json_string_length(json_object_get(cert, "key")));
	json_decref(cert);
	le_run_release(&r);
	return ret;
}

int deploy_letsencrypt_enable(const char *app)
{
	/* A person waits for the answer: the error is it, with no backoff to record. */
	if (le_obtain(app, 1) < 0)
		return -1;
	say_step("Certificate installed: %s serves HTTPS and redirects HTTP to it", app);
	return 0;
}

/* The certificate removed, renewals off, HTTP no longer redirected. */
static int le_off(const char *app)
{
	struct le_change c = { .enable = 0, .redirect = 0 };

	return le_apply(app, NULL, &c);
}

int deploy_letsencrypt_disable(const char *app)
{
	if (le_off(app) < 0)
		return -1;
	say_step("Removed the certificate of %s; HTTP is no longer redirected", app);
	return 0;
}

int deploy_letsencrypt_revoke(const char *app)
{
	struct le_run r = { .dir = BUF_INIT, .hook = BUF_INIT, .lock = LOCK_INIT };
	struct buf pem = BUF_INIT;
	json_t *cert = NULL;
	const char *argv[10];
	int n = 0, ret = -1;

	if (deploy_cert_load(app, &cert) < 0)
		goto out;
	if (!cert) {
		err_set("%s has no certificate to revoke", app);
		goto out;
	}
	if (le_prepare(&r, app) < 0 || le_account(&r) < 0 ||
	    buf_addf(&pem, "%s/revoke.pem", r.dir.buf) < 0)
		goto out;
	if (fs_write_atomic(pem.buf, json_string_value(json_object_get(cert, "cert")),
			    json_string_length(json_object_get(cert, "cert")), 0600) < 0)
		goto out;
	say_step("Revoking the certificate of %s at %s", app, deploy_letsencrypt_url(r.url));
	argv[n++] = NULL;
	argv[n++] = "--confdir";
	argv[n++] = r.dir.buf;
	argv[n++] = "--acme-url";
	argv[n++] = deploy_letsencrypt_url(r.url);
	argv[n++] = "revoke";
	argv[n++] = pem.buf;
	argv[n] = NULL;
	if (uacme_run(&r, "revoke", argv) != 0)
		goto out;
	if (le_off(app) < 0)
		goto out;
	say_step("Revoked and removed the certificate of %s", app);
	ret = 0;
out:
	json_decref(cert);
	le_run_release(&r);
	buf_release(&pem);
	return ret;
}

/* 1 when the app's certificate expires within its grace period (or it has none). */
static int le_due(const char *app, const json_t *appdoc, const json_t *gdoc, long long now)
{
	json_t *cert = NULL;
	long long exp = 0;

	if (deploy_cert_load(app, &cert) == 0 && cert)
		exp = pem_expiry(json_string_value(json_object_get(cert, "cert")));
	json_decref(cert);
	err_clear();
	return !exp || exp - now <= le_grace(appdoc, gdoc);
}

int deploy_letsencrypt_renew(const char *app, int force, int backoff)
{
	json_t *appdoc = NULL, *gdoc = NULL, *le;
	long long now = (long long)time(NULL);
	int ret = -1;

	if (app_load(app, &appdoc) < 0 || app_global_load(&gdoc) < 0)
		goto out;
	le = app_get(appdoc, APP_LETSENCRYPT);
	if (!app_get_bool(le, APP_LE_ENABLED)) {
		err_set("letsencrypt is not enabled for %s (letsencrypt:enable %s)", app, app);
		goto out;
	}
	ret = 0;
	if (!force && !le_due(app, appdoc, gdoc, now))
		goto out;
	if (!force && backoff && app_get_int(le, APP_LE_RETRY_AT) > now)
		goto out;
	if (le_obtain(app, 0) < 0) {
		le_failed(app, "renewal");
		ret = err_set("the certificate of %s was not renewed", app);
		goto out;
	}
	say_step("Renewed the certificate of %s", app);
	ret = 1;
out:
	json_decref(appdoc);
	json_decref(gdoc);
	return ret;
}

int deploy_certs_renew_due(void)
{
	json_t *apps = NULL, *v, *appdoc = NULL;
	size_t i, failed = 0;

	if (app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v) {
		const char *app = json_string_value(v);

		if (!app || app_load(app, &appdoc) < 0) {
			err_clear();
			continue;
		}
		if (app_get_bool(app_get(appdoc, APP_LETSENCRYPT), APP_LE_ENABLED) &&
		    deploy_letsencrypt_renew(app, 0, 1) < 0)
			failed++; /* le_failed() said it */
		json_decref(appdoc);
		appdoc = NULL;
	}
	json_decref(apps);
	if (failed)
		return err_set("%zu certificate renewal%s failed", failed, failed == 1 ? "" : "s");
	return 0;
}
