/* paths.c - where wharf keeps things: every path derives from WHARF_ROOT. */
#include "common.h"

#include <stdlib.h>

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return (v && *v) ? v : def;
}

const char *wharf_root(void)
{
	return env_or("WHARF_ROOT", "/var/lib/wharf");
}

const char *wharf_docker_host(void)
{
	return env_or("DOCKER_HOST", "unix:///var/run/docker.sock");
}

const char *wharf_router_socket(void)
{
	return env_or("WHARF_ROUTER_SOCKET", "/run/wharf/router.sock");
}

int wharf_app_path(struct buf *out, const char *app, const char *leaf)
{
	if (leaf)
		return buf_addf(out, "%s/apps/%s/%s", wharf_root(), app, leaf);
	return buf_addf(out, "%s/apps/%s", wharf_root(), app);
}
