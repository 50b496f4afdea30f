/* src/build/limits.c - the limits every build is held to, whichever builder runs it:
 * a time limit (WHARF_BUILD_TIMEOUT) and a size limit for the image it makes
 * (WHARF_BUILD_MAX_SIZE); each read from the app's config var, else wharf's
 * environment, else a default. */
#include "build/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A build stops after this long unless the app's WHARF_BUILD_TIMEOUT config var or
 * wharf's environment says otherwise; a day at most. */
#define BUILD_TIMEOUT_DEFAULT  (20 * 60)
#define BUILD_TIMEOUT_MAX      (24 * 60 * 60)
/* An image larger than this is refused (and removed). */
#define BUILD_MAX_SIZE_DEFAULT "2g"

/* The config var `name` of the app, else wharf's environment; *from says which. */
static const char *setting(const json_t *config, const char *name, struct buf *from)
{
	const char *v = json_str(config, name, NULL);

	buf_reset(from);
	if (v && *v) {
		buf_addf(from, "the app's %s", name);
		return v;
	}
	v = getenv(name);
	if (v && *v) {
		buf_addf(from, "%s in wharf's environment", name);
		return v;
	}
	buf_addstr(from, "the default");
	return NULL;
}

int build_timeout_parse(const char *s, long *secs)
{
	char *end;
	long v, unit = 1;

	errno = 0;
	v = (s && *s >= '0' && *s <= '9') ? strtol(s, &end, 10) : -1;
	if (v >= 0 && !errno) {
		if (*end == 's')
			end++;
		else if (*end == 'm')
			unit = 60, end++;
		else if (*end == 'h')
			unit = 3600, end++;
	}
	if (v <= 0 || errno || *end || v > BUILD_TIMEOUT_MAX / unit)
		return err_set(
			"bad build timeout '%s': give seconds (1 to %d), or minutes or hours "
			"with an m or h suffix (20m, 1h)",
			s ? s : "", BUILD_TIMEOUT_MAX);
	*secs = v * unit;
	return 0;
}

/* A bad value fails the build: silently building without the limit it meant is worse. */
int build_timeout(const json_t *config, long *secs, struct buf *from)
{
	const char *v = setting(config, "WHARF_BUILD_TIMEOUT", from);

	*secs = BUILD_TIMEOUT_DEFAULT;
	if (v && build_timeout_parse(v, secs) < 0) {
		struct buf why = BUF_INIT;
		int r = buf_addstr(&why, err_msg());
		if (r == 0)
			err_set("%s (from %s)", why.buf, from->buf);
		buf_release(&why);
		return -1;
	}
	return 0;
}

/* The one size parser (size_parse(), src/common) with the build's bounds. */
int build_size_parse(const char *s, long long *bytes)
{
	long long v = 0;

	*bytes = 0;
	if (size_parse(s, &v) < 0 || v < (1LL << 20) || v > (1LL << 40))
		return err_set("bad size '%s': give bytes or a number with k, m or g (1m to 1024g)",
			       s ? s : "");
	*bytes = v;
	return 0;
}

int build_check_image_size(struct docker *d, const char *image, const json_t *config)
{
	struct buf from = BUF_INIT;
	const char *v = setting(config, "WHARF_BUILD_MAX_SIZE", &from);
	json_t *info = NULL;
	long long max, size;
	int ret = -1;

	if (build_size_parse(v ? v : BUILD_MAX_SIZE_DEFAULT, &max) < 0) {
		struct buf why = BUF_INIT;
		if (buf_addstr(&why, err_msg()) == 0)
			err_set("bad WHARF_BUILD_MAX_SIZE: %s (from %s)", why.buf, from.buf);
		buf_release(&why);
		goto out;
	}
	if (docker_image_inspect(d, image, &info) < 0)
		goto out;
	size = json_int(info, "Size", 0);
	if (size > max) {
		/* Removed at once: an image over the limit must not fill the disk either. */
		docker_image_remove(d, image, 1);
		err_set("the image is %lld MB, over the limit of %lld MB (%s); set the app's "
			"WHARF_BUILD_MAX_SIZE config var (e.g. 4g) to allow more",
			size >> 20, max >> 20, from.buf);
		goto out;
	}
	ret = 0;
out:
	json_decref(info);
	buf_release(&from);
	return ret;
}
