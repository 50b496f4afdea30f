/* swarm.c - the swarm through the Engine API: init on the manager, join and leave of
 * nodes (directly on a node's dockerd, or over ssh as root), removal, the report. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* GET path on d; *out the JSON, or NULL on 404 when missing_ok. */
static int get(struct docker *d, const char *path, int missing_ok, json_t **out)
{
	long status = 0;

	*out = NULL;
	if (docker_call(d, "GET", path, NULL, out, &status) == 0)
		return 0;
	if (missing_ok && status == 404) {
		err_clear();
		return 0;
	}
	return -1;
}

/* "active" (a swarm node), "inactive", "pending", "error" or "locked" from GET /info. */
static int swarm_state(struct docker *d, struct buf *state, struct buf *node_id)
{
	json_t *info = NULL;
	const json_t *sw;
	int ret = -1;

	if (get(d, "/info", 0, &info) < 0)
		goto out;
	sw = json_object_get(info, "Swarm");
	if (buf_addstr(state, json_str(sw, "LocalNodeState", "inactive")) < 0 ||
	    (node_id && buf_addstr(node_id, json_str(sw, "NodeID", "")) < 0))
		goto out;
	ret = 0;
out:
	json_decref(info);
	return ret;
}

int cluster__gwbridge(struct docker *d)
{
	json_t *net = NULL, *body = NULL;
	int ret = -1;

	if (get(d, "/networks/docker_gwbridge", 1, &net) < 0)
		goto out;
	if (net) {
		ret = 0;
		goto out;
	}
	body = json_pack("{s:s, s:s, s:b, s:{s:s, s:s, s:s}}", "Name", "docker_gwbridge", "Driver",
			 "bridge", "Internal", 1, "Options", "com.docker.network.bridge.name",
			 "docker_gwbridge", "com.docker.network.bridge.enable_icc", "false",
			 "com.docker.network.bridge.enable_ip_masquerade", "false");
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	if (docker_call(d, "POST", "/networks/create", body, NULL, NULL) < 0) {
		err_prefix("cannot make the internal docker_gwbridge network");
		goto out;
	}
	ret = 0;
out:
	json_decref(net);
	json_decref(body);
	return ret;
}

/* The scope ("swarm", "local") of the network named ingress in this dockerd's list, or
 * "" when there is none. */
static int ingress_scope(struct docker *d, struct buf *scope)
{
	json_t *nets = NULL;
	const json_t *n;
	size_t i;

	if (get(d, "/networks", 0, &nets) < 0)
		return -1;
	json_array_foreach(nets, i, n) {
		if (!strcmp(json_str(n, "Name", ""), "ingress")) {
			buf_addstr(scope, json_str(n, "Scope", "?"));
			break;
		}
	}
	json_decref(nets);
	return 0;
}

/* Removes the ingress network swarm makes at init (it needs IPVS; wharf's tasks use the
 * host's network and are reached at their node's address): waits for the cluster's network
 * to appear (up to 10 s) and deletes it. This dockerd's own copy (its ingress sandbox) still
 * shows in its list for a few seconds and then goes; nodes that join later never get one. */
static int remove_ingress(struct docker *d)
{
	struct buf scope = BUF_INIT;
	double deadline = clock_now_s() + 10;
	long status = 0;
	int ret = -1;

	for (;;) {
		buf_reset(&scope);
		if (ingress_scope(d, &scope) < 0)
			goto out;
		if (!strcmp(scope.buf, "swarm"))
			break;
		if (clock_now_s() > deadline) {
			ret = 0; /* none was made */
			goto out;
		}
		usleep(100 * 1000);
	}
	if (docker_call(d, "DELETE", "/networks/ingress", NULL, NULL, &status) < 0 &&
	    status != 404) {
		err_prefix("cannot remove the ingress network");
		goto out;
	}
	err_clear();
	ret = 0;
out:
	buf_release(&scope);
	return ret;
}

int cluster_init(struct docker *d)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf state = BUF_INIT, listen = BUF_INIT;
	json_t *body = NULL;
	int have, ret = -1;

	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("no cluster state: cluster:init prepares it first");
		goto out;
	}
	if (swarm_state(d, &state, NULL) < 0)
		goto out;
	if (!strcmp(state.buf, "active")) {
		say_detail("this dockerd is a swarm node already");
	} else {
		if (buf_addf(&listen, "%s:%d", st.addr, CLUSTER_SWARM_PORT) < 0)
			goto out;
		body = json_pack("{s:s, s:s, s:s}", "ListenAddr", listen.buf, "AdvertiseAddr",
				 st.addr, "DataPathAddr", st.addr);
		if (!body) {
			err_set("out of memory");
			goto out;
		}
		if (cluster__gwbridge(d) < 0)
			goto out;
		if (docker_call(d, "POST", "/swarm/init", body, NULL, NULL) < 0) {
			err_prefix("swarm init on %s", st.addr);
			goto out;
		}
		say_detail("swarm manager on %s", listen.buf);
		if (remove_ingress(d) < 0)
			goto out;
	}
	if (cluster_registry_start(&st) < 0)
		goto out;
	say_detail("registry on %s (user %s; CA %s/cluster/registry/ca.crt)", st.registry, st.user,
		   wharf_root());
	ret = 0;
out:
	json_decref(body);
	buf_release(&state);
	buf_release(&listen);
	cluster_state_release(&st);
	return ret;
}

int cluster_leave(struct docker *d, const char *certs_dir)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf dir = BUF_INIT;
	long status = 0;
	int have, ret = -1;

	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (docker_call(d, "POST", "/swarm/leave?force=true", NULL, NULL, &status) < 0) {
		if (status != 503) /* not in a swarm */
			goto out;
		err_clear();
	}
	if (cluster_registry_stop() < 0)
		goto out;
	if (have && cluster__remove_ca(certs_dir, st.registry) < 0)
		goto out;
	if (cluster_path(&dir, NULL) < 0 || fs_rm_rf(dir.buf) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&dir);
	cluster_state_release(&st);
	return ret;
}

/* ---- nodes ----------------------------------------------------------------------- */

/* The manager's node object whose id (or id prefix of ≥ 4), hostname or address is
 * name; *out NULL when none. */
static int find_node(struct docker *d, const char *name, json_t **out)
{
	json_t *nodes = NULL;
	const json_t *n;
	size_t i, len = strlen(name);
	int ret = -1;

	*out = NULL;
	if (get(d, "/nodes", 0, &nodes) < 0)
		goto out;
	json_array_foreach(nodes, i, n) {
		const char *id = json_str(n, "ID", "");
		const json_t *desc = json_object_get(n, "Description");
		const json_t *status = json_object_get(n, "Status");

		if (!strcmp(id, name) || (len >= 4 && !strncmp(id, name, len)) ||
		    !strcmp(json_str(desc, "Hostname", ""), name) ||
		    !strcmp(json_str(status, "Addr", ""), name)) {
			if (*out) {
				err_set("'%s' names more than one node: give its id", name);
				json_decref(*out);
				*out = NULL;
				goto out;
			}
			*out = json_incref((json_t *)n);
		}
	}
	ret = 0;
out:
	json_decref(nodes);
	return ret;
}

/* Waits until the manager sees node id in state want ("ready", "down"), up to timeout_s. */
static int wait_node(struct docker *d, const char *id, const char *want, int timeout_s)
{
	struct buf path = BUF_INIT;
	json_t *n = NULL;
	double deadline = clock_now_s() + timeout_s;
	int ret = -1;

	if (buf_addf(&path, "/nodes/%s", id) < 0)
		goto out;
	for (;;) {
		json_decref(n);
		if (get(d, path.buf, 1, &n) < 0)
			goto out;
		if (n && !strcmp(json_str(json_object_get(n, "Status"), "State", ""), want))
			break;
		if (clock_now_s() > deadline) {
			err_set("node %.12s is not %s after %d s", id, want, timeout_s);
			goto out;
		}
		usleep(200 * 1000);
	}
	ret = 0;
out:
	json_decref(n);
	buf_release(&path);
	return ret;
}

int cluster__join_script(struct buf *out, const struct cluster_state *st, const char *token,
			 const char *addr, const struct buf *ca)
{
	struct buf adv = BUF_INIT;
	int ret;

	/* The node listens and advertises on its private address, as a node joined through
	 * its socket does (ListenAddr, AdvertiseAddr, DataPathAddr). */
	if (addr &&
	    buf_addf(&adv, " --advertise-addr '%s' --listen-addr '%s' --data-path-addr '%s'", addr,
		     addr, addr) < 0)
		return -1;
	ret = buf_addf(out,
		       "set -e\n"
		       "if ! command -v dockerd >/dev/null 2>&1; then\n"
		       "  export DEBIAN_FRONTEND=noninteractive\n"
		       "  apt-get update -qq && apt-get install -y -qq docker.io\n"
		       "fi\n"
		       "docker info >/dev/null 2>&1 || systemctl start docker 2>/dev/null || "
		       "service docker start\n"
		       "mkdir -p '/etc/docker/certs.d/%s'\n"
		       "cat >'/etc/docker/certs.d/%s/ca.crt' <<'WHARF_CA'\n%s%sWHARF_CA\n"
		       "docker network inspect docker_gwbridge >/dev/null 2>&1 ||\n"
		       "  docker network create --internal -o "
		       "com.docker.network.bridge.name=docker_gwbridge "
		       "-o com.docker.network.bridge.enable_icc=false "
		       "-o com.docker.network.bridge.enable_ip_masquerade=false docker_gwbridge "
		       ">/dev/null\n"
		       "docker swarm join --token '%s'%s '%s:%d'\n",
		       st->registry, st->registry, ca->buf,
		       ca->len && ca->buf[ca->len - 1] != '\n' ? "\n" : "", token, adv.buf,
		       st->addr, CLUSTER_SWARM_PORT);
	buf_release(&adv);
	return ret;
}

static int valid_token(const char *t)
{
	return *t && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") ==
			     strlen(t);
}

/* The node's record: how remove-node reaches it. */
static int record_node(struct cluster_state *st, const char *id, const struct cluster_node_opts *o,
		       const char *addr)
{
	json_t *rec = json_object();

	if (!rec || json_object_set_new(rec, "addr", json_string(addr ? addr : "")) < 0 ||
	    (o->docker_host
		     ? json_object_set_new(rec, "docker_host", json_string(o->docker_host)) < 0 ||
			       json_object_set_new(rec, "certs_dir",
						   json_string(o->certs_dir ? o->certs_dir : "")) <
				       0
		     : json_object_set_new(rec, "ssh", json_string(o->host)) < 0) ||
	    json_object_set_new(st->nodes, id, rec) < 0) {
		json_decref(rec);
		return err_set("out of memory");
	}
	return cluster__save(st);
}

int cluster_add_node(struct docker *d, const struct cluster_node_opts *o, struct buf *id_out)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct docker *nd = NULL;
	struct buf ca = BUF_INIT, script = BUF_INIT, listen = BUF_INIT, remote = BUF_INIT,
		   state = BUF_INIT, id = BUF_INIT;
	json_t *sw = NULL, *body = NULL, *node = NULL;
	const char *addr = o->addr ? o->addr : cluster_valid_ipv4(o->host) ? o->host : NULL;
	const char *token;
	int have, timeout = o->timeout_s > 0 ? o->timeout_s : 60, ret = -1;

	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("this wharf is not a cluster manager: run cluster:init ADDR first");
		goto out;
	}
	if (addr && !cluster_valid_ipv4(addr)) {
		err_set("'%s' is not an IPv4 address", addr);
		goto out;
	}
	if (o->docker_host && !addr) {
		err_set("--docker-host needs the node's IPv4 address");
		goto out;
	}
	if (get(d, "/swarm", 0, &sw) < 0) {
		err_prefix("this dockerd is not a swarm manager");
		goto out;
	}
	token = json_str(json_object_get(sw, "JoinTokens"), "Worker", "");
	if (!valid_token(token)) {
		err_set("the manager gave no worker join token");
		goto out;
	}
	if (cluster_registry_ca(&ca) < 0 ||
	    buf_addf(&remote, "%s:%d", st.addr, CLUSTER_SWARM_PORT) < 0)
		goto out;
	if (o->docker_host) {
		if (docker_new(&nd, o->docker_host) < 0)
			goto out;
		if (o->certs_dir && cluster__install_ca(o->certs_dir, st.registry, &ca) < 0)
			goto out;
		if (swarm_state(nd, &state, &id) < 0)
			goto out;
		if (!strcmp(state.buf, "active")) {
			err_set("the node at %s is in a swarm already", o->docker_host);
			goto out;
		}
		if (cluster__gwbridge(nd) < 0 ||
		    buf_addf(&listen, "%s:%d", addr, CLUSTER_SWARM_PORT) < 0)
			goto out;
		body = json_pack("{s:s, s:s, s:s, s:[s], s:s}", "ListenAddr", listen.buf,
				 "AdvertiseAddr", addr, "DataPathAddr", addr, "RemoteAddrs",
				 remote.buf, "JoinToken", token);
		if (!body) {
			err_set("out of memory");
			goto out;
		}
		if (docker_call(nd, "POST", "/swarm/join", body, NULL, NULL) < 0) {
			err_prefix("swarm join of %s", addr);
			goto out;
		}
		buf_reset(&state);
		buf_reset(&id);
		if (swarm_state(nd, &state, &id) < 0)
			goto out;
	} else {
		if (cluster__join_script(&script, &st, token, addr, &ca) < 0 ||
		    cluster__ssh_script(o->host, script.buf, 1) < 0)
			goto out;
	}
	/* The manager's view: the node by id (lab) or by address/hostname (ssh). */
	if (!id.len) {
		double deadline = clock_now_s() + timeout;

		while (!node) {
			if (find_node(d, addr ? addr : o->host, &node) < 0)
				goto out;
			if (!node && clock_now_s() > deadline) {
				err_set("the manager does not list %s after %d s", o->host,
					timeout);
				goto out;
			}
			if (!node)
				usleep(200 * 1000);
		}
		if (buf_addstr(&id, json_str(node, "ID", "")) < 0)
			goto out;
	}
	if (wait_node(d, id.buf, "ready", timeout) < 0 || record_node(&st, id.buf, o, addr) < 0)
		goto out;
	if (id_out && buf_addstr(id_out, id.buf) < 0)
		goto out;
	ret = 0;
out:
	docker_free(nd);
	json_decref(sw);
	json_decref(body);
	json_decref(node);
	buf_release(&ca);
	buf_release(&script);
	buf_release(&listen);
	buf_release(&remote);
	buf_release(&state);
	buf_release(&id);
	cluster_state_release(&st);
	return ret;
}

/* Spec.Availability of the node to drain. */
static int drain(struct docker *d, const json_t *node)
{
	struct buf path = BUF_INIT;
	json_t *spec = json_deep_copy(json_object_get(node, "Spec"));
	long long version = json_int(json_object_get(node, "Version"), "Index", 0);
	int ret = -1;

	if (!spec || json_object_set_new(spec, "Availability", json_string("drain")) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (buf_addf(&path, "/nodes/%s/update?version=%lld", json_str(node, "ID", ""), version) <
		    0 ||
	    docker_call(d, "POST", path.buf, spec, NULL, NULL) < 0)
		goto out;
	ret = 0;
out:
	json_decref(spec);
	buf_release(&path);
	return ret;
}

/* Waits until no task that should run is on node id any more (Swarm moved them). */
static int wait_drained(struct docker *d, const char *id, int timeout_s)
{
	struct buf path = BUF_INIT, filters = BUF_INIT;
	json_t *tasks = NULL;
	double deadline = clock_now_s() + timeout_s;
	int ret = -1;

	if (buf_addf(&filters, "{\"node\":[\"%s\"],\"desired-state\":[\"running\"]}", id) < 0 ||
	    buf_addstr(&path, "/tasks?filters=") < 0 || docker_urlencode(&path, filters.buf) < 0)
		goto out;
	for (;;) {
		json_decref(tasks);
		if (get(d, path.buf, 0, &tasks) < 0)
			goto out;
		if (!json_array_size(tasks))
			break;
		if (clock_now_s() > deadline) {
			err_set("%zu task(s) still on the node after %d s", json_array_size(tasks),
				timeout_s);
			goto out;
		}
		usleep(200 * 1000);
	}
	ret = 0;
out:
	json_decref(tasks);
	buf_release(&path);
	buf_release(&filters);
	return ret;
}

int cluster_node_docker(const char *id, struct docker **out)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	const json_t *rec;
	int ret = -1;

	*out = NULL;
	if (cluster_load(&st) < 0)
		goto out;
	rec = json_object_get(st.nodes, id);
	if (rec && json_str(rec, "docker_host", NULL))
		ret = docker_new(out, json_str(rec, "docker_host", ""));
	else if (rec && json_str(rec, "ssh", NULL))
		ret = cluster__ssh_docker(json_str(rec, "ssh", ""), id, out);
	else
		err_set("node %.12s was not joined by wharf: this host cannot reach its Docker",
			id);
out:
	cluster_state_release(&st);
	return ret;
}

/* Makes the node leave the swarm the way it was joined. */
static int node_leave(const json_t *rec)
{
	struct docker *nd = NULL;
	long status = 0;
	int ret = -1;

	if (json_str(rec, "docker_host", NULL)) {
		if (docker_new(&nd, json_str(rec, "docker_host", "")) < 0)
			goto out;
		if (docker_call(nd, "POST", "/swarm/leave", NULL, NULL, &status) < 0 &&
		    status != 503)
			goto out;
		err_clear();
	} else if (json_str(rec, "ssh", NULL)) {
		if (cluster__ssh_script(json_str(rec, "ssh", ""), "docker swarm leave || true\n",
					0) < 0)
			goto out;
	} else {
		err_set("wharf did not join this node: make it leave (docker swarm leave) or use "
			"--force");
		goto out;
	}
	ret = 0;
out:
	docker_free(nd);
	return ret;
}

int cluster_remove_node(struct docker *d, const char *name, int force, int timeout_s)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf path = BUF_INIT, id = BUF_INIT;
	json_t *node = NULL;
	const json_t *rec;
	int have, ret = -1;

	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("this wharf is not a cluster manager");
		goto out;
	}
	if (find_node(d, name, &node) < 0)
		goto out;
	if (!node) {
		err_set("no node '%s' in the cluster (cluster:report lists them)", name);
		goto out;
	}
	if (buf_addstr(&id, json_str(node, "ID", "")) < 0)
		goto out;
	if (!strcmp(json_str(json_object_get(node, "Spec"), "Role", ""), "manager")) {
		err_set("%s is a manager: cluster:remove-node removes workers", name);
		goto out;
	}
	if (drain(d, node) < 0) {
		err_prefix("drain %s", name);
		goto out;
	}
	if (wait_drained(d, id.buf, timeout_s > 0 ? timeout_s : 30) < 0) {
		if (!force)
			goto out;
		say_warn("%s (going on: --force)", err_msg());
		err_clear();
	}
	say_detail("drained %s", name);
	rec = json_object_get(st.nodes, id.buf);
	if (node_leave(rec) < 0) {
		if (!force)
			goto out;
		say_warn("%s (removed from the manager anyway: --force)", err_msg());
		err_clear();
	}
	/* The node left (or is gone for good with --force): the manager would take a few
	 * heartbeats to see it down, so its record is removed with force now. */
	if (buf_addf(&path, "/nodes/%s?force=true", id.buf) < 0 ||
	    docker_call(d, "DELETE", path.buf, NULL, NULL, NULL) < 0)
		goto out;
	json_object_del(st.nodes, id.buf);
	if (cluster__save(&st) < 0)
		goto out;
	ret = 0;
out:
	json_decref(node);
	buf_release(&path);
	buf_release(&id);
	cluster_state_release(&st);
	return ret;
}

/* ---- report ------------------------------------------------------------------------ */

/* {"service id": {"name", "app"}} of every service. */
static int service_names(struct docker *d, json_t **out)
{
	json_t *svcs = NULL;
	const json_t *s;
	size_t i;

	*out = NULL;
	if (get(d, "/services", 0, &svcs) < 0)
		return -1;
	if (!(*out = json_object())) {
		json_decref(svcs);
		return err_set("out of memory");
	}
	json_array_foreach(svcs, i, s) {
		const json_t *spec = json_object_get(s, "Spec");
		const char *app = json_str(json_object_get(spec, "Labels"), "wharf.app", "");

		json_object_set_new(*out, json_str(s, "ID", ""),
				    json_pack("{s:s, s:s}", "name", json_str(spec, "Name", ""),
					      "app", app));
	}
	json_decref(svcs);
	return 0;
}

int cluster_report(struct docker *d, json_t **out)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	json_t *nodes = NULL, *tasks = NULL, *svcs = NULL, *res = NULL, *list = NULL;
	const json_t *n, *t;
	size_t i, j;
	int have, ret = -1;

	*out = NULL;
	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("this wharf is not a cluster: run cluster:init ADDR");
		goto out;
	}
	if (get(d, "/nodes", 0, &nodes) < 0 ||
	    get(d, "/tasks?filters=%7B%22desired-state%22%3A%5B%22running%22%5D%7D", 0, &tasks) <
		    0 ||
	    service_names(d, &svcs) < 0)
		goto out;
	if (!(list = json_array()) || !(res = json_pack("{s:s, s:s, s:O}", "manager", st.addr,
							"registry", st.registry, "nodes", list))) {
		err_set("out of memory");
		goto out;
	}
	json_array_foreach(nodes, i, n) {
		const json_t *spec = json_object_get(n, "Spec");
		const json_t *status = json_object_get(n, "Status");
		const json_t *mgr = json_object_get(n, "ManagerStatus");
		const char *id = json_str(n, "ID", "");
		const char *addr = json_str(status, "Addr", "");
		json_t *nt = json_array(), *o;

		/* A manager's Status.Addr may be 0.0.0.0: its advertised address is the one. */
		if (mgr && (!*addr || !strcmp(addr, "0.0.0.0"))) {
			const char *a = json_str(mgr, "Addr", "");
			const char *c = strrchr(a, ':');

			addr = a;
			if (c) {
				static char host[64];

				snprintf(host, sizeof(host), "%.*s", (int)(c - a), a);
				addr = host;
			}
		}
		json_array_foreach(tasks, j, t) {
			const json_t *svc = json_object_get(svcs, json_str(t, "ServiceID", ""));

			if (strcmp(json_str(t, "NodeID", ""), id))
				continue;
			json_array_append_new(
				nt, json_pack("{s:s, s:s, s:I, s:s}", "service",
					      json_str(svc, "name", ""), "app",
					      json_str(svc, "app", ""), "slot",
					      (json_int_t)json_int(t, "Slot", 0), "state",
					      json_str(json_object_get(t, "Status"), "State", "")));
		}
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "id", id, "hostname",
			      json_str(json_object_get(n, "Description"), "Hostname", ""), "role",
			      json_str(spec, "Role", ""), "state", json_str(status, "State", ""),
			      "availability", json_str(spec, "Availability", ""), "address", addr,
			      "leader", json_is_true(json_object_get(mgr, "Leader")), "tasks", nt);
		if (!o || json_array_append_new(list, o) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	*out = res;
	res = NULL;
	ret = 0;
out:
	json_decref(nodes);
	json_decref(tasks);
	json_decref(svcs);
	json_decref(list);
	json_decref(res);
	cluster_state_release(&st);
	return ret;
}
