/* src/build/build.h - public interface of the builders: detect how a pushed tree is
 * built and build it into an image. */
#ifndef WHARF_BUILD_H
#define WHARF_BUILD_H

#include "common.h"
#include "runtime/runtime.h"

/* The builders wharf knows, for messages ("dockerfile"). */
extern const char *const build_builders[];

/* Decides how dir is built. Sets *builder to a static name ("dockerfile") or
 * fails with a message naming the builders that exist and what each needs. */
int build_detect(const char *dir, const char **builder);

/* Reads dir/Dockerfile and checks that every FROM image exists locally, because a
 * missing one would make dockerd try to pull it. Fails naming the missing image. */
int build_check_base_images(struct docker *d, const char *dir);

/* Builds dir (which holds a Dockerfile) into an image tagged `tag`, with labels
 * (object of strings, borrowed). The tar context is made with libarchive. Build
 * output is streamed line by line with say_detail() as it arrives. A failing
 * build returns -1 with the builder's message in err_msg(). image_id receives the
 * new image's id. */
int build_dockerfile(struct docker *d, const char *dir, const char *tag,
		     const json_t *labels, struct buf *image_id);

/* Writes a tar of dir (regular files, dirs, symlinks; modes kept; no .git) to fd.
 * Used by build_dockerfile(); exposed for tests. */
int build_tar_dir(const char *dir, int fd);

#endif
