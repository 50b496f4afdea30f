/* src/cluster/cluster.h - public interface of the cluster part: several hosts joined in a
 * Docker Swarm whose manager is wharf's own dockerd, and the private registry (Debian's
 * docker-registry, run as a host process) the workers pull wharf's images from. Talks to
 * the Engine API through src/docker; knows of apps only their names (the registry's
 * repositories wharf/<app>). See docs/cluster.md.
 *
 * State, all under $WHARF_ROOT/cluster/ (0700; secrets 0600):
 *   cluster.json        the manager's address, the registry's address and credentials,
 *                       and how each node that wharf joined is reached (to make it leave)
 *   registry/           config.yml, htpasswd, ca.crt/ca.key (the CA the nodes trust),
 *                       server.crt/server.key, data/ (the images), registry.pid, .log
 *   ssh/id_ed25519      the key cluster:add-node logs in to root@HOST with;
 *   ssh/known_hosts     the nodes' host keys (accepted the first time, checked after)
 *   tunnel.XXXXXX/      while a handle on an ssh node's dockerd is open: the local end
 *                       (d.sock) of its ssh forward and ssh's stderr */
#ifndef WHARF_CLUSTER_H
#define WHARF_CLUSTER_H

#include "common.h"
#include "docker/docker.h"

#define CLUSTER_REGISTRY_PORT    5000
#define CLUSTER_SWARM_PORT       2377
#define CLUSTER_REGISTRY_USER    "wharf"
/* Where a dockerd looks for a registry's CA: <dir>/<host:port>/ca.crt. */
#define CLUSTER_DOCKER_CERTS_DIR "/etc/docker/certs.d"

/* What cluster.json holds (cluster_load()); strings owned by the struct. */
struct cluster_state {
	char *addr;     /* the manager's private IPv4 address */
	char *registry; /* "ADDR:PORT" */
	char *user, *password;
	json_t *nodes; /* node id -> {"addr", "docker_host"|"ssh", "certs_dir"} */
};
#define CLUSTER_STATE_INIT \
	{                  \
		NULL       \
	}
/* Loads cluster.json: 1 when there is one, 0 when this wharf is not a cluster. */
int cluster_load(struct cluster_state *st);
void cluster_state_release(struct cluster_state *st);

/* 1 when s is a dotted IPv4 address (the only kind cluster:init takes). */
int cluster_valid_ipv4(const char *s);

/* ---- the manager (swarm.c) ---------------------------------------------------- */

struct cluster_init_opts {
	const char *addr;      /* the private address the manager advertises (required) */
	int registry_port;     /* 0: CLUSTER_REGISTRY_PORT */
	const char *certs_dir; /* where this host's dockerd finds registry CAs; NULL:
	                        * $WHARF_DOCKER_CERTS_DIR or CLUSTER_DOCKER_CERTS_DIR */
};
#define CLUSTER_INIT_OPTS_INIT \
	{                      \
		NULL           \
	}
/* Run as root, first: makes $WHARF_ROOT/cluster/ (the registry's CA, its certificate for
 * o->addr, generated credentials, htpasswd, config; cluster.json), installs the CA where
 * this host's dockerd reads it (o->certs_dir/ADDR:PORT/ca.crt) and gives the folder to
 * WHARF_ROOT's owner. A cluster already prepared on the same address is kept as it is;
 * one on another address is refused. */
int cluster_prepare(const struct cluster_init_opts *o);
/* Then, as WHARF_ROOT's owner: makes d (wharf's dockerd) a swarm manager on the address
 * (ListenAddr and AdvertiseAddr; docker_gwbridge made internal first, the ingress network
 * removed right after) unless it is one already, and starts the registry. */
int cluster_init(struct docker *d);
/* Starts the registry unless it runs (cluster:init, and after a reboot). */
int cluster_registry_start(const struct cluster_state *st);
/* Stops the registry process (by its pid file); 0 when none ran. */
int cluster_registry_stop(void);
/* Undoes cluster_init(): the manager leaves the swarm (force), the registry stops, its CA
 * leaves the certs dir and $WHARF_ROOT/cluster/ is removed (the registry's images too). */
int cluster_leave(struct docker *d, const char *certs_dir);

/* ---- nodes (nodes.c) ---------------------------------------------------------- */

struct cluster_node_opts {
	const char *host;        /* the node: ssh's root@host, and its address unless addr */
	const char *addr;        /* the address the node advertises; NULL: host (if IPv4) */
	const char *docker_host; /* reach the node's dockerd directly ("unix://…", the lab)
	                          * instead of over ssh; then certs_dir is where it reads
	                          * registry CAs */
	const char *certs_dir;
	int timeout_s; /* how long the node may take to be ready; 0: 60 */
};
#define CLUSTER_NODE_OPTS_INIT \
	{                      \
		NULL           \
	}
/* Joins a node: over ssh as root (installs docker.io when missing, installs the
 * registry's CA, `docker swarm join` with the worker token) or, with docker_host, through
 * that dockerd's API (CA into certs_dir, POST /swarm/join). Waits until the manager sees
 * it ready, records how to reach it, and gives its id in *id (may be NULL). */
int cluster_add_node(struct docker *d, const struct cluster_node_opts *o, struct buf *id);
/* A new handle on the dockerd of the node with this id, reached the way it was joined:
 * its --docker-host socket, or for a node joined over ssh an ssh forward of a private
 * local socket to the node's /var/run/docker.sock, which the handle owns (docker_free()
 * stops the ssh). -1 with the reason (ssh's own words) when this host cannot reach it. */
int cluster_node_docker(const char *id, struct docker **out);
/* Drains the node (by id, id prefix, hostname or address), makes it leave the swarm
 * (how it was joined) and removes it from the manager. force: also when the node cannot
 * be reached (it is removed from the manager alone). */
int cluster_remove_node(struct docker *d, const char *node, int force, int timeout_s);

/* The nodes with their tasks: {"manager": ADDR, "registry": "ADDR:PORT", "nodes": [{"id",
 * "hostname", "role", "state", "availability", "address", "leader", "tasks": [{"service",
 * "app", "slot", "state"}]}]}; caller decrefs. */
int cluster_report(struct docker *d, json_t **out);

/* ---- images (push.c) ---------------------------------------------------------- */

/* Puts an image of d (the manager's dockerd) into the registry: tags local_ref
 * ("wharf/<app>:<release>"; without a tag, latest) as ADDR:PORT/wharf/<app>:<tag>, pushes
 * it with the registry's credentials and appends to pinned (may be NULL)
 * "ADDR:PORT/wharf/<app>@sha256:…", the digest the registry stored: what a swarm service
 * is pinned to. Fails when this host is not a cluster manager. */
int cluster_push_image(struct docker *d, const char *app, const char *local_ref,
		       struct buf *pinned);

/* ---- the registry (registry.c) ------------------------------------------------ */

/* Deletes every manifest of wharf/<app> from the registry (apps:destroy of a swarm app;
 * manifests.c): how many it deleted; 0 when this host is no cluster or the app never
 * pushed. The blobs stay until the registry's garbage collection. */
int cluster_registry_forget(const char *app);
/* Retention (manifests.c): deletes the manifests of wharf/<app> that no tag in keep (an
 * array of tags: the kept releases' numbers; NULL: none) names, under the registry's lock
 * taken shared. How many it deleted; 0 when this host is no cluster. */
int cluster_registry_prune(const char *app, const json_t *keep);
/* What cluster_registry_prune() deletes: tags is {tag: digest} (the registry's), keep an
 * array of tags; *out gets the distinct digests of the tags not kept that no kept tag
 * shares, in the order of tags. */
int cluster_manifests_to_delete(const json_t *tags, const json_t *keep, json_t **out);
/* Removes the manager's own tag ADDR:PORT/wharf/<app>:<tag> of a push from d (push.c),
 * so retention can remove the image of an old release; a missing tag is no error. */
int cluster_image_untag(struct docker *d, const char *app, const char *tag);

/* The registry's lock ($WHARF_ROOT/cluster/registry/gc.lock): pushes and manifest
 * deletions take it shared, the garbage collection exclusive. Says waiting_msg (may be
 * NULL) once when it has to wait. Taken shared, it also makes a registry a collection
 * that died left read-only writable again. 1 if it waited, 0 if not, -1 on error;
 * lock_release() releases it. */
int cluster_registry_lock(struct lock *l, int exclusive, const char *waiting_msg);

/* What cluster_registry_gc() did: the registry's storage dir (registry/data) before and
 * after, in bytes and blobs, and garbage-collect's own count line. */
struct cluster_gc_result {
	long long bytes_before, bytes_after, blobs_before, blobs_after;
	struct buf summary;
};
#define CLUSTER_GC_RESULT_INIT      \
	{                           \
		.summary = BUF_INIT \
	}
/* The registry's garbage collection: under the lock taken exclusive (waits for pushes),
 * the registry restarted read-only (the nodes still pull; left stopped if it was),
 * `docker-registry garbage-collect --delete-untagged config.yml`, the registry restarted
 * writable (whatever happened). */
int cluster_registry_gc(struct cluster_gc_result *res);

/* Appends the X-Registry-Auth header value (base64url JSON of the credentials) workers
 * pull wharf's images with. */
int cluster_registry_auth(const struct cluster_state *st, struct buf *out);
/* Installs the registry's CA as certs_dir/ADDR:PORT/ca.crt (a node's /etc/docker/certs.d,
 * or a lab node's own). */
int cluster_trust_registry(const char *certs_dir);
/* Appends the PEM of the registry's CA. */
int cluster_registry_ca(struct buf *out);
/* Appends the path of $WHARF_ROOT/cluster/<leaf> (leaf may be NULL). */
int cluster_path(struct buf *out, const char *leaf);

#endif
