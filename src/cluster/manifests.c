/* src/cluster/manifests.c - the manifests of wharf/<app> in the registry: every tag is
 * resolved to its manifest's digest, and those no kept tag names are deleted through the
 * registry's HTTP API (the registry's config enables deletes): retention after a deploy
 * (cluster_registry_prune) and apps:destroy (cluster_registry_forget). The blobs stay
 * until the registry's garbage collection (cluster_registry_gc, registry.c). */
#include "internal.h"

#include <curl/curl.h>
#include <string.h>

/* What the registry stores for Docker's pushes; asked for so the digest it gives is
 * the one it stored (a registry answers other types with a converted manifest). */
#define MANIFEST_TYPES                                                   \
	"Accept: application/vnd.docker.distribution.manifest.v2+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, "    \
	"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"

struct reg {
	CURL *h;
	struct buf ca, base, userpwd;
};

static size_t to_buf(char *p, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;

	return buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

static size_t drop(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* Keeps the Docker-Content-Digest header's value. */
static size_t header_digest(char *p, size_t size, size_t n, void *ud)
{
	static const char name[] = "docker-content-digest:";
	struct buf *d = ud;
	size_t len = size * n, i = sizeof(name) - 1;

	if (len > i && !strncasecmp(p, name, i)) {
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		buf_reset(d);
		buf_add(d, p + i, len - i);
		while (d->len && (d->buf[d->len - 1] == '\r' || d->buf[d->len - 1] == '\n'))
			d->buf[--d->len] = '\0';
	}
	return len;
}

/* One request to the registry; *status gets the HTTP status. */
static int reg_call(struct reg *r, const char *method, const char *path, struct buf *body,
		    struct buf *digest, long *status)
{
	struct buf url = BUF_INIT;
	struct curl_slist *hdrs = curl_slist_append(NULL, MANIFEST_TYPES);
	CURLcode rc;
	int ret = -1;

	curl_easy_reset(r->h);
	if (!hdrs || buf_addf(&url, "%s%s", r->base.buf, path) < 0)
		goto out;
	curl_easy_setopt(r->h, CURLOPT_URL, url.buf);
	curl_easy_setopt(r->h, CURLOPT_CAINFO, r->ca.buf);
	curl_easy_setopt(r->h, CURLOPT_USERPWD, r->userpwd.buf);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(r->h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(r->h, CURLOPT_NOBODY, 1L);
	/* Without body, the answer's body is dropped (curl would print it). */
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, body ? to_buf : drop);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, body);
	if (digest) {
		curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, header_digest);
		curl_easy_setopt(r->h, CURLOPT_HEADERDATA, digest);
	}
	if ((rc = curl_easy_perform(r->h)) != CURLE_OK) {
		err_set("cannot reach the registry at %s: %s", r->base.buf, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	buf_release(&url);
	return ret;
}

int cluster_manifests_to_delete(const json_t *tags, const json_t *keep, json_t **out)
{
	json_t *kept = json_object(), *del = json_object(), *v;
	const char *tag;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (!kept || !del || !(*out = json_array()))
		goto oom;
	json_array_foreach(keep, i, v) {
		const char *d = json_string_value(json_object_get(tags, json_string_value(v)));
		if (d && json_object_set_new(kept, d, json_true()) < 0)
			goto oom;
	}
	json_object_foreach((json_t *)tags, tag, v) {
		const char *d = json_string_value(v);
		if (!d || json_object_get(kept, d) || json_object_get(del, d))
			continue;
		if (json_object_set_new(del, d, json_true()) < 0 ||
		    json_array_append_new(*out, json_string(d)) < 0)
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
	json_decref(*out);
	*out = NULL;
out:
	json_decref(kept);
	json_decref(del);
	return ret;
}

/* The tags of wharf/<app> with their manifests' digests, {tag: "sha256:…"}, into *out
 * (empty when the app never pushed). */
static int tag_digests(struct reg *r, const char *app, json_t **out)
{
	struct buf body = BUF_INIT, path = BUF_INIT, digest = BUF_INIT;
	json_t *tags = NULL, *t;
	long status = 0;
	size_t i;
	int ret = -1;

	if (!(*out = json_object())) {
		err_set("out of memory");
		goto out;
	}
	if (buf_addf(&path, "/v2/wharf/%s/tags/list", app) < 0 ||
	    reg_call(r, "GET", path.buf, &body, NULL, &status) < 0)
		goto out;
	if (status == 404) { /* never pushed */
		ret = 0;
		goto out;
	}
	if (status != 200 || !(tags = json_loadb(body.buf, body.len, 0, NULL))) {
		err_set("the registry answered %ld to the list of wharf/%s's tags", status, app);
		goto out;
	}
	json_array_foreach(json_object_get(tags, "tags"), i, t) {
		const char *tag = json_string_value(t);
		if (!tag || valid_app_name(tag) < 0) { /* tags are release numbers */
			err_clear();                   /* handled: not one of wharf's tags */
			continue;
		}
		buf_reset(&path);
		buf_reset(&digest);
		if (buf_addf(&path, "/v2/wharf/%s/manifests/%s", app, tag) < 0 ||
		    reg_call(r, "HEAD", path.buf, NULL, &digest, &status) < 0)
			goto out;
		if (status != 200 || strncmp(digest.buf, "sha256:", 7) || digest.len != 71)
			continue; /* gone meanwhile */
		if (json_object_set_new(*out, tag, json_string(digest.buf)) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
	}
	json_decref(tags);
	buf_release(&body);
	buf_release(&path);
	buf_release(&digest);
	return ret;
}

int cluster_registry_prune(const char *app, const json_t *keep)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct reg r = { NULL, BUF_INIT, BUF_INIT, BUF_INIT };
	struct lock l = LOCK_INIT;
	struct buf path = BUF_INIT;
	json_t *tags = NULL, *del = NULL, *d;
	long status = 0;
	size_t i;
	int loaded, n = 0, ret = -1;

	if (valid_app_name(app) < 0 || (loaded = cluster_load(&st)) < 0)
		goto out;
	if (!loaded) {
		ret = 0;
		goto out;
	}
	/* Not while the garbage collection runs (the registry is read-only then). */
	if (cluster_registry_lock(&l, 0, "Waiting for the registry's garbage collection") < 0)
		goto out;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(r.h = curl_easy_init()) || cluster_path(&r.ca, "registry/ca.crt") < 0 ||
	    buf_addf(&r.base, "https://%s", st.registry) < 0 ||
	    buf_addf(&r.userpwd, "%s:%s", st.user, st.password) < 0 ||
	    tag_digests(&r, app, &tags) < 0 || cluster_manifests_to_delete(tags, keep, &del) < 0)
		goto out;
	json_array_foreach(del, i, d) {
		buf_reset(&path);
		if (buf_addf(&path, "/v2/wharf/%s/manifests/%s", app, json_string_value(d)) < 0 ||
		    reg_call(&r, "DELETE", path.buf, NULL, NULL, &status) < 0)
			goto out;
		if (status != 202 && status != 404) {
			err_set("the registry answered %ld to deleting wharf/%s@%s", status, app,
				json_string_value(d));
			goto out;
		}
		n += status == 202;
	}
	ret = n;
out:
	lock_release(&l);
	if (r.h)
		curl_easy_cleanup(r.h);
	buf_release(&r.ca);
	buf_release(&r.base);
	buf_release(&r.userpwd);
	buf_release(&path);
	json_decref(tags);
	json_decref(del);
	cluster_state_release(&st);
	return ret;
}

int cluster_registry_forget(const char *app)
{
	return cluster_registry_prune(app, NULL);
}
