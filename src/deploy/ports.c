/* ports.c - the app's port maps (`scheme:host-port:container-port`, ports:set)
 * and the fixed web port a deploy gives its web container; pure, unit-tested. */
#include "internal.h"

#include <string.h>

/* A decimal port in [lo, 65535] without sign, spaces or leading zeros. */
int deploy_port_parse(const char *s, size_t n, int lo, int *out)
{
	long v = 0;
	size_t i;

	if (!n || n > 5 || (s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

int deploy_port_map_parse(struct deploy_port_map *out, const char *s)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t slen = c1 ? (size_t)(c1 - s) : 0;

	memset(out, 0, sizeof(*out));
	if (!c1 || !c2 || strchr(c2 + 1, ':') || strlen(s) > 32)
		return err_set("invalid port mapping '%.40s': use SCHEME:HOST-PORT:CONTAINER-PORT "
			       "(http:80:5000)",
			       s);
	if (slen == 4 && !strncmp(s, "http", 4))
		out->scheme = "http";
	else if (slen == 5 && !strncmp(s, "https", 5))
		out->scheme = "https";
	else
		return err_set("invalid port mapping '%s': the scheme must be http or https", s);
	if (deploy_port_parse(c1 + 1, (size_t)(c2 - c1 - 1), 1, &out->host) < 0 ||
	    deploy_port_parse(c2 + 1, strlen(c2 + 1), 1, &out->container) < 0)
		return err_set("invalid port mapping '%s': ports are numbers from 1 to 65535", s);
	/* The router owns the host side: apps share its listeners and are told apart
	 * by domain, so a host port is only meaningful if the router listens there. */
	if (out->host != (!strcmp(out->scheme, "http") ? 80 : 443))
		return err_set("invalid port mapping '%s': the router serves %s on host port %d "
			       "only (wharf opens no other host port; apps are told apart by "
			       "domain)",
			       s, out->scheme, !strcmp(out->scheme, "http") ? 80 : 443);
	/* Containers share the host's network: below 1024 lie the host's own services
	 * (and the router's 80 and 443). */
	if (out->container < 1024)
		return err_set("invalid port mapping '%s': the container port must be 1024-65535 "
			       "(containers use the host's network)",
			       s);
	return 0;
}

int deploy_port_map_format(struct buf *out, const struct deploy_port_map *m)
{
	return buf_addf(out, "%s:%d:%d", m->scheme, m->host, m->container);
}

int deploy_web_port(const json_t *appobj)
{
	json_t *maps = app_get(appobj, APP_PORTS), *v;
	struct deploy_port_map m;
	size_t i;
	int port = 0;

	json_array_foreach(maps, i, v) {
		if (!json_is_string(v) || deploy_port_map_parse(&m, json_string_value(v)) < 0) {
			err_clear();
			continue;
		}
		if (!port || !strcmp(m.scheme, "http"))
			port = m.container;
		if (!strcmp(m.scheme, "http"))
			break;
	}
	return port;
}
