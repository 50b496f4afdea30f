/* src/build/internal.h - helpers shared by the builders' files, pure where they can
 * be so that tests and fuzzers reach them without Docker. */
#ifndef WHARF_BUILD_INTERNAL_H
#define WHARF_BUILD_INTERNAL_H

#include "build/build.h"

/* A Dockerfile larger than this is refused rather than parsed. */
#define BUILD__DOCKERFILE_MAX ((size_t)1 << 20)

/* Parses Dockerfile text (any bytes; len need not end in a newline) and appends
 * to images (a JSON array) each base image a FROM line names that must exist on
 * the host: in order, without duplicates. Left out: stage names defined by an
 * earlier `FROM … AS name` (case-insensitive), `scratch`, references containing
 * '$' (they depend on ARGs, so cannot be checked before the build), and tokens
 * with bytes outside printable ASCII (not a valid reference: the daemon rejects
 * them without pulling). Understands the escape parser directive, line
 * continuations, comments and blank lines inside continuations, `--flag=…`
 * options and case-insensitive FROM/AS. Returns 0, or -1 only when out of memory. */
int build__from_images(const char *text, size_t len, json_t *images);

/* ---- .dockerignore (ignore.c) -------------------------------------------------- */

struct build__ignore_rule {
	char *pattern; /* cleaned: "a/b", "**" segments, fnmatch globs */
	int negate;    /* a "!pattern" line re-includes */
};
struct build__ignore {
	struct build__ignore_rule *rules;
	size_t n;
	int has_negations; /* an excluded dir must still be walked */
};
#define BUILD__IGNORE_INIT                                \
	{                                                 \
		.rules = NULL, .n = 0, .has_negations = 0 \
	}

/* Parses .dockerignore text: one pattern a line, blank lines and '#' comments
 * skipped, surrounding blanks trimmed, "!" negates, leading "/" and "." segments
 * dropped. Appends to ig. Returns 0, or -1 when out of memory. */
int build__ignore_parse(struct build__ignore *ig, const char *text, size_t len);
/* 1 when the context-relative path ("src/a.c") is excluded: the last pattern that
 * matches it or a directory above it decides. */
int build__ignore_match(const struct build__ignore *ig, const char *path);
void build__ignore_release(struct build__ignore *ig);

#endif
