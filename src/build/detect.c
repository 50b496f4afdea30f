/* src/build/detect.c - decides which builder turns a pushed tree into an image. */
#include "build/internal.h"

#include <sys/stat.h>

const char *const build_builders[] = { "dockerfile", "buildpacks", NULL };

/* What each builder needs in the tree, in build_builders' order, for the message
 * that tells a user why nothing matched. */
static const char *const builder_needs[] = {
	"add a Dockerfile at the repo root",
	"add package.json, requirements.txt, index.html or a Procfile, or name a buildpack "
	"with buildpacks:add",
	NULL
};

/* Files one of the bundled buildpacks' bin/detect looks for (buildpacks/NAME/bin/detect), and
 * .buildpacks, which names buildpacks itself. Kept in step with those scripts so
 * that a tree nothing can build fails here, before a builder container starts. */
static const char *const buildpack_markers[] = {
	"package.json", "requirements.txt",  "setup.py", "pyproject.toml", "Pipfile", "runtime.txt",
	"index.html",   "public/index.html", "Procfile", ".buildpacks",    NULL
};

/* 1 when dir/rel is a regular file (lstat: a symlink could point outside the tree). */
static int has_file(const char *dir, const char *rel)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int ok = buf_addf(&path, "%s/%s", dir, rel) == 0 && lstat(path.buf, &st) == 0 &&
		 S_ISREG(st.st_mode);

	buf_release(&path);
	return ok;
}

int build_detect(const char *dir, const char **builder)
{
	struct buf msg = BUF_INIT;
	size_t i;
	int ret = -1;

	*builder = NULL;
	if (has_file(dir, "Dockerfile")) {
		*builder = "dockerfile";
		return 0;
	}
	for (i = 0; buildpack_markers[i]; i++)
		if (has_file(dir, buildpack_markers[i])) {
			*builder = "buildpacks";
			return 0;
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
	return ret;
}
