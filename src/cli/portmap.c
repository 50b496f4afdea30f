/* portmap.c - the pure parsers of the ports and checks families (unit-tested
 * alone): `scheme:host-port:container-port` maps and process type lists. */
#include "cli.h"

#include <string.h>

#define ALL "_all_"

/* A decimal port in [lo, 65535] without sign, spaces or leading zeros. */
int cli_port_parse(const char *s, size_t n, int lo, int *out)
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

int cli_port_map_parse(struct cli_port_map *out, const char *s)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t slen = c1 ? (size_t)(c1 - s) : 0;

	memset(out, 0, sizeof(*out));
	if (!c1 || !c2 || strchr(c2 + 1, ':') || strlen(s) > 32)
		return err_set("invalid port mapping '%.40s': use SCHEME:HOST-PORT:CONTAINER-PORT "
			       "(http:80:5000)", s);
	if (slen == 4 && !strncmp(s, "http", 4))
		out->scheme = "http";
	else if (slen == 5 && !strncmp(s, "https", 5))
		out->scheme = "https";
	else
		return err_set("invalid port mapping '%s': the scheme must be http or https", s);
	if (cli_port_parse(c1 + 1, (size_t)(c2 - c1 - 1), 1, &out->host) < 0 ||
	    cli_port_parse(c2 + 1, strlen(c2 + 1), 1, &out->container) < 0)
		return err_set("invalid port mapping '%s': ports are numbers from 1 to 65535", s);
	/* The router owns the host side: apps share its listeners and are told apart
	 * by domain, so a host port is only meaningful if the router listens there. */
	if (out->host != (!strcmp(out->scheme, "http") ? 80 : 443))
		return err_set("invalid port mapping '%s': the router serves %s on host port %d "
			       "only (wharf opens no other host port; apps are told apart by "
			       "domain)", s, out->scheme, !strcmp(out->scheme, "http") ? 80 : 443);
	/* Containers share the host's network: below 1024 lie the host's own services
	 * (and the router's 80 and 443). */
	if (out->container < 1024)
		return err_set("invalid port mapping '%s': the container port must be 1024-65535 "
			       "(containers use the host's network)", s);
	return 0;
}

int cli_port_map_format(struct buf *out, const struct cli_port_map *m)
{
	return buf_addf(out, "%s:%d:%d", m->scheme, m->host, m->container);
}

int cli_ports_web_port(const json_t *appobj)
{
	json_t *maps = json_object_get(appobj, "ports"), *v;
	struct cli_port_map m;
	size_t i;
	int port = 0;

	json_array_foreach(maps, i, v) {
		if (!json_is_string(v) || cli_port_map_parse(&m, json_string_value(v)) < 0) {
			err_clear();    /* handled: a stored map wharf cannot read gives no port */
			continue;
		}
		if (!port || !strcmp(m.scheme, "http"))
			port = m.container;
		if (!strcmp(m.scheme, "http"))
			break;
	}
	return port;
}

/* A comma-separated list of process types (Procfile names, ^[A-Za-z0-9_-]+$, at
 * most 63 bytes each) or "_all_". *out is a new array without duplicates. */
int cli_checks_parse_types(json_t **out, const char *list)
{
	const char *p = list;
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

	*out = json_array();
	if (!*out)
		return err_set("out of memory");
	for (;;) {
		size_t n = strcspn(p, ",");
		char type[64];
		size_t i;
		int dup = 0;

		if (!n || n > 63 || strspn(p, ok) < n) {
			json_decref(*out);
			*out = NULL;
			return err_set("invalid process type list '%s': use TYPE[,TYPE...] with "
				       "letters, digits, '-' and '_'", list);
		}
		memcpy(type, p, n);
		type[n] = '\0';
		for (i = 0; i < json_array_size(*out); i++)
			dup |= !strcmp(json_string_value(json_array_get(*out, i)), type);
		if (!dup)
			json_array_append_new(*out, json_string(type));
		if (!p[n])
			break;
		p += n + 1;
	}
	/* "_all_" with other types means all of them. */
	if (runtime_type_listed(*out, ALL) && json_array_size(*out) > 1) {
		json_array_clear(*out);
		json_array_append_new(*out, json_string(ALL));
	}
	return 0;
}
