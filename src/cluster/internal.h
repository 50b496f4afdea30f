/* src/cluster/internal.h - helpers shared by the files of src/cluster/. */
#ifndef WHARF_CLUSTER_INTERNAL_H
#define WHARF_CLUSTER_INTERNAL_H

#include "cluster.h"

/* Writes cluster.json from st (0600: it holds the registry's password). */
int cluster__save(const struct cluster_state *st);
/* Writes the CA's PEM as certs_dir/registry/ca.crt, where a dockerd reads it. */
int cluster__install_ca(const char *certs_dir, const char *registry, const struct buf *ca);
/* Removes certs_dir/registry/ (certs_dir NULL: this host's, as cluster_prepare()). */
int cluster__remove_ca(const char *certs_dir, const char *registry);
/* Makes docker_gwbridge internal on d before swarm would make it routed (a node of wharf
 * runs its tasks on the host's network: the bridge only holds swarm's own sandbox). */
int cluster__gwbridge(struct docker *d);

/* ---- nodes over ssh (ssh.c) ---- */

/* Appends the shell script an ssh node runs to join (swarm.c): docker.io installed when
 * dockerd is missing, the registry's CA (ca, PEM) in /etc/docker/certs.d, an internal
 * docker_gwbridge, `docker swarm join` with token, listening and advertising on addr (NULL:
 * Docker's choice). Every word in it is wharf's own or checked (addresses, the token, the
 * CA's PEM in a quoted here-document). */
int cluster__join_script(struct buf *out, const struct cluster_state *st, const char *token,
			 const char *addr, const struct buf *ca);
/* Runs script through `ssh root@host sh -s` with wharf's cluster key and known_hosts.
 * first: the join, the one time the node's host key may be learnt (accept-new); else it
 * must match the known one. */
int cluster__ssh_script(const char *host, const char *script, int first);
/* A new handle on the dockerd of node (its id, for messages) joined over ssh as
 * root@host: an OpenSSH forward of a private local socket under $WHARF_ROOT/cluster/ to
 * the node's /var/run/docker.sock, waited for (20 s at most) until Docker answers on it.
 * docker_free() of the handle stops that ssh and removes the socket. */
int cluster__ssh_docker(const char *host, const char *node, struct docker **out);

#endif
