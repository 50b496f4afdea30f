/* src/build/detect.c - decides which builder turns a pushed tree into an image. */
#include "build/internal.h"

#include <sys/stat.h>

const char *const build_builders[] = { "dockerfile", NULL };

/* What each builder needs in the tree, in build_builders' order, for the message
 * that tells a user why nothing matched. */
static const char *const builder_needs[] = { "add a Dockerfile at the repo root", NULL };

int build_detect(const char *dir, const char **builder)
{
	struct buf path = BUF_INIT, msg = BUF_INIT;
	struct stat st;
	size_t i;
	int ret = -1;

	*builder = NULL;
	if (buf_addf(&path, "%s/Dockerfile", dir) < 0)
		goto out;
	/* lstat: a symlinked Dockerfile could point outside the pushed tree. */
	if (lstat(path.buf, &st) == 0 && S_ISREG(st.st_mode)) {
		*builder = "dockerfile";
		ret = 0;
		goto out;
	}
	if (buf_addstr(&msg, "no Dockerfile found in the pushed tree; wharf can build:") < 0)
		goto out;
	for (i = 0; build_builders[i]; i++)
		if (buf_addf(&msg, "%s %s (%s)", i ? "," : "", build_builders[i],
			     builder_needs[i]) < 0)
			goto out;
	err_set("%s", msg.buf);
out:
	buf_release(&msg);
	buf_release(&path);
	return ret;
}
