/* src/docker/networks.c - bridge networks: made unless they exist (one per app, by the
 * runtime), removed; the gateway is the host's address on a network. */
#include "docker/internal.h"

static int network_gateway(struct docker *d, const char *name, struct buf *gateway, long *status)
{
	struct buf p = BUF_INIT;
	json_t *info = NULL, *cfg;
	int ret = -1;

	if (buf_addstr(&p, "/networks/") < 0 || docker_urlencode(&p, name) < 0)
		goto out;
	if (docker_call(d, "GET", p.buf, NULL, &info, status) < 0)
		goto out;
	cfg = json_array_get(json_object_get(json_object_get(info, "IPAM"), "Config"), 0);
	if (gateway && buf_addstr(gateway, json_str(cfg, "Gateway", "")) < 0)
		goto out;
	ret = 0;
out:
	json_decref(info);
	buf_release(&p);
	return ret;
}

int docker_network_ensure(struct docker *d, const char *name, const json_t *labels, int internal,
			  const char *bridge, struct buf *gateway)
{
	json_t *body = NULL, *reply = NULL;
	long status = 0;
	int ret = -1;

	if (gateway)
		buf_reset(gateway);
	if (network_gateway(d, name, gateway, &status) == 0)
		return 0;
	if (status != 404)
		return -1;
	body = json_pack("{s:s, s:s, s:b, s:b, s:o, s:{}}", "Name", name, "Driver", "bridge",
			 "Internal", internal, "CheckDuplicate", 1, "Labels",
			 labels ? json_deep_copy(labels) : json_object(), "Options");
	if (!body || (bridge && json_object_set_new(json_object_get(body, "Options"),
						    "com.docker.network.bridge.name",
						    json_string(bridge)) < 0)) {
		err_set("out of memory");
		goto out;
	}
	/* 409: made meanwhile (a deploy and a `run` of the app at once). */
	if (docker_call(d, "POST", "/networks/create", body, &reply, &status) < 0 && status != 409)
		goto out;
	ret = network_gateway(d, name, gateway, NULL);
out:
	json_decref(body);
	json_decref(reply);
	return ret;
}

int docker_network_remove(struct docker *d, const char *name)
{
	struct buf p = BUF_INIT;
	long status = 0;
	int ret = -1;

	if (buf_addstr(&p, "/networks/") < 0 || docker_urlencode(&p, name) < 0)
		goto out;
	ret = docker_call(d, "DELETE", p.buf, NULL, NULL, &status) < 0 && status != 404 ? -1 : 0;
out:
	buf_release(&p);
	return ret;
}
