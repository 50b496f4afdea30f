/* src/build/ignore.c - .dockerignore patterns, matched the way the docker CLI does
 * when it makes a build context (the daemon does not apply them itself). */
#include "build/internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* Cleans one pattern into out: no leading '/', no "." or empty segments, no
 * trailing '/'. Returns 0 when nothing is left (the pattern is dropped). */
static int clean_pattern(const char *p, size_t len, struct buf *out)
{
	size_t i = 0;

	buf_reset(out);
	while (i < len) {
		size_t j = i;
		while (j < len && p[j] != '/')
			j++;
		int dup_star = j - i == 2 && p[i] == '*' && p[i + 1] == '*' && out->len >= 2 &&
			       !strcmp(out->buf + out->len - 2, "**") &&
			       (out->len == 2 || out->buf[out->len - 3] == '/');
		/* "**" twice in a row means what one does, and would only slow the match. */
		if (j > i && !(j - i == 1 && p[i] == '.') && !dup_star) {
			if (out->len && buf_addch(out, '/') < 0)
				return -1;
			if (buf_add(out, p + i, j - i) < 0)
				return -1;
		}
		i = j + 1;
	}
	return out->len ? 1 : 0;
}

int build__ignore_parse(struct build__ignore *ig, const char *text, size_t len)
{
	const char *cur = text, *end = text + len;
	struct buf clean = BUF_INIT;
	int ret = -1;

	while (cur < end) {
		const char *nl = memchr(cur, '\n', (size_t)(end - cur));
		const char *s = cur, *e = nl ? nl : end;
		int neg = 0, r;

		cur = nl ? nl + 1 : end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			continue;
		if (*s == '!') {
			neg = 1;
			s++;
			while (s < e && isspace((unsigned char)*s))
				s++;
		}
		if (memchr(s, '\0', (size_t)(e - s)))
			continue; /* cannot match a file name */
		if ((r = clean_pattern(s, (size_t)(e - s), &clean)) < 0)
			goto out;
		if (!r)
			continue;
		if (ig->n % 16 == 0) {
			struct build__ignore_rule *g =
				realloc(ig->rules, (ig->n + 16) * sizeof(*g));
			if (!g) {
				err_set("out of memory");
				goto out;
			}
			ig->rules = g;
		}
		ig->rules[ig->n].pattern = buf_detach(&clean, NULL);
		ig->rules[ig->n].negate = neg;
		ig->has_negations |= neg;
		ig->n++;
	}
	ret = 0;
out:
	buf_release(&clean);
	return ret;
}

void build__ignore_release(struct build__ignore *ig)
{
	size_t i;

	for (i = 0; i < ig->n; i++)
		free(ig->rules[i].pattern);
	free(ig->rules);
	ig->rules = NULL;
	ig->n = 0;
	ig->has_negations = 0;
}

/* Length of the segment at s (up to '/' or the end). */
static size_t seg_len(const char *s)
{
	return strcspn(s, "/");
}

static int seg_match(const char *pat, size_t plen, const char *name, size_t nlen)
{
	char p[4096], n[4096];

	if (plen >= sizeof(p) || nlen >= sizeof(n))
		return 0;
	memcpy(p, pat, plen);
	p[plen] = '\0';
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	return fnmatch(p, n, 0) == 0;
}

/* Does pattern pat match path, or a directory above path? "**" matches any number
 * of segments (none included). depth bounds the backtracking on hostile input. */
static int match_at(const char *pat, const char *path, int depth)
{
	if (depth > 64)
		return 0;
	for (;;) {
		size_t pl, sl;

		if (!*pat)
			return 1; /* pattern used up: path is it or below it */
		pl = seg_len(pat);
		if (pl == 2 && pat[0] == '*' && pat[1] == '*') {
			const char *rest = pat[2] ? pat + 3 : pat + 2;
			for (;;) {
				if (match_at(rest, path, depth + 1))
					return 1;
				if (!*path)
					return 0;
				path += seg_len(path);
				if (*path)
					path++;
			}
		}
		if (!*path)
			return 0;
		sl = seg_len(path);
		if (!seg_match(pat, pl, path, sl))
			return 0;
		pat += pl;
		path += sl;
		if (*pat)
			pat++;
		if (*path)
			path++;
	}
}

int build__ignore_match(const struct build__ignore *ig, const char *path)
{
	size_t i;
	int excluded = 0;

	/* The last pattern that matches decides, so "!" can re-include. */
	for (i = 0; i < ig->n; i++)
		if (match_at(ig->rules[i].pattern, path, 0))
			excluded = !ig->rules[i].negate;
	return excluded;
}
