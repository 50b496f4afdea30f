/* releases.c - release numbers, who made a release, and image retention: the
 * images of releases beyond the app's retain count are removed. */
#include "internal.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

long deploy__next_version(const json_t *releases)
{
	return (long)app_get_int(app_release_current(releases), APP_VERSION) + 1;
}

void deploy__who(struct buf *out, const char *by)
{
	const char *key = caller_get()->key;
	struct passwd *pw;

	if (by && *by) {
		buf_addstr(out, by);
		return;
	}
	if (key && *key) {
		buf_addstr(out, key);
		return;
	}
	pw = getpwuid(getuid());
	buf_addf(out, "local:%s", pw ? pw->pw_name : "?");
}

/* Is img the image of one of the newest `retain` releases? */
static int kept_image(const json_t *arr, size_t n, long retain, const char *img)
{
	size_t i;

	for (i = n > (size_t)retain ? n - (size_t)retain : 0; i < n; i++)
		if (!strcmp(app_get_str_or(json_array_get(arr, i), APP_IMAGE, ""), img))
			return 1;
	return 0;
}

int deploy__prune_images(struct scheduler *s, json_t *releases, long retain)
{
	json_t *arr = app_releases(releases), *r;
	size_t i, n = json_array_size(arr);
	int removed = 0;

	for (i = 0; n > (size_t)retain && i < n - (size_t)retain; i++) {
		const char *img;

		r = json_array_get(arr, i);
		img = app_get_str(r, APP_IMAGE);
		if (!img || app_get_bool(r, APP_PRUNED))
			continue;
		if (kept_image(arr, n, retain, img))
			continue; /* a newer release runs the same image: it stays */
		if (scheduler_image_remove(s, img, 0) < 0) {
			say_warn("could not remove the image of v%lld: %s",
				 app_get_int(r, APP_VERSION), err_msg());
			continue;
		}
		app_set_bool(r, APP_PRUNED, 1);
		removed++;
	}
	if (removed)
		say_step("Removed %d old image%s (keeping the last %ld releases)", removed,
			 removed > 1 ? "s" : "", retain);
	return removed;
}
