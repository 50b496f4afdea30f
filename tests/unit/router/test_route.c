/* test_route.c - control API body validation and the persisted table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

static int put(struct route_def *rs, const char *app, const char *body)
{
	struct route_def tmp = ROUTE_DEF_INIT;
	*rs = tmp;
	return router__route_parse(rs, app, body, strlen(body));
}

static void test_route_full(void **state)
{
	struct route_def rs;
	(void)state;

	assert_int_equal(put(&rs, "web",
			     "{\"domains\": [\"A.Example.com\", \"*.b.io\"], "
			     "\"targets\": [\"127.0.0.1:32768\", \"10.0.0.2:80\"], "
			     "\"health\": {\"path\": \"/up\", \"interval_ms\": 500, "
			     "\"timeout_ms\": 2000, \"deadline_ms\": 9000}, "
			     "\"drain_timeout_ms\": 100}"),
			 0);
	assert_string_equal(rs.app, "web");
	assert_int_equal(rs.ndomains, 2);
	assert_string_equal(rs.domains[0], "a.example.com");
	assert_int_equal(rs.ntargets, 2);
	assert_string_equal(rs.targets[1], "10.0.0.2:80");
	assert_true(rs.has_health);
	assert_string_equal(rs.health_path, "/up");
	assert_int_equal(rs.interval_ms, 500);
	assert_int_equal(rs.timeout_ms, 2000);
	assert_int_equal(rs.deadline_ms, 9000);
	assert_int_equal(rs.drain_timeout_ms, 100);
	router__route_release(&rs);
}

static void test_route_defaults(void **state)
{
	struct route_def rs;
	(void)state;

	assert_int_equal(put(&rs, "web", "{\"domains\": [], \"targets\": [], \"health\": {}}"), 0);
	assert_string_equal(rs.health_path, "/");
	assert_int_equal(rs.interval_ms, 1000);
	assert_int_equal(rs.timeout_ms, 5000);
	assert_int_equal(rs.deadline_ms, 30000);
	assert_int_equal(rs.drain_timeout_ms, 30000);
	router__route_release(&rs);
}

static void test_route_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"domains\": [], \"targets\": [], \"extra\": 1}",
		"{\"targets\": []}",
		"{\"domains\": []}",
		"{\"domains\": [\"a b\"], \"targets\": []}",
		"{\"domains\": [\"https://a.com\"], \"targets\": []}",
		"{\"domains\": [1], \"targets\": []}",
		"{\"domains\": [\"a.com\", \"A.com\"], \"targets\": []}",
		"{\"domains\": [], \"targets\": [\"localhost:80\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1:0\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1:65536\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1:80x\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1:-1\"]}",
		"{\"domains\": [], \"targets\": [\"127.0.0.1:80\", \"127.0.0.1:80\"]}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"path\": \"x\"}}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"path\": \"/a b\"}}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"interval_ms\": 0}}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"timeout_ms\": \"5\"}}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"deadline_ms\": 1.5}}",
		"{\"domains\": [], \"targets\": [], \"health\": {\"bogus\": 1}}",
		"{\"domains\": [], \"targets\": [], \"drain_timeout_ms\": -1}",
		"{\"domains\": [], \"targets\": [], \"app\": \"other\"}",
		"{\"domains\": [], \"domains\": [], \"targets\": []}",
		NULL
	};
	struct route_def rs;
	size_t i;
	(void)state;

	for (i = 0; bad[i]; i++) {
		if (put(&rs, "web", bad[i]) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err_msg()) > 0);
		router__route_release(&rs);
	}
	assert_int_equal(put(&rs, "../etc", "{\"domains\": [], \"targets\": []}"), -1);
	router__route_release(&rs);
}

static void test_target_parse(void **state)
{
	struct sockaddr_in sa;
	(void)state;

	assert_int_equal(router__target_parse(&sa, "127.0.0.1:32768"), 0);
	assert_int_equal(ntohs(sa.sin_port), 32768);
	assert_int_equal(router__target_parse(&sa, "::1:80"), -1);
	assert_int_equal(router__target_parse(&sa, ":80"), -1);
	assert_int_equal(router__target_parse(&sa, "1.2.3.4:"), -1);
}

static void test_table_round_trip(void **state)
{
	unsigned long long gen = 0;
	struct route_def a, b, *back = NULL;
	const struct route_def *specs[2];
	json_t *table;
	char *text;
	size_t n = 0, i;
	(void)state;

	assert_int_equal(
		put(&a, "web", "{\"domains\": [\"a.com\"], \"targets\": [\"127.0.0.1:1\"]}"), 0);
	assert_int_equal(
		put(&b, "api", "{\"domains\": [], \"targets\": [], \"drain_timeout_ms\": 5}"), 0);
	specs[0] = &a;
	specs[1] = &b;
	table = router__table_to_json(specs, 2, 7);
	assert_non_null(table);
	text = json_dumps(table, JSON_SORT_KEYS);
	assert_int_equal(router__table_parse(&back, &n, &gen, text, strlen(text)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gen, 7);
	for (i = 0; i < n; i++) {
		if (!strcmp(back[i].app, "web")) {
			assert_string_equal(back[i].domains[0], "a.com");
			assert_string_equal(back[i].targets[0], "127.0.0.1:1");
		} else {
			assert_string_equal(back[i].app, "api");
			assert_int_equal(back[i].drain_timeout_ms, 5);
		}
		router__route_release(&back[i]);
	}
	free(back);
	free(text);
	json_decref(table);
	router__route_release(&a);
	router__route_release(&b);
}

static void test_table_invalid(void **state)
{
	unsigned long long gen = 0;
	static const char *const bad[] = {
		"not json",
		"{}",
		"{\"version\": 2, \"apps\": {}}",
		"{\"version\": 1, \"apps\": []}",
		"{\"version\": 1, \"apps\": {\"Bad\": {\"domains\": [], \"targets\": []}}}",
		"{\"version\": 1, \"apps\": {\"a\": {\"domains\": [], \"targets\": [\"x\"]}}}",
		"{\"version\": 1, \"apps\": {\"a\": {\"domains\": [], \"targets\": [], \"health\": "
		"{}}}}",
		"{\"version\": 1, \"generation\": -1, \"apps\": {}}",
		"{\"version\": 1, \"generation\": \"1\", \"apps\": {}}",
		NULL
	};
	struct route_def *specs;
	size_t n, i;
	(void)state;

	for (i = 0; bad[i]; i++) {
		if (router__table_parse(&specs, &n, &gen, bad[i], strlen(bad[i])) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(
		router__table_parse(&specs, &n, &gen, "{\"version\": 1, \"apps\": {}}", 26), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gen, 0); /* a table written before the journal */
	free(specs);
}

static void test_route_to_json(void **state)
{
	struct route_def rs;
	json_t *j;
	char *s;
	(void)state;

	assert_int_equal(
		put(&rs, "web", "{\"domains\": [\"a.com\"], \"targets\": [\"127.0.0.1:9\"]}"), 0);
	j = router__route_to_json(&rs);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s, "{\"app\":\"web\",\"domains\":[\"a.com\"],\"targets\":[\"127.0.0.1:9\"]}");
	free(s);
	json_decref(j);
	router__route_release(&rs);
}

/* Options: validated, persisted only when set, and "given" is told apart from
 * "left out" (a deploy's PUT leaves them out and must not reset them). */
static void test_route_options(void **state)
{
	unsigned long long gen = 0;
	struct route_def a, b, c, *back = NULL;
	const struct route_def *specs[2];
	json_t *table, *o;
	char *text;
	size_t n = 0, i;
	(void)state;

	assert_int_equal(put(&a, "web",
			     "{\"domains\": [], \"targets\": [], "
			     "\"redirect_https\": true, \"max_body_bytes\": 10485760}"),
			 0);
	assert_true(a.redirect_set && a.redirect_https);
	assert_true(a.max_body_set);
	assert_true(a.max_body_bytes == 10485760ULL);
	assert_int_equal(put(&b, "api", "{\"domains\": [], \"targets\": []}"), 0);
	assert_false(b.redirect_set || b.max_body_set || b.max_body_given);
	/* null is given (wharf's route PUT resets the limit with it) but not set. */
	assert_int_equal(put(&c, "nul",
			     "{\"domains\": [], \"targets\": [], "
			     "\"max_body_bytes\": null}"),
			 0);
	assert_true(c.max_body_given && !c.max_body_set);
	router__route_release(&c);
	o = router__route_options_json(&b);
	text = json_dumps(o, JSON_SORT_KEYS);
	assert_string_equal(text, "{\"max_body_bytes\": 1073741824, \"redirect_https\": false}");
	free(text);
	json_decref(o);
	specs[0] = &a;
	specs[1] = &b;
	table = router__table_to_json(specs, 2, 7);
	text = json_dumps(table, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(
		strstr(text, "\"api\":{\"domains\":[],\"drain_timeout_ms\":30000,\"targets\":[]}"));
	assert_int_equal(router__table_parse(&back, &n, &gen, text, strlen(text)), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		if (!strcmp(back[i].app, "web"))
			assert_true(back[i].redirect_https &&
				    back[i].max_body_bytes == 10485760ULL);
		else
			assert_false(back[i].redirect_set || back[i].max_body_set);
		router__route_release(&back[i]);
	}
	free(back);
	free(text);
	json_decref(table);
	router__route_release(&a);
	router__route_release(&b);
	assert_int_equal(
		put(&a, "web", "{\"domains\": [], \"targets\": [], \"redirect_https\": 1}"), -1);
	assert_non_null(strstr(err_msg(), "redirect_https"));
	router__route_release(&a);
	assert_int_equal(
		put(&a, "web", "{\"domains\": [], \"targets\": [], \"max_body_bytes\": -1}"), -1);
	assert_non_null(strstr(err_msg(), "max_body_bytes"));
	router__route_release(&a);
}

/* Indexes the apps of r->apps by domain, as router__app_apply() does. */
static void index_apps(struct router *r)
{
	struct app *a;
	size_t i;

	router__map_release(&r->apps_by_domain);
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < a->spec.ndomains; i++)
			assert_int_equal(router__map_add(&r->apps_by_domain, a->spec.domains[i], a),
					 0);
}

/* Host to app: an exact domain wins over any wildcard, the longest matching
 * wildcard over shorter ones, whatever the order of the table; "*.d" matches
 * subdomains of d at any depth but not d itself. */
static void test_app_for_host(void **state)
{
	static char *d_wide[] = { "*.example.test" };
	static char *d_deep[] = { "*.deep.example.test", "other.test" };
	static char *d_exact[] = { "exact.deep.example.test" };
	static char *d_plain[] = { "example.test" };
	struct app wide = { .spec = { .app = "wide", .domains = d_wide, .ndomains = 1 } };
	struct app deep = { .spec = { .app = "deep", .domains = d_deep, .ndomains = 2 } };
	struct app exact = { .spec = { .app = "exact", .domains = d_exact, .ndomains = 1 } };
	struct app plain = { .spec = { .app = "plain", .domains = d_plain, .ndomains = 1 } };
	struct router *r = calloc(1, sizeof(*r));
	struct app *a;
	int order;
	(void)state;

	assert_non_null(r);
	for (order = 0; order < 2; order++) {
		/* Both orders of the list: the answer must not depend on it. */
		if (order == 0) {
			r->apps = &wide;
			wide.next = &deep;
			deep.next = &exact;
			exact.next = NULL;
		} else {
			r->apps = &exact;
			exact.next = &deep;
			deep.next = &wide;
			wide.next = NULL;
		}
		index_apps(r);
		assert_null(router__app_for_host(r, "example.test"));
		assert_ptr_equal(router__app_for_host(r, "a.example.test"), &wide);
		assert_ptr_equal(router__app_for_host(r, "deep.example.test"), &wide);
		assert_ptr_equal(router__app_for_host(r, "a.deep.example.test"), &deep);
		assert_ptr_equal(router__app_for_host(r, "x.a.deep.example.test"), &deep);
		assert_ptr_equal(router__app_for_host(r, "exact.deep.example.test"), &exact);
		assert_ptr_equal(router__app_for_host(r, "a.exact.deep.example.test"), &deep);
		assert_ptr_equal(router__app_for_host(r, "other.test"), &deep);
		assert_null(router__app_for_host(r, "a.other.test"));
		assert_null(router__app_for_host(r, "xexample.test"));
		assert_null(router__app_for_host(r, "a.example.testx"));
		assert_null(router__app_for_host(r, ".example.test"));
	}
	/* An exact domain beats a wildcard that also matches. */
	plain.next = r->apps;
	r->apps = &plain;
	index_apps(r);
	a = router__app_for_host(r, "example.test");
	assert_ptr_equal(a, &plain);
	router__map_release(&r->apps_by_domain);
	free(r);
}

/* The writer (persist.c) makes the table file from one piece per app: the bytes must be
 * those json_dumps() makes of the whole table, which earlier routers wrote. */
static void test_table_text_pieces(void **state)
{
	static const char *const bodies[] = {
		"{\"domains\": [\"b.example.com\", \"*.b.io\"], \"targets\": [\"127.0.0.1:1\"]}",
		"{\"domains\": [], \"targets\": [], \"drain_timeout_ms\": 0}",
		"{\"domains\": [\"a.io\"], \"targets\": [\"10.0.0.1:80\", \"10.0.0.2:80\"], "
		"\"redirect_https\": false, \"max_body_bytes\": 0}",
		"{\"domains\": [\"c.io\"], \"targets\": [], \"max_body_bytes\": 1048576, "
		"\"redirect_https\": true}",
	};
	static const char *const names[] = { "b-app", "a.app", "a", "web2" };
	struct route_def rs[4];
	const struct route_def *order[4];
	const char *pieces[4];
	struct buf one[4], all = BUF_INIT;
	json_t *table;
	char *want;
	size_t i, j, n;
	(void)state;

	for (i = 0; i < 4; i++) {
		assert_int_equal(put(&rs[i], names[i], bodies[i]), 0);
		buf_init(&one[i], 0);
		assert_int_equal(router__table_entry_text(&one[i], &rs[i]), 0);
	}
	for (n = 0; n <= 4; n++) {
		/* The first n apps, in strcmp() order of their names. */
		for (i = 0; i < n; i++)
			order[i] = &rs[i];
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (strcmp(order[j]->app, order[i]->app) < 0) {
					const struct route_def *x = order[i];
					order[i] = order[j];
					order[j] = x;
				}
		for (i = 0; i < n; i++)
			pieces[i] = one[order[i] - rs].buf;
		buf_reset(&all);
		assert_int_equal(router__table_text_join(&all, pieces, n, 7), 0);
		table = router__table_to_json(order, n, 7);
		want = json_dumps(table, JSON_INDENT(2) | JSON_SORT_KEYS);
		assert_string_equal(all.buf, want);
		free(want);
		json_decref(table);
	}
	for (i = 0; i < 4; i++) {
		buf_release(&one[i]);
		router__route_release(&rs[i]);
	}
	buf_release(&all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_full),       cmocka_unit_test(test_route_defaults),
		cmocka_unit_test(test_route_rejects),    cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_table_round_trip), cmocka_unit_test(test_table_invalid),
		cmocka_unit_test(test_route_to_json),    cmocka_unit_test(test_route_options),
		cmocka_unit_test(test_app_for_host),     cmocka_unit_test(test_table_text_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
