/* cluster.c - the cluster:* commands: make this wharf a Docker Swarm manager with a private
 * registry, join and remove nodes, report them (docs/cluster.md). The work is in
 * src/cluster/. */
#include "cli.h"
#include "cluster/cluster.h"
#include "deploy/deploy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A positive integer option value (1..max). */
static int int_opt(const char *name, const char *v, int max, int *out)
{
	long long n;

	if (num_parse(v, 1, max, &n) < 0)
		return err_set("%s wants a number from 1 to %d", name, max);
	*out = (int)n;
	return 0;
}

/* cluster:init ADDR [--registry-port N] [--certs-dir DIR] */
int cmd_cluster_init(int argc, char **argv)
{
	struct cluster_init_opts o = CLUSTER_INIT_OPTS_INIT;
	struct docker *d = NULL;
	struct buf pub = BUF_INIT;
	int i, ret = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--registry-port") && i + 1 < argc) {
			if (int_opt("--registry-port", argv[++i], 65535, &o.registry_port) < 0)
				return -1;
		} else if (!strcmp(argv[i], "--certs-dir") && i + 1 < argc) {
			o.certs_dir = argv[++i];
		} else if (argv[i][0] != '-' && !o.addr) {
			o.addr = argv[i];
		} else {
			return cli_usage(argv[0]);
		}
	}
	if (!o.addr)
		return cli_usage(argv[0]);
	if (!o.certs_dir && geteuid() != 0)
		return err_set(
			"cluster:init must run as root: it installs the registry's CA for this "
			"host's dockerd in %s",
			CLUSTER_DOCKER_CERTS_DIR);
	say_step("Making this host the cluster manager on %s", o.addr);
	/* As root: the CA for this host's dockerd; then as WHARF_ROOT's owner. */
	if (cluster_prepare(&o) < 0 || cli_drop_to_root_owner() < 0)
		goto out;
	if (docker_new(&d, NULL) < 0 || cluster_init(d) < 0)
		goto out;
	if (cluster_path(&pub, "ssh/id_ed25519.pub") < 0)
		goto out;
	say_detail("nodes join with: wharf cluster:add-node HOST (as root over ssh, with the key "
		   "%s)",
		   pub.buf);
	ret = 0;
out:
	buf_release(&pub);
	docker_free(d);
	return ret;
}

/* cluster:add-node HOST [--addr IP] [--docker-host URL [--certs-dir DIR]] [--timeout S] */
int cmd_cluster_add_node(int argc, char **argv)
{
	struct cluster_node_opts o = CLUSTER_NODE_OPTS_INIT;
	struct docker *d = NULL;
	struct buf id = BUF_INIT;
	int i, ret = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--addr") && i + 1 < argc)
			o.addr = argv[++i];
		else if (!strcmp(argv[i], "--docker-host") && i + 1 < argc)
			o.docker_host = argv[++i];
		else if (!strcmp(argv[i], "--certs-dir") && i + 1 < argc)
			o.certs_dir = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (int_opt("--timeout", argv[++i], 3600, &o.timeout_s) < 0)
				return -1;
		} else if (argv[i][0] != '-' && !o.host)
			o.host = argv[i];
		else
			return cli_usage(argv[0]);
	}
	if (!o.host)
		return cli_usage(argv[0]);
	if (o.certs_dir && !o.docker_host)
		return err_set("--certs-dir goes with --docker-host (over ssh the node's "
			       "/etc/docker/certs.d is used)");
	if (o.docker_host && strncmp(o.docker_host, "unix://", 7))
		return err_set("--docker-host takes a unix:// socket of the node's dockerd");
	say_step("Adding node %s", o.host);
	/* The node's certs dir (the lab's) may be root's: written before dropping root. */
	if (o.certs_dir && cluster_trust_registry(o.certs_dir) < 0)
		goto out;
	o.certs_dir = NULL;
	if (cli_drop_to_root_owner() < 0 || docker_new(&d, NULL) < 0 ||
	    cluster_add_node(d, &o, &id) < 0)
		goto out;
	say_detail("node %s ready (%.12s)", o.host, id.buf);
	ret = 0;
out:
	buf_release(&id);
	docker_free(d);
	return ret;
}

/* cluster:remove-node NODE [--force] [--timeout S] */
int cmd_cluster_remove_node(int argc, char **argv)
{
	struct docker *d = NULL;
	const char *node = NULL;
	int i, force = cli_force, timeout = 30, ret = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (int_opt("--timeout", argv[++i], 3600, &timeout) < 0)
				return -1;
		} else if (argv[i][0] != '-' && !node)
			node = argv[i];
		else
			return cli_usage(argv[0]);
	}
	if (!node)
		return cli_usage(argv[0]);
	say_step("Removing node %s", node);
	if (docker_new(&d, NULL) < 0 || cluster_remove_node(d, node, force, timeout) < 0)
		goto out;
	say_detail("node %s removed", node);
	ret = 0;
out:
	docker_free(d);
	return ret;
}

/* cluster:leave --force: undoes cluster:init. */
int cmd_cluster_leave(int argc, char **argv)
{
	struct docker *d = NULL;
	const char *certs_dir = NULL;
	int i, force = cli_force, ret = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--certs-dir") && i + 1 < argc)
			certs_dir = argv[++i];
		else
			return cli_usage(argv[0]);
	}
	if (!force)
		return err_set("cluster:leave removes the swarm and the registry's images: "
			       "add --force");
	say_step("Leaving the cluster");
	if (docker_new(&d, NULL) < 0 || cluster_leave(d, certs_dir) < 0)
		goto out;
	ret = 0;
out:
	docker_free(d);
	return ret;
}

static void print_report(const json_t *r)
{
	const json_t *n, *t;
	size_t i, j;

	say_section("Cluster (manager %s, registry %s)", json_str(r, "manager", ""),
		    json_str(r, "registry", ""));
	printf("%-14s %-13s %-8s %-7s %-13s %-16s %s\n", "NODE", "ID", "ROLE", "STATE",
	       "AVAILABILITY", "ADDRESS", "TASKS");
	json_array_foreach(json_object_get(r, "nodes"), i, n) {
		struct buf tasks = BUF_INIT;

		json_array_foreach(json_object_get(n, "tasks"), j, t)
			buf_addf(&tasks, "%s%s.%lld (%s)", j ? ", " : "",
				 json_str(t, "service", ""), json_int(t, "slot", 0),
				 json_str(t, "state", ""));
		printf("%-14s %-13.12s %-8s %-7s %-13s %-16s %s\n", json_str(n, "hostname", ""),
		       json_str(n, "id", ""), json_str(n, "role", ""), json_str(n, "state", ""),
		       json_str(n, "availability", ""), json_str(n, "address", ""),
		       tasks.len ? tasks.buf : "-");
		buf_release(&tasks);
	}
}

/* cluster:report [--format json] */
int cmd_cluster_report(int argc, char **argv)
{
	struct cli_opts o;
	struct docker *d = NULL;
	json_t *r = NULL;
	int json = 0, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos)
		return cli_usage(argv[0]);
	if (docker_new(&d, NULL) < 0 || cluster_report(d, &r) < 0)
		goto out;
	if (json)
		cli_print_json(r, 0);
	else
		print_report(r);
	ret = 0;
out:
	json_decref(r);
	docker_free(d);
	return ret;
}

/* cluster:sync [--once] [--interval MS] */
int cmd_cluster_sync(int argc, char **argv)
{
	struct deploy_sync_opts o = DEPLOY_SYNC_OPTS_INIT;
	int i, ms = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			o.once = 1;
		} else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			if (int_opt("--interval", argv[++i], 3600000, &ms) < 0)
				return -1;
			o.interval_ms = ms;
		} else {
			return cli_usage(argv[0]);
		}
	}
	if (deploy_cluster_manager() != 1)
		return err_set("this host is not a cluster manager: run cluster:init first");
	/* A line per change, as it happens (into the daemon's log when it runs it). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return deploy_swarm_sync(&o);
}

/* A size in the largest unit that keeps it >= 1 (B, KB, MB, GB; 1024). */
static void human_size(char *out, size_t size, long long n)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* cluster:gc: the registry's garbage collection. */
int cmd_cluster_gc(int argc, char **argv)
{
	struct cluster_gc_result r = CLUSTER_GC_RESULT_INIT;
	char before[32], after[32], freed[32];
	int ret = -1;

	if (argc != 1)
		return cli_usage(argv[0]);
	say_step("Collecting the registry's garbage (read-only meanwhile; the nodes still pull)");
	if (cluster_registry_gc(&r) < 0)
		goto out;
	if (r.summary.len)
		say_detail("%s", r.summary.buf);
	human_size(before, sizeof(before), r.bytes_before);
	human_size(after, sizeof(after), r.bytes_after);
	human_size(freed, sizeof(freed),
		   r.bytes_before > r.bytes_after ? r.bytes_before - r.bytes_after : 0);
	say_step("Freed %s and %lld blob%s: the registry's storage went from %s (%lld blobs) to "
		 "%s (%lld blobs)",
		 freed, r.blobs_before - r.blobs_after,
		 r.blobs_before - r.blobs_after == 1 ? "" : "s", before, r.blobs_before, after,
		 r.blobs_after);
	ret = 0;
out:
	buf_release(&r.summary);
	return ret;
}
