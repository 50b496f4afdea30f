/* route.c - validation of the control API's route bodies and the router's persisted
 * table. Everything from a client is checked here before the proxy sees it. */
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void router__route_release(struct route_def *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->ndomains; i++)
		free(rs->domains[i]);
	for (i = 0; i < rs->ntargets; i++)
		free(rs->targets[i]);
	free(rs->domains);
	free(rs->targets);
	free(rs->app);
	free(rs->health_path);
	memset(rs, 0, sizeof(*rs));
	rs->drain_timeout_ms = 30000;
}

int router__target_parse(struct sockaddr_in *sa, const char *s)
{
	char host[16];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;
	size_t hlen;

	if (!colon)
		goto bad;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535 || strlen(colon + 1) > 5)
		goto bad;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	return err_set("invalid target '%s': give IPv4:port such as 127.0.0.1:5000", s);
}

/* Appends a copy of s to a string array unless it is already there. */
static int push_unique(char ***arr, size_t *n, const char *s, const char *what)
{
	size_t i;
	char **grown;

	for (i = 0; i < *n; i++)
		if (!strcmp((*arr)[i], s))
			return err_set("%s '%s' is listed twice", what, s);
	grown = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!grown)
		return err_set("out of memory");
	*arr = grown;
	if (!(grown[*n] = strdup(s)))
		return err_set("out of memory");
	(*n)++;
	return 0;
}

static int get_ms(unsigned *out, const json_t *obj, const char *key, long long lo, long long hi)
{
	const json_t *v = json_object_get(obj, key);
	long long n;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return err_set("'%s' must be an integer number of milliseconds", key);
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return err_set("'%s' must be between %lld and %lld", key, lo, hi);
	*out = (unsigned)n;
	return 0;
}

static int only_keys(const json_t *obj, const char *const *keys, const char *where)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; keys[i]; i++)
			if (!strcmp(key, keys[i]))
				break;
		if (!keys[i])
			return err_set("unknown key '%s' in %s", key, where);
	}
	return 0;
}

static int parse_domains(struct route_def *out, const json_t *arr)
{
	char name[254];
	size_t i, j;
	json_t *v;

	if (!json_is_array(arr))
		return err_set("'domains' must be an array of host names");
	if (json_array_size(arr) > ROUTER_MAX_DOMAINS)
		return err_set("too many domains (at most %d)", ROUTER_MAX_DOMAINS);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			return err_set("'domains' must contain strings");
		if (valid_domain(s) < 0)
			return -1;
		for (j = 0; s[j]; j++)
			name[j] = (s[j] >= 'A' && s[j] <= 'Z') ? (char)(s[j] - 'A' + 'a') : s[j];
		name[j] = '\0';
		if (push_unique(&out->domains, &out->ndomains, name, "domain") < 0)
			return -1;
	}
	return 0;
}

static int parse_targets(struct route_def *out, const json_t *arr)
{
	struct sockaddr_in sa;
	char norm[32], ip[INET_ADDRSTRLEN];
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return err_set("'targets' must be an array of \"IPv4:port\" strings");
	if (json_array_size(arr) > ROUTER_MAX_TARGETS)
		return err_set("too many targets (at most %d)", ROUTER_MAX_TARGETS);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			return err_set("'targets' must contain strings");
		if (router__target_parse(&sa, s) < 0)
			return -1;
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
		snprintf(norm, sizeof(norm), "%s:%u", ip, ntohs(sa.sin_port));
		if (push_unique(&out->targets, &out->ntargets, norm, "target") < 0)
			return -1;
	}
	return 0;
}

static int parse_health(struct route_def *out, const json_t *obj)
{
	static const char *const keys[] = { "path", "interval_ms", "timeout_ms", "deadline_ms",
					    NULL };
	const json_t *path;
	const char *p;

	if (!json_is_object(obj))
		return err_set("'health' must be an object");
	if (only_keys(obj, keys, "'health'") < 0)
		return -1;
	out->has_health = 1;
	out->interval_ms = 1000;
	out->timeout_ms = 5000;
	out->deadline_ms = 30000;
	path = json_object_get(obj, "path");
	p = path ? json_string_value(path) : "/";
	if (!p)
		return err_set("health 'path' must be a string");
	if (p[0] != '/' || strlen(p) > 1024)
		return err_set("health 'path' must start with '/' (at most 1024 characters)");
	for (; *p; p++)
		if (*p <= ' ' || *p >= 127)
			return err_set(
				"health 'path' must not contain spaces or control characters");
	if (!(out->health_path = strdup(path ? json_string_value(path) : "/")))
		return err_set("out of memory");
	if (get_ms(&out->interval_ms, obj, "interval_ms", 10, 600000) < 0 ||
	    get_ms(&out->timeout_ms, obj, "timeout_ms", 10, 600000) < 0 ||
	    get_ms(&out->deadline_ms, obj, "deadline_ms", 10, 3600000) < 0)
		return -1;
	return 0;
}

int router__route_options(struct route_def *out, const json_t *obj)
{
	const json_t *v;

	if ((v = json_object_get(obj, "redirect_https"))) {
		if (!json_is_boolean(v))
			return err_set("'redirect_https' must be true or false");
		out->redirect_https = json_is_true(v);
		out->redirect_set = 1;
	}
	if ((v = json_object_get(obj, "max_body_bytes"))) {
		out->max_body_given = 1;
		if (json_is_null(v)) {
			out->max_body_bytes = 0;
			out->max_body_set = 0;
		} else if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			   (unsigned long long)json_integer_value(v) > ROUTER_BODY_MAX_LIMIT) {
			return err_set("'max_body_bytes' must be an integer number of bytes "
				       "(0 for no limit, at most %llu) or null for the default",
				       ROUTER_BODY_MAX_LIMIT);
		} else {
			out->max_body_bytes = (unsigned long long)json_integer_value(v);
			out->max_body_set = 1;
		}
	}
	return 0;
}

json_t *router__route_options_json(const struct route_def *rs)
{
	return json_pack("{s:b, s:I}", "redirect_https", rs->redirect_https, "max_body_bytes",
			 (json_int_t)(rs->max_body_set ? rs->max_body_bytes
						       : ROUTER_BODY_MAX_DEFAULT));
}

int router__route_from_json(struct route_def *out, const char *app, const json_t *obj)
{
	static const char *const keys[] = { "app",
					    "domains",
					    "targets",
					    "health",
					    "drain_timeout_ms",
					    "redirect_https",
					    "max_body_bytes",
					    NULL };
	const json_t *v;

	if (valid_app_name(app) < 0)
		return -1;
	if (!json_is_object(obj))
		return err_set("the route must be a JSON object");
	if (only_keys(obj, keys, "the route") < 0)
		return -1;
	if ((v = json_object_get(obj, "app")) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), app)))
		return err_set("'app' in the body does not match the app in the path");
	if (!(out->app = strdup(app)))
		return err_set("out of memory");
	if (!(v = json_object_get(obj, "domains")))
		return err_set("'domains' is required (an array, may be empty)");
	if (parse_domains(out, v) < 0)
		return -1;
	if (!(v = json_object_get(obj, "targets")))
		return err_set("'targets' is required (an array, may be empty)");
	if (parse_targets(out, v) < 0)
		return -1;
	if ((v = json_object_get(obj, "health")) && !json_is_null(v) && parse_health(out, v) < 0)
		return -1;
	if (router__route_options(out, obj) < 0)
		return -1;
	return get_ms(&out->drain_timeout_ms, obj, "drain_timeout_ms", 0, 3600000);
}

int router__route_parse(struct route_def *out, const char *app, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *obj;
	int ret;

	if (len > ROUTER_MAX_BODY)
		return err_set("body too large (at most %d bytes)", ROUTER_MAX_BODY);
	obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return err_set("invalid JSON: %s (line %d)", jerr.text, jerr.line);
	ret = router__route_from_json(out, app, obj);
	json_decref(obj);
	return ret;
}

static json_t *string_array(char *const *items, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(items[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

json_t *router__route_to_json(const struct route_def *rs)
{
	return json_pack("{s:s, s:o, s:o}", "app", rs->app, "domains",
			 string_array(rs->domains, rs->ndomains), "targets",
			 string_array(rs->targets, rs->ntargets));
}

json_t *router__table_entry_json(const struct route_def *rs)
{
	json_t *one =
		json_pack("{s:o, s:o, s:i}", "domains", string_array(rs->domains, rs->ndomains),
			  "targets", string_array(rs->targets, rs->ntargets), "drain_timeout_ms",
			  (json_int_t)rs->drain_timeout_ms);

	if (one && rs->redirect_set &&
	    json_object_set_new(one, "redirect_https", json_boolean(rs->redirect_https)) < 0) {
		json_decref(one);
		one = NULL;
	}
	if (one && rs->max_body_set &&
	    json_object_set_new(one, "max_body_bytes",
				json_integer((json_int_t)rs->max_body_bytes)) < 0) {
		json_decref(one);
		one = NULL;
	}
	return one;
}

json_t *router__table_to_json(const struct route_def *const *specs, size_t n,
			      unsigned long long generation)
{
	json_t *apps = json_object(), *one;
	size_t i;

	if (!apps)
		return NULL;
	for (i = 0; i < n; i++) {
		one = router__table_entry_json(specs[i]);
		if (!one || json_object_set_new(apps, specs[i]->app, one) < 0) {
			json_decref(apps);
			return NULL;
		}
	}
	return json_pack("{s:i, s:I, s:o}", "version", 1, "generation", (json_int_t)generation,
			 "apps", apps);
}

/* The text json_dumps(JSON_INDENT(2) | JSON_SORT_KEYS) gives the table is made of one
 * piece per app, each indented by 4; these make and join the pieces, so that a write
 * serialises only the apps that changed. */
int router__table_entry_text(struct buf *out, const struct route_def *rs)
{
	json_t *one = router__table_entry_json(rs), *key = json_string(rs->app);
	char *k = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
	char *v = one ? json_dumps(one, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	const char *s;
	int ret = -1;

	if (!k || !v) {
		err_set("out of memory");
		goto out;
	}
	if (buf_addstr(out, "    ") < 0 || buf_addstr(out, k) < 0 || buf_addstr(out, ": ") < 0)
		goto out;
	for (s = v; *s; s++)
		if (buf_addch(out, *s) < 0 || (*s == '\n' && buf_addstr(out, "    ") < 0))
			goto out;
	ret = 0;
out:
	free(k);
	free(v);
	json_decref(key);
	json_decref(one);
	return ret;
}

int router__table_text_join(struct buf *out, const char *const *pieces, size_t n,
			    unsigned long long generation)
{
	size_t i;

	if (!n) {
		if (buf_addstr(out, "{\n  \"apps\": {},\n") < 0)
			return -1;
	} else {
		if (buf_addstr(out, "{\n  \"apps\": {\n") < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (buf_addstr(out, pieces[i]) < 0 ||
			    buf_addstr(out, i + 1 < n ? ",\n" : "\n") < 0)
				return -1;
		if (buf_addstr(out, "  },\n") < 0)
			return -1;
	}
	return buf_addf(out, "  \"generation\": %llu,\n  \"version\": 1\n}", generation);
}

int router__table_entry_parse(struct route_def *rs, const char *app, const json_t *v)
{
	rs->drain_timeout_ms = 30000;
	if (router__route_from_json(rs, app, v) < 0) {
		err_prefix("app '%s': ", app);
		return -1;
	}
	if (rs->has_health)
		return err_set("app '%s': unexpected 'health' in the table", app);
	return 0;
}

int router__table_parse(struct route_def **out, size_t *n, unsigned long long *generation,
			const char *text, size_t len)
{
	struct route_def *specs = NULL;
	json_error_t jerr;
	json_t *root, *apps, *v, *gen;
	const char *app;
	size_t i, count = 0;
	int ret = -1;

	*out = NULL;
	*n = 0;
	*generation = 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set("invalid JSON: %s (line %d)", jerr.text, jerr.line);
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1) {
		err_set("expected an object with \"version\": 1");
		goto out;
	}
	/* A table written before the journal has none: generation 0. */
	gen = json_object_get(root, "generation");
	if (gen && (!json_is_integer(gen) || json_integer_value(gen) < 0)) {
		err_set("expected \"generation\" to be an integer >= 0");
		goto out;
	}
	*generation = gen ? (unsigned long long)json_integer_value(gen) : 0;
	apps = json_object_get(root, "apps");
	if (!json_is_object(apps)) {
		err_set("expected \"apps\" to be an object");
		goto out;
	}
	if (!(specs = calloc(json_object_size(apps) + 1, sizeof(*specs)))) {
		err_set("out of memory");
		goto out;
	}
	json_object_foreach(apps, app, v) {
		if (router__table_entry_parse(&specs[count++], app, v) < 0)
			goto out;
	}
	*out = specs;
	*n = count;
	specs = NULL;
	ret = 0;
out:
	if (specs) {
		for (i = 0; i < count; i++)
			router__route_release(&specs[i]);
		free(specs);
	}
	json_decref(root);
	return ret;
}

static int strings_copy(char ***dst, size_t *ndst, char *const *src, size_t n)
{
	size_t i;

	*ndst = 0;
	if (!(*dst = calloc(n + 1, sizeof(**dst))))
		return err_set("out of memory");
	for (i = 0; i < n; i++) {
		if (!((*dst)[i] = strdup(src[i])))
			return err_set("out of memory");
		(*ndst)++;
	}
	return 0;
}

int router__route_copy(struct route_def *dst, const struct route_def *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->drain_timeout_ms = src->drain_timeout_ms;
	dst->redirect_https = src->redirect_https;
	dst->redirect_set = src->redirect_set;
	dst->max_body_bytes = src->max_body_bytes;
	dst->max_body_set = src->max_body_set;
	dst->max_body_given = src->max_body_given;
	if (!(dst->app = strdup(src->app)))
		return err_set("out of memory");
	if (strings_copy(&dst->domains, &dst->ndomains, src->domains, src->ndomains) < 0 ||
	    strings_copy(&dst->targets, &dst->ntargets, src->targets, src->ntargets) < 0)
		return -1;
	return 0;
}

void router__route_keep_options(struct route_def *next, const struct route_def *cur)
{
	if (cur && !next->redirect_set) {
		next->redirect_https = cur->redirect_https;
		next->redirect_set = cur->redirect_set;
	}
	if (cur && !next->max_body_given) {
		next->max_body_bytes = cur->max_body_bytes;
		next->max_body_set = cur->max_body_set;
	}
}

void router__route_set_options(struct route_def *rs, const struct route_def *opts)
{
	if (opts->redirect_set) {
		rs->redirect_https = opts->redirect_https;
		rs->redirect_set = 1;
	}
	if (opts->max_body_given) {
		rs->max_body_bytes = opts->max_body_bytes;
		rs->max_body_set = opts->max_body_set;
	}
}
