/* stack.c - the stack:* commands: make, name and show the image buildpack apps are
 * built on and run from. */
#include "cli.h"
#include "build/build.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Prints the stack image's size, or that it is missing. */
static int report_stack(void)
{
	struct docker *d = NULL;
	json_t *info = NULL;
	const char *image = build_stack_image();
	int exists = 0, ret = -1;

	if (docker_new(&d, NULL) < 0 || docker_image_exists(d, image, &exists) < 0)
		goto out;
	if (!exists) {
		say_detail("stack image: %s (not built: wharf stack:build)", image);
		ret = 0;
		goto out;
	}
	if (docker_image_inspect(d, image, &info) < 0)
		goto out;
	say_detail("stack image: %s", image);
	say_detail("id: %.19s", json_str(info, "Id", "?"));
	say_detail("size: %.0f MB", (double)json_int(info, "Size", 0) / (1024.0 * 1024.0));
	ret = 0;
out:
	json_decref(info);
	docker_free(d);
	return ret;
}

/* stack:build [--rebuild]: runs scripts/stack-image.sh against wharf's Docker. */
int cmd_stack_build(int argc, char **argv)
{
	struct buf script = BUF_INIT, image = BUF_INIT;
	struct proc_opts po = PROC_OPTS_INIT;
	const char *args[6];
	int i, n = 0, rebuild = 0, status, ret = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rebuild"))
			rebuild = 1;
		else
			return cli_usage(argv[0]);
	}
	if (build_stack_script(&script) < 0)
		goto out;
	args[n++] = script.buf;
	args[n++] = "--docker-host";
	args[n++] = wharf_docker_host();
	if (rebuild)
		args[n++] = "--rebuild";
	args[n] = NULL;
	/* The stack image is only ever wharf's default when none was set. */
	if (buf_addf(&image, "WHARF_STACK_IMAGE=%s", build_stack_image()) < 0)
		goto out;
	po.argv = args;
	po.env_set = (const char *[]){ image.buf, NULL };
	if ((status = proc_run(&po)) < 0)
		goto out;
	if (status != 0) {
		err_set("building the stack image failed (see above)");
		goto out;
	}
	ret = report_stack();
out:
	buf_release(&script);
	buf_release(&image);
	return ret;
}

/* stack:set IMAGE | --unset: builds and runs buildpack apps on another image (one
 * pulled where a registry is reachable, say). */
int cmd_stack_set(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(argv[0]);
	if (build_stack_set(strcmp(argv[1], "--unset") ? argv[1] : NULL) < 0)
		return -1;
	say_step("Stack image set to %s", build_stack_image());
	return 0;
}

int cmd_stack_report(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage(argv[0]);
	say_section("Stack");
	return report_stack();
}
