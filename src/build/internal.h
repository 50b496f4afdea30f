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

#endif
