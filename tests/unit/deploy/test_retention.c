/* test_retention.c - which releases keep their image (deploy__release_kept): the newest
 * `retain`, and older ones whose image one of those runs; a pruned release or one without
 * an image keeps nothing. The same answer decides which manifests of a swarm app the
 * cluster's registry keeps (deploy__registry_retain). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "deploy/internal.h"

/* releases.json with one release per image name ("" for none, a '!' prefix: pruned). */
static json_t *releases(const char *const *images, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *r = json_pack("{s:I}", "version", (json_int_t)(i + 1));
		const char *img = images[i];
		if (img[0] == '!') {
			json_object_set_new(r, "pruned", json_true());
			img++;
		}
		if (*img)
			json_object_set_new(r, "image", json_string(img));
		json_array_append_new(arr, r);
	}
	return json_pack("{s:o}", "releases", arr);
}

static void the_newest_retain_are_kept(void **state)
{
	const char *imgs[] = { "a", "b", "c", "d", "e" };
	json_t *rels = releases(imgs, 5);

	(void)state;
	assert_false(deploy__release_kept(rels, 0, 2));
	assert_false(deploy__release_kept(rels, 2, 2));
	assert_true(deploy__release_kept(rels, 3, 2));
	assert_true(deploy__release_kept(rels, 4, 2));
	/* retain 1: the current only; a retain above the count: all of them */
	assert_false(deploy__release_kept(rels, 3, 1));
	assert_true(deploy__release_kept(rels, 4, 1));
	for (size_t i = 0; i < 5; i++)
		assert_true(deploy__release_kept(rels, i, 100));
	/* out of range */
	assert_false(deploy__release_kept(rels, 5, 2));
	json_decref(rels);
}

/* v1 and v2 share an image with v5 (a config:set, a rollback): kept with it; the
 * image of v3 is only v3's: not kept. */
static void an_image_a_kept_release_runs_is_kept(void **state)
{
	const char *imgs[] = { "a", "a", "b", "c", "a" };
	json_t *rels = releases(imgs, 5);

	(void)state;
	assert_true(deploy__release_kept(rels, 0, 2));
	assert_true(deploy__release_kept(rels, 1, 2));
	assert_false(deploy__release_kept(rels, 2, 2));
	assert_true(deploy__release_kept(rels, 3, 2));
	json_decref(rels);
}

static void pruned_or_imageless_keep_nothing(void **state)
{
	const char *imgs[] = { "!a", "", "!c", "c" };
	json_t *rels = releases(imgs, 4);

	(void)state;
	assert_false(deploy__release_kept(rels, 0, 5));
	assert_false(deploy__release_kept(rels, 1, 5));
	assert_false(deploy__release_kept(rels, 2, 5));
	assert_true(deploy__release_kept(rels, 3, 5));
	json_decref(rels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_newest_retain_are_kept),
		cmocka_unit_test(an_image_a_kept_release_runs_is_kept),
		cmocka_unit_test(pruned_or_imageless_keep_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
