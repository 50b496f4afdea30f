/* src/docker/containers.c - containers: create, start, stop, remove, inspect,
 * list, logs, archives, commit, wait, resize, restart policy. */
#include "docker/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- containers --------------------------------------------------------------- */

int docker__container_path(struct buf *p, const char *id, const char *suffix)
{
	if (!id || !*id)
		return err_set("empty container id");
	if (buf_addstr(p, "/containers/") < 0 || docker_urlencode(p, id) < 0)
		return -1;
	return buf_addstr(p, suffix);
}

/* Plugins' extra options: Config keys go to the top level and HostConfig keys
 * into HostConfig, each only where wharf set nothing; Env is appended and
 * Labels only add, so what wharf sets (PORT, the wharf.* labels, the
 * network, the capabilities and limits, Init, a User) stays as it is. */
static int merge_extra(json_t *b, const json_t *extra)
{
	json_t *hc = json_object_get(b, "HostConfig"), *v;
	const char *k;

	json_object_foreach(json_object_get(extra, "Config"), k, v) {
		if (!strcmp(k, "Env") && json_array_extend(json_object_get(b, "Env"), v) < 0)
			return -1;
		if (!strcmp(k, "Labels") &&
		    json_object_update_missing(json_object_get(b, "Labels"), v) < 0)
			return -1;
		if (strcmp(k, "Env") && strcmp(k, "Labels") && !json_object_get(b, k) &&
		    json_object_set(b, k, v) < 0)
			return -1;
	}
	json_object_foreach(json_object_get(extra, "HostConfig"), k, v)
		if (!json_object_get(hc, k) && json_object_set(hc, k, v) < 0)
			return -1;
	return 0;
}

/* What every container is held to (docs/security.md): every capability dropped but
 * those a root process that changes users and owns files needs (NET_RAW,
 * NET_BIND_SERVICE, MKNOD, SYS_CHROOT, SETFCAP, SETPCAP and AUDIT_WRITE of Docker's
 * default set are gone), no privilege gained through setuid binaries, a pids limit,
 * and Docker's log rotation. What wharf sets here, plugins cannot override. */
static json_t *hardening(const struct container_spec *spec)
{
	return json_pack("{s:[s], s:[s,s,s,s,s,s,s], s:[s], s:I, s:{s:s, s:{s:s, s:s}}}", "CapDrop",
			 "ALL", "CapAdd", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
			 "SETGID", "SETUID", "SecurityOpt", "no-new-privileges", "PidsLimit",
			 (json_int_t)(spec->pids_limit ? spec->pids_limit
						       : DOCKER_PIDS_LIMIT_DEFAULT),
			 "LogConfig", "Type", "json-file", "Config", "max-size",
			 spec->log_max_size ? spec->log_max_size : DOCKER_LOG_MAX_SIZE, "max-file",
			 spec->log_max_file ? spec->log_max_file : DOCKER_LOG_MAX_FILE);
}

static json_t *create_body(const struct container_spec *spec)
{
	json_t *hc;
	json_t *b =
		json_pack("{s:s, s:o, s:o, s:{s:s, s:{s:s}, s:b}}", "Image", spec->image, "Env",
			  docker__string_array(spec->env), "Labels",
			  spec->labels ? json_deep_copy(spec->labels) : json_object(), "HostConfig",
			  "NetworkMode", spec->network ? spec->network : "none", "RestartPolicy",
			  "Name", spec->restart_policy ? spec->restart_policy : "no", "Init",
			  spec->init);
	json_t *hard = hardening(spec);

	if (!b || !hard || json_object_update(json_object_get(b, "HostConfig"), hard) < 0) {
		json_decref(hard);
		json_decref(b);
		return NULL;
	}
	json_decref(hard);
	if ((spec->cmd && json_object_set_new(b, "Cmd", docker__string_array(spec->cmd)) < 0) ||
	    (spec->entrypoint &&
	     json_object_set_new(b, "Entrypoint", docker__string_array(spec->entrypoint)) < 0) ||
	    (spec->working_dir &&
	     json_object_set_new(b, "WorkingDir", json_string(spec->working_dir)) < 0) ||
	    (spec->user && json_object_set_new(b, "User", json_string(spec->user)) < 0) ||
	    (spec->binds && json_object_set_new(json_object_get(b, "HostConfig"), "Binds",
						docker__string_array(spec->binds)) < 0) ||
	    (spec->extra && merge_extra(b, spec->extra) < 0)) {
		json_decref(b);
		return NULL;
	}
	hc = json_object_get(b, "HostConfig");
	if ((spec->restart_max_retry &&
	     json_object_set_new(json_object_get(hc, "RestartPolicy"), "MaximumRetryCount",
				 json_integer(spec->restart_max_retry)) < 0) ||
	    (spec->memory && json_object_set_new(hc, "Memory", json_integer(spec->memory)) < 0) ||
	    (spec->nano_cpus &&
	     json_object_set_new(hc, "NanoCpus", json_integer(spec->nano_cpus)) < 0) ||
	    (spec->tty && json_object_set_new(b, "Tty", json_true()) < 0) ||
	    (spec->open_stdin && (json_object_set_new(b, "OpenStdin", json_true()) < 0 ||
				  json_object_set_new(b, "StdinOnce", json_true()) < 0 ||
				  json_object_set_new(b, "AttachStdin", json_true()) < 0))) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* A name already in use gives -1 with the daemon's 409 message ("Conflict. The
 * container name "/x" is already in use by container …"). */
int docker_container_create(struct docker *d, const struct container_spec *spec, struct buf *id_out)
{
	struct buf p = BUF_INIT;
	json_t *body = NULL, *reply = NULL;
	const char *id;
	int ret = -1;

	buf_reset(id_out);
	if (!spec->image || !*spec->image)
		return err_set("a container needs an image");
	if (buf_addstr(&p, "/containers/create") < 0)
		goto out;
	if (spec->name && (buf_addstr(&p, "?name=") < 0 || docker_urlencode(&p, spec->name) < 0))
		goto out;
	if (spec->labels && !json_is_object(spec->labels)) {
		err_set("container labels must be a JSON object");
		goto out;
	}
	if (!(body = create_body(spec))) {
		err_set("cannot build the container request (bad image, env or cmd)");
		goto out;
	}
	if (docker_call(d, "POST", p.buf, body, &reply, NULL) < 0)
		goto out;
	id = json_str(reply, "Id", NULL);
	if (!id || !*id) {
		err_set("Docker created a container but sent no id");
		goto out;
	}
	ret = buf_addstr(id_out, id);
out:
	json_decref(reply);
	json_decref(body);
	buf_release(&p);
	return ret;
}

/* POSTs to a container action; 304 (already in that state) counts as done. */
static int container_action(struct docker *d, const char *id, const char *suffix)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (docker__container_path(&p, id, suffix) < 0)
		goto out;
	if (docker__call_allowing(d, "POST", p.buf, 304, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_container_start(struct docker *d, const char *id)
{
	return container_action(d, id, "/start");
}

int docker_container_stop(struct docker *d, const char *id, int timeout_s)
{
	char suffix[32];

	if (timeout_s >= 0)
		snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	else
		snprintf(suffix, sizeof(suffix), "/stop");
	return container_action(d, id, suffix);
}

/* A container that is already gone counts as removed. */
int docker_container_remove(struct docker *d, const char *id, int force)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (docker__container_path(&p, id, force ? "?force=1&v=1" : "?v=1") < 0)
		goto out;
	if (docker__call_allowing(d, "DELETE", p.buf, 404, NULL) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_container_inspect(struct docker *d, const char *id, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (docker__container_path(&p, id, "/json") < 0)
		goto out;
	ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_container_list(struct docker *d, const char **labels, int all, json_t **out)
{
	json_t *filters = NULL;
	char path[32];
	int ret;

	*out = NULL;
	if (labels && labels[0] &&
	    !(filters = json_pack("{s:o}", "label", docker__string_array(labels))))
		return err_set("cannot build the container filter (bad label)");
	snprintf(path, sizeof(path), "/containers/json?all=%d", all ? 1 : 0);
	ret = docker__list(d, path, filters, "container", out);
	json_decref(filters);
	return ret;
}

struct logs_ctx {
	int tty;
	struct docker__demux dm;
	docker_output_fn *fn;
	void *data;
};

static int logs_chunk(const char *data, size_t len, void *ud)
{
	struct logs_ctx *c = ud;

	if (c->tty)
		return c->fn(1, data, len, c->data) < 0 ? -1 : 0;
	return docker__demux_feed(&c->dm, data, len, c->fn, c->data) < 0 ? -1 : 0;
}

int docker_container_logs(struct docker *d, const char *id, int follow, int tail, int timestamps,
			  docker_output_fn *fn, void *data)
{
	return docker_container_logs_since(d, id, follow, tail, timestamps, 0, fn, data);
}

int docker_container_logs_since(struct docker *d, const char *id, int follow, int tail,
				int timestamps, long long since, docker_output_fn *fn, void *data)
{
	struct logs_ctx c = { .dm = DOCKER__DEMUX_INIT, .fn = fn, .data = data };
	struct buf p = BUF_INIT;
	json_t *info = NULL;
	int ret = -1;

	/* A TTY container's log is one raw stream; only inspect can tell. */
	if (docker_container_inspect(d, id, &info) < 0)
		goto out;
	c.tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	if (docker__container_path(&p, id, "/logs?stdout=1&stderr=1") < 0)
		goto out;
	if (buf_addf(&p, "&follow=%d&timestamps=%d", follow ? 1 : 0, timestamps ? 1 : 0) < 0)
		goto out;
	if ((tail >= 0 ? buf_addf(&p, "&tail=%d", tail) : buf_addstr(&p, "&tail=all")) < 0)
		goto out;
	if (since > 0 && buf_addf(&p, "&since=%lld", since) < 0)
		goto out;
	if (docker__stream(d, "GET", p.buf, NULL, -1, logs_chunk, &c, NULL) < 0)
		goto out;
	ret = 0;
out:
	json_decref(info);
	buf_release(&p);
	return ret;
}

/* Discards a streamed reply body (PUT archive answers with an empty one). */
static int discard_chunk(const char *data, size_t len, void *ud)
{
	(void)data;
	(void)len;
	(void)ud;
	return 0;
}

int docker_container_put_archive(struct docker *d, const char *id, const char *path, int tar_fd)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (!path || path[0] != '/')
		return err_set("an archive must go to an absolute path in the container");
	if (docker__container_path(&p, id, "/archive?path=") < 0 || docker_urlencode(&p, path) < 0)
		goto out;
	ret = docker__stream(d, "PUT", p.buf, "application/x-tar", tar_fd, discard_chunk, NULL,
			     NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_image_has_file(struct docker *d, const char *image, const json_t *labels,
			  const char *path, int *has)
{
	struct buf p = BUF_INIT;
	json_t *body, *reply = NULL;
	const char *id;
	long status = 0;
	int ret = -1;

	*has = 0;
	if (!path || path[0] != '/')
		return err_set("a path in an image must be absolute");
	/* Created, never started: nothing runs, and no network is made for it. */
	body = json_pack("{s:s, s:O, s:b, s:[s], s:{s:s}}", "Image", image, "Labels", labels,
			 "NetworkDisabled", 1, "Entrypoint", path, "HostConfig", "NetworkMode",
			 "none");
	if (!body) {
		err_set("out of memory");
		goto out;
	}
	if (docker_call(d, "POST", "/containers/create", body, &reply, NULL) < 0)
		goto out;
	if (!(id = json_str(reply, "Id", NULL))) {
		err_set("Docker created a container without an id");
		goto out;
	}
	if (docker__container_path(&p, id, "/archive?path=") < 0 || docker_urlencode(&p, path) < 0)
		goto rm;
	if (docker_call(d, "HEAD", p.buf, NULL, NULL, &status) == 0)
		*has = 1;
	else if (status == 404)
		err_clear(); /* handled: no such file */
	else
		goto rm;
	ret = 0;
rm:
	if (docker_container_remove(d, id, 1) < 0 && ret == 0)
		ret = -1;
out:
	json_decref(body);
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_container_commit(struct docker *d, const char *id, const char *repo, const char *tag,
			    const json_t *config, struct buf *image_id)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	const char *img;
	int ret = -1;

	buf_reset(image_id);
	if (!id || !*id)
		return err_set("empty container id");
	if (buf_addstr(&p, "/commit?container=") < 0 || docker_urlencode(&p, id) < 0)
		goto out;
	if (repo && (buf_addstr(&p, "&repo=") < 0 || docker_urlencode(&p, repo) < 0))
		goto out;
	if (tag && (buf_addstr(&p, "&tag=") < 0 || docker_urlencode(&p, tag) < 0))
		goto out;
	/* pause=0: the builder has exited; there is nothing to freeze. */
	if (buf_addstr(&p, "&pause=0") < 0)
		goto out;
	if (docker_call(d, "POST", p.buf, config, &reply, NULL) < 0)
		goto out;
	img = json_str(reply, "Id", NULL);
	if (!img || !*img) {
		err_set("Docker committed the container but sent no image id");
		goto out;
	}
	ret = buf_addstr(image_id, img);
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_container_wait(struct docker *d, const char *id, long long *code)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	int ret = -1;

	*code = -1;
	if (docker__container_path(&p, id, "/wait") < 0 ||
	    docker_call(d, "POST", p.buf, NULL, &reply, NULL) < 0)
		goto out;
	*code = json_int(reply, "StatusCode", -1);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_resize(struct docker *d, const char *kind, const char *id, int rows, int cols)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (!id || !*id || (strcmp(kind, "containers") && strcmp(kind, "exec")))
		return err_set("bad resize target");
	if (buf_addf(&p, "/%s/", kind) < 0 || docker_urlencode(&p, id) < 0 ||
	    buf_addf(&p, "/resize?h=%d&w=%d", rows, cols) < 0)
		goto out;
	ret = docker_call(d, "POST", p.buf, NULL, NULL, NULL);
out:
	buf_release(&p);
	return ret;
}

int docker_container_set_restart(struct docker *d, const char *id, const char *name, int max_retry)
{
	struct buf p = BUF_INIT;
	json_t *body = json_pack("{s:{s:s,s:i}}", "RestartPolicy", "Name", name,
				 "MaximumRetryCount", max_retry);
	int ret = -1;

	if (!body) {
		err_set("bad restart policy");
		goto out;
	}
	if (docker__container_path(&p, id, "/update") < 0)
		goto out;
	ret = docker_call(d, "POST", p.buf, body, NULL, NULL);
out:
	json_decref(body);
	buf_release(&p);
	return ret;
}
