/* tests/unit/lib/fakes.h - a fake Docker Engine and a fake wharf router, each an
 * HTTP server on a unix socket served by threads of the test process, for unit
 * tests of code that deploys (src/deploy/, src/runtime/). Both record every
 * request in one event log, in the order they arrived.
 *
 * The fake Docker keeps containers and images in memory and answers the Engine
 * API calls a deploy makes: ping/version, build (the context is read and an image
 * "sha256:fakeN" made), images (inspect, tag, delete, list), containers (create,
 * start, inspect, update, stop, delete, list with label filters, logs). A started
 * container with PORT in its environment listens on 127.0.0.1:PORT and answers
 * every HTTP request with FAKE_STATUS (default 200) and the body "ok"; with
 * FAKE_EXIT=N in its environment it exits with code N at once instead.
 *
 * The fake router answers PUT/GET/DELETE /apps/<app> (and PUT /apps/<app>/cert);
 * fakes_router_refuse(1) makes it refuse route PUTs with 502, as a router whose
 * health check failed. */
#ifndef WHARF_TEST_FAKES_H
#define WHARF_TEST_FAKES_H

#include "common.h"

/* Starts both fakes with sockets under dir, and points DOCKER_HOST and
 * WHARF_ROUTER_SOCKET at them. Returns 0 or -1. */
int fakes_start(const char *dir);
/* Forgets containers, images, routes and the log; listeners of containers stop. */
void fakes_reset(void);

/* Adds an image the fake Docker has (a FROM image, a user's image). */
void fakes_image_add(const char *ref, const char *id);
/* 1 when ref (a name or an id) is an image of the fake Docker. */
int fakes_image_exists(const char *ref);

/* The event log: one line per request, "docker METHOD PATH" (without the
 * /vX.Y prefix and the query) or "router METHOD PATH BODY". *out is a copy. */
void fakes_log(struct buf *out);
/* The index of the first log line at or after `from` containing every one of
 * the NULL-terminated needles, or -1. */
long fakes_log_find(long from, ...);
void fakes_log_clear(void);

/* The fake Docker's containers as Docker lists them (all states, with "Env" and
 * "Image"); caller decrefs. */
json_t *fakes_containers(void);
/* The route the fake router holds for app (NULL when none); caller decrefs. */
json_t *fakes_route(const char *app);
void fakes_router_refuse(int refuse);
/* A swarm manager's GET /services, /tasks and /nodes answer these JSON arrays (until
 * fakes_reset()); without them those calls fail as on a Docker that is no manager. */
void fakes_swarm_set(const char *services, const char *tasks, const char *nodes);

#endif
