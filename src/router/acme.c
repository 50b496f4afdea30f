/* acme.c - ACME http-01 challenges answered by the router itself: a small table of token ->
 * key authorization filled through the control API (PUT|DELETE /acme/challenges/<token>),
 * and the lookup the request path makes before routing (router__acme_lookup), so a
 * certificate can be issued for any app's domain while the app keeps serving, with no
 * container and no webroot. The table lives in memory only (see docs/letsencrypt.md). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ACME_PREFIX    "/.well-known/acme-challenge/"
#define ACME_CONTROL   "/acme/challenges"
#define ACME_TOKEN_MAX 128               /* Let's Encrypt's are 43 characters */
#define ACME_THUMB_MAX 128               /* a SHA-256 thumbprint is 43 */
#define ACME_MAX       256               /* challenges held at once */
#define ACME_TTL_MS    (60U * 60 * 1000) /* a forgotten one goes after an hour */

struct acme_challenge {
	char token[ACME_TOKEN_MAX + 1];
	char *auth; /* "<token>.<thumbprint>" */
	uint64_t expires;
};

struct router_acme {
	struct acme_challenge ch[ACME_MAX];
	size_t n;
};

/* base64url without padding: what RFC 8555 section 8.1 makes tokens and thumbprints of. */
static int b64url_ok(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!len || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int router__acme_token_valid(const char *token, size_t len)
{
	return b64url_ok(token, len, ACME_TOKEN_MAX);
}

int router__acme_parse(const char *token, const char *body, size_t len, char **auth)
{
	static const char *const keys[] = { "key_authorization", NULL };
	json_t *j, *v;
	const char *s;
	size_t tlen = strlen(token), slen;
	int ret = -1;

	*auth = NULL;
	if (!router__acme_token_valid(token, tlen))
		return err_set("invalid token: 1 to %d characters of A-Z a-z 0-9 - _",
			       ACME_TOKEN_MAX);
	if (!(j = router__action_body(body, len, keys)))
		return -1;
	v = json_object_get(j, "key_authorization");
	s = json_string_value(v);
	slen = s ? json_string_length(v) : 0;
	/* RFC 8555 section 8.1: keyAuthorization = token || '.' || base64url(thumbprint). */
	if (!s || slen <= tlen + 1 || strncmp(s, token, tlen) || s[tlen] != '.' ||
	    !b64url_ok(s + tlen + 1, slen - tlen - 1, ACME_THUMB_MAX)) {
		err_set("give \"key_authorization\": \"<token>.<account key thumbprint>\"");
		goto out;
	}
	if (!(*auth = strdup(s))) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

static struct router_acme *acme_table(struct router *r)
{
	if (!r->acme)
		r->acme = calloc(1, sizeof(*r->acme));
	return r->acme;
}

/* Drops the challenges past their time. */
static void acme_prune(struct router_acme *t, uint64_t now)
{
	size_t i = 0;

	while (i < t->n) {
		if (t->ch[i].expires > now) {
			i++;
			continue;
		}
		free(t->ch[i].auth);
		t->ch[i] = t->ch[--t->n];
	}
}

static struct acme_challenge *acme_find(struct router_acme *t, const char *token, size_t len)
{
	size_t i;

	for (i = 0; t && i < t->n; i++)
		if (strlen(t->ch[i].token) == len && !memcmp(t->ch[i].token, token, len))
			return &t->ch[i];
	return NULL;
}

const char *router__acme_lookup(struct router *r, int method, const char *url, size_t len)
{
	const size_t plen = sizeof(ACME_PREFIX) - 1;
	struct acme_challenge *c;

	if (!r->acme || !r->acme->n || method != HTTP_GET || len <= plen ||
	    memcmp(url, ACME_PREFIX, plen))
		return NULL;
	/* A token the router was not given goes to the app, which may answer its own. */
	if (!(c = acme_find(r->acme, url + plen, len - plen)) || c->expires <= uv_now(r->loop))
		return NULL;
	return c->auth;
}

int router__acme_control_path(const char *url, size_t len)
{
	const size_t plen = sizeof(ACME_CONTROL) - 1;

	return len >= plen && !memcmp(url, ACME_CONTROL, plen) && (len == plen || url[plen] == '/');
}

static void acme_put(struct cconn *cc, const char *token, const char *body, size_t blen)
{
	struct router_acme *t = acme_table(cc->r);
	struct acme_challenge *c;
	char *auth = NULL;

	if (!t) {
		router__cconn_error(cc, 500, "out of memory");
		return;
	}
	if (router__acme_parse(token, body, blen, &auth) < 0) {
		router__cconn_error(cc, 400, err_msg());
		return;
	}
	acme_prune(t, uv_now(cc->r->loop));
	if (!(c = acme_find(t, token, strlen(token)))) {
		if (t->n == ACME_MAX) {
			free(auth);
			router__cconn_error(cc, 503,
					    "too many challenges pending; try again later");
			return;
		}
		c = &t->ch[t->n++];
		snprintf(c->token, sizeof(c->token), "%s", token);
		c->auth = NULL;
	}
	free(c->auth);
	c->auth = auth;
	c->expires = uv_now(cc->r->loop) + ACME_TTL_MS;
	router__cconn_answer(cc, 200, json_pack("{s:s}", "token", token));
}

/* PUT /acme/challenges/<token> {"key_authorization": "<token>.<thumbprint>"}, DELETE
 * /acme/challenges/<token>, GET /acme/challenges (how many are pending). */
void router__control_acme(struct cconn *cc, const char *url, size_t len, const char *body,
			  size_t blen)
{
	const size_t plen = sizeof(ACME_CONTROL) - 1;
	int m = cc->frame.head.method;
	struct acme_challenge *c;
	char token[ACME_TOKEN_MAX + 1];
	size_t tlen;

	if (len == plen || (len == plen + 1 && url[plen] == '/')) {
		if (m != HTTP_GET) {
			router__cconn_error(cc, 405, "use GET");
			return;
		}
		if (cc->r->acme)
			acme_prune(cc->r->acme, uv_now(cc->r->loop));
		router__cconn_answer(cc, 200,
				     json_pack("{s:I}", "pending",
					       (json_int_t)(cc->r->acme ? cc->r->acme->n : 0)));
		return;
	}
	tlen = len - plen - 1;
	if (!router__acme_token_valid(url + plen + 1, tlen)) {
		router__cconn_error(cc, 400,
				    "invalid token: 1 to 128 characters of A-Z a-z 0-9 - _");
		return;
	}
	memcpy(token, url + plen + 1, tlen);
	token[tlen] = '\0';
	if (m == HTTP_PUT) {
		acme_put(cc, token, body, blen);
	} else if (m == HTTP_DELETE) {
		if (!(c = acme_find(cc->r->acme, token, tlen))) {
			router__cconn_error(cc, 404, "no such challenge");
			return;
		}
		free(c->auth);
		*c = cc->r->acme->ch[--cc->r->acme->n];
		router__cconn_answer(cc, 200,
				     json_pack("{s:s, s:b}", "token", token, "deleted", 1));
	} else {
		router__cconn_error(cc, 405, "use PUT or DELETE");
	}
}

void router__acme_free(struct router *r)
{
	size_t i;

	if (!r->acme)
		return;
	for (i = 0; i < r->acme->n; i++)
		free(r->acme->ch[i].auth);
	free(r->acme);
	r->acme = NULL;
}
