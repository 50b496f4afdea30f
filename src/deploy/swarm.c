/* src/deploy/swarm.c - what a deploy of a swarm app adds (docs/cluster.md): the
 * scheduler chosen per app, the release's image pushed to the cluster's registry and
 * handed to the scheduler by its digest with the credentials workers pull it with, the
 * app's web port bases, and the registry's copy forgotten when the app goes. */
#include "internal.h"
#include "cluster/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Swarm web tasks listen on P*10+slot with P in this range (docker-local's ports are
 * 20000-29999). */
#define PORT_BASE_MIN 1100
#define PORT_BASE_MAX 1999

int deploy_app_scheduler(const char *app, const char **name)
{
	json_t *doc = NULL, *global = NULL;
	int ret = -1;

	*name = "docker-local";
	/* An app no longer there (apps:rename moved it) has only the global choice. */
	if ((app && app_exists(app) && app_load(app, &doc) < 0) || app_global_load(&global) < 0)
		goto out;
	*name = strcmp(app_scheduler(doc, global), "swarm") ? "docker-local" : "swarm";
	ret = 0;
out:
	json_decref(doc);
	json_decref(global);
	return ret;
}

static int node_open(void *data, const char *node_id, struct docker **out)
{
	(void)data;
	return cluster_node_docker(node_id, out);
}

int deploy_scheduler(const char *app, struct scheduler *shared, struct scheduler **owned,
		     struct scheduler **out)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	const char *name;
	int ret = -1;

	*owned = NULL;
	*out = NULL;
	if (deploy_app_scheduler(app, &name) < 0)
		return -1;
	/* The caller's scheduler is the one of an app no longer there (apps:rename). */
	if (shared && (!strcmp(shared->ops->name, name) || (app && !app_exists(app)))) {
		*out = shared;
		return 0;
	}
	/* docker-local keeps $WHARF_SCHEDULER's say (NULL), as it always had. */
	if (strcmp(name, "swarm"))
		return scheduler_new(owned, NULL) < 0 ? -1 : (*out = *owned, 0);
	if (cluster_load(&st) < 0)
		goto out;
	if (!st.addr) {
		err_set("%s runs on the swarm (scheduler:set), but this host is no cluster "
			"manager: "
			"cluster:init first, or `wharf scheduler:set %s selected docker-local`",
			app ? app : "every app", app ? app : "<app>");
		goto out;
	}
	if (scheduler_new(owned, "swarm") < 0)
		goto out;
	/* enter, ps:stats, ps:top reach a task on another node through that node's dockerd. */
	if (scheduler_swarm_node_open(*owned, node_open, NULL) < 0)
		goto out;
	*out = *owned;
	ret = 0;
out:
	if (ret < 0) {
		scheduler_free(*owned);
		*owned = NULL;
	}
	cluster_state_release(&st);
	return ret;
}

int deploy__is_swarm(struct scheduler *s)
{
	return s && !strcmp(s->ops->name, "swarm");
}

/* 1 when no port of base P (P*10+1 .. P*10+9) is taken on this host, the manager, which
 * runs tasks too: something else listening there (another program, or the swarm tasks of
 * another wharf on this machine) would make the tasks that get it fail to bind. The other
 * nodes cannot be looked at from here. */
static int base_free_here(int p)
{
	int slot;

	for (slot = 1; slot <= SCHED_SWARM_REPLICAS_MAX; slot++)
		if (!runtime_port_bindable(p * 10 + slot))
			return 0;
	return 1;
}

/* The port bases of app (stored in appobj, which the caller saves): kept when it has
 * two, else the two lowest no other app holds, under a lock of all wharf's. */
static int port_bases(const char *app, json_t *appobj, int bases[2])
{
	struct lock l = LOCK_INIT;
	struct buf path = BUF_INIT;
	json_t *mine = app_get(appobj, APP_SWARM_PORTS), *apps = NULL, *used = json_object(), *v;
	char key[16];
	size_t i, n = 0;
	int p, ret = -1;

	if (json_array_size(mine) == 2) {
		bases[0] = (int)json_integer_value(json_array_get(mine, 0));
		bases[1] = (int)json_integer_value(json_array_get(mine, 1));
		if (bases[0] >= PORT_BASE_MIN && bases[1] >= PORT_BASE_MIN &&
		    bases[0] != bases[1]) {
			ret = 0;
			goto out;
		}
	}
	if (!used || buf_addf(&path, "%s/swarm-ports.lock", wharf_root()) < 0 ||
	    lock_take(&l, path.buf, NULL) < 0 || app_list(&apps) < 0)
		goto out;
	json_array_foreach(apps, i, v) {
		json_t *doc = NULL, *pv;
		size_t j;
		if (!strcmp(json_string_value(v), app) ||
		    app_load(json_string_value(v), &doc) < 0) {
			err_clear(); /* handled: an app that cannot be read holds no port here */
			continue;
		}
		json_array_foreach(app_get(doc, APP_SWARM_PORTS), j, pv) {
			snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(pv));
			json_object_set_new(used, key, json_true());
		}
		json_decref(doc);
	}
	for (p = PORT_BASE_MIN; p <= PORT_BASE_MAX && n < 2; p++) {
		snprintf(key, sizeof(key), "%d", p);
		if (!json_object_get(used, key) && base_free_here(p))
			bases[n++] = p;
	}
	if (n < 2) {
		err_set("no free swarm port base in %d-%d: every one is an app's", PORT_BASE_MIN,
			PORT_BASE_MAX);
		goto out;
	}
	/* Saved while the lock is held, so the next app sees them. */
	if (app_set(appobj, APP_SWARM_PORTS, json_pack("[i,i]", bases[0], bases[1])) < 0 ||
	    app_save(app, appobj) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(apps);
	json_decref(used);
	buf_release(&path);
	return ret;
}

int deploy__swarm_prepare(struct scheduler *s, const char *app, json_t *appobj, long version,
			  struct deploy__swarm *sw, struct deploy_req *req)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf repo = BUF_INIT, tag = BUF_INIT, local = BUF_INIT;
	const char *image = req->image;
	int ret = -1;

	if (port_bases(app, appobj, req->port_bases) < 0)
		goto out;
	/* The release's image under wharf's name for release N (a build has it already;
	 * a rollback's older image gets it), pushed; the services are pinned to the
	 * digest the registry stored. */
	if (buf_addf(&repo, "wharf/%s", app) < 0 || buf_addf(&tag, "%ld", version) < 0 ||
	    buf_addf(&local, "%s:%s", repo.buf, tag.buf) < 0 ||
	    scheduler_image_tag(s, image, repo.buf, tag.buf) < 0)
		goto out;
	say_step("Pushing the image to the cluster's registry");
	if (cluster_push_image(scheduler_builder(s), app, local.buf, &sw->pinned) < 0 ||
	    cluster_load(&st) < 0 || cluster_registry_auth(&st, &sw->auth) < 0)
		goto out;
	say_detail("%s", sw->pinned.buf);
	req->local_image = image;
	req->image = sw->pinned.buf;
	req->registry_auth = sw->auth.buf;
	ret = 0;
out:
	cluster_state_release(&st);
	buf_release(&repo);
	buf_release(&tag);
	buf_release(&local);
	return ret;
}

void deploy__swarm_release(struct deploy__swarm *sw)
{
	buf_release(&sw->pinned);
	buf_release(&sw->auth);
}

void deploy__swarm_forget(struct scheduler *s, const char *app)
{
	int n;

	if (!deploy__is_swarm(s))
		return;
	if ((n = cluster_registry_forget(app)) < 0)
		say_warn("the registry keeps wharf/%s: %s", app, err_msg());
	else if (n)
		say_detail("removed %d image%s of wharf/%s from the cluster's registry", n,
			   n == 1 ? "" : "s", app);
}

void deploy__swarm_left(struct scheduler *s, const char *app)
{
	struct cluster_state st = CLUSTER_STATE_INIT;

	/* Only a cluster manager can have had the app on the swarm. */
	if (!deploy__is_swarm(s) && cluster_load(&st) > 0 &&
	    runtime_swarm_forget_app(scheduler_builder(s), app) < 0)
		say_warn("%s's swarm services are left: %s", app, err_msg());
	err_clear(); /* handled: reported */
	cluster_state_release(&st);
}

int deploy__swarm_sockets_near(const char *host)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	const char *id;
	json_t *rec;
	int ret;

	/* No cluster: 0. One that cannot be read: refused, it might name a socket. */
	if ((ret = cluster_load(&st)) <= 0)
		goto out;
	ret = 0;
	json_object_foreach(st.nodes, id, rec) {
		const char *dh = json_str(rec, "docker_host", "");
		if (!strncmp(dh, "unix:///", 8) &&
		    deploy_storage_host_near(host, dh + 7, "a cluster node's Docker socket") < 0) {
			ret = -1;
			break;
		}
	}
out:
	cluster_state_release(&st);
	return ret;
}
