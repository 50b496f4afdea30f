/* network.c - one Docker network per app (docs/security.md, "Containers, builds and
 * networks"): an app's containers share a bridge with nothing but the host, which
 * reaches them at their addresses on it; nothing else of the app's is reachable. */
#include "runtime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int runtime_app_network_name(struct buf *out, const char *app)
{
	if (!app || !*app)
		return err_set("no app for a network");
	return buf_addf(out, "wharf-%s", app);
}

/* "wh" + 13 hex digits of a hash of WHARF_ROOT and the app: the host side of the
 * bridge gets a name firewall rules can match ("wh*"), within Linux's 15 bytes. */
static void bridge_name(char out[16], const char *app)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *parts[] = { wharf_root(), "/", app, NULL };
	size_t i;
	const char *p;

	for (i = 0; parts[i]; i++)
		for (p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, 16, "wh%013llx", (unsigned long long)(h & 0xfffffffffffffULL));
}

int runtime_app_network(struct docker *d, const char *app, struct buf *name, struct buf *gateway)
{
	struct buf n = BUF_INIT;
	const char *egress = getenv("WHARF_APP_EGRESS");
	json_t *labels = NULL;
	char bridge[16];
	int ret = -1;

	if (runtime_app_network_name(&n, app) < 0)
		goto out;
	labels = json_pack("{s:s,s:s,s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT,
			   wharf_root(), DOCKER_LABEL_APP, app);
	if (!labels) {
		err_set("out of memory");
		goto out;
	}
	bridge_name(bridge, app);
	/* Internal unless the operator gives apps egress: such a network has no
	 * gateway route and Docker's isolation rules keep it off other networks. */
	if (docker_network_ensure(d, n.buf, labels, !(egress && !strcmp(egress, "1")), bridge,
				  gateway) < 0)
		goto out;
	if (name && buf_addstr(name, n.buf) < 0)
		goto out;
	ret = 0;
out:
	json_decref(labels);
	buf_release(&n);
	return ret;
}

void runtime_app_network_remove(struct docker *d, const char *app)
{
	struct buf n = BUF_INIT;

	if (runtime_app_network_name(&n, app) == 0 && docker_network_remove(d, n.buf) < 0)
		say_warn("could not remove the network %s: %s", n.buf, err_msg());
	buf_release(&n);
}

int runtime_container_addr(struct buf *out, const json_t *c, const char *app)
{
	struct buf n = BUF_INIT;
	const char *ip;
	int ret = -1;

	if (runtime_app_network_name(&n, app) < 0)
		goto out;
	ip = json_str(
		json_object_get(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"),
				n.buf),
		"IPAddress", "");
	if (!*ip) {
		err_set("the container %.12s has no address on the network %s",
			json_str(c, "Id", ""), n.buf);
		goto out;
	}
	ret = buf_addstr(out, ip);
out:
	buf_release(&n);
	return ret;
}
