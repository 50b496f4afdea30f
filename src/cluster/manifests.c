/* src/cluster/manifests.c - forgetting an app's images in the registry: every tag of
 * wharf/<app> is resolved to its manifest's digest and that manifest deleted through
 * the registry's HTTP API (the registry's config enables deletes). The blobs stay until
 * the registry's garbage collection runs (docs/cluster.md). */
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
	if (body) {
		curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, to_buf);
		curl_easy_setopt(r->h, CURLOPT_WRITEDATA, body);
	}
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

int cluster_registry_forget(const char *app)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct reg r = { NULL, BUF_INIT, BUF_INIT, BUF_INIT };
	struct buf body = BUF_INIT, path = BUF_INIT, digest = BUF_INIT;
	json_t *tags = NULL, *t;
	long status = 0;
	size_t i;
	int loaded, n = 0, ret = -1;

	if (valid_app_name(app) < 0 || (loaded = cluster_load(&st)) < 0)
		return -1;
	if (!loaded) {
		ret = 0;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!(r.h = curl_easy_init()) || cluster_path(&r.ca, "registry/ca.crt") < 0 ||
	    buf_addf(&r.base, "https://%s", st.registry) < 0 ||
	    buf_addf(&r.userpwd, "%s:%s", st.user, st.password) < 0 ||
	    buf_addf(&path, "/v2/wharf/%s/tags/list", app) < 0)
		goto out;
	if (reg_call(&r, "GET", path.buf, &body, NULL, &status) < 0)
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
		    reg_call(&r, "HEAD", path.buf, NULL, &digest, &status) < 0)
			goto out;
		if (status != 200 || strncmp(digest.buf, "sha256:", 7))
			continue; /* deleted with an earlier tag of the same manifest */
		buf_reset(&path);
		if (buf_addf(&path, "/v2/wharf/%s/manifests/%s", app, digest.buf) < 0 ||
		    reg_call(&r, "DELETE", path.buf, NULL, NULL, &status) < 0)
			goto out;
		if (status != 202 && status != 404) {
			err_set("the registry answered %ld to deleting wharf/%s@%s", status, app,
				digest.buf);
			goto out;
		}
		n += status == 202;
	}
	ret = n;
out:
	if (r.h)
		curl_easy_cleanup(r.h);
	buf_release(&r.ca);
	buf_release(&r.base);
	buf_release(&r.userpwd);
	buf_release(&body);
	buf_release(&path);
	buf_release(&digest);
	json_decref(tags);
	cluster_state_release(&st);
	return ret;
}
