/* src/build/internal.h - helpers shared by the builders' files, pure where they can
 * be so that tests and fuzzers reach them without Docker. */
#ifndef WHARF_BUILD_INTERNAL_H
#define WHARF_BUILD_INTERNAL_H

#include "build/build.h"

#include <sys/socket.h>

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

/* ---- the egress proxy (proxy.c), pure parts ------------------------------------ */

/* 1 when a tunnel may go to this address: not loopback, unspecified, private
 * (10/8, 172.16/12, 192.168/16, fc00::/7), carrier NAT (100.64/10), link-local
 * (169.254/16: cloud metadata, fe80::/10), multicast or reserved; v4-mapped v6
 * addresses are judged as v4. */
int build__proxy_addr_allowed(const struct sockaddr *sa);
/* Parses "CONNECT host:port HTTP/1.x" (the head's first line); host may be
 * "[v6]". Only ports 80 and 443. Appends host. */
int build__proxy_parse_connect(const char *head, struct buf *host, int *port);

#endif
