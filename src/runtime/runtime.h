/* src/runtime/runtime.h - public interface of the runtime: the Docker Engine API
 * client (libcurl over the unix socket), containers, and deploys. */
#ifndef WHARF_RUNTIME_H
#define WHARF_RUNTIME_H

#include "common.h"

/* ---- HTTP over a unix socket (shared by the Docker client and the router client) */

struct http_reply {
	long       status;       /* HTTP status, 0 if no answer */
	struct buf body;         /* raw reply body (capped) */
};
#define HTTP_REPLY_INIT { .status = 0, .body = BUF_INIT }
void http_reply_release(struct http_reply *r);

/* Sends one request over the unix socket at sock_path. body may be NULL.
 * timeout_ms 0 means none. Returns 0 when an HTTP answer arrived (any status),
 * -1 with err_set() when the socket could not be reached or the transfer failed. */
int http_unix_request(const char *sock_path, const char *method, const char *path,
		      const char *content_type, const char *body, size_t body_len,
		      long timeout_ms, struct http_reply *reply);

/* ---- the Docker Engine API client ------------------------------------------- */

struct docker;           /* opaque: made by docker_new() */

/* Connects to host ("unix:///path"; NULL means wharf_docker_host()), pings it and
 * negotiates the API version: min(client max, daemon's ApiVersion), refusing a
 * daemon whose MinAPIVersion is above what wharf speaks. A daemon that does not
 * answer gives "cannot reach Docker at …: is dockerd running?". */
int  docker_new(struct docker **out, const char *host);
void docker_free(struct docker *d);                 /* NULL-safe */
const char *docker_api_version(const struct docker *d);  /* "1.41"; borrowed */

/* One request; path excludes the /vX.Y prefix and may carry a query string.
 * body may be NULL. On 2xx, *reply (if reply != NULL) gets the parsed JSON (or NULL
 * for an empty body); caller decrefs. On any other status returns -1 with the
 * daemon's "message" in err_msg(); *status (if not NULL) gets the status. */
int docker_call(struct docker *d, const char *method, const char *path,
		const json_t *body, json_t **reply, long *status);

/* Called for each JSON object of a JSON-lines stream (build, pull, load).
 * Returning < 0 aborts the transfer. */
typedef int docker_json_fn(const json_t *obj, void *data);
/* Called for each demultiplexed log chunk; stream is 1 (stdout) or 2 (stderr). */
typedef int docker_output_fn(int stream, const char *data, size_t len, void *data_);

/* Image helpers. Refs are "name[:tag]" or "sha256:…". */
int docker_image_exists(struct docker *d, const char *ref, int *exists);
int docker_image_inspect(struct docker *d, const char *ref, json_t **out);
int docker_image_remove(struct docker *d, const char *ref, int force);

/* Builds the tar context read from tar_fd with POST /build (legacy builder,
 * rm/forcerm). query_extra is appended to the query string ("t=…&labels=…&
 * networkmode=…", already URL-encoded; without networkmode Docker's default
 * applies). After timeout_s seconds (0: none) the connection is closed, which
 * cancels the build, and the call fails with "the build took longer than …". Each stream object goes to fn as it
 * arrives; an {"error": …} object makes the call fail with that message.
 * image_id receives aux.ID (or the id from "Successfully built"). */
int docker_build(struct docker *d, int tar_fd, const char *query_extra, long timeout_s,
		 docker_json_fn *fn, void *data, struct buf *image_id);

/* What a container is made from. Every field but image may be empty/NULL. */
struct container_spec {
	const char  *name;          /* docker name; NULL lets docker pick */
	const char  *image;
	const char **env;           /* NULL-terminated "K=V" strings */
	const char **cmd;           /* NULL-terminated; NULL keeps the image's CMD */
	json_t      *labels;        /* object of string → string; borrowed */
	const char  *restart_policy;/* "on-failure", "no", …; NULL means "no" */
	int          init;          /* HostConfig.Init */
	const char  *network;       /* HostConfig.NetworkMode: the app's network;
	                             * NULL: "none" (no host networking, ever) */
	long long    pids_limit;    /* HostConfig.PidsLimit; 0: DOCKER_PIDS_LIMIT_DEFAULT */
	const char **binds;         /* NULL-terminated "host:container[:ro]"; NULL: none */
	const char  *working_dir;   /* NULL keeps the image's */
	const char  *user;          /* "uid[:gid]" or a name; NULL keeps the image's */
	const char **entrypoint;    /* NULL-terminated; NULL keeps the image's */
	int          restart_max_retry; /* RestartPolicy.MaximumRetryCount (on-failure:N) */
	long long    memory;        /* HostConfig.Memory in bytes; 0: no limit */
	long long    nano_cpus;     /* HostConfig.NanoCpus (1e9 = one CPU); 0: no limit */
	int          tty;           /* Config.Tty: one raw output stream */
	int          open_stdin;    /* Config.OpenStdin + StdinOnce: stdin through attach */
	const json_t *extra;        /* {"Config": {…}, "HostConfig": {…}} from plugins
	                             * (docker-args-*), held to the allow-list of
	                             * docs/plugins.md by the caller; NULL: none */
};
#define CONTAINER_SPEC_INIT { .init = 1 }
/* Every container gets these (with CapDrop ALL and a minimal CapAdd, and
 * no-new-privileges; see docs/security.md). */
#define DOCKER_PIDS_LIMIT_DEFAULT 512
#define DOCKER_LOG_MAX_SIZE       "10m"
#define DOCKER_LOG_MAX_FILE       "3"

/* Makes the bridge network `name` unless it exists: internal (no gateway route off
 * the machine, Docker's isolation rules) when internal != 0, labels (object of
 * strings, borrowed), the host side of the bridge named bridge (at most 15
 * bytes; NULL: Docker's br-<id>). gateway (may be NULL) gets the host's address
 * on it. A network made meanwhile by someone else counts as made. */
int docker_network_ensure(struct docker *d, const char *name, const json_t *labels,
			  int internal, const char *bridge, struct buf *gateway);
/* Removes the network; one that does not exist counts as removed. */
int docker_network_remove(struct docker *d, const char *name);

int docker_container_create(struct docker *d, const struct container_spec *spec,
			    struct buf *id_out);
int docker_container_start(struct docker *d, const char *id);
int docker_container_stop(struct docker *d, const char *id, int timeout_s);
int docker_container_remove(struct docker *d, const char *id, int force);
int docker_container_inspect(struct docker *d, const char *id, json_t **out);
/* Lists containers (all states when all != 0) carrying every "key=value" label
 * of the NULL-terminated labels array. *out is a JSON array; caller decrefs. */
int docker_container_list(struct docker *d, const char **labels, int all, json_t **out);
/* Extracts the tar read from tar_fd (a regular file: its length is sent) into the
 * container's directory path, which must exist (PUT /containers/{id}/archive).
 * Works on a created container that has not started. */
int docker_container_put_archive(struct docker *d, const char *id, const char *path,
				 int tar_fd);
/* Commits the container's filesystem as an image tagged repo:tag (POST /commit).
 * config (borrowed, may be NULL) is a container config (Cmd, Entrypoint, Env,
 * Labels, WorkingDir…); Docker merges the container's own config under it.
 * image_id receives the new image's id ("sha256:…"). */
int docker_container_commit(struct docker *d, const char *id, const char *repo,
			    const char *tag, const json_t *config, struct buf *image_id);
/* Reads a container's logs (stdout and stderr). tail < 0 means all lines. With
 * follow, returns when the container stops or fn returns < 0. Frames are
 * demultiplexed (or passed raw for TTY containers). */
int docker_container_logs(struct docker *d, const char *id, int follow, int tail,
			  int timestamps, docker_output_fn *fn, void *data);
/* Waits for the container to stop (POST /wait) and gives its exit code. */
int docker_container_wait(struct docker *d, const char *id, long long *code);
/* Tells Docker the terminal size of a TTY container or exec (kind "containers"
 * or "exec"); harmless before start. */
int docker_resize(struct docker *d, const char *kind, const char *id, int rows, int cols);
/* Sets a container's restart policy (name "no", "always", "unless-stopped",
 * "on-failure" with max_retry, 0 = unlimited) through POST /update. */
int docker_container_set_restart(struct docker *d, const char *id, const char *name,
				 int max_retry);

/* Hijacked connections (attach, exec): after the HTTP upgrade the connection
 * carries the process's stdin one way and its output the other (raw with a TTY,
 * multiplexed frames without). *conn is a connected socket the caller closes. */
/* Attaches to a created (not yet started) container: stdout, stderr and, with
 * with_stdin, stdin (the container needs open_stdin). */
int docker_container_attach(struct docker *d, const char *id, int with_stdin, int *conn);
/* Creates an exec of cmd (NULL-terminated) in a running container. */
int docker_exec_create(struct docker *d, const char *id, const char **cmd,
		       const char **env, int tty, struct buf *exec_id);
/* Starts an exec attached (POST /exec/{id}/start, upgraded). */
int docker_exec_start(struct docker *d, const char *exec_id, int tty, int *conn);
/* The exit code of a finished exec (-1 while it runs). */
int docker_exec_exit_code(struct docker *d, const char *exec_id, long long *code);
/* Called whenever the pump wakes (data moved or a signal interrupted it);
 * returning < 0 stops the pump with that value (the callback set the error). */
typedef int docker_tick_fn(void *data);
/* Copies in_fd (-1: none) to conn and conn's output to fds 1 and 2 until the
 * output ends (the process exited). At in_fd's end the write side of conn is
 * shut, which closes the process's stdin. A closed stdout (the ssh client went
 * away) stops the pump with an error. */
int docker_pump(int conn, int in_fd, int tty, docker_tick_fn *tick, void *data);

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

/* A time limit for a container the caller waits on (a release command, a build):
 * a thread kills it (POST /containers/{id}/kill) if it still runs timeout_s seconds
 * after start, which ends the caller's blocking logs/wait call. timeout_s <= 0 means
 * no limit (*out is NULL). stop() ends the watch and returns 1 if the kill was sent,
 * 0 otherwise; NULL-safe. */
struct container_watchdog;
int container_watchdog_start(struct docker *d, const char *id, long timeout_s,
			     struct container_watchdog **out);
int container_watchdog_stop(struct container_watchdog *w);

/* ---- the router's control socket -------------------------------------------- */

struct route_spec {
	const char  *app;
	const char **domains;       /* NULL-terminated */
	const char **targets;       /* NULL-terminated "127.0.0.1:PORT" */
	const char  *health_path;   /* NULL: no health check */
	long         interval_ms, timeout_ms, deadline_ms, drain_timeout_ms;
	/* The app's router options, {"redirect_https": bool, "max_body_bytes": n|null}
	 * (null: the default), sent in the route's body so that a route deleted and
	 * made again keeps them; NULL: the router keeps what it has. Borrowed. */
	const json_t *options;
	/* The app's certificate, {"cert": PEM, "key": PEM}: given to the router
	 * (PUT /apps/<app>/cert) before the route; NULL: none sent. Borrowed. */
	const json_t *cert;
};
/* PUT /apps/<app>: returns when the router serves the new targets and drained
 * the old ones; -1 with the router's message otherwise (old targets kept). A
 * certificate the router refuses is a warning, not a failure: the route goes on. */
int router_client_put(const struct route_spec *rs);
int router_client_delete(const char *app);

/* ---- deploys (src/runtime/deploy.c) ------------------------------------------ */

/* Labels on every container wharf makes: wharf.managed=1, wharf.root=<WHARF_ROOT>,
 * wharf.app, wharf.process, wharf.release, wharf.port (web only). */
struct deploy_req {
	const char   *app;
	const char   *image;          /* image id or tag of the release */
	long          release;        /* N */
	const char   *git_rev;        /* may be NULL */
	const json_t *config;         /* object K -> V (strings): the environment */
	const json_t *domains;        /* array of domain strings */
	const json_t *processes;      /* type -> Cmd array, or null for the image's CMD;
	                               * NULL means {"web": null}. "release" runs once. */
	const json_t *formation;      /* type -> count; absent: web 1, others 0 */
	const json_t *checks;         /* startup checks of web containers; NULL: default */
	int           listen_wait_s;  /* how long a web container may take to listen; 0: 60 */
	int           stop_timeout_s; /* SIGTERM grace for old containers; 0: 10 */
	long          release_timeout_s; /* limit of the release command; 0: 3600, <0: none */
	const char   *restart_policy; /* set once a container passed its checks (see
	                               * runtime_parse_restart_policy); NULL: "on-failure" */
	const char  **binds;          /* NULL-terminated "host:container[:ro]" for every
	                               * container, the release phase included; NULL: none */
	const json_t *resources;      /* {"memory": "256m", "cpu": "0.5", "process": {TYPE:
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
	int           web_port;
	const json_t *extra;          /* container_spec.extra of every container; may be NULL */
	const json_t *router_options; /* route_spec.options and .cert of the route PUT; */
	const json_t *router_cert;    /* may be NULL */
	/* Called for each new web container once wharf's checks pass, before the
	 * router serves it (the check-deploy trigger); < 0 fails the deploy with
	 * err_msg(). May be NULL. */
	int         (*check_fn)(void *data, const char *id, const char *type, int port);
	void         *check_data;
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
int runtime_app_network(struct docker *d, const char *app, struct buf *name,
			struct buf *gateway);
/* Removes the app's network (apps:destroy, apps:rename); best effort with a warning
 * when something still uses it. */
void runtime_app_network_remove(struct docker *d, const char *app);
/* Appends the IPv4 address of a container (an inspect or a list object) on the
 * app's network; fails when it has none. */
int runtime_container_addr(struct buf *out, const json_t *c, const char *app);

/* The app's containers on this wharf (all states), as Docker's list objects. */
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

#endif
