/* src/cluster/push.c - an image of this host into the cluster's registry: tagged
 * ADDR:PORT/wharf/<app>:<tag>, pushed with the registry's credentials, and named by the
 * digest the registry stored (what a swarm service is pinned to). */
#include "internal.h"

#include <string.h>

/* The tag of "name[:tag]" (NULL when it has none) - a ':' after the last '/' only, so
 * a registry's port is not taken for a tag. */
static const char *ref_tag(const char *ref)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');

	if (!colon || (slash && colon < slash))
		return NULL;
	return colon + 1;
}

int cluster_push_image(struct docker *d, const char *app, const char *local_ref, struct buf *pinned)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf repo = BUF_INIT, auth = BUF_INIT, digest = BUF_INIT;
	struct lock l = LOCK_INIT;
	const char *tag;
	int ret = -1, loaded;

	if (pinned)
		buf_reset(pinned);
	if (valid_app_name(app) < 0)
		return -1;
	if (!local_ref || !*local_ref || strchr(local_ref, '@'))
		return err_set("'%.80s' is not a local image reference with a tag",
			       local_ref ? local_ref : "");
	tag = ref_tag(local_ref);
	if (!tag || !*tag)
		tag = "latest";
	if ((loaded = cluster_load(&st)) < 0)
		goto out;
	if (!loaded) {
		err_set("this host is not a cluster manager: run cluster:init first");
		goto out;
	}
	if (buf_addf(&repo, "%s/wharf/%s", st.registry, app) < 0 ||
	    cluster_registry_auth(&st, &auth) < 0)
		goto out;
	if (docker_image_tag(d, local_ref, repo.buf, tag) < 0) {
		err_prefix("cannot tag %s for the registry", local_ref);
		goto out;
	}
	/* Not while the registry's garbage collection runs: it would delete the blobs of a
	 * push whose manifest is not there yet (and the registry is read-only then). */
	if (cluster_registry_lock(&l, 0, "Waiting for the registry's garbage collection") < 0)
		goto out;
	if (docker_image_push(d, repo.buf, tag, auth.buf, NULL, NULL, &digest) < 0) {
		err_prefix("cannot push %s:%s", repo.buf, tag);
		goto out;
	}
	if (pinned && buf_addf(pinned, "%s@%s", repo.buf, digest.buf) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	cluster_state_release(&st);
	buf_release(&repo);
	buf_release(&auth);
	buf_release(&digest);
	return ret;
}

int cluster_image_untag(struct docker *d, const char *app, const char *tag)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf ref = BUF_INIT;
	int loaded, ret = -1;

	if (valid_app_name(app) < 0 || (loaded = cluster_load(&st)) < 0)
		goto out;
	/* By name: only the tag goes while the image has others (wharf/<app>:<N>). */
	if (loaded && (buf_addf(&ref, "%s/wharf/%s:%s", st.registry, app, tag) < 0 ||
		       docker_image_remove(d, ref.buf, 0) < 0))
		goto out;
	ret = 0;
out:
	cluster_state_release(&st);
	buf_release(&ref);
	return ret;
}
