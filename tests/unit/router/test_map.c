/* test_map.c - the router's string-keyed hash table (map.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

static void count_one(const char *key, void *val, void *data)
{
	(void)key;
	(void)val;
	(*(size_t *)data)++;
}

static void test_map_many(void **state)
{
	struct router_map m = ROUTER_MAP_INIT;
	static int vals[5000];
	char key[32];
	size_t i, n = 0;
	(void)state;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "app%zu.example.com", i);
		assert_int_equal(router__map_add(&m, key, &vals[i]), 0);
	}
	assert_int_equal(m.count, 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "app%zu.example.com", i);
		assert_ptr_equal(router__map_get(&m, key), &vals[i]);
	}
	assert_null(router__map_get(&m, "app5000.example.com"));
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "app%zu.example.com", i);
		assert_int_equal(router__map_del(&m, key, &vals[i]), 1);
		assert_int_equal(router__map_del(&m, key, &vals[i]), 0);
	}
	assert_null(router__map_get(&m, "app0.example.com"));
	assert_ptr_equal(router__map_get(&m, "app1.example.com"), &vals[1]);
	router__map_each(&m, count_one, &n);
	assert_int_equal(n, 2500);
	router__map_release(&m);
	assert_int_equal(m.count, 0);
	assert_null(router__map_get(&m, "app1.example.com"));
}

static void test_map_duplicates(void **state)
{
	struct router_map m = ROUTER_MAP_INIT;
	int a, b;
	void *first, *second;
	(void)state;

	/* A table file may name one domain for two apps: both stay findable, and removing
	 * one app's entry leaves the other's. */
	assert_int_equal(router__map_add(&m, "x.io", &a), 0);
	assert_int_equal(router__map_add(&m, "x.io", &b), 0);
	first = router__map_get(&m, "x.io");
	second = router__map_next(&m, "x.io", first);
	assert_true((first == &a && second == &b) || (first == &b && second == &a));
	assert_null(router__map_next(&m, "x.io", second));
	assert_int_equal(router__map_del(&m, "x.io", &a), 1);
	assert_ptr_equal(router__map_get(&m, "x.io"), &b);
	router__map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_many),
		cmocka_unit_test(test_map_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
