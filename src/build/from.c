/* src/build/from.c - finds the base images a Dockerfile's FROM lines name, and checks
 * they exist locally before a build could make dockerd try to pull them; which app an
 * image was built for (git:from-image and FROM by deployers). */
#include "build/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A physical line: [p, p+len), without its newline or a trailing '\r'. */
struct pline {
	const char *p;
	size_t len;
};

static int next_line(const char **cur, const char *end, struct pline *l)
{
	const char *nl;

	if (*cur >= end)
		return 0;
	nl = memchr(*cur, '\n', (size_t)(end - *cur));
	l->p = *cur;
	l->len = (size_t)((nl ? nl : end) - *cur);
	*cur = nl ? nl + 1 : end;
	if (l->len && l->p[l->len - 1] == '\r')
		l->len--;
	return 1;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blank(const struct pline *l, size_t i)
{
	while (i < l->len && is_blank((unsigned char)l->p[i]))
		i++;
	return i;
}

/* A comment line: '#' is its first non-blank byte. */
static int is_comment(const struct pline *l)
{
	size_t i = skip_blank(l, 0);
	return i < l->len && l->p[i] == '#';
}

/* Parses "# escape=X" (the only directive that changes parsing). Returns 1 for any
 * parser directive ("# name=value"), 0 for anything else, which ends directives. */
static int directive(const struct pline *l, char *escape)
{
	size_t i = skip_blank(l, 0), name, name_len, val, end;

	if (i >= l->len || l->p[i] != '#')
		return 0;
	i = skip_blank(l, i + 1);
	name = i;
	if (i >= l->len || !isalpha((unsigned char)l->p[i]))
		return 0;
	while (i < l->len && isalnum((unsigned char)l->p[i]))
		i++;
	name_len = i - name;
	i = skip_blank(l, i);
	if (i >= l->len || l->p[i] != '=')
		return 0;
	val = skip_blank(l, i + 1);
	end = l->len;
	while (end > val && is_blank((unsigned char)l->p[end - 1]))
		end--;
	if (end == val)
		return 0;
	if (name_len == 6 && strncasecmp(l->p + name, "escape", 6) == 0 && end - val == 1 &&
	    (l->p[val] == '`' || l->p[val] == '\\'))
		*escape = l->p[val];
	return 1;
}

/* Strips a trailing escape char (plus blanks after it): 1 when the line continues. */
static int continues(struct pline *l, char escape)
{
	size_t end = l->len;

	while (end && is_blank((unsigned char)l->p[end - 1]))
		end--;
	if (end && l->p[end - 1] == escape) {
		l->len = end - 1;
		return 1;
	}
	return 0;
}

/* Splits s into whitespace-separated words; returns how many (at most max). */
static size_t split_words(const char *s, size_t len, struct pline *w, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !isspace((unsigned char)s[i]))
			i++;
		w[n].p = s + start;
		w[n].len = i - start;
		n++;
	}
	return n;
}

static int word_is(const struct pline *w, const char *s)
{
	return w->len == strlen(s) && strncasecmp(w->p, s, w->len) == 0;
}

static int in_array_ci(const json_t *a, const struct pline *w)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s && strlen(s) == w->len && strncasecmp(s, w->p, w->len) == 0)
			return 1;
	}
	return 0;
}

static int checkable(const struct pline *w)
{
	size_t i;

	if (!w->len || word_is(w, "scratch"))
		return 0;
	for (i = 0; i < w->len; i++) {
		unsigned char c = (unsigned char)w->p[i];
		if (c == '$' || c < 0x21 || c > 0x7e)
			return 0;
	}
	return 1;
}

/* Handles one logical line (continuations joined). */
static int from_line(const char *s, size_t len, json_t *images, json_t *stages)
{
	struct pline w[8];
	size_t n = split_words(s, len, w, 8), i = 1;

	if (n < 2 || !word_is(&w[0], "from"))
		return 0;
	while (i < n && w[i].len > 2 && w[i].p[0] == '-' && w[i].p[1] == '-')
		i++; /* --platform=…: a flag, not the image */
	if (i >= n)
		return 0;
	if (!in_array_ci(stages, &w[i]) && checkable(&w[i]) && !in_array_ci(images, &w[i]) &&
	    json_array_append_new(images, json_stringn(w[i].p, w[i].len)) < 0)
		return -1;
	if (i + 2 < n && word_is(&w[i + 1], "as") && w[i + 2].len &&
	    json_array_append_new(stages, json_stringn_nocheck(w[i + 2].p, w[i + 2].len)) < 0)
		return -1;
	return 0;
}

int build__from_images(const char *text, size_t len, json_t *images)
{
	const char *cur = text, *end = text + len;
	struct buf logical = BUF_INIT;
	json_t *stages = json_array();
	char escape = '\\';
	int in_directives = 1, ret = -1;
	struct pline l;

	if (!stages)
		return err_set("out of memory");
	if (len >= 3 && memcmp(cur, "\xEF\xBB\xBF", 3) == 0)
		cur += 3; /* a UTF-8 byte order mark */
	while (next_line(&cur, end, &l)) {
		if (in_directives && (in_directives = directive(&l, &escape)))
			continue;
		if (is_comment(&l))
			continue;
		buf_reset(&logical);
		/* Comment and blank lines inside a continuation are skipped, as the
		 * Docker parser does. */
		for (;;) {
			int more = continues(&l, escape);
			if (buf_add(&logical, l.p, l.len) < 0)
				goto out;
			if (!more)
				break;
			do {
				if (!next_line(&cur, end, &l)) {
					l.len = 0;
					goto joined;
				}
			} while (is_comment(&l) || skip_blank(&l, 0) == l.len);
		}
joined:
		if (from_line(logical.buf, logical.len, images, stages) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(stages);
	buf_release(&logical);
	return ret;
}

static int from_flags(const char *text, size_t len, json_t *images);

/* The images dir/Dockerfile names in FROM lines (and, with copy_sources, in
 * COPY --from= and RUN --mount=from=): a new array in *out. */
static int dockerfile_images(json_t **out, const char *dir, int copy_sources)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int ret = -1;

	*out = json_array();
	if (!*out)
		return err_set("out of memory");
	if (buf_addf(&path, "%s/Dockerfile", dir) < 0 ||
	    fs_read_regular(path.buf, &text, BUILD__DOCKERFILE_MAX) < 0 ||
	    build__from_images(text.buf, text.len, *out) < 0 ||
	    (copy_sources && from_flags(text.buf, text.len, *out) < 0))
		goto out;
	ret = 0;
out:
	buf_release(&text);
	buf_release(&path);
	return ret;
}

int build_check_base_images(struct docker *d, const char *dir)
{
	json_t *images = NULL, *v;
	size_t i;
	int ret = -1;

	if (dockerfile_images(&images, dir, 0) < 0)
		goto out;
	json_array_foreach(images, i, v) {
		const char *ref = json_string_value(v);
		int exists = 0;

		if (docker_image_exists(d, ref, &exists) < 0)
			goto out;
		if (!exists) {
			err_set("base image '%s' is not on this host and wharf never pulls images: "
				"build or load it first (docker load / docker import)",
				ref);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(images);
	return ret;
}

/* Does ref name the repository wharf/<app> ("wharf/app", "wharf/app:3",
 * "wharf/app@sha256:…")? */
static int ref_is_apps(const char *ref, const char *app)
{
	size_t n = strlen(app);

	if (strncmp(ref, "wharf/", 6) || strncmp(ref + 6, app, n))
		return 0;
	return ref[6 + n] == '\0' || ref[6 + n] == ':' || ref[6 + n] == '@';
}

int build_image_is_apps(const json_t *info, const char *ref, const char *app)
{
	const char *label = json_str(json_object_get(json_object_get(info, "Config"), "Labels"),
				     DOCKER_LABEL_APP, NULL);

	return ref_is_apps(ref, app) || (label && !strcmp(label, app));
}

int build_image_other_app(const json_t *info, const char *app, char *other, size_t size)
{
	const char *label = json_str(json_object_get(json_object_get(info, "Config"), "Labels"),
				     DOCKER_LABEL_APP, NULL);
	json_t *tags = json_object_get(info, "RepoTags"), *v;
	size_t i;

	if (label && *label && strcmp(label, app)) {
		snprintf(other, size, "%s", label);
		return 1;
	}
	/* wharf's own tags: a release (wharf/<app>:<N>, also what git:from-image
	 * tags) or the buildpacks dependency layer (wharf/<app>:deps-…). */
	json_array_foreach(tags, i, v) {
		const char *t = json_string_value(v), *colon;
		if (!t || strncmp(t, "wharf/", 6) || !(colon = strrchr(t, ':')))
			continue;
		if (strspn(colon + 1, "0123456789") != strlen(colon + 1) &&
		    strncmp(colon + 1, "deps-", 5))
			continue;
		if ((size_t)(colon - t - 6) == strlen(app) && !strncmp(t + 6, app, strlen(app)))
			continue;
		snprintf(other, size, "%.*s", (int)(colon - t - 6), t + 6);
		return 1;
	}
	return 0;
}

/* The images `COPY --from=IMAGE` and `RUN --mount=…,from=IMAGE` read: every
 * "from=" value in the text (a stage name among them is harmless: no image of
 * another app is called like a stage). Appended to images. */
static int from_flags(const char *text, size_t len, json_t *images)
{
	size_t i, n;

	for (i = 0; i + 5 < len; i++) {
		if (strncasecmp(text + i, "from=", 5) || (i && isalnum((unsigned char)text[i - 1])))
			continue;
		i += 5;
		n = strcspn(text + i, " \t\r\n,\"'");
		if (i + n > len)
			n = len - i;
		if (n && json_array_append_new(images, json_stringn_nocheck(text + i, n)) < 0)
			return err_set("out of memory");
	}
	return 0;
}

int build_check_base_owners(struct docker *d, const char *dir, const char *app)
{
	json_t *images = NULL, *v, *info = NULL;
	char other[256];
	size_t i;
	int ret = -1;

	if (dockerfile_images(&images, dir, 1) < 0)
		goto out;
	json_array_foreach(images, i, v) {
		json_decref(info);
		info = NULL;
		if (docker_image_inspect(d, json_string_value(v), &info) < 0) {
			err_clear(); /* missing: build_check_base_images() says so */
			continue;
		}
		if (build_image_other_app(info, app, other, sizeof(other))) {
			err_set("refused: FROM %s is an image of app '%s'; deployers build only "
				"from (and copy only from) base images and images of their own app",
				json_string_value(v), other);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(info);
	json_decref(images);
	return ret;
}
