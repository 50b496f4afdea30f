/* src/build/build.h - public interface of the builders: detect how a pushed tree is
 * built and build it into an image. */
#ifndef WHARF_BUILD_H
#define WHARF_BUILD_H

#include "common.h"
#include "docker/docker.h"

/* The builders wharf knows, for messages ("dockerfile"). */
extern const char *const build_builders[];

/* Decides how dir is built. Sets *builder to a static name ("dockerfile") or
 * fails with a message naming the builders that exist and what each needs. */
int build_detect(const char *dir, const char **builder);

/* Reads dir/Dockerfile and checks that every FROM image exists locally, because a
 * missing one would make dockerd try to pull it. Fails naming the missing image. */
int build_check_base_images(struct docker *d, const char *dir);

struct build_df_opts {
	const json_t *config; /* the app's config vars (the limits); may be NULL */
	const char *network;  /* the app's network for RUN steps; NULL: none */
	const char *gateway;  /* its gateway: the egress proxy listens there while
	                             * the build runs; NULL: no proxy (no egress) */
};

/* Which images belong to which app (from.c). An image is app's when the ref names
 * wharf/<app> (wharf's own tags, "wharf/<app>:3") or when its wharf.app label (set
 * by every wharf build, and not settable by a Dockerfile: the build's labels win)
 * is app. info is the image's inspect object (GET /images/<ref>/json). Pure. */
int build_image_is_apps(const json_t *info, const char *ref, const char *app);
/* The app, other than app, that info was built for (its wharf.app label, or a
 * wharf/<other>:<release or deps-…> tag), copied into other; 0 when none. Pure. */
int build_image_other_app(const json_t *info, const char *app, char *other, size_t size);
/* For a deployer's push: no FROM line, COPY --from= or RUN --mount=from= of
 * dir/Dockerfile may name an image built for another app (its code and what its
 * build baked in would leak into this one). */
int build_check_base_owners(struct docker *d, const char *dir, const char *app);

/* Builds dir (which holds a Dockerfile) into an image tagged `tag`, with labels
 * (object of strings, borrowed), held to build_timeout() and
 * build_check_image_size(). The tar context is made with libarchive. Build
 * output is streamed line by line with say_detail() as it arrives. A failing
 * build returns -1 with the builder's message in err_msg(). image_id receives the
 * new image's id. */
int build_dockerfile(struct docker *d, const char *dir, const char *tag, const json_t *labels,
		     const struct build_df_opts *o, struct buf *image_id);

/* Writes a tar of dir (regular files, dirs, symlinks; modes kept; no .git) to fd.
 * Used by build_dockerfile(); exposed for tests. */
int build_tar_dir(const char *dir, int fd);

/* ---- buildpacks (buildpacks.c, stack.c) --------------------------------------------
 * A tree without a Dockerfile is built by the Heroku buildpack API inside a builder
 * container made from the stack image: the source is copied to /app through the
 * Engine API, the bundled buildpacks (read-only), the per-app cache
 * ($WHARF_ROOT/cache/<app>) and ENV_DIR (one file per config var) are bind mounts,
 * and buildpacks/.wharf/build runs detect, compile and release. The container is
 * then committed with Cmd ["/wharf/launch", "web"]. */

/* Where `make install` puts the bundled buildpacks. */
#define BUILD_BUILDPACKS_INSTALLED "/usr/local/share/wharf/buildpacks"
/* The stack image when nothing else is set. */
#define BUILD_STACK_DEFAULT        "wharf/stack:bookworm"

struct build_bp_opts {
	const char *app;          /* validated name */
	const char *dir;          /* the exported tree */
	const char *tag;          /* "repo:tag" of the image to make */
	const json_t *labels;     /* object of strings for the image; borrowed */
	const json_t *config;     /* config vars (strings) written into ENV_DIR */
	const json_t *buildpacks; /* the app's chain (names or git URLs); NULL or empty:
	                             * the tree's .buildpacks, else BUILDPACK_URL, else the
	                             * first bundled buildpack whose bin/detect passes */
	const char *stack;        /* NULL: build_stack_image() */
	const json_t *extra;      /* container_spec.extra of the builder container
	                             * (plugins' docker-args-build); may be NULL */
	const char *network;      /* the app's network for the builder; NULL: none */
	const char *gateway;      /* its gateway: the egress proxy listens there while
	                             * the build runs; NULL: no proxy (no egress) */
};

/* The user buildpack apps run as: the stack image's `app` user (uid 10001). */
#define BUILD_APP_USER "10001:10001"

/* Builds o->dir into an image. Every line the buildpacks print is streamed to the
 * pusher as it comes. A failing detect or compile returns -1 (the output is
 * above). image_id gets the image id; *processes a new object type ->
 * ["/wharf/launch", type] for every type of the final Procfile (the app's plus
 * the buildpacks' default_process_types). The builder container is removed. */
int build_buildpacks(struct docker *d, const struct build_bp_opts *o, struct buf *image_id,
		     json_t **processes);

/* Appends the directory of the bundled buildpacks: $WHARF_BUILDPACKS_DIR, else
 * ../buildpacks beside the running binary (a checkout), else the installed one. */
int build_buildpacks_dir(struct buf *out);
/* Appends $WHARF_ROOT/cache/<app> (checks the name). */
int build_cache_dir(struct buf *out, const char *app);
/* Removes the app's build cache (npm/pip caches, fetched buildpacks). */
int build_purge_cache(const char *app);
/* For apps:destroy, after the release images are gone: removes the app's dependency
 * layer image (wharf/<app>:deps-<key>) and its build cache. Best effort: errors are
 * dropped. */
void build_forget_app(struct docker *d, const char *app);
/* Accepts a bundled buildpack's name or a git URL (https, http, git, ssh, file, or
 * an absolute path; "#ref" picks a branch, tag or commit). */
int build_buildpack_check(const char *ref);

/* The stack image: $WHARF_STACK_IMAGE, else global.json's "stack", else
 * BUILD_STACK_DEFAULT. Borrowed, valid until the next call. */
const char *build_stack_image(void);
/* Sets (image != NULL) or resets global.json's "stack". */
int build_stack_set(const char *image);
/* Appends the path of scripts/stack-image.sh (beside the binary or installed). */
int build_stack_script(struct buf *out);

/* ---- Procfile (procfile.c) ----------------------------------------------------- */

/* Parses Procfile text (any bytes): one `<type>: <command>` a line, types
 * ^[A-Za-z0-9_-]+$ (max 63 bytes), the command trimmed and non-empty; blank lines
 * and lines whose first non-blank byte is '#' are skipped; CRLF and a UTF-8 BOM
 * are accepted; a later line for a type replaces an earlier one. Rejects other
 * lines with "Procfile line N: …", text over 64 KiB, more than 4096 lines and
 * commands that are not UTF-8. *out is a new object type -> command string
 * (caller decrefs), in file order. */
int build_procfile_parse(const char *text, size_t len, json_t **out);
/* Reads dir/Procfile (a regular file; a symlink counts as none) and parses it.
 * *out is NULL when there is no Procfile. */
int build_procfile_load(const char *dir, json_t **out);
/* Turns parsed types into a release's processes for an image without the wharf
 * launcher (a Dockerfile app): type -> ["/bin/sh", "-c", command]. *out is NULL
 * when types is NULL. */
int build_procfile_shell_processes(const json_t *types, json_t **out);

/* 1 when ref names a repository on this host (an absolute path or file://). */
int build_buildpack_is_local(const char *ref);

/* Parses a build timeout: whole seconds, optionally with an s, m or h suffix ("90",
 * "20m", "1h"), from 1 s to 24 h. Sets *secs or fails naming the accepted forms.
 * A buildpack build uses the app's WHARF_BUILD_TIMEOUT config var, else
 * WHARF_BUILD_TIMEOUT in wharf's environment, else 20 minutes; at the limit the
 * builder container is stopped and the build fails. */
int build_timeout_parse(const char *s, long *secs);

/* ---- limits of every build (limits.c) ------------------------------------------- */

/* The time limit of a build of an app with config (its config vars, may be NULL):
 * the WHARF_BUILD_TIMEOUT config var, else WHARF_BUILD_TIMEOUT in wharf's
 * environment, else 20 minutes. from gets where the value came from, for
 * messages. A bad value fails, naming where it came from. */
int build_timeout(const json_t *config, long *secs, struct buf *from);
/* A size: digits with an optional k, m or g (and b), 1m to 1024g. */
int build_size_parse(const char *s, long long *bytes);
/* Refuses an image larger than the WHARF_BUILD_MAX_SIZE config var, else
 * WHARF_BUILD_MAX_SIZE in wharf's environment, else 2g (Docker's Size of the image,
 * its base included): the image is removed and -1 returned with the sizes. */
int build_check_image_size(struct docker *d, const char *image, const json_t *config);

/* ---- the build network ------------------------------------------------------------
 * Builds run on the app's network (internal: no route off the machine); what they
 * may fetch goes through an egress proxy wharf runs on the network's gateway while
 * the build runs (proxy.c): CONNECT to public addresses on ports 80 and 443 only. */
struct build_proxy;
/* Starts the proxy on ip (an IPv4 address of this host), port chosen by the kernel,
 * in threads of its own. */
int build_proxy_start(struct build_proxy **out, const char *ip);
/* "http://IP:PORT"; borrowed. */
const char *build_proxy_url(const struct build_proxy *p);
/* Stops it and closes every tunnel. NULL-safe. */
void build_proxy_stop(struct build_proxy *p);

#endif
