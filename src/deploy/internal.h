/* src/deploy/internal.h - helpers shared by the deploy layer's files. */
#ifndef WHARF_DEPLOY_INTERNAL_H
#define WHARF_DEPLOY_INTERNAL_H

#include "app/app.h"
#include "deploy/deploy.h"

/* How many releases keep their image unless releases:set retain says. */
#define DEPLOY__RETAIN_DEFAULT 5

/* ---- the scheduler of a request (deploy.c) ------------------------------------ */

/* req->sched, or a new one in *owned (the caller frees it with scheduler_free). */
int deploy__sched(const struct deploy_request *req, struct scheduler **owned,
		  struct scheduler **out);

/* ---- swarm apps (swarm.c) ------------------------------------------------------ */

/* What a swarm deploy hands the scheduler, owned here. */
struct deploy__swarm {
	struct buf pinned; /* "ADDR:5000/wharf/<app>@sha256:…" */
	struct buf auth;   /* X-Registry-Auth */
};
#define DEPLOY__SWARM_INIT                           \
	{                                            \
		.pinned = BUF_INIT, .auth = BUF_INIT \
	}
void deploy__swarm_release(struct deploy__swarm *sw);
/* 1 when s is the swarm scheduler. */
int deploy__is_swarm(struct scheduler *s);
/* For a deploy of release `version` of req->image (a local image) on the swarm: the
 * app's web port bases (allocated once, saved in appobj), the image tagged
 * wharf/<app>:<version> and pushed; req gets the pinned ref as image, the local one
 * as local_image, the credentials and the port bases (pointing into sw). */
int deploy__swarm_prepare(struct scheduler *s, const char *app, json_t *appobj, long version,
			  struct deploy__swarm *sw, struct deploy_req *req);
/* After a docker-local deploy on a cluster manager: the services the app had on the
 * swarm (before scheduler:set moved it here) go; a warning when they cannot. */
void deploy__swarm_left(struct scheduler *s, const char *app);
/* apps:destroy of a swarm app: the registry's manifests of wharf/<app> go (a warning
 * when they cannot). Not swarm: nothing. */
void deploy__swarm_forget(struct scheduler *s, const char *app);
/* Refuses host (a storage mount's host dir) when it is or holds the Docker socket of a
 * cluster node joined with --docker-host unix://SOCK (cluster.json); 0 on a host that is
 * no cluster manager. */
int deploy__swarm_sockets_near(const char *host);

/* ---- releases and retention (releases.c) -------------------------------------- */

/* N of the next release: the current one's plus one. */
long deploy__next_version(const json_t *releases);
/* Who made the change: req->by, the ssh key's name, or local:<user>. */
void deploy__who(struct buf *out, const char *by);
/* Removes the images of releases older than the newest `retain` ones (images
 * still used by a kept release stay) and marks those releases "pruned".
 * Returns how many images it removed. */
int deploy__prune_images(struct scheduler *s, json_t *releases, long retain);
/* 1 when release i of releases (an index of app_releases()) keeps its image under
 * `retain`: one of the newest `retain`, or another release of those runs its image;
 * 0 for a release pruned already or without an image. */
int deploy__release_kept(const json_t *releases, size_t i, long retain);
/* Before deploy__prune_images() of a swarm app (or one that was): this host's tags of
 * the pushes of releases not kept go (so their images can be pruned) and the registry's
 * manifests that no kept release uses are deleted. Failures are warnings. */
void deploy__registry_retain(struct scheduler *s, const char *app, const json_t *appobj,
			     const json_t *releases, long retain);

/* ---- builds (build.c) --------------------------------------------------------- */

struct deploy__build {
	struct buf image;       /* the new image's id */
	json_t *processes;      /* type -> Cmd array (or null: the image's CMD); NULL when
	                          * the app only has the image's CMD as `web` */
	json_t *cron, *scripts; /* app.json's (deploy_appjson_parse()); NULL: none */
};
#define DEPLOY__BUILD_INIT                                                          \
	{                                                                           \
		.image = BUF_INIT, .processes = NULL, .cron = NULL, .scripts = NULL \
	}
void deploy__build_release(struct deploy__build *b);
/* Exports req->rev of the app's repository into dir, detects the builder,
 * builds the image of release `version` on d. */
int deploy__build_tree(struct docker *d, const struct deploy_request *req, const char *dir,
		       long version, struct deploy__build *out);

/* ---- settings (settings.c) ---------------------------------------------------- */

/* Copies the app's checks:skip/disable lists into req (borrowed from appobj). */
void deploy__checks_apply(const json_t *appobj, struct deploy_req *req);
/* The builder-detect trigger's choice ("dockerfile", "buildpacks") or NULL when
 * no plugin named one; an unknown name is an error. */
int deploy__plugin_builder(const char *app, const char *dir, const char **builder);
/* deploy_req.check_fn: the check-deploy trigger (data is the app name). */
int deploy__check_deploy(void *data, const char *id, const char *type, int port, const char *addr);

/* ---- app.json (appjson.c) ------------------------------------------------------ */

/* deploy_appjson_parse() of dir/app.json; both NULL when there is none. */
int deploy__appjson_from_dir(const char *dir, json_t **cron, json_t **scripts);

/* ---- one-off processes (oneoff.c) ---------------------------------------------- */

/* cmd in a one-off process of image with the app's environment (WHARF_PROCESS=
 * process, GIT_REV=git_rev unless NULL), storage and `run` limits: `run`, cron
 * runs, the predeploy and postdeploy scripts. */
int deploy__run_image(const struct deploy_request *req, const char *image, const char *git_rev,
		      const char *process, const char **cmd, const struct sched_io *io,
		      long long *code);
/* deploy__run_image() of the app's current release ("has no release yet: push
 * first" without one). */
int deploy__run_current(const struct deploy_request *req, const char *process, const char **cmd,
			const struct sched_io *io, long long *code);
/* ---- letsencrypt (letsencrypt.c) ----------------------------------------------- */

/* Why a uacme run failed, from its output (text, len: untrusted, the CA's words in it):
 * the "detail" of the last problem document the CA sent, else uacme's last line that is
 * not a hook run it echoes; control characters become spaces. Writes a NUL-terminated
 * line of at most size - 1 bytes ("-" when there is none) into out (size > 0). */
void deploy__le_reason(char *out, size_t size, const char *text, size_t len);
/* ---- operations (ops.c) ------------------------------------------------------- */

/* Keeps output (the deploy's tap) and the " !     why" line as the app's last
 * failed deploy's output (a warning when it cannot). */
void deploy__failed_log_save(const char *app, struct buf *output, const char *why);

#endif
