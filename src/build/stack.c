/* src/build/stack.c - which image buildpack apps are built on and run from, and
 * where the script that makes it lives. */
#include "build/internal.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where `make install` puts the scripts the CLI runs. */
#define STACK_SCRIPT_INSTALLED "/usr/local/share/wharf/scripts/stack-image.sh"

const char *build_stack_image(void)
{
	static char image[256];
	const char *env = getenv("WHARF_STACK_IMAGE");
	json_t *global = NULL;
	const char *s;

	if (env && *env && strlen(env) < sizeof(image))
		return env;
	snprintf(image, sizeof(image), "%s", BUILD_STACK_DEFAULT);
	if (state_global_load(&global) == 0 && (s = json_str(global, "stack", NULL)) && *s &&
	    strlen(s) < sizeof(image))
		snprintf(image, sizeof(image), "%s", s);
	err_clear();    /* handled: no or unreadable global.json means the default image */
	json_decref(global);
	return image;
}

int build_stack_set(const char *image)
{
	json_t *global = NULL;
	size_t i;
	int ret = -1;

	if (image) {
		if (!*image || strlen(image) > 255)
			return err_set("bad image name '%s'", image);
		for (i = 0; image[i]; i++)
			if ((unsigned char)image[i] <= 0x20 || image[i] == 0x7f)
				return err_set("bad image name '%s'", image);
	}
	if (state_global_load(&global) < 0)
		goto out;
	if (image ? json_object_set_new(global, "stack", json_string(image)) < 0
		  : json_object_del(global, "stack") < -1)
		goto out;
	ret = state_global_save(global);
out:
	json_decref(global);
	return ret;
}

int build_stack_script(struct buf *out)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	/* A checkout's scripts/, or PREFIX/share/wharf/scripts beside PREFIX/bin. */
	if (n > 0) {
		static const char *const rel[] = { "../scripts", "../share/wharf/scripts" };
		const char *dir;
		size_t i;
		exe[n] = '\0';
		dir = dirname(exe);
		for (i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
			struct buf p = BUF_INIT;
			if (buf_addf(&p, "%s/%s/stack-image.sh", dir, rel[i]) == 0 &&
			    access(p.buf, X_OK) == 0) {
				char *real = realpath(p.buf, NULL);
				int r = buf_addstr(out, real ? real : p.buf);
				free(real);
				buf_release(&p);
				return r;
			}
			buf_release(&p);
		}
	}
	if (access(STACK_SCRIPT_INSTALLED, X_OK) == 0)
		return buf_addstr(out, STACK_SCRIPT_INSTALLED);
	return err_set("cannot find stack-image.sh (looked beside the wharf binary and at %s)",
		       STACK_SCRIPT_INSTALLED);
}
