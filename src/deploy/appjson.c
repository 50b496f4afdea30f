/* appjson.c - what a deploy reads from the pushed tree's app.json beyond its
 * checks: the "cron" entries (Dokku's, Heroku Scheduler's jobs) and Dokku's
 * "scripts.dokku" predeploy/postdeploy commands. The text is the pusher's:
 * parsed with caps, every entry validated, a bad one named in the message. */
#include "internal.h"

#include <string.h>

#define CRON_ENTRIES_MAX 100
#define COMMAND_MAX      4096

/* A command is one line of text for /bin/sh -c: no control characters but tab
 * (a newline would hide a second command in a one-line listing). */
static int command_ok(const char *cmd, const char *what, size_t n)
{
	const unsigned char *p;

	if (!*cmd)
		return err_set("%s: the command is empty", what);
	if (n > COMMAND_MAX)
		return err_set("%s: the command is longer than %d bytes", what, COMMAND_MAX);
	for (p = (const unsigned char *)cmd; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return err_set("%s: the command has a control character (one line only)",
				       what);
	return 0;
}

int deploy_cron_id(struct buf *out, const char *schedule, const char *command)
{
	/* FNV-1a over schedule NUL command: stable across pushes for an unchanged
	 * entry, so its last run and exit code carry over to the next release. */
	unsigned long long h = 1469598103934665603ULL;
	const char *parts[2] = { schedule, command };
	size_t i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j <= strlen(parts[i]); j++) {
			h ^= (unsigned char)parts[i][j];
			h *= 1099511628211ULL;
		}
	return buf_addf(out, "%012llx", h & 0xffffffffffffULL);
}

static int cron_entry(json_t *out, const json_t *e, size_t i)
{
	struct buf what = BUF_INIT, id = BUF_INIT;
	struct cron_expr ce;
	const char *sched = json_string_value(json_object_get(e, "schedule"));
	const char *cmd = json_string_value(json_object_get(e, "command"));
	int ret = -1;

	buf_addf(&what, "app.json cron entry %zu", i + 1);
	if (cmd)
		buf_addf(&what, " (\"%.60s%s\")", cmd, strlen(cmd) > 60 ? "…" : "");
	if (!json_is_object(e)) {
		err_set("%s: not an object with \"command\" and \"schedule\"", what.buf);
		goto out;
	}
	if (!cmd || !sched) {
		err_set("%s: needs \"command\" and \"schedule\" strings", what.buf);
		goto out;
	}
	if (command_ok(cmd, what.buf, json_string_length(json_object_get(e, "command"))) < 0)
		goto out;
	if (cron_parse(&ce, sched) < 0) {
		err_prefix("%s: bad schedule \"%.60s\": ", what.buf, sched);
		goto out;
	}
	if (deploy_cron_id(&id, sched, cmd) < 0 ||
	    json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "id", id.buf, "schedule", sched,
						 "command", cmd)) < 0) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	buf_release(&what);
	buf_release(&id);
	return ret;
}

static int parse_cron(const json_t *arr, json_t **out)
{
	const json_t *e;
	size_t i, j;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set("app.json \"cron\" must be an array of {\"command\", \"schedule\"}");
	if (json_array_size(arr) > CRON_ENTRIES_MAX)
		return err_set("app.json has %zu cron entries; at most %d", json_array_size(arr),
			       CRON_ENTRIES_MAX);
	if (!(*out = json_array()))
		return err_set("out of memory");
	json_array_foreach(arr, i, e)
		if (cron_entry(*out, e, i) < 0)
			return -1;
	/* Two equal entries would share an id: one run of each minute is enough. */
	for (i = 0; i < json_array_size(*out); i++)
		for (j = i + 1; j < json_array_size(*out); j++)
			if (json_equal(json_array_get(*out, i), json_array_get(*out, j)))
				return err_set("app.json cron entries %zu and %zu are the same",
					       i + 1, j + 1);
	return 0;
}

static int parse_scripts(const json_t *dokku, json_t **out)
{
	static const char *const names[] = { "predeploy", "postdeploy" };
	size_t i;

	if (!dokku || json_is_null(dokku))
		return 0;
	if (!json_is_object(dokku))
		return err_set("app.json \"scripts\".\"dokku\" must be an object");
	for (i = 0; i < 2; i++) {
		const json_t *v = json_object_get(dokku, names[i]);
		struct buf what = BUF_INIT;
		int bad;
		if (!v || json_is_null(v))
			continue;
		buf_addf(&what, "app.json scripts.dokku.%s", names[i]);
		bad = !json_is_string(v)
			      ? err_set("%s must be a string", what.buf)
			      : command_ok(json_string_value(v), what.buf, json_string_length(v));
		buf_release(&what);
		if (bad < 0)
			return -1;
		if ((!*out && !(*out = json_object())) ||
		    json_object_set(*out, names[i], (json_t *)v) < 0)
			return err_set("out of memory");
	}
	return 0;
}

int deploy_appjson_parse(const char *text, size_t len, json_t **cron, json_t **scripts)
{
	json_error_t jerr;
	json_t *doc;
	int ret = -1;

	*cron = *scripts = NULL;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return err_set("app.json is not valid JSON (line %d: %s)", jerr.line, jerr.text);
	if (!json_is_object(doc)) {
		err_set("app.json must be a JSON object");
		goto out;
	}
	if (parse_cron(json_object_get(doc, "cron"), cron) < 0 ||
	    parse_scripts(json_object_get(json_object_get(doc, "scripts"), "dokku"), scripts) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		json_decref(*cron);
		json_decref(*scripts);
		*cron = *scripts = NULL;
	}
	json_decref(doc);
	return ret;
}

int deploy__appjson_from_dir(const char *dir, json_t **cron, json_t **scripts)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	int ret = -1;

	*cron = *scripts = NULL;
	if (buf_addf(&p, "%s/app.json", dir) < 0)
		goto out;
	if (!fs_exists(p.buf)) {
		ret = 0;
		goto out;
	}
	if (fs_read_regular(p.buf, &text, 1u << 20) < 0 ||
	    deploy_appjson_parse(text.buf, text.len, cron, scripts) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	buf_release(&text);
	return ret;
}
