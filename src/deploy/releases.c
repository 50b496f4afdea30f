/* releases.c - release numbers, who made a release, and image retention: the
 * images of releases beyond the app's retain count are removed, and so are their
 * manifests in the cluster's registry for a swarm app. */
#include "internal.h"
#include "cluster/cluster.h"

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

int deploy__release_kept(const json_t *releases, size_t i, long retain)
{
	const json_t *arr = app_releases(releases), *r = json_array_get(arr, i);
	size_t n = json_array_size(arr);
	const char *img = app_get_str(r, APP_IMAGE);

	if (!r || !img || app_get_bool(r, APP_PRUNED))
		return 0;
	/* the newest `retain`, and those whose image a newer one of them runs */
	return i + (size_t)retain >= n || kept_image(arr, n, retain, img);
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
		if (deploy__release_kept(releases, i, retain))
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

void deploy__registry_retain(struct scheduler *s, const char *app, const json_t *appobj,
			     const json_t *releases, long retain)
{
	json_t *keep = json_array(), *r;
	const json_t *arr = app_releases(releases);
	char tag[24];
	size_t i;
	int n;

	/* A swarm app, or one that was (it has its swarm port bases): its pushes. */
	if (!deploy__is_swarm(s) && !app_get(appobj, APP_SWARM_PORTS))
		goto out;
	if (!keep) {
		say_warn("the registry keeps %s's old images: out of memory", app);
		goto out;
	}
	json_array_foreach(arr, i, r) {
		snprintf(tag, sizeof(tag), "%lld", app_get_int(r, APP_VERSION));
		if (deploy__release_kept(releases, i, retain)) {
			if (json_array_append_new(keep, json_string(tag)) < 0) {
				say_warn("the registry keeps %s's old images: out of memory", app);
				goto out;
			}
		} else if (!app_get_bool(r, APP_PRUNED) &&
			   cluster_image_untag(scheduler_builder(s), app, tag) < 0) {
			/* This host's tag of the push: the image could not be pruned with it. */
			say_warn("could not remove the registry's tag of v%s here: %s", tag,
				 err_msg());
		}
	}
	if ((n = cluster_registry_prune(app, keep)) < 0)
		say_warn("the registry keeps %s's old images: %s", app, err_msg());
	else if (n)
		say_step("Removed %d old image%s from the cluster's registry (keeping the last "
			 "%ld releases)",
			 n, n > 1 ? "s" : "", retain);
out:
	err_clear(); /* handled: warned */
	json_decref(keep);
}
