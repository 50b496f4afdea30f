/* src/runtime/runtime.h - public interface of the runtime: containers per process
 * type, deploys, checks, limits and the router's control client, on top of the
 * Docker client (src/docker/docker.h). */
#ifndef WHARF_RUNTIME_H
#define WHARF_RUNTIME_H

#include "common.h"
#include "docker/docker.h"

/* ---- limits and policies (src/runtime/limits.c; pure, unit-tested) ----------- */

/* "no", "always", "unless-stopped", "on-failure" or "on-failure:N" (N 1..1000).
 * Appends Docker's policy name to name (may be NULL); *max_retry gets N or 0. */
int runtime_parse_restart_policy(const char *s, struct buf *name, int *max_retry);
/* A memory size: digits with an optional unit b, k, m or g (case-insensitive,
 * "mb" = "m"), 6m (Docker's minimum) to 1024g; *bytes gets the size. */
int runtime_parse_memory(const char *s, long long *bytes);
/* CPUs as a decimal ("0.5", "2", at most 9 decimals), 0.01 to 1024; *nano gets
 * the value in units of 1e-9 CPUs (Docker's NanoCpus). */
int runtime_parse_cpus(const char *s, long long *nano);

/* ---- the router's control socket -------------------------------------------- */

struct route_spec {
	const char *app;
	const char **domains;    /* NULL-terminated */
	const char **targets;    /* NULL-terminated "127.0.0.1:PORT" */
	const char *health_path; /* NULL: no health check */
	long interval_ms, timeout_ms, deadline_ms, drain_timeout_ms;
	/* The app's router options, {"redirect_https": bool, "max_body_bytes": n|null}
	 * (null: the default), sent in the route's body so that a route deleted and
	 * made again keeps them; NULL: the router keeps what it has. Borrowed. */
	const json_t *options;
	/* The app's certificate, {"cert": PEM, "key": PEM}: given to the router
	 * (PUT /apps/<app>/cert) before the route; NULL: none sent. Borrowed. */
	const json_t *cert;
};
/* Used when a call gives no timeout. */
#define ROUTER_CLIENT_TIMEOUT_MS 60000L
/* One request to the router's control API on WHARF_ROUTER_SOCKET; body (may be
 * NULL) is sent as JSON; timeout_ms 0 means ROUTER_CLIENT_TIMEOUT_MS. Returns the
 * HTTP status with the JSON answer in *reply (NULL when the body was empty; caller
 * decrefs), or -1 with err_set() when the router cannot be reached or answered
 * something that is not JSON. */
long router_client_call(const char *method, const char *path, const json_t *body, long timeout_ms,
			json_t **reply);
/* err_set() from the router's {"error": …} answer (reply may be NULL), prefixed
 * with "what: " unless what is NULL; returns -1. */
int router_client_error(long status, const json_t *reply, const char *what);
/* GET /metrics: appends the router's Prometheus text to out; -1 with err_set() when
 * the router cannot be reached or answers other than 200. */
int router_client_metrics(struct buf *out);
/* router_client_call() with the answer judged: 1 on 200 (the answer in *reply when reply
 * is not NULL; caller decrefs), 0 on 404 when missing_ok, else -1 with the router's
 * message (router_client_error() with what). */
int router_client_request(const char *method, const char *path, const json_t *body, int missing_ok,
			  const char *what, json_t **reply);
/* PUT /apps/<app>: returns when the router serves the new targets and drained
 * the old ones; -1 with the router's message otherwise (old targets kept). A
 * certificate the router refuses is a warning, not a failure: the route goes on. */
int router_client_put(const struct route_spec *rs);
int router_client_delete(const char *app);

/* ---- swarm task routing (src/runtime/swarmroute.c: pure, unit-tested, fuzzed;
 * src/runtime/swarmwatch.c: the Docker calls and the TCP probes) -----------------
 * The router follows the tasks of the swarm web service its route names
 * (docs/cluster.md, "How the router follows the tasks"; the conventions are
 * shared with the swarm deploy). Everything read here comes from the manager's
 * API and is checked: a field missing or of the wrong type, a slot or port out of
 * range, an address that is not IPv4 skips that task, never more. */

#define SWARM_PORT_BASE_MIN 1100 /* ports 11001..19999: the task in slot S of the */
#define SWARM_PORT_BASE_MAX 1999 /* service with base P listens on P*10+S */
#define SWARM_SLOT_MAX      9

/* One task of the service: where the router reaches it and whether Swarm says it
 * serves (task running, desired running, node ready). */
struct swarm_task {
	char target[64]; /* "ADDR:PORT" */
	char id[72];     /* the task's id */
	char node[72];   /* its node's hostname (its id when it has none) */
	int slot;
	int serves;   /* 1: running, desired running, node ready */
	char why[48]; /* when not: "task complete", "desired shutdown", "node down"… */
};
/* Sorted by target (serving tasks first among equal targets). */
struct swarm_tasks {
	struct swarm_task *v;
	size_t n;
};
#define SWARM_TASKS_INIT          \
	{                         \
		.v = NULL, .n = 0 \
	}
void swarm_tasks_release(struct swarm_tasks *t);

/* The port base P a route's targets (a JSON array of "ADDR:PORT") name: each
 * port / 10, all the same and within SWARM_PORT_BASE_MIN..MAX, each port's last
 * digit a slot 1..9. 0 when targets is empty, not an array, or names something
 * else (a docker-local route, mixed bases, garbage). */
int swarm_route_port_base(const json_t *targets);

/* The tasks of app's web service with port base P on this wharf (root): the
 * services of GET /services labelled wharf.managed=1, wharf.root=root,
 * wharf.app=app, wharf.process=web, wharf.port-base=P; their tasks from GET
 * /tasks (slot 1..9); each node's address from GET /nodes. out gets every task
 * with a target, serving or not. -1 only when out of memory, or when an argument
 * is no JSON array (services, tasks, nodes) or port_base is out of range. */
int swarm_route_tasks(struct swarm_tasks *out, const json_t *services, const json_t *tasks,
		      const json_t *nodes, const char *root, const char *app, int port_base);

/* GET /services (of app), /tasks and /nodes from the manager (d): the one place
 * that asks Docker for them. Each out is a new array; all NULL on failure. */
int runtime_swarm_fetch(struct docker *d, const char *app, json_t **services, json_t **tasks,
			json_t **nodes);
/* Connects to each of n "ADDR:PORT" targets at once (IPv4), each given at most
 * timeout_ms: ok[i] is 1 when targets[i] accepted. Never takes much longer than
 * timeout_ms in all, whatever the targets. */
int runtime_tcp_probe(const char *const *targets, size_t n, int timeout_ms, int *ok);
/* The health check a route PUT carries for web processes: the first check with a
 * path (checks may be NULL), none when web's checks are skipped or disabled (the
 * arrays of checks:skip / checks:disable, may be NULL); the router's intervals
 * and deadline wharf's deploys use. */
void runtime_route_health(struct route_spec *rs, const json_t *checks, const json_t *skipped,
			  const json_t *disabled);

/* ---- deploys (src/runtime/deploy.c) ------------------------------------------ */

/* Every container gets the labels of docker.h (DOCKER_LABEL_*). */
struct deploy_req {
	const char *app;
	const char *image;          /* image id or tag of the release */
	long release;               /* N */
	const char *git_rev;        /* may be NULL */
	const json_t *config;       /* object K -> V (strings): the environment */
	const json_t *domains;      /* array of domain strings */
	const json_t *processes;    /* type -> Cmd array, or null for the image's CMD;
	                               * NULL means {"web": null}. "release" runs once. */
	const json_t *formation;    /* type -> count; absent: web 1, others 0 */
	const json_t *checks;       /* startup checks of web containers; NULL: default */
	int listen_wait_s;          /* how long a web container may take to listen; <= 0: 60 */
	int stop_timeout_s;         /* SIGTERM grace for old containers; 0: 10 */
	long release_timeout_s;     /* limit of the release command; 0: 3600, <0: none */
	const char *restart_policy; /* set once a container passed its checks (see
	                               * runtime_parse_restart_policy); NULL: "on-failure" */
	const char **binds;         /* NULL-terminated "host:container[:ro]" for every
	                               * container, the release phase included; NULL: none */
	const json_t *resources;    /* {"memory": "256m", "cpu": "0.5", "process": {TYPE:
	                               * {"memory"…, "cpu"…}}}: a type's own values win;
	                               * NULL: no limits */
	/* checks:skip / checks:disable (arrays of process types; "_all_" means every
	 * type; NULL: none). A skipped type runs no checks (a web container must still
	 * listen on its PORT: the router can only switch to a listening target) but
	 * keeps the overlap. A disabled type also runs no checks and has no overlap:
	 * its old containers are stopped before the new ones start (and started again
	 * if the deploy fails). */
	const json_t *checks_skipped;
	const json_t *checks_disabled;
	/* A fixed PORT for the web container (ports:set's container port), honoured
	 * only when web is disabled (no overlap) and scaled to 1; 0: a fresh PORT each. */
	int web_port;
	const json_t *extra;          /* container_spec.extra of every container; may be NULL */
	const char *log_max_size;     /* container_spec's log rotation of every container; */
	const char *log_max_file;     /* NULL: Docker's defaults of docker.h */
	const json_t *router_options; /* route_spec.options and .cert of the route PUT; */
	const json_t *router_cert;    /* may be NULL */
	/* Called for each new web container once wharf's checks pass, before the
	 * router serves it (the check-deploy trigger); < 0 fails the deploy with
	 * err_msg(). May be NULL. */
	int (*check_fn)(void *data, const char *id, const char *type, int port, const char *addr);
	void *check_data;
	/* ---- the swarm scheduler's (src/runtime/swarm.c); ignored by docker-local ---- */
	const char *local_image;   /* the release's image on this host (the release phase
	                            * runs here); NULL: image */
	const char *registry_auth; /* X-Registry-Auth the workers pull image with */
	int port_bases[2];         /* the app's two web port bases P (SWARM.md): a deploy
	                            * takes the one the current web service does not use */
};

/* 1 when type (or "_all_") is in the array of process types. */
int runtime_type_listed(const json_t *types, const char *type);

/* Runs the release phase (if any), starts the formation's containers beside the
 * old ones (each web container on a fresh PORT, waited for and checked), asks the
 * router to serve the new web targets (it drains the old before answering), then
 * stops and removes every other container of the app. On any failure the new
 * containers are removed, the failing one's last log lines are shown, the old
 * ones keep serving, and -1 is returned. */
int runtime_deploy(struct docker *d, const struct deploy_req *req);

/* Removes containers of the app that belong to no release but `keep_release`
 * and that the router does not serve: what an interrupted deploy left. */
int runtime_app_cleanup(struct docker *d, const char *app, long keep_release);

/* ---- the app's network (src/runtime/network.c) ---------------------------------
 * Every container of an app (web, workers, release, run, builds) is on the app's
 * own bridge network and nowhere else: internal (no route off the machine) unless
 * WHARF_APP_EGRESS=1; the router reaches web containers at their address on it. */

/* Appends the app's network name ("wharf-<app>"). */
int runtime_app_network_name(struct buf *out, const char *app);
/* Makes the app's network unless it exists; name and gateway (the host's address
 * on it; either may be NULL) get what it is. */
int runtime_app_network(struct docker *d, const char *app, struct buf *name, struct buf *gateway);
/* Removes the app's network (apps:destroy, apps:rename); best effort with a warning
 * when something still uses it. */
void runtime_app_network_remove(struct docker *d, const char *app);
/* Appends the IPv4 address of a container (an inspect or a list object) on the
 * app's network; fails when it has none. */
int runtime_container_addr(struct buf *out, const json_t *c, const char *app);

/* The app's containers on this wharf (all states), as Docker's list objects; swarm
 * tasks that run here (this host a manager) are not among them. */
int runtime_app_containers(struct docker *d, const char *app, json_t **out);

/* Stops and removes every container of the app and its network (destroy). */
int runtime_app_remove(struct docker *d, const char *app, int stop_timeout_s);

/* GET /apps/<app> from the router: *out is the route or NULL when it has none. */
int router_client_get(const char *app, json_t **out);

/* ---- startup checks (src/runtime/checks.c) -------------------------------------
 * A check is {"path"?, "content"?, "attempts", "timeout", "wait", "uptime"}: with a
 * path, a GET must answer 2xx/3xx (containing content) within attempts; without,
 * the container must stay up for uptime seconds. */

/* Parses a Dokku CHECKS file (WAIT=, TIMEOUT=, ATTEMPTS=, "/path content" lines). */
int runtime_checks_parse_file(json_t **out, const char *text, size_t len);
/* Parses app.json's "healthchecks": {"web": [{"type": "startup", …}]}. */
int runtime_checks_parse_appjson(json_t **out, const json_t *appjson);
/* Reads app.json (preferred) or CHECKS from a build dir. *out is NULL when the
 * app has neither (the default check applies). */
int runtime_checks_from_dir(json_t **out, const char *dir);
/* Runs checks (NULL or empty: the default check) against a started container at
 * addr:port (its address on the app's network). */
int runtime_run_checks(struct docker *d, const char *id, const char *addr, int port,
		       const char *host, const json_t *checks);
/* 0 if the container runs and never restarted, else -1 with its state. */
int runtime_check_running(struct docker *d, const char *id);
/* 0 while the checked process runs, else -1 with why. */
typedef int runtime_alive_fn(void *data);
/* runtime_run_checks() of a process that alive() watches (a swarm task on another
 * node, which this host's Docker cannot inspect). */
int runtime_run_checks_with(runtime_alive_fn *alive, void *data, const char *addr, int port,
			    const char *host, const json_t *checks);

/* ---- the scheduler (src/runtime/scheduler.c) -----------------------------------
 * Where an app's processes run. The deploy layer and the commands reach processes
 * only through it, so another scheduler ("swarm" for several hosts) is one more
 * ops table, not a change to them. "docker-local" (this host's Docker) is the
 * first and the default. */

/* One process of an app (a container with docker-local). */
struct sched_proc {
	char id[72];     /* the scheduler's id of the process (a container id) */
	char name[128];  /* its name, "app.web.3.1a2b" */
	char type[64];   /* process type ("web", "worker"…) */
	char state[16];  /* "running", "exited", "created", "restarting", "dead" */
	long release;    /* release N it runs; 0: unknown */
	int port;        /* PORT of a web process; 0: none */
	char addr[48];   /* its address on the app's network; "" when it has none */
	char target[80]; /* "ADDR:PORT" the router dials for a web process; "" */
	char node[64];   /* swarm: the hostname of the node running it; "" on docker-local */
};
/* The processes of an app, newest first. */
struct sched_procs {
	struct sched_proc *v;
	size_t n;
};
#define SCHED_PROCS_INIT          \
	{                         \
		.v = NULL, .n = 0 \
	}
void sched_procs_release(struct sched_procs *p);
/* 1 when one of procs serves target ("ADDR:PORT"), or has the port of it. */
int sched_target_is(const struct sched_proc *p, const char *target);

/* A one-off process (`run`): its own container of the release's image, never
 * retired by a deploy, removed when it ends. */
struct sched_oneoff {
	const char *app;
	const char *image;
	const char **env;   /* NULL-terminated "K=V" */
	const char **cmd;   /* NULL-terminated */
	const char **binds; /* NULL-terminated; NULL: none */
	long long memory, nano_cpus;
};
/* The caller's side of an interactive process: output goes to fds 1 and 2,
 * stdin (fd 0) goes in; with tty, the process gets a terminal sized as fd 1's.
 * tick is called whenever the pump wakes: < 0 stops it with that error, 1 says
 * fd 1's terminal changed size, 0 goes on. started is called once the process
 * runs (the caller switches its terminal to raw mode). Both may be NULL. */
struct sched_io {
	int tty;
	int no_stdin; /* the process gets no stdin and fd 0 is not read (cron, deploy scripts) */
	int (*tick)(void *data);
	void (*started)(void *data);
	void *data;
};

/* The state of a process as its scheduler last saw it (inspect's State). */
struct sched_state {
	char status[16];      /* "running", "exited", "restarting", … */
	int restarts;         /* restarts by the restart policy since it was made */
	int exit_code;        /* of its last exit; 0 when it never exited; -1 when the
	                       * scheduler no longer knows it */
	int oom_killed;       /* the last exit was the kernel's OOM killer */
	char started_at[40];  /* ISO-8601 UTC of the last start; "" never */
	char finished_at[40]; /* of the last exit; "" never */
};

/* What stats made of one process. */
struct sched_stats {
	struct docker_stats st;
	int ok;        /* 1 measured; 0 it went away; -1 it could not be read: why */
	char why[320]; /* ok -1: the reason (swarm: its node's Docker cannot be reached) */
};

struct scheduler;
struct scheduler_ops {
	const char *name;
	/* runtime_deploy()'s contract: start beside, check, route, retire. */
	int (*deploy)(struct scheduler *s, const struct deploy_req *req);
	/* A new formation of the same release (docker-local: a deploy). */
	int (*scale)(struct scheduler *s, const struct deploy_req *req);
	int (*list)(struct scheduler *s, const char *app, struct sched_procs *out);
	/* since: seconds since 1970, 0 from the start. */
	int (*logs)(struct scheduler *s, const char *id, int follow, int tail, long long since,
		    docker_output_fn *fn, void *data);
	/* What n processes use now, asked side by side: out[i] of ids[i] (see struct
	 * sched_stats). With sample the scheduler measures over an interval first
	 * (about a second), so cpu_percent is set. -1 only when nothing could be asked. */
	int (*stats)(struct scheduler *s, const char *const *ids, size_t n, int sample,
		     struct sched_stats *out);
	/* The processes running in it: {"Titles": [...], "Processes": [[...]...]}. */
	int (*top)(struct scheduler *s, const char *id, json_t **out);
	int (*state)(struct scheduler *s, const char *id, struct sched_state *out);
	/* Exits, OOM kills, restarts and starts of the app's processes between since
	 * and until (seconds since 1970), oldest first: an array of {"time" (ISO-8601
	 * UTC), "action" ("die", "oom", "restart", "start"), "id", "name",
	 * "process", "exit_code" (die only)}. What the scheduler still remembers.
	 * Swarm: each container event also has "node" (its hostname); the services'
	 * own events have the action "service-create", "service-update" (with
	 * "replicas" when the count changed) or "service-remove"; a node whose events
	 * could not be read is an entry {"node", "error"} (first). */
	int (*events)(struct scheduler *s, const char *app, long long since, long long until,
		      json_t **out);
	int (*run)(struct scheduler *s, const struct sched_oneoff *o, const struct sched_io *io,
		   long long *code);
	int (*exec)(struct scheduler *s, const char *id, const char **cmd,
		    const struct sched_io *io, long long *code);
	/* Stops a process for good (no restart policy brings it back). */
	int (*stop)(struct scheduler *s, const char *id, int grace_s);
	int (*start)(struct scheduler *s, const char *id);
	int (*remove)(struct scheduler *s, const char *id);
	/* Runs startup checks against a running web process. */
	int (*check)(struct scheduler *s, const struct sched_proc *p, const char *host,
		     const json_t *checks);
	/* runtime_app_cleanup()'s contract: what an interrupted deploy left goes. */
	int (*cleanup)(struct scheduler *s, const char *app, long keep_release);
	/* Stops and removes every process of the app. */
	int (*remove_app)(struct scheduler *s, const char *app, int grace_s);
	/* Images the releases run: *out NULL when ref does not exist here. */
	int (*image_inspect)(struct scheduler *s, const char *ref, json_t **out);
	int (*image_tag)(struct scheduler *s, const char *id, const char *repo, const char *tag);
	int (*image_remove)(struct scheduler *s, const char *ref, int force);
	/* Untagged images wharf built on this root (of app; NULL: all): an array of ids. */
	int (*images_dangling)(struct scheduler *s, const char *app, json_t **out);
	/* The Docker builds run on (docker-local: the same); borrowed. */
	struct docker *(*builder)(struct scheduler *s);
	void (*free)(struct scheduler *s);
};
struct scheduler {
	const struct scheduler_ops *ops;
};

/* Makes the scheduler called name (NULL: $WHARF_SCHEDULER, else "docker-local")
 * and connects it (docker-local: docker_new(), so a Docker that does not answer
 * fails here with its message). An unknown name fails. */
int scheduler_new(struct scheduler **out, const char *name);
void scheduler_free(struct scheduler *s); /* NULL-safe */
/* Makes the docker-local scheduler on a Docker handle the caller keeps. */
int scheduler_docker_local(struct scheduler **out, struct docker *d);

/* ---- the swarm scheduler (src/runtime/swarm.c) ---------------------------------
 * scheduler_new(&s, "swarm"): the app's processes as Swarm services of this host's
 * Docker (the manager), deployed blue-green (docs/cluster.md). deploy_req's image is
 * the digest-pinned reference in the cluster's registry, registry_auth what workers
 * pull it with, local_image the same image here (the release phase), port_bases the
 * app's two web port bases. */

/* At most this many processes of one type (a task's port ends in its slot). */
#define SCHED_SWARM_REPLICAS_MAX 9
/* How a swarm scheduler reaches the dockerd of another node (enter, ps:stats, ps:top,
 * ps:events of its tasks): *out a new handle the scheduler frees, or -1 with the reason.
 * The scheduler opens each node at most once in its life (one command), keeping the
 * handle or the reason it could not. */
typedef int swarm_node_open_fn(void *data, const char *node_id, struct docker **out);
/* Gives a swarm scheduler its way to other nodes. Not swarm: nothing. */
int scheduler_swarm_node_open(struct scheduler *s, swarm_node_open_fn *fn, void *data);
/* Removes the app's swarm services (on d, a manager): after a docker-local deploy of
 * an app scheduler:set moved back to this host. */
int runtime_swarm_forget_app(struct docker *d, const char *app);
/* The service name of (app, type, release, parity) with a random suffix (SWARM.md):
 * at most 63 bytes of [a-zA-Z0-9-]. Pure. */
int runtime_swarm_service_name(struct buf *out, const char *app, const char *type, long release,
			       int parity, unsigned rnd);
/* The ServiceSpec of a service of type running cmd (a JSON array or NULL: the image's
 * CMD) with replicas tasks; base > 0: web on host networking with PORT=<base>{{.Task.
 * Slot}}. Pure; *out is new. */
int runtime_swarm_service_spec(json_t **out, const struct deploy_req *req, const char *type,
			       const json_t *cmd, long replicas, int base, const char *name);

/* Swarm 20.10's ContainerSpec has no no-new-privileges: a task's command runs under
 * `setpriv --no-new-privs` from its image instead. */
#define SWARM_SETPRIV "/usr/bin/setpriv"
/* Makes spec's task run SWARM_SETPRIV --no-new-privs -- <image Entrypoint> with Args the
 * process type's command, else the image's Cmd (image_config: the image's Config, whose
 * Entrypoint and Cmd are arrays of strings or null). Pure. */
int runtime_swarm_spec_nnp(json_t *spec, const json_t *image_config);

/* Thin wrappers over s->ops, so callers read as verbs. */
int scheduler_deploy(struct scheduler *s, const struct deploy_req *req);
int scheduler_scale(struct scheduler *s, const struct deploy_req *req);
int scheduler_list(struct scheduler *s, const char *app, struct sched_procs *out);
int scheduler_logs(struct scheduler *s, const char *id, int follow, int tail, docker_output_fn *fn,
		   void *data);
int scheduler_logs_since(struct scheduler *s, const char *id, int follow, int tail, long long since,
			 docker_output_fn *fn, void *data);
int scheduler_stats(struct scheduler *s, const char *const *ids, size_t n, int sample,
		    struct sched_stats *out);
int scheduler_top(struct scheduler *s, const char *id, json_t **out);
int scheduler_state(struct scheduler *s, const char *id, struct sched_state *out);
int scheduler_events(struct scheduler *s, const char *app, long long since, long long until,
		     json_t **out);
int scheduler_run(struct scheduler *s, const struct sched_oneoff *o, const struct sched_io *io,
		  long long *code);
int scheduler_exec(struct scheduler *s, const char *id, const char **cmd, const struct sched_io *io,
		   long long *code);
int scheduler_stop(struct scheduler *s, const char *id, int grace_s);
int scheduler_start(struct scheduler *s, const char *id);
int scheduler_remove(struct scheduler *s, const char *id);
int scheduler_check(struct scheduler *s, const struct sched_proc *p, const char *host,
		    const json_t *checks);
int scheduler_cleanup(struct scheduler *s, const char *app, long keep_release);
int scheduler_remove_app(struct scheduler *s, const char *app, int grace_s);
int scheduler_image_inspect(struct scheduler *s, const char *ref, json_t **out);
int scheduler_image_tag(struct scheduler *s, const char *id, const char *repo, const char *tag);
int scheduler_image_remove(struct scheduler *s, const char *ref, int force);
int scheduler_images_dangling(struct scheduler *s, const char *app, json_t **out);
struct docker *scheduler_builder(struct scheduler *s);

#endif
