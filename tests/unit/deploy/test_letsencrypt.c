/* test_letsencrypt.c - the renewal decisions of src/deploy/letsencrypt.c with a fake uacme
 * (WHARF_UACME: a shell script that counts its runs, makes the account key on `new`
 * (`--confdir DIR` comes first) and fails each `issue` with a problem
 * document, as pebble's refusal reaches uacme): a failure is counted in app.json and
 * backs the next timed try off (1 h, then 2 h), an explicit renewal ignores the backoff,
 * an app without letsencrypt is not touched; and the reason picked from uacme's output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "deploy/deploy.h"
#include "deploy/internal.h"

static char tmpdir[] = "/tmp/wharf-le-test-XXXXXX";
static char runs[600];

static int count_runs(const char *what)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(runs, "r");

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

static int setup(void **state)
{
	char root[600], uacme[600], cmd[2048];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(uacme, sizeof(uacme), "%s/uacme", tmpdir);
	snprintf(runs, sizeof(runs), "%s/runs", tmpdir);
	setenv("WHARF_ROOT", root, 1);
	setenv("WHARF_UACME", uacme, 1);
	/* No router: nothing may reach it before an issuance succeeds. */
	setenv("WHARF_ROUTER_SOCKET", "/nonexistent/router.sock", 1);
	assert_non_null(f = fopen(uacme, "w"));
	fprintf(f,
		"#!/bin/sh\n"
		"for a; do case $a in new|issue|revoke) echo $a >>'%s';; esac; done\n"
		"case \" $* \" in *\" new \"*) mkdir -p \"$2/private\" && echo key "
		">\"$2/private/key.pem\"; "
		"exit 0;; esac\n"
		"echo 'uacme: running hook failed http-01 a.example.com tok tok.x'\n"
		"printf '{\\n  \"type\": \"urn:ietf:params:acme:error:unauthorized\",\\n"
		"  \"detail\": \"Non-200 status code from HTTP: returned 404\",\\n}\\n'\n"
		"echo 'uacme: failed to authorize order' >&2\n"
		"exit 2\n",
		runs);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "chmod 755 %s && mkdir -p %s", uacme, root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int enable_fn(const char *app, json_t *doc, void *data)
{
	json_t *le = app_ensure(doc, APP_LETSENCRYPT);

	(void)app;
	(void)data;
	assert_int_equal(app_set_bool(le, APP_LE_ENABLED, 1), 0);
	return 1;
}

static json_t *le_state(const char *app)
{
	json_t *doc = NULL, *le;

	assert_int_equal(app_load(app, &doc), 0);
	le = json_incref(app_get(doc, APP_LETSENCRYPT));
	json_decref(doc);
	return le;
}

static void failures_back_off(void **state)
{
	long long now = (long long)time(NULL), retry;
	json_t *le;

	(void)state;
	assert_int_equal(app_create("web"), 0);
	assert_int_equal(app_create("plain"), 0);
	assert_true(app_update_key("web", APP_DEFAULT_DOMAIN, json_false()) >= 0);
	assert_true(app_update_key("web", APP_DOMAINS, json_pack("[s]", "web.example.com")) >= 0);
	assert_int_equal(app_update("web", enable_fn, NULL), 1);

	/* Due (no certificate at all), tried, failed: counted, one hour off. */
	assert_int_equal(deploy_certs_renew_due(), -1);
	assert_string_equal(err_msg(), "1 certificate renewal failed");
	assert_int_equal(count_runs("issue"), 1);
	le = le_state("web");
	assert_int_equal(app_get_int(le, APP_LE_FAILURES), 1);
	retry = app_get_int(le, APP_LE_RETRY_AT);
	assert_true(retry >= now + 3600 && retry <= now + 3600 + 60);
	assert_non_null(strstr(app_get_str(le, APP_LE_LAST_ERROR),
			       "uacme issue failed: Non-200 status code from HTTP: returned 404"));
	json_decref(le);
	/* The app without letsencrypt was never looked at. */
	assert_null(le_state("plain"));

	/* The timer again: backing off, nothing run, nothing failed. */
	assert_int_equal(deploy_certs_renew_due(), 0);
	assert_int_equal(count_runs("issue"), 1);

	/* A person asks: the backoff is ignored; the next one doubles. */
	assert_int_equal(deploy_letsencrypt_renew("web", 0, 0), -1);
	assert_string_equal(err_msg(), "the certificate of web was not renewed");
	assert_int_equal(count_runs("issue"), 2);
	le = le_state("web");
	assert_int_equal(app_get_int(le, APP_LE_FAILURES), 2);
	assert_true(app_get_int(le, APP_LE_RETRY_AT) >= now + 7200);
	json_decref(le);
	/* One account, made once. */
	assert_int_equal(count_runs("new"), 1);
	/* Not enabled: refused, not tried. */
	assert_int_equal(deploy_letsencrypt_renew("plain", 1, 0), -1);
	assert_int_equal(count_runs("issue"), 2);
}

static void reason_from_output(void **state)
{
	static const char out[] = "uacme: running /x/hook begin http-01 a tok tok.x\n"
				  "{\n  \"detail\": \"first\",\n}\n"
				  "{\n  \"detail\": \"the \\\"last\\\" one\\u0001\",\n}\n"
				  "uacme: failed to authorize order\n";
	char r[64];

	(void)state;
	deploy__le_reason(r, sizeof(r), out, strlen(out));
	/* (an escape keeps its character, not its meaning: enough for a message) */
	assert_string_equal(r, "the \"last\" oneu0001");
	deploy__le_reason(r, sizeof(r), "uacme: a\tb\nuacme: running x\n", 26);
	assert_string_equal(r, "uacme: a b");
	deploy__le_reason(r, 5, "0123456789", 10);
	assert_string_equal(r, "0123");
	deploy__le_reason(r, sizeof(r), "", 0);
	assert_string_equal(r, "-");
	assert_string_equal(deploy_letsencrypt_url(NULL),
			    "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(deploy_letsencrypt_url("staging"),
			    "https://acme-staging-v02.api.letsencrypt.org/directory");
	assert_string_equal(deploy_letsencrypt_url("https://ca.example/dir"),
			    "https://ca.example/dir");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failures_back_off),
		cmocka_unit_test(reason_from_output),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
