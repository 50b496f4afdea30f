/* actions.c - the control API's per-app actions: pause, resume, maintenance and options,
 * and the parsing of their bodies apart from any connection (fuzz_control_json.c). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- action bodies: parsed apart from any connection (fuzz_control_json.c) ---------- */

#define PAUSE_MAX_MS_DEFAULT 30000
#define MAINTENANCE_MSG_MAX  4096

json_t *router__action_body(const char *body, size_t blen, const char *const *allowed)
{
	const char *key, *const *k;
	json_error_t jerr;
	json_t *j, *v;

	if (!blen)
		return json_object();
	j = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		err_set("the body must be a JSON object%s%s", j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	json_object_foreach(j, key, v) {
		for (k = allowed; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			err_set("unknown key '%.80s'", key);
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

int router__pause_parse(const char *body, size_t len, int resume, unsigned *max_ms)
{
	static const char *const keys[] = { "max_ms", NULL };
	json_t *j = router__action_body(body, len, resume ? keys + 1 : keys), *v;
	int ret = -1;

	if (!j)
		return -1;
	*max_ms = PAUSE_MAX_MS_DEFAULT;
	if ((v = json_object_get(j, "max_ms"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 3600000) {
			err_set("max_ms must be an integer in 0..3600000");
			goto out;
		}
		*max_ms = (unsigned)json_integer_value(v);
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

int router__maintenance_parse(const char *body, size_t len, int *enabled, char **message)
{
	static const char *const keys[] = { "enabled", "message", NULL };
	json_t *j = router__action_body(body, len, keys), *v;
	int ret = -1;

	*message = NULL;
	if (!j)
		return -1;
	if ((v = json_object_get(j, "enabled"))) {
		if (!json_is_boolean(v)) {
			err_set("enabled must be true or false");
			goto out;
		}
		*enabled = json_is_true(v);
	}
	if ((v = json_object_get(j, "message"))) {
		if (!json_is_string(v) || json_string_length(v) > MAINTENANCE_MSG_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			err_set("message must be a string of at most 4096 bytes");
			goto out;
		}
		if (*enabled && !(*message = strdup(json_string_value(v)))) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

int router__options_parse(struct route_def *spec, const char *body, size_t len)
{
	static const char *const keys[] = { "redirect_https", "max_body_bytes", NULL };
	json_t *j = router__action_body(body, len, keys);
	int ret;

	if (!j)
		return -1;
	ret = router__route_options(spec, j);
	json_decref(j);
	return ret;
}

/* GET /apps/<app>/options; PUT with {"redirect_https": bool, "max_body_bytes":
 * n|null}, either or both: changes those, persisted in the table, kept across
 * the route PUTs of deploys. An app the router does not serve yet gets an entry
 * with no domains and no targets, so options can be set before a first deploy. */
/* The write carrying the options is on disk (or failed): apply and answer. */
static void options_persisted(struct router *r, int status, const char *why, void *data)
{
	struct cwait *w = data;
	struct app *a = router__app_find(r, w->app);
	struct target **retired = NULL;
	size_t nretired = 0;
	json_t *answer = NULL;
	char msg[512];

	if (status < 0) {
		snprintf(msg, sizeof(msg), "cannot save the router table: %s", why);
		if (w->cc)
			router__cconn_error(w->cc, 500, msg);
		goto out;
	}
	if (a) {
		router__route_set_options(&a->spec, &w->spec);
	} else if (router__app_apply(r, &w->spec, &retired, &nretired) < 0) {
		if (w->cc)
			router__cconn_error(w->cc, 500, err_msg());
		goto out;
	}
	free(retired);
	if ((a = router__app_find(r, w->app)))
		answer = json_pack("{s:s, s:o}", "app", w->app, "options",
				   router__route_options_json(&a->spec));
	if (w->cc)
		router__cconn_answer(w->cc, 200, answer);
	else
		json_decref(answer);
out:
	router__cwait_free(w);
}

static void handle_options(struct cconn *cc, const char *app, const char *body, size_t blen)
{
	struct router *r = cc->r;
	struct app *a = router__app_find(r, app);
	struct cwait *w = NULL;

	if (cc->frame.head.method == HTTP_GET) {
		if (a)
			router__cconn_answer(cc, 200,
					     json_pack("{s:s, s:o}", "app", app, "options",
						       router__route_options_json(&a->spec)));
		else
			router__cconn_error(cc, 404, "no such app");
		return;
	}
	if (cc->frame.head.method != HTTP_PUT) {
		router__cconn_error(cc, 405, "use GET or PUT");
		return;
	}
	/* w->spec holds only the options given: the writer and options_persisted() set
	 * those on the app's route as it is then. */
	if (!(w = router__cwait_new(cc, app))) {
		router__cconn_error(cc, 500, "out of memory");
		return;
	}
	if (router__options_parse(&w->spec, body, blen) < 0) {
		router__cwait_free(w);
		router__cconn_error(cc, 400, err_msg());
		return;
	}
	if (router__persist_submit(r, ROUTER_PERSIST_OPTIONS, &w->spec, options_persisted, w) < 0) {
		err_prefix("cannot save the router table: ");
		router__cwait_free(w);
		router__cconn_error(cc, 500, err_msg());
	}
}

/* POST /apps/<app>/pause {"max_ms": N}, POST /apps/<app>/resume,
 * POST /apps/<app>/maintenance {"enabled": bool, "message": "…"},
 * DELETE /apps/<app>/maintenance. */
void router__control_action(struct cconn *cc, const char *app, const char *action, const char *body,
			    size_t blen)
{
	struct app *a = router__app_find(cc->r, app);
	int m = cc->frame.head.method;
	unsigned max;
	size_t n;

	if (!strcmp(action, "cert")) {
		router__control_cert(cc, app, body, blen);
		return;
	}
	if (!strcmp(action, "options")) {
		handle_options(cc, app, body, blen);
		return;
	}
	if (strcmp(action, "pause") && strcmp(action, "resume") && strcmp(action, "maintenance")) {
		router__cconn_error(cc, 404, "not found");
		return;
	}
	if (m != HTTP_POST && !(m == HTTP_DELETE && !strcmp(action, "maintenance"))) {
		router__cconn_error(cc, 405,
				    !strcmp(action, "maintenance") ? "use POST or DELETE"
								   : "use POST");
		return;
	}
	if (!a) {
		router__cconn_error(cc, 404, "no such app");
		return;
	}
	if (!strcmp(action, "pause")) {
		if (router__pause_parse(body, blen, 0, &max) < 0) {
			router__cconn_error(cc, 400, err_msg());
			return;
		}
		a->paused = 1;
		a->pause_max_ms = max;
		router__cconn_answer(cc, 200,
				     json_pack("{s:s, s:b, s:I}", "app", app, "paused", 1, "max_ms",
					       (json_int_t)max));
	} else if (!strcmp(action, "resume")) {
		if (router__pause_parse(body, blen, 1, &max) < 0) {
			router__cconn_error(cc, 400, err_msg());
			return;
		}
		a->paused = 0;
		n = router__app_release_held(a);
		router__cconn_answer(cc, 200,
				     json_pack("{s:s, s:b, s:I}", "app", app, "paused", 0,
					       "released", (json_int_t)n));
	} else {
		int enabled = m == HTTP_POST;
		char *text = NULL;

		if (router__maintenance_parse(body, m == HTTP_DELETE ? 0 : blen, &enabled, &text) <
		    0) {
			router__cconn_error(cc, 400, err_msg());
			return;
		}
		free(a->maintenance_msg);
		a->maintenance_msg = text;
		a->maintenance = enabled;
		/* Requests held by a pause now get the page too. */
		if (enabled)
			(void)router__app_release_held(a);
		router__cconn_answer(cc, 200,
				     json_pack("{s:s, s:b}", "app", app, "maintenance", enabled));
	}
}
