/* src/runtime/internal.h - helpers the runtime's schedulers share (deploy.c's, used by
 * docker-local's deploys and swarm.c's). */
#ifndef WHARF_RUNTIME_INTERNAL_H
#define WHARF_RUNTIME_INTERNAL_H

#include "runtime.h"

void runtime__sleep_ms(long ms);
/* Are the checks of this type skipped (checks:skip or checks:disable)? */
int runtime__checks_off(const struct deploy_req *req, const char *type);
/* Does something accept TCP connections at addr:port (IPv4)? */
int runtime__port_accepts(const char *addr, int port);
/* A docker_output_fn that shows each line as "       | line". */
int runtime__show_log_line(int stream, const char *data, size_t len, void *unused);
/* The limits of process `type`: its own values over the app's (see deploy_req). */
int runtime__type_limits(const json_t *resources, const char *type, long long *memory,
			 long long *nano_cpus);
/* Asks the router to serve targets (an array of "ADDR:PORT") for req's app with its
 * domains, checks and options; a swap the router made but could not confirm counts. */
int runtime__switch_router(const struct deploy_req *req, const json_t *targets);
/* The release phase: cmd in a one-off container of req->image on d (the app's network
 * must exist), its output streamed; a non-zero exit or the time limit fails. */
int runtime__release_phase(struct docker *d, const struct deploy_req *req, const json_t *cmd);
/* How many processes of type the formation wants (absent: web 1, others 0). */
long runtime__formation_count(const json_t *formation, const char *type);

/* One Docker event (GET /events) in the scheduler's events shape (see struct
 * scheduler_ops): time, action, id, name, process, exit_code; NULL when out of memory. */
json_t *runtime__event_entry(const json_t *ev);

/* The swarm scheduler on wharf's Docker (swarm.c); scheduler_new(&s, "swarm"). */
int runtime__swarm_new(struct scheduler **out);

#endif
