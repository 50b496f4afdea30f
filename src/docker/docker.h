/* src/docker/docker.h - public interface of the Docker part: the Engine API client
 * (libcurl over the unix socket), HTTP over a unix socket, the container watchdog
 * and the names of the labels wharf puts on containers and images. Knows nothing
 * of apps: used by build and runtime. */
#ifndef WHARF_DOCKER_H
#define WHARF_DOCKER_H

#include "common.h"

/* ---- HTTP over a unix socket (shared by the Docker client and the router client) */

struct http_reply {
	long status;     /* HTTP status, 0 if no answer */
	struct buf body; /* raw reply body (capped) */
};
#define HTTP_REPLY_INIT                       \
	{                                     \
		.status = 0, .body = BUF_INIT \
	}
void http_reply_release(struct http_reply *r);

/* Sends one request over the unix socket at sock_path. body may be NULL.
 * timeout_ms 0 means none. Returns 0 when an HTTP answer arrived (any status),
 * -1 with err_set() when the socket could not be reached or the transfer failed. */
int http_unix_request(const char *sock_path, const char *method, const char *path,
		      const char *content_type, const char *body, size_t body_len, long timeout_ms,
		      struct http_reply *reply);

/* ---- the Docker Engine API client ------------------------------------------- */

struct docker; /* opaque: made by docker_new() */

/* Connects to host ("unix:///path"; NULL means wharf_docker_host()), pings it and
 * negotiates the API version: min(client max, daemon's ApiVersion), refusing a
 * daemon whose MinAPIVersion is above what wharf speaks. A daemon that does not
 * answer gives "cannot reach Docker at …: is dockerd running?". */
int docker_new(struct docker **out, const char *host);
void docker_free(struct docker *d);                     /* NULL-safe */
const char *docker_api_version(const struct docker *d); /* "1.41"; borrowed */
/* Gives d what its socket depends on (a tunnel's helper process, say): docker_free(d)
 * calls fn(data) once, after closing d's connection. One per handle (a second call
 * replaces it); a clone of d (docker__clone) does not get it, so clones must be freed
 * first. */
typedef void docker_free_fn(void *data);
void docker_on_free(struct docker *d, docker_free_fn *fn, void *data);

/* One request; path excludes the /vX.Y prefix and may carry a query string.
 * body may be NULL. On 2xx, *reply (if reply != NULL) gets the parsed JSON (or NULL
 * for an empty body); caller decrefs. On any other status returns -1 with the
 * daemon's "message" in err_msg(); *status (if not NULL) gets the status. */
int docker_call(struct docker *d, const char *method, const char *path, const json_t *body,
		json_t **reply, long *status);
/* docker_call() with extra request headers: NULL-terminated "Name: value" lines (a
 * line break in one is refused), NULL: none. For calls that carry X-Registry-Auth. */
int docker_call_headers(struct docker *d, const char *method, const char *path,
			const char *const *headers, const json_t *body, json_t **reply,
			long *status);

/* Appends s percent-encoded for a query value (everything but unreserved bytes). */
int docker_urlencode(struct buf *out, const char *s);
/* Appends s percent-encoded for a path: like docker_urlencode() but keeps '/',
 * ':' and '@', which image references contain and the daemon routes on. */
int docker_pathencode(struct buf *out, const char *s);

/* Called for each JSON object of a JSON-lines stream (build, pull, load).
 * Returning < 0 aborts the transfer. */
typedef int docker_json_fn(const json_t *obj, void *data);
/* Called for each demultiplexed log chunk; stream is 1 (stdout) or 2 (stderr). */
typedef int docker_output_fn(int stream, const char *data, size_t len, void *data_);

/* Image helpers. Refs are "name[:tag]" or "sha256:…". */
int docker_image_exists(struct docker *d, const char *ref, int *exists);
int docker_image_inspect(struct docker *d, const char *ref, json_t **out);
int docker_image_remove(struct docker *d, const char *ref, int force);
/* Tags the image ref as repo:tag (POST /images/{ref}/tag). */
int docker_image_tag(struct docker *d, const char *ref, const char *repo, const char *tag);
/* Pushes name:tag to its registry (POST /images/{name}/push?tag=…). registry_auth is
 * the X-Registry-Auth value (base64url JSON credentials; NULL: none). Each progress
 * object goes to fn (may be NULL) as it arrives; an {"error": …} / errorDetail object
 * in the stream fails the push with Docker's message. digest receives what the registry
 * stored ("sha256:…", from the stream's final aux {"Tag", "Digest", "Size"}). */
int docker_image_push(struct docker *d, const char *name, const char *tag,
		      const char *registry_auth, docker_json_fn *fn, void *data,
		      struct buf *digest);
/* Lists images (GET /images/json) carrying every "key=value" label of the
 * NULL-terminated labels array (NULL: any), only untagged ones when dangling.
 * *out is a JSON array; caller decrefs. */
int docker_image_list(struct docker *d, const char **labels, int dangling, json_t **out);

/* Builds the tar context read from tar_fd with POST /build (legacy builder,
 * rm/forcerm). query_extra is appended to the query string ("t=…&labels=…&
 * networkmode=…", already URL-encoded; without networkmode Docker's default
 * applies). After timeout_s seconds (0: none) the connection is closed, which
 * cancels the build, and the call fails with "the build took longer than …".
 * Each stream object goes to fn as it arrives; an {"error": …} object makes the
 * call fail with that message. image_id receives aux.ID (or the id from
 * "Successfully built"). */
int docker_build(struct docker *d, int tar_fd, const char *query_extra, long timeout_s,
		 docker_json_fn *fn, void *data, struct buf *image_id);

/* What a container is made from. Every field but image may be empty/NULL. */
struct container_spec {
	const char *name; /* docker name; NULL lets docker pick */
	const char *image;
	const char **env;           /* NULL-terminated "K=V" strings */
	const char **cmd;           /* NULL-terminated; NULL keeps the image's CMD */
	json_t *labels;             /* object of string → string; borrowed */
	const char *restart_policy; /* "on-failure", "no", …; NULL means "no" */
	int init;                   /* HostConfig.Init */
	const char *network;        /* HostConfig.NetworkMode: the app's network;
	                             * NULL: "none" (no host networking, ever) */
	long long pids_limit;       /* HostConfig.PidsLimit; 0: DOCKER_PIDS_LIMIT_DEFAULT */
	const char **binds;         /* NULL-terminated "host:container[:ro]"; NULL: none */
	const char *working_dir;    /* NULL keeps the image's */
	const char *user;           /* "uid[:gid]" or a name; NULL keeps the image's */
	const char **entrypoint;    /* NULL-terminated; NULL keeps the image's */
	int restart_max_retry;      /* RestartPolicy.MaximumRetryCount (on-failure:N) */
	long long memory;           /* HostConfig.Memory in bytes; 0: no limit */
	long long nano_cpus;        /* HostConfig.NanoCpus (1e9 = one CPU); 0: no limit */
	int tty;                    /* Config.Tty: one raw output stream */
	int open_stdin;             /* Config.OpenStdin + StdinOnce: stdin through attach */
	const char *log_max_size;   /* json-file max-size ("20m"; Docker's units); NULL:
	                             * DOCKER_LOG_MAX_SIZE */
	const char *log_max_file;   /* json-file max-file ("3"); NULL: DOCKER_LOG_MAX_FILE */
	const json_t *extra;        /* {"Config": {…}, "HostConfig": {…}} from plugins
	                             * (docker-args-*), held to the allow-list of
	                             * docs/plugins.md by the caller; NULL: none */
};
#define CONTAINER_SPEC_INIT \
	{                   \
		.init = 1   \
	}
/* Every container gets these (with CapDrop ALL and a minimal CapAdd, and
 * no-new-privileges; see docs/security.md). */
#define DOCKER_PIDS_LIMIT_DEFAULT 512
#define DOCKER_LOG_MAX_SIZE       "10m"
#define DOCKER_LOG_MAX_FILE       "3"

/* Makes the bridge network `name` unless it exists (networks.c): internal (no
 * gateway route off the machine, Docker's isolation rules) when internal != 0,
 * labels (object of strings, borrowed), the host side of the bridge named bridge
 * (at most 15 bytes; NULL: Docker's br-<id>). gateway (may be NULL) gets the
 * host's address on it. A network made meanwhile by someone else counts as made. */
int docker_network_ensure(struct docker *d, const char *name, const json_t *labels, int internal,
			  const char *bridge, struct buf *gateway);
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
/* *has = 1 when image has a file at path (a container created from it, never started,
 * labelled labels, is looked into and removed). */
int docker_image_has_file(struct docker *d, const char *image, const json_t *labels,
			  const char *path, int *has);
/* Extracts the tar read from tar_fd (a regular file: its length is sent) into the
 * container's directory path, which must exist (PUT /containers/{id}/archive).
 * Works on a created container that has not started. */
int docker_container_put_archive(struct docker *d, const char *id, const char *path, int tar_fd);
/* Commits the container's filesystem as an image tagged repo:tag (POST /commit).
 * config (borrowed, may be NULL) is a container config (Cmd, Entrypoint, Env,
 * Labels, WorkingDir…); Docker merges the container's own config under it.
 * image_id receives the new image's id ("sha256:…"). */
int docker_container_commit(struct docker *d, const char *id, const char *repo, const char *tag,
			    const json_t *config, struct buf *image_id);
/* Reads a container's logs (stdout and stderr). tail < 0 means all lines. With
 * follow, returns when the container stops or fn returns < 0. Frames are
 * demultiplexed (or passed raw for TTY containers). */
int docker_container_logs(struct docker *d, const char *id, int follow, int tail, int timestamps,
			  docker_output_fn *fn, void *data);
/* Waits for the container to stop (POST /wait) and gives its exit code. */
int docker_container_wait(struct docker *d, const char *id, long long *code);
/* Tells Docker the terminal size of a TTY container or exec (kind "containers"
 * or "exec"); harmless before start. */
int docker_resize(struct docker *d, const char *kind, const char *id, int rows, int cols);
/* Sets a container's restart policy (name "no", "always", "unless-stopped",
 * "on-failure" with max_retry, 0 = unlimited) through POST /update. */
int docker_container_set_restart(struct docker *d, const char *id, const char *name, int max_retry);

/* Like docker_container_logs(), from since (seconds since 1970; 0: the start). */
int docker_container_logs_since(struct docker *d, const char *id, int follow, int tail,
				int timestamps, long long since, docker_output_fn *fn, void *data);

/* ---- what containers use (stats.c) --------------------------------------------- */

/* GET /containers/{id}/stats?stream=false: *out is Docker's stats object (caller
 * decrefs). Without one_shot the daemon takes a second sample first (about a
 * second), so precpu_stats is set and a CPU % can be computed; with one_shot it
 * answers at once (cumulative counters only). */
int docker_container_stats(struct docker *d, const char *id, int one_shot, json_t **out);
/* The same for n containers at once: outs[i] gets ids[i]'s stats object, or NULL
 * when it failed (the container went away). The daemon takes about a second per
 * container even one-shot, so up to DOCKER_STATS_CONNS connections of their own
 * ask side by side (this one when no thread can start). */
#define DOCKER_STATS_CONNS 16
int docker_containers_stats(struct docker *d, const char *const *ids, size_t n, int one_shot,
			    json_t **outs);
/* What `docker stats` shows of a stats object. */
struct docker_stats {
	double cpu_percent;                     /* of one CPU: 200 = two CPUs busy; 0 one-shot */
	unsigned long long cpu_total_ns;        /* CPU time used since start */
	unsigned long long mem_usage;           /* usage minus inactive page cache */
	unsigned long long mem_limit;           /* the cgroup's limit (the host's memory if none) */
	unsigned long long net_rx, net_tx;      /* bytes, summed over the networks */
	unsigned long long blk_read, blk_write; /* bytes */
	unsigned long long pids;
};
/* Pure: fills out from st (missing members read as 0). */
void docker_stats_summary(const json_t *st, struct docker_stats *out);
/* GET /containers/{id}/top: {"Titles": [...], "Processes": [[...], ...]}. */
int docker_container_top(struct docker *d, const char *id, json_t **out);
/* GET /events from since to until (seconds since 1970; until > 0) with Docker's
 * filters (borrowed, may be NULL): *out is an array of event objects, oldest
 * first, the newest max of them. The daemon keeps only recent events in memory
 * (none across its restart). */
int docker_events(struct docker *d, long long since, long long until, const json_t *filters,
		  size_t max, json_t **out);

/* Hijacked connections (attach, exec): after the HTTP upgrade the connection
 * carries the process's stdin one way and its output the other (raw with a TTY,
 * multiplexed frames without). *conn is a connected socket the caller closes. */
/* Attaches to a created (not yet started) container: stdout, stderr and, with
 * with_stdin, stdin (the container needs open_stdin). */
int docker_container_attach(struct docker *d, const char *id, int with_stdin, int *conn);
/* Creates an exec of cmd (NULL-terminated) in a running container. */
int docker_exec_create(struct docker *d, const char *id, const char **cmd, const char **env,
		       int tty, struct buf *exec_id);
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

/* A time limit for a container the caller waits on (a release command, a build):
 * a thread kills it (POST /containers/{id}/kill) if it still runs timeout_s seconds
 * after start, which ends the caller's blocking logs/wait call. timeout_s <= 0 means
 * no limit (*out is NULL). stop() ends the watch and returns 1 if the kill was sent,
 * 0 otherwise; NULL-safe. */
struct container_watchdog;
int container_watchdog_start(struct docker *d, const char *id, long timeout_s,
			     struct container_watchdog **out);
int container_watchdog_stop(struct container_watchdog *w);

/* ---- swarm: services, tasks and nodes (services.c) ---------------------------
 * Calls to a swarm manager's API. registry_auth is the X-Registry-Auth value the
 * workers pull the service's image with (NULL: none). */

/* POST /services/create with spec (Docker's ServiceSpec, borrowed); id gets the new
 * service's id. Docker's warnings are shown, not failed on. */
int docker_service_create(struct docker *d, const json_t *spec, const char *registry_auth,
			  struct buf *id);
/* GET /services/{id}: *out the service (caller decrefs), NULL when there is none. */
int docker_service_inspect(struct docker *d, const char *id, json_t **out);
/* POST /services/{id}/update?version=N with a whole new spec. */
int docker_service_update(struct docker *d, const char *id, long long version, const json_t *spec,
			  const char *registry_auth);
/* Sets a replicated service's Replicas (inspect + update, read again on a version
 * conflict). */
int docker_service_scale(struct docker *d, const char *id, long replicas,
			 const char *registry_auth);
/* DELETE /services/{id}; one that does not exist counts as removed. */
int docker_service_remove(struct docker *d, const char *id);
/* GET /services with every "key=value" label of the NULL-terminated labels. */
int docker_service_list(struct docker *d, const char **labels, json_t **out);
/* GET /tasks with Docker's filters (borrowed; e.g. {"service": [id], "label": [..],
 * "desired-state": ["running"]}; NULL: all). */
int docker_task_list(struct docker *d, const json_t *filters, json_t **out);
/* GET /nodes. */
int docker_node_list(struct docker *d, json_t **out);
/* The logs of a service or a task (kind "services" or "tasks"), demultiplexed to fn
 * as docker_container_logs_since() does; the manager fetches them from the nodes. */
int docker_swarm_logs(struct docker *d, const char *kind, const char *id, int follow, int tail,
		      long long since, docker_output_fn *fn, void *data);

/* A task as the scheduler needs it (pure: docker_task_read()). */
struct docker_task {
	char id[72], service_id[72], node_id[72], container_id[72];
	char state[24];      /* Status.State: "new" … "running", "failed", "shutdown" … */
	char desired[24];    /* DesiredState */
	char err[256];       /* Status.Err ("No such image: …", "task: non-zero exit (1)") */
	char hostname[128];  /* its node's */
	char node_state[16]; /* its node's Status.State ("ready", "down") */
	char addr[48];       /* its node's address (docker_node_addr()); "" unknown */
	char created_at[40];
	int slot;      /* 1.. for a replicated service */
	int exit_code; /* Status.ContainerStatus.ExitCode */
	int serves;    /* running, desired running, node ready and with an address */
};
/* Reads task (a GET /tasks object) with nodes (GET /nodes; may be NULL). Untrusted
 * input: missing members read as empty, long strings are cut. */
void docker_task_read(const json_t *task, const json_t *nodes, struct docker_task *out);
/* 1 when the task ended in a way that fails a deploy (failed, rejected, orphaned,
 * removed, or stopped while it was meant to run). */
int docker_task_failed(const struct docker_task *t);
/* Appends a node's address: Status.Addr, or the host part of ManagerStatus.Addr when
 * that is "0.0.0.0" or empty (the manager, in some Docker versions). */
int docker_node_addr(const json_t *node, struct buf *out);

/* ---- labels ------------------------------------------------------------------ */

/* Labels on every container wharf makes: wharf.managed=1, wharf.root=<WHARF_ROOT>,
 * wharf.app, wharf.process, wharf.release, wharf.port (web only); a one-off
 * container of `run` carries wharf.run instead of wharf.app. Built images carry
 * wharf.managed, wharf.root and wharf.app. */
#define DOCKER_LABEL_MANAGED   "wharf.managed"
#define DOCKER_LABEL_ROOT      "wharf.root"
#define DOCKER_LABEL_APP       "wharf.app"
#define DOCKER_LABEL_PROCESS   "wharf.process"
#define DOCKER_LABEL_RELEASE   "wharf.release"
#define DOCKER_LABEL_PORT      "wharf.port"
#define DOCKER_LABEL_RUN       "wharf.run"
/* A swarm web service's port base P: its task in slot S listens on P*10+S. */
#define DOCKER_LABEL_PORT_BASE "wharf.port-base"

/* A label filter for docker_container_list() and docker_image_list(): up to
 * DOCKER_LABELS_MAX "key=value" strings in v, NULL-terminated, owned by l. */
#define DOCKER_LABELS_MAX 4
struct docker_labels {
	const char *v[DOCKER_LABELS_MAX + 1];
	size_t n;
};
#define DOCKER_LABELS_INIT            \
	{                             \
		.v = { NULL }, .n = 0 \
	}
/* Adds "key=value"; fails when DOCKER_LABELS_MAX are there. */
int docker_labels_add(struct docker_labels *l, const char *key, const char *value);
void docker_labels_release(struct docker_labels *l); /* frees the strings; l is empty */

#endif
