/* build.c - the build step of a deploy: export the pushed tree, detect the
 * builder, build the release image. */
#include "cli.h"
#include "build/build.h"
#include "receiver/receiver.h"

#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_build_release(struct cli_build *b)
{
	buf_release(&b->image);
	json_decref(b->processes);
	b->processes = NULL;
}

int cli_build_tree(struct docker *d, const char *app, const char *rev, const char *dir,
		   long version, struct cli_build *out)
{
	struct buf repo = BUF_INIT, tag = BUF_INIT;
	json_t *labels = NULL;
	const char *builder;
	double t0 = now_s();
	int ret = -1;

	if (wharf_app_path(&repo, app, "repo.git") < 0 ||
	    receiver_export_tree(repo.buf, rev, dir) < 0)
		goto out;
	if (build_detect(dir, &builder) < 0)
		goto out;
	say_step("%s app detected", builder);
	if (build_check_base_images(d, dir) < 0)
		goto out;
	if (buf_addf(&tag, "wharf/%s:%ld", app, version) < 0)
		goto out;
	labels = json_pack("{s:s,s:s,s:s}", "wharf.managed", "1", "wharf.app", app,
			   "wharf.root", wharf_root());
	say_step("Building image %s", tag.buf);
	if (build_dockerfile(d, dir, tag.buf, labels, &out->image) < 0)
		goto out;
	say_detail("built %.12s in %.1fs",
		   out->image.buf + (strncmp(out->image.buf, "sha256:", 7) ? 0 : 7), now_s() - t0);
	ret = 0;
out:
	json_decref(labels);
	buf_release(&repo);
	buf_release(&tag);
	return ret;
}
