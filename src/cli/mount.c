/* mount.c - the syntax of a bind mount, HOSTDIR:CONTAINERDIR[:ro], and which host
 * dirs one may bind (pure, unit-tested; storage.c checks the host dir exists,
 * resolves it and keeps the lists). */
#include "cli.h"

#include <string.h>

#define MOUNT_PATH_MAX 1024

/* One side of a mount: absolute, printable, no ',' or ':' (Docker's bind syntax
 * would split on them), no "." or ".." component, no trailing '/'. */
static int valid_mount_path(const char *p, size_t n, const char *what, const char *spec)
{
	size_t i;

	if (!n || p[0] != '/')
		return err_set("%s in '%s' must be an absolute path", what, spec);
	if (n > MOUNT_PATH_MAX)
		return err_set("%s in '%s' is longer than %d bytes", what, spec, MOUNT_PATH_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || c == ',' || c == '\\')
			return err_set("%s in '%s' contains a character a mount cannot carry", what,
				       spec);
	}
	for (i = 0; i < n; i++) {
		if (p[i] != '/')
			continue;
		/* Each component after a '/': ".", ".." and "" (a "//" or a trailing '/'). */
		if ((i + 1 == n && n > 1) || (i + 1 < n && p[i + 1] == '/') ||
		    (i + 1 < n && p[i + 1] == '.' && (i + 2 == n || p[i + 2] == '/')) ||
		    (i + 2 < n && p[i + 1] == '.' && p[i + 2] == '.' && (i + 3 == n || p[i + 3] == '/')))
			return err_set("%s in '%s' must be a plain absolute path (no '.', '..', '//' "
				       "or trailing '/')", what, spec);
	}
	return 0;
}

int cli_mount_parse(const char *spec, struct buf *host, struct buf *container, int *ro)
{
	const char *c1, *c2;
	size_t hn, cn;

	*ro = 0;
	if (!spec || !*spec)
		return err_set("empty mount: use HOSTDIR:CONTAINERDIR[:ro]");
	if (strchr(spec, '\n') || strchr(spec, '\r'))
		return err_set("a mount cannot contain a line break");
	c1 = strchr(spec, ':');
	if (!c1)
		return err_set("'%s' is not HOSTDIR:CONTAINERDIR[:ro]", spec);
	c2 = strchr(c1 + 1, ':');
	hn = (size_t)(c1 - spec);
	cn = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (c2 && strcmp(c2 + 1, "ro"))
		return err_set("'%s' is not HOSTDIR:CONTAINERDIR[:ro] (the only option is ro)", spec);
	if (valid_mount_path(spec, hn, "the host dir", spec) < 0 ||
	    valid_mount_path(c1 + 1, cn, "the container dir", spec) < 0)
		return -1;
	if (cn == 1)
		return err_set("cannot mount over the container's /");
	*ro = c2 != NULL;
	if (buf_add(host, spec, hn) < 0 || buf_add(container, c1 + 1, cn) < 0)
		return -1;
	return 0;
}

/* ---- which host dirs may be mounted ---------------------------------------------- */

/* The host's own directories: a container writing (or reading) them owns the host.
 * "/" is refused as the parent of all of them. */
static const char *const never_mount[] = {
	"/etc", "/proc", "/sys", "/dev", "/run", "/var/run", "/var/lib/docker",
	"/var/lib/containerd", "/boot", "/root", "/usr", "/bin", "/sbin", "/lib", "/lib32",
	"/lib64", "/libx32", NULL
};

/* p is dir or below it (whole components). */
static int path_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return 1;
	return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

/* Refuses host when it is forbidden, or a parent of it (mounting /var would
 * mount /var/run too). */
int cli_storage_host_near(const char *host, const char *forbidden, const char *what)
{
	if (path_under(host, forbidden) || path_under(forbidden, host))
		return err_set("refused: %s would expose %s%s; wharf never mounts it, even when a "
			       "parent dir is allowed", host, what ? what : forbidden,
			       what ? "" : " of the host");
	return 0;
}

int cli_storage_host_ok(const char *host, const json_t *allow, const char *root)
{
	json_t *v;
	size_t i;

	if (!host || host[0] != '/')
		return err_set("refused: '%s' is not an absolute path", host ? host : "");
	if (!strcmp(host, "/"))
		return err_set("refused: / is the whole host; wharf never mounts it");
	for (i = 0; never_mount[i]; i++)
		if (cli_storage_host_near(host, never_mount[i], NULL) < 0)
			return -1;
	if (root && *root && cli_storage_host_near(host, root, "wharf's own state (WHARF_ROOT)") < 0)
		return -1;
	json_array_foreach(allow, i, v)
		if (json_is_string(v) && path_under(host, json_string_value(v)))
			return 0;
	return err_set("refused: %s is not under a host dir root allowed for mounts "
		       "(`wharf storage:allow DIR`, as root on the host)", host);
}
