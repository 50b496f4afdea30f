/* src/build/buildpacks.c - the buildpacks builder: run the Heroku buildpack API in a
 * builder container made from the stack image, then commit it as the release image. */
#include "build/internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <git2.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where things are inside the builder container (and so in the committed image).
 * The bundled buildpacks, the per-app cache and ENV_DIR are bind mounts, which a
 * commit leaves out: config vars never end up in an image. */
#define CT_BUILDPACKS "/tmp/buildpacks"
#define CT_CACHE      "/cache"
#define CT_ENV        "/tmp/env"
#define CT_APP        "/app"
#define CT_DRIVER     CT_BUILDPACKS "/.wharf/build"

/* The host's CA bundle (Debian's path, the stack's too). */
#define HOST_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* The build driver ends with this line naming the release's process types. */
static const char types_marker[] = "__wharf_process_types__";

/* At most this many buildpacks in one chain. */
#define CHAIN_MAX 16

/* After the TERM at the deadline, the builder's processes get this long before KILL. */
#define BUILD_TIMEOUT_GRACE 5
#define STR_(x)             #x
#define STR(x)              STR_(x)

/* ---- locations ---------------------------------------------------------------- */

/* 1 when dir holds the bundled buildpacks (their build driver is there). */
static int is_buildpacks_dir(const char *dir)
{
	struct buf p = BUF_INIT;
	int ok = buf_addf(&p, "%s/.wharf/build", dir) == 0 && fs_exists(p.buf);

	buf_release(&p);
	return ok;
}

int build_buildpacks_dir(struct buf *out)
{
	const char *env = getenv("WHARF_BUILDPACKS_DIR");
	char exe[4096], *dir;
	ssize_t n;

	if (env && *env) {
		if (!is_buildpacks_dir(env))
			return err_set("WHARF_BUILDPACKS_DIR=%s holds no .wharf/build", env);
		return buf_addstr(out, env);
	}
	/* From a checkout, bin/wharf finds ../buildpacks beside it; installed under
	 * any PREFIX, PREFIX/bin/wharf finds ../share/wharf/buildpacks. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		static const char *const rel[] = { "../buildpacks", "../share/wharf/buildpacks" };
		size_t i;
		exe[n] = '\0';
		dir = dirname(exe);
		for (i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
			struct buf p = BUF_INIT;
			if (buf_addf(&p, "%s/%s", dir, rel[i]) == 0 && is_buildpacks_dir(p.buf)) {
				char *real = realpath(p.buf, NULL);
				int r = buf_addstr(out, real ? real : p.buf);
				free(real);
				buf_release(&p);
				return r;
			}
			buf_release(&p);
		}
	}
	if (is_buildpacks_dir(BUILD_BUILDPACKS_INSTALLED))
		return buf_addstr(out, BUILD_BUILDPACKS_INSTALLED);
	return err_set("cannot find the bundled buildpacks (looked beside the wharf binary and "
		       "in %s): run `make install`",
		       BUILD_BUILDPACKS_INSTALLED);
}

int build_cache_dir(struct buf *out, const char *app)
{
	if (valid_app_name(app) < 0)
		return -1;
	return buf_addf(out, "%s/cache/%s", wharf_root(), app);
}

int build_purge_cache(const char *app)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (build_cache_dir(&p, app) < 0)
		goto out;
	ret = fs_rm_rf(p.buf);
out:
	buf_release(&p);
	return ret;
}

void build_forget_app(struct docker *d, const char *app)
{
	struct buf p = BUF_INIT, tag = BUF_INIT, repo = BUF_INIT;

	/* Only a tag of this app's own repository: the file is in a dir the build
	 * user writes. */
	if (build_cache_dir(&p, app) == 0 && buf_addstr(&p, "/deps-layer") == 0 &&
	    buf_addf(&repo, "wharf/%s:deps-", app) == 0 && fs_exists(p.buf) &&
	    fs_read_file(p.buf, &tag, 4096) == 0 && !strncmp(tag.buf, repo.buf, repo.len) &&
	    !strchr(tag.buf + repo.len, ':') && !strchr(tag.buf + repo.len, '/'))
		docker_image_remove(d, tag.buf, 0);
	build_purge_cache(app);
	err_clear(); /* handled: best effort, forgetting an app never fails its destroy */
	buf_release(&p);
	buf_release(&tag);
	buf_release(&repo);
}

/* ---- buildpack references ------------------------------------------------------ */

static int bundled_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 64 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return 1;
}

int build_buildpack_check(const char *ref)
{
	static const char *const schemes[] = { "https://", "http://", "git://",
					       "ssh://",   "file://", NULL };
	size_t i;

	if (!ref || !*ref)
		return err_set("empty buildpack");
	if (strlen(ref) > 1024)
		return err_set("buildpack URL longer than 1024 bytes");
	for (i = 0; ref[i]; i++)
		if ((unsigned char)ref[i] <= 0x20 || ref[i] == 0x7f)
			return err_set("buildpack '%s' contains a blank or control character", ref);
	if (bundled_name(ref))
		return 0;
	if (ref[0] == '/')
		return 0; /* a git repository on this host */
	for (i = 0; schemes[i]; i++)
		if (!strncmp(ref, schemes[i], strlen(schemes[i])) && ref[strlen(schemes[i])])
			return 0;
	return err_set("buildpack '%s' is neither a bundled one (nodejs, python, static, "
		       "procfile) nor a git URL (https://, http://, git://, ssh://, file://, or "
		       "an absolute path; #ref selects a branch or tag)",
		       ref);
}

int build_buildpack_is_local(const char *ref)
{
	return ref[0] == '/' || !strncmp(ref, "file://", 7);
}

/* Clones url (with an optional "#ref") into dest, replacing what was there. */
static int fetch_buildpack(const char *ref, const char *dest)
{
	git_clone_options opts;
	git_checkout_options co;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	struct buf url = BUF_INIT, spec = BUF_INIT;
	const char *hash = strrchr(ref, '#');
	int ret = -1;

	git_libgit2_init();
	/* The _init() functions, not the macros: those leave fields to zero, which
	 * -Wextra reports. */
	git_clone_options_init(&opts, GIT_CLONE_OPTIONS_VERSION);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	if (buf_add(&url, ref, hash ? (size_t)(hash - ref) : strlen(ref)) < 0)
		goto out;
	if (fs_rm_rf(dest) < 0)
		goto out;
	opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_SAFE;
	if (git_clone(&repo, url.buf, dest, &opts) < 0) {
		const git_error *e = git_error_last();
		err_set("cannot fetch the buildpack %s: %s", url.buf, e ? e->message : "git error");
		goto out;
	}
	if (hash && hash[1]) {
		/* A branch exists as origin/<ref> after a clone; a tag or commit as is. */
		if (buf_addf(&spec, "origin/%s", hash + 1) < 0)
			goto out;
		if (git_revparse_single(&obj, repo, spec.buf) < 0 &&
		    git_revparse_single(&obj, repo, hash + 1) < 0) {
			err_set("buildpack %s has no branch, tag or commit '%s'", url.buf,
				hash + 1);
			goto out;
		}
		co.checkout_strategy = GIT_CHECKOUT_FORCE;
		if (git_checkout_tree(repo, obj, &co) < 0 ||
		    git_repository_set_head_detached(repo, git_object_id(obj)) < 0) {
			const git_error *e = git_error_last();
			err_set("cannot check out '%s' of the buildpack %s: %s", hash + 1, url.buf,
				e ? e->message : "git error");
			goto out;
		}
	}
	ret = 0;
out:
	git_object_free(obj);
	git_repository_free(repo);
	buf_release(&url);
	buf_release(&spec);
	return ret;
}

/* Appends to chain the buildpacks named by the tree's .buildpacks file (one a line;
 * blank lines and '#' comments skipped). */
static int dot_buildpacks(const char *dir, json_t *chain)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	struct stat st;
	char *line, *save = NULL;
	int ret = -1;

	if (buf_addf(&p, "%s/.buildpacks", dir) < 0)
		goto out;
	if (lstat(p.buf, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = 0;
		goto out;
	}
	if (fs_read_file(p.buf, &text, 64 << 10) < 0)
		goto out;
	for (line = strtok_r(text.buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (json_array_append_new(chain, json_string(line)) < 0) {
			err_set(".buildpacks holds a line that is not UTF-8");
			goto out;
		}
	}
	ret = 0;
out:
	buf_release(&text);
	buf_release(&p);
	return ret;
}

/* The chain this build uses: the app's list, else .buildpacks, else BUILDPACK_URL;
 * empty means "detect among the bundled ones". */
static int resolve_chain(const struct build_bp_opts *o, json_t **out)
{
	json_t *chain = json_array(), *v;
	const char *url;
	size_t i;

	*out = NULL;
	if (!chain)
		return err_set("out of memory");
	if (json_array_size(o->buildpacks)) {
		json_array_foreach(o->buildpacks, i, v)
			if (json_is_string(v))
				json_array_append(chain, v);
	} else if (dot_buildpacks(o->dir, chain) < 0) {
		json_decref(chain);
		return -1;
	} else if (!json_array_size(chain) && (url = json_str(o->config, "BUILDPACK_URL", NULL)) &&
		   *url) {
		json_array_append_new(chain, json_string(url));
	}
	if (json_array_size(chain) > CHAIN_MAX) {
		json_decref(chain);
		return err_set("at most %d buildpacks can be chained", CHAIN_MAX);
	}
	json_array_foreach(chain, i, v) {
		const char *ref = json_string_value(v);
		if (build_buildpack_check(ref) < 0) {
			json_decref(chain);
			return -1;
		}
		/* A pushed .buildpacks or a BUILDPACK_URL set over ssh must not make the
		 * builder read a repository of this host (another app's repo.git): local
		 * buildpacks come only from buildpacks:add run on the server. */
		if (!json_array_size(o->buildpacks) && build_buildpack_is_local(ref)) {
			/* ref lives in chain: the message is made before chain goes. */
			err_set("buildpack '%s' is a path on the server: only `wharf "
				"buildpacks:add` run on the server may name one",
				ref);
			json_decref(chain);
			return -1;
		}
	}
	*out = chain;
	return 0;
}

/* Turns each reference of chain into the buildpack's path inside the builder,
 * fetching git ones into <cache>/buildpacks/<n>. Appends to argv (strings the
 * caller frees via the array). */
static int chain_paths(const json_t *chain, const char *bpdir, const char *cache, json_t *paths)
{
	struct buf host = BUF_INIT, ct = BUF_INIT;
	json_t *v;
	size_t i;
	int ret = -1;

	json_array_foreach(chain, i, v) {
		const char *ref = json_string_value(v);

		buf_reset(&host);
		buf_reset(&ct);
		if (bundled_name(ref)) {
			if (buf_addf(&host, "%s/%s/bin/compile", bpdir, ref) < 0)
				goto out;
			if (!fs_exists(host.buf)) {
				err_set("there is no bundled buildpack '%s'", ref);
				goto out;
			}
			if (buf_addf(&ct, CT_BUILDPACKS "/%s", ref) < 0)
				goto out;
		} else {
			if (buf_addf(&host, "%s/buildpacks/%zu", cache, i) < 0 ||
			    buf_addf(&ct, CT_CACHE "/buildpacks/%zu", i) < 0)
				goto out;
			say_step("Fetching buildpack %s", ref);
			if (fs_mkdir_p(dirname(host.buf), 0755) < 0)
				goto out;
			buf_reset(&host);
			if (buf_addf(&host, "%s/buildpacks/%zu", cache, i) < 0 ||
			    fetch_buildpack(ref, host.buf) < 0)
				goto out;
		}
		if (json_array_append_new(paths, json_string(ct.buf)) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	buf_release(&host);
	buf_release(&ct);
	return ret;
}

/* ---- ENV_DIR ------------------------------------------------------------------ */

/* Writes one file per config var (name = key, content = value) into dir. */
static int write_env_dir(const char *dir, const json_t *config)
{
	struct buf p = BUF_INIT;
	const char *k;
	json_t *v;
	int ret = -1;

	json_object_foreach((json_t *)config, k, v) {
		const char *s = json_string_value(v);
		/* Keys were validated by config:set; check again, they become paths. */
		if (!s || valid_config_key(k) < 0)
			continue;
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", dir, k) < 0 ||
		    fs_write_atomic(p.buf, s, strlen(s), 0600) < 0)
			goto out;
	}
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

/* ---- output of the builder ----------------------------------------------------- */

struct bp_output {
	struct buf line; /* not yet ended by a newline */
	json_t *types;   /* from the marker line */
};

static void bp_line(struct bp_output *o, const char *s, size_t n)
{
	size_t m = sizeof(types_marker) - 1;

	if (n >= m && !memcmp(s, types_marker, m)) {
		struct buf copy = BUF_INIT;
		char *tok, *save = NULL;
		json_decref(o->types);
		o->types = json_array();
		if (buf_add(&copy, s + m, n - m) == 0)
			for (tok = strtok_r(copy.buf, " \t", &save); tok;
			     tok = strtok_r(NULL, " \t", &save))
				json_array_append_new(o->types, json_string(tok));
		buf_release(&copy);
		return;
	}
	/* Buildpacks already write "-----> " and 7-space lines: pass them as they are. */
	say_lines("", s, n);
}

static int bp_chunk(int stream, const char *data, size_t len, void *ud)
{
	struct bp_output *o = ud;
	size_t i, start = 0;

	(void)stream; /* the driver sends stderr to stdout */
	if (buf_add(&o->line, data, len) < 0)
		return -1;
	for (i = 0; i < o->line.len; i++) {
		if (o->line.buf[i] != '\n')
			continue;
		bp_line(o, o->line.buf + start, i - start);
		start = i + 1;
	}
	buf_remove_front(&o->line, start);
	if (o->line.len > 65536) {
		bp_line(o, o->line.buf, o->line.len);
		buf_reset(&o->line);
	}
	return 0;
}

/* ---- the build ------------------------------------------------------------------ */

/* A temporary file for the source tar (rewindable, known length). */
static int tar_file(const char *near)
{
	struct buf path = BUF_INIT;
	int fd = open(near, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (buf_addf(&path, "%s/wharf-src-XXXXXX", near) < 0)
		return -1;
	fd = mkostemp(path.buf, O_CLOEXEC);
	if (fd < 0)
		err_set_errno("cannot create a temporary file in '%s'", near);
	else
		unlink(path.buf);
	buf_release(&path);
	return fd;
}

/* Processes of a launcher image: type -> ["/wharf/launch", type]. */
static int launcher_processes(const json_t *types, json_t **out)
{
	json_t *v;
	size_t i;

	if (!(*out = json_object()))
		return err_set("out of memory");
	json_array_foreach(types, i, v) {
		const char *t = json_string_value(v);
		if (!t ||
		    json_object_set_new(*out, t, json_pack("[s,s]", "/wharf/launch", t)) < 0) {
			json_decref(*out);
			*out = NULL;
			return err_set("out of memory");
		}
	}
	return 0;
}

/* Says how large the image is and how much of it the app's layer adds to the
 * stack (shared by every buildpack app). Only informative: errors are dropped. */
static void report_size(struct docker *d, const char *image, const char *stack)
{
	json_t *img = NULL, *st = NULL;

	if (docker_image_inspect(d, image, &img) == 0 && docker_image_inspect(d, stack, &st) == 0) {
		double mb = 1024.0 * 1024.0, total = (double)json_int(img, "Size", 0) / mb,
		       base = (double)json_int(st, "Size", 0) / mb;
		say_detail("image %.0f MB: the stack's %.0f MB (shared) + %.1f MB for the app",
			   total, base, total - base);
	}
	err_clear(); /* handled: only informative (see above) */
	json_decref(img);
	json_decref(st);
}

struct builder {
	struct buf bpdir, cache, envdir, parent, id, owner, secs;
	json_t *chain, *paths;
	const char **cmd;
	int src_fd;
};

static void builder_release(struct docker *d, struct builder *b)
{
	if (b->id.len && docker_container_remove(d, b->id.buf, 1) < 0)
		say_warn("could not remove the builder container %.12s: %s", b->id.buf, err_msg());
	if (b->envdir.len)
		fs_rm_rf(b->envdir.buf);
	if (b->src_fd >= 0)
		close(b->src_fd);
	free(b->cmd);
	json_decref(b->chain);
	json_decref(b->paths);
	buf_release(&b->bpdir);
	buf_release(&b->cache);
	buf_release(&b->envdir);
	buf_release(&b->parent);
	buf_release(&b->id);
	buf_release(&b->owner);
	buf_release(&b->secs);
}

/* Prepares everything the builder container needs on the host: the chain, the
 * cache dir, ENV_DIR, the source tar, the driver's argv. */
static int builder_prepare(struct builder *b, const struct build_bp_opts *o, const char *prefix)
{
	size_t i, n;
	char *dircopy;

	struct buf root = BUF_INIT;
	int private_ok;

	/* cache/ is private (another app's cache holds its dependencies and what its
	 * build wrote); cache/<app> keeps its mode, as the builder container writes it. */
	private_ok =
		buf_addf(&root, "%s/cache", wharf_root()) == 0 && fs_private_dir(root.buf) == 0;
	buf_release(&root);
	if (!private_ok || build_buildpacks_dir(&b->bpdir) < 0 ||
	    build_cache_dir(&b->cache, o->app) < 0 || fs_mkdir_p(b->cache.buf, 0755) < 0)
		return -1;
	if (resolve_chain(o, &b->chain) < 0)
		return -1;
	if (!(b->paths = json_array()))
		return err_set("out of memory");
	if (chain_paths(b->chain, b->bpdir.buf, b->cache.buf, b->paths) < 0)
		return -1;
	/* ENV_DIR sits beside the build dir, so an interrupted deploy's cleanup of
	 * build-<app>_* dirs removes it too. */
	if (!(dircopy = strdup(o->dir)))
		return err_set("out of memory");
	i = buf_addstr(&b->parent, dirname(dircopy)) < 0;
	free(dircopy);
	if (i || fs_mkdtemp(&b->envdir, b->parent.buf, prefix) < 0)
		return -1;
	if (write_env_dir(b->envdir.buf, o->config) < 0)
		return -1;
	if ((b->src_fd = tar_file(b->parent.buf)) < 0 || build_tar_dir(o->dir, b->src_fd) < 0)
		return -1;
	if (lseek(b->src_fd, 0, SEEK_SET) != 0)
		return err_set_errno("cannot rewind the source archive");
	/* The driver compiles as whoever runs wharf (OWNER), so the cache stays theirs
	 * and repo:purge-cache can remove it. */
	if (buf_addf(&b->owner, "%u:%u", (unsigned)getuid(), (unsigned)getgid()) < 0)
		return -1;
	/* coreutils' timeout runs the driver: at the deadline it sends TERM to the
	 * driver's process group, KILL after a grace period, and exits 124 (137 after
	 * KILL), which ends the container. The seconds are filled in at the start. */
	n = json_array_size(b->paths);
	if (!(b->cmd = calloc(n + 8, sizeof(*b->cmd))))
		return err_set("out of memory");
	b->cmd[0] = "/usr/bin/timeout";
	b->cmd[1] = "--kill-after=" STR(BUILD_TIMEOUT_GRACE);
	b->cmd[2] = NULL; /* the seconds left */
	b->cmd[3] = "/bin/bash";
	b->cmd[4] = CT_DRIVER;
	b->cmd[5] = b->owner.buf;
	for (i = 0; i < n; i++)
		b->cmd[6 + i] = json_string_value(json_array_get(b->paths, i));
	return 0;
}

/* ---- the dependency layer --------------------------------------------------------
 * A Node.js app's node_modules is thousands of small files: copying it from the cache
 * into every builder, committing it into every release image and deleting it with
 * every builder cost more than the rest of a warm build. So it gets an image layer of
 * its own, wharf/<app>:deps-<key>: the stack plus /app/node_modules, made by a builder
 * that sees only package.json, the lockfile and .npmrc. The app's build then starts
 * from that image instead of the stack, and its layer holds the app's code only. The
 * key hashes everything the install depends on; the cache dir's deps-layer file names
 * the layer, so repo:purge-cache forgets it and the next build starts cold. */

/* Files of the tree the dependency install sees. */
static const char *const deps_files[] = { "package.json", "package-lock.json",
					  "npm-shrinkwrap.json", ".npmrc", NULL };

/* Reads the app's deps_files[i] (under dir) into text: 1 when it is there as a
 * regular file, 0 when not, -1 with err_set(). */
static int read_deps_file(const char *dir, size_t i, struct buf *text)
{
	struct buf p = BUF_INIT;
	struct stat st;
	int ret = -1;

	buf_reset(text);
	if (buf_addf(&p, "%s/%s", dir, deps_files[i]) < 0)
		goto out;
	ret = 0;
	if (lstat(p.buf, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	ret = fs_read_file(p.buf, text, 256 << 20) < 0 ? -1 : 1;
out:
	buf_release(&p);
	return ret;
}

static int sha_add(EVP_MD_CTX *c, const char *s, size_t n)
{
	return EVP_DigestUpdate(c, s, n) == 1 ? 0 : err_set("sha256 failed");
}

/* Appends to tag "<repo>:deps-<16 hex>" when the build can use a dependency layer: the
 * nodejs buildpack runs first (detected or named), package.json is a regular file
 * holding an object, node_modules is not checked in, and no install script
 * (preinstall, install, postinstall, prepare) needs the rest of the source. Else
 * leaves tag empty. */
static int deps_layer_tag(struct docker *d, const struct build_bp_opts *o, const json_t *chain,
			  const char *stack, const char *repo, const char *owner, struct buf *tag)
{
	static const char *const dep_fields[] = { "dependencies",
						  "devDependencies",
						  "optionalDependencies",
						  "peerDependencies",
						  "bundleDependencies",
						  "bundledDependencies",
						  "overrides",
						  NULL };
	static const char *const scripts[] = { "preinstall", "install", "postinstall", "prepare",
					       NULL };
	struct buf p = BUF_INIT, text = BUF_INIT;
	json_t *pkg = NULL, *deps = NULL, *img = NULL, *sc;
	EVP_MD_CTX *c = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *dump = NULL;
	const char *k;
	json_t *v;
	struct stat st;
	size_t i;
	int found, ret = -1;

	if (json_array_size(chain) &&
	    strcmp(json_string_value(json_array_get(chain, 0)) ?: "", "nodejs")) {
		ret = 0;
		goto out;
	}
	if (buf_addf(&p, "%s/node_modules", o->dir) < 0)
		goto out;
	if (lstat(p.buf, &st) == 0) {
		ret = 0;
		goto out;
	}
	buf_reset(&p);
	if (buf_addf(&p, "%s/package.json", o->dir) < 0)
		goto out;
	if (lstat(p.buf, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fs_read_file(p.buf, &text, 1 << 20) < 0 || !(pkg = json_loads(text.buf, 0, NULL)) ||
	    !json_is_object(pkg)) {
		err_clear(); /* the buildpack says what is wrong with it */
		ret = 0;
		goto out;
	}
	sc = json_object_get(pkg, "scripts");
	for (i = 0; scripts[i]; i++)
		if (json_object_get(sc, scripts[i])) {
			ret = 0;
			goto out;
		}
	if (!(deps = json_object()))
		goto oom;
	for (i = 0; dep_fields[i]; i++)
		if ((v = json_object_get(pkg, dep_fields[i])) &&
		    json_object_set(deps, dep_fields[i], v) < 0)
			goto oom;
	if (docker_image_inspect(d, stack, &img) < 0)
		goto out;
	if (!(dump = json_dumps(deps, JSON_SORT_KEYS | JSON_COMPACT)) || !(c = EVP_MD_CTX_new()))
		goto oom;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		err_set("sha256 failed");
		goto out;
	}
	/* Version 1 of the layer's recipe; the stack (its Node.js and npm), the user the
	 * install ran as, the dependency fields, then each install file and the config
	 * vars npm reads. */
	k = json_str(img, "Id", stack);
	if (sha_add(c, "wharf-deps-v1\n", 14) < 0 || sha_add(c, k, strlen(k) + 1) < 0 ||
	    sha_add(c, owner, strlen(owner) + 1) < 0 || sha_add(c, dump, strlen(dump) + 1) < 0)
		goto out;
	for (i = 1; deps_files[i]; i++) {
		if ((found = read_deps_file(o->dir, i, &text)) < 0)
			goto out;
		if (!found)
			continue;
		if (sha_add(c, deps_files[i], strlen(deps_files[i]) + 1) < 0 ||
		    sha_add(c, text.buf, text.len) < 0 || sha_add(c, "\n", 1) < 0)
			goto out;
	}
	json_object_foreach((json_t *)o->config, k, v)
		if (!strncasecmp(k, "npm_", 4) || !strncmp(k, "NODE_", 5)) {
			const char *sv = json_string_value(v) ?: "";
			if (sha_add(c, k, strlen(k) + 1) < 0 || sha_add(c, sv, strlen(sv) + 1) < 0)
				goto out;
		}
	if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen < 8) {
		err_set("sha256 failed");
		goto out;
	}
	if (buf_addf(tag, "%s:deps-", repo) < 0)
		goto out;
	for (i = 0; i < 8; i++)
		if (buf_addf(tag, "%02x", md[i]) < 0)
			goto out;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	if (ret < 0)
		buf_reset(tag);
	EVP_MD_CTX_free(c);
	free(dump);
	json_decref(pkg);
	json_decref(deps);
	json_decref(img);
	buf_release(&p);
	buf_release(&text);
	return ret;
}

/* 1 when the layer tag names is there to build on: the cache says it was made (and was
 * not purged since) and the image exists. */
static int deps_layer_ready(struct docker *d, const char *cache, const char *tag)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	int exists = 0;

	if (buf_addf(&p, "%s/deps-layer", cache) == 0 && fs_exists(p.buf) &&
	    fs_read_file(p.buf, &text, 4096) == 0 && !strcmp(text.buf, tag))
		docker_image_exists(d, tag, &exists);
	err_clear(); /* handled: an unreadable marker or image is "not ready": rebuilt */
	buf_release(&p);
	buf_release(&text);
	return exists;
}

/* ---- the builder container ------------------------------------------------------ */

struct run_times {
	double created, started, ended;
};

/* Creates a container from spec, copies the tar read from tar_fd into /app, starts
 * it and streams its output to out until it ends; *code gets its exit status. The
 * container's id is left in id (the caller removes it). */
static int run_builder(struct docker *d, const struct container_spec *spec, int tar_fd,
		       struct bp_output *out, struct buf *id, long long *code, struct run_times *t)
{
	json_t *info = NULL;
	int ret = -1;

	if (docker_container_create(d, spec, id) < 0)
		goto out;
	t->created = clock_now_s();
	if (docker_container_put_archive(d, id->buf, CT_APP, tar_fd) < 0)
		goto out;
	t->started = clock_now_s();
	if (docker_container_start(d, id->buf) < 0)
		goto out;
	/* Following the logs of the started container returns everything it wrote
	 * from its start, and ends when it exits: no output is lost to a race. */
	if (docker_container_logs(d, id->buf, 1, -1, 0, bp_chunk, out) < 0)
		goto out;
	if (out->line.len)
		bp_line(out, out->line.buf, out->line.len);
	buf_reset(&out->line);
	t->ended = clock_now_s();
	if (docker_container_inspect(d, id->buf, &info) < 0)
		goto out;
	if (json_is_true(json_object_get(json_object_get(info, "State"), "Running"))) {
		err_set("lost the builder's output before it finished");
		goto out;
	}
	*code = json_int(json_object_get(info, "State"), "ExitCode", -1);
	ret = 0;
out:
	json_decref(info);
	return ret;
}

/* Sets *left to the seconds left of the limit since t0 and secs to them in text (the
 * timeout argument of a builder's command); fails when none is left. */
static int time_left(struct buf *secs, long limit, const char *from, double t0, long *left)
{
	*left = limit - (long)(clock_now_s() - t0);
	if (*left < 1)
		return err_set("the build took longer than %ld s (%s) and was stopped", limit,
			       from);
	buf_reset(secs);
	return buf_addf(secs, "%ld", *left);
}

/* 1 when a builder that ran for left seconds from started ended by coreutils' timeout
 * (124 after TERM, 137 after KILL) rather than by itself. */
static int timed_out(long long code, double started, long left)
{
	return (code == 124 || code == 137) && clock_now_s() - started >= (double)left - 1;
}

/* Makes the dependency layer tag: a builder from the stack sees only the install files,
 * runs the nodejs buildpack's install (the driver's --deps mode) and is committed.
 * Records the layer in the cache dir. */
static int build_deps_layer(struct docker *d, struct builder *b, const struct build_bp_opts *o,
			    struct container_spec spec, const char *tag, long limit,
			    const char *limit_from, const json_t *env, double t0)
{
	struct buf dir = BUF_INIT, p = BUF_INIT, text = BUF_INIT, id = BUF_INIT, img = BUF_INIT,
		   prefix = BUF_INIT, secs = BUF_INIT, marker = BUF_INIT;
	struct bp_output out = { .line = BUF_INIT, .types = NULL };
	struct run_times t = { 0 };
	const char *cmd[8];
	json_t *config = NULL;
	const char *colon = strrchr(tag, ':');
	long long code = -1;
	long left;
	size_t i;
	int found, fd = -1, ret = -1;

	say_step("Installing the dependencies into a layer of their own");
	if (buf_addf(&prefix, "build-%s_deps", o->app) < 0 ||
	    fs_mkdtemp(&dir, b->parent.buf, prefix.buf) < 0)
		goto out;
	for (i = 0; deps_files[i]; i++) {
		if ((found = read_deps_file(o->dir, i, &text)) < 0)
			goto out;
		if (!found)
			continue;
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", dir.buf, deps_files[i]) < 0 ||
		    fs_write_atomic(p.buf, text.buf, text.len, 0644) < 0)
			goto out;
	}
	if ((fd = tar_file(b->parent.buf)) < 0 || build_tar_dir(dir.buf, fd) < 0)
		goto out;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		err_set_errno("cannot rewind the dependency archive");
		goto out;
	}
	if (time_left(&secs, limit, limit_from, t0, &left) < 0)
		goto out;
	cmd[0] = b->cmd[0];
	cmd[1] = b->cmd[1];
	cmd[2] = secs.buf;
	cmd[3] = "/bin/bash";
	cmd[4] = CT_DRIVER;
	cmd[5] = "--deps";
	cmd[6] = b->owner.buf;
	cmd[7] = NULL;
	spec.cmd = cmd;
	if (run_builder(d, &spec, fd, &out, &id, &code, &t) < 0)
		goto out;
	if (timed_out(code, t.started, left)) {
		err_set("the build took longer than %ld s (%s) and was stopped; set the app's "
			"WHARF_BUILD_TIMEOUT config var (seconds, or 30m, 2h) to allow more",
			limit, limit_from);
		goto out;
	}
	if (code != 0) {
		err_set("the buildpack build failed installing the dependencies (exit status "
			"%lld; its output is above)",
			code);
		goto out;
	}
	config = json_pack("{s:[s],s:s,s:O,s:O}", "Cmd", "/bin/bash", "WorkingDir", CT_APP,
			   "Labels", spec.labels, "Env", env);
	if (!config) {
		err_set("out of memory");
		goto out;
	}
	buf_reset(&p);
	if (buf_add(&p, tag, (size_t)(colon - tag)) < 0 ||
	    docker_container_commit(d, id.buf, p.buf, colon + 1, config, &img) < 0)
		goto out;
	if (buf_addf(&marker, "%s/deps-layer", b->cache.buf) < 0)
		goto out;
	/* The layer this one replaces loses its tag; its image goes with the last
	 * release built on it (the release GC prunes untagged parents). */
	buf_reset(&text);
	if (fs_exists(marker.buf) && fs_read_file(marker.buf, &text, 4096) == 0 &&
	    !strncmp(text.buf, p.buf, p.len) && text.buf[p.len] == ':' && strcmp(text.buf, tag))
		docker_image_remove(d, text.buf, 0);
	err_clear(); /* handled: a replaced layer left behind is pruned with its releases */
	if (fs_write_atomic(marker.buf, tag, strlen(tag), 0644) < 0)
		goto out;
	say_detail("dependency layer %s in %.1fs", tag, clock_now_s() - t.created);
	ret = 0;
out:
	if (id.len && docker_container_remove(d, id.buf, 1) < 0 && ret == 0) {
		say_warn("could not remove the dependency builder %.12s: %s", id.buf, err_msg());
		err_clear(); /* handled: said; the layer was made */
	}
	if (fd >= 0)
		close(fd);
	if (dir.len)
		fs_rm_rf(dir.buf);
	json_decref(out.types);
	json_decref(config);
	buf_release(&out.line);
	buf_release(&dir);
	buf_release(&p);
	buf_release(&text);
	buf_release(&id);
	buf_release(&img);
	buf_release(&prefix);
	buf_release(&secs);
	buf_release(&marker);
	return ret;
}

/* Flattens an array of strings into a NULL-terminated vector borrowed from it. */
static const char **env_vec(const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof(*v));

	for (i = 0; v && i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	if (!v)
		err_set("out of memory");
	return v;
}

/* The environment of the builder: the stack's (*image_env, which the committed images
 * keep) plus, on a network with a gateway, the egress proxy's address, which npm, pip,
 * git and curl read (*run_env, the builder's only). */
static int builder_env(struct docker *d, const struct build_bp_opts *o, const char *stack,
		       struct build_proxy **proxy, json_t **image_env, json_t **run_env)
{
	static const char *const names[] = { "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
					     "http_proxy", NULL };
	json_t *info = NULL, *env;
	size_t i;
	int ret = -1;

	if (docker_image_inspect(d, stack, &info) < 0)
		return -1;
	env = json_object_get(json_object_get(info, "Config"), "Env");
	*image_env = json_is_array(env) ? json_deep_copy(env) : json_array();
	*run_env = json_is_array(env) ? json_deep_copy(env) : json_array();
	if (!*image_env || !*run_env) {
		err_set("out of memory");
		goto out;
	}
	if (o->network && o->gateway) {
		struct buf kv = BUF_INIT;
		if (build_proxy_start(proxy, o->gateway) < 0)
			goto out;
		for (i = 0; names[i]; i++) {
			buf_reset(&kv);
			if (buf_addf(&kv, "%s=%s", names[i], build_proxy_url(*proxy)) < 0 ||
			    json_array_append_new(*run_env, json_string(kv.buf)) < 0)
				break;
		}
		if (!names[i])
			json_array_append_new(*run_env,
					      json_string("NO_PROXY=localhost,127.0.0.1"));
		buf_release(&kv);
		if (names[i])
			goto out;
		say_detail(
			"egress through wharf's proxy at %s (https and http to public addresses)",
			build_proxy_url(*proxy));
	}
	ret = 0;
out:
	json_decref(info);
	return ret;
}

int build_buildpacks(struct docker *d, const struct build_bp_opts *o, struct buf *image_id,
		     json_t **processes)
{
	struct builder b = { .bpdir = BUF_INIT,
			     .cache = BUF_INIT,
			     .envdir = BUF_INIT,
			     .parent = BUF_INIT,
			     .id = BUF_INIT,
			     .owner = BUF_INIT,
			     .secs = BUF_INIT,
			     .src_fd = -1 };
	struct bp_output out = { .line = BUF_INIT, .types = NULL };
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct buf bind_bp = BUF_INIT, bind_cache = BUF_INIT, bind_env = BUF_INIT,
		   prefix = BUF_INIT, repo = BUF_INIT, deps = BUF_INIT;
	const char *binds[5], *stack = o->stack ? o->stack : build_stack_image();
	struct buf limit_from = BUF_INIT;
	struct build_proxy *proxy = NULL;
	const char *tag, **envv = NULL;
	json_t *config = NULL, *labels = NULL, *image_env = NULL, *run_env = NULL;
	struct run_times t = { 0 };
	long long code = -1;
	long limit, left;
	double t0 = clock_now_s(), prepared = 0, committed = 0;
	int exists = 0, ret = -1;

	buf_reset(image_id);
	*processes = NULL;
	if (build_timeout(o->config, &limit, &limit_from) < 0)
		goto out;
	tag = strrchr(o->tag, ':');
	if (!tag || strchr(tag, '/')) {
		err_set("image tag '%s' needs the form repo:tag", o->tag);
		goto out;
	}
	if (buf_add(&repo, o->tag, (size_t)(tag - o->tag)) < 0)
		goto out;
	if (docker_image_exists(d, stack, &exists) < 0)
		goto out;
	if (!exists) {
		err_set("the buildpack stack image %s is not on this host and wharf never pulls "
			"images: run `wharf stack:build` once (as root), or `wharf stack:set "
			"IMAGE`",
			stack);
		goto out;
	}
	if (buf_addf(&prefix, "build-%s_env", o->app) < 0 || builder_prepare(&b, o, prefix.buf) < 0)
		goto out;
	if (buf_addf(&bind_bp, "%s:" CT_BUILDPACKS ":ro", b.bpdir.buf) < 0 ||
	    buf_addf(&bind_cache, "%s:" CT_CACHE, b.cache.buf) < 0 ||
	    buf_addf(&bind_env, "%s:" CT_ENV ":ro", b.envdir.buf) < 0)
		goto out;
	binds[0] = bind_bp.buf;
	binds[1] = bind_cache.buf;
	binds[2] = bind_env.buf;
	binds[3] = NULL;
	/* Builds reach registries as the host does (DESIGN.md), through a TLS proxy
	 * the host trusts too: the host's CA bundle replaces the stack's while the
	 * build runs. A bind mount, so the release image keeps the stack's. */
	if (fs_exists(HOST_CA_BUNDLE))
		binds[3] = HOST_CA_BUNDLE ":" HOST_CA_BUNDLE ":ro";
	binds[4] = NULL;
	/* The builder carries the app's labels so that a deploy's cleanup of what an
	 * interrupted one left also finds it. */
	labels = o->labels ? json_deep_copy(o->labels) : json_object();
	if (!labels ||
	    json_object_set_new(labels, DOCKER_LABEL_PROCESS, json_string("build")) < 0) {
		err_set("out of memory");
		goto out;
	}
	spec.image = stack;
	spec.binds = binds;
	spec.working_dir = CT_APP;
	spec.labels = labels;
	spec.user = "0:0";
	spec.extra = o->extra;
	spec.network = o->network;
	if (builder_env(d, o, stack, &proxy, &image_env, &run_env) < 0 ||
	    !(envv = env_vec(run_env)))
		goto out;
	spec.env = envv;
	/* A Node.js app builds on its dependency layer, made first when missing. */
	if (deps_layer_tag(d, o, b.chain, stack, repo.buf, b.owner.buf, &deps) < 0)
		goto out;
	if (deps.len && !deps_layer_ready(d, b.cache.buf, deps.buf) &&
	    build_deps_layer(d, &b, o, spec, deps.buf, limit, limit_from.buf, image_env, t0) < 0)
		goto out;
	if (deps.len)
		spec.image = deps.buf;
	/* Fetching buildpacks and copying the source count against the limit too. */
	if (time_left(&b.secs, limit, limit_from.buf, t0, &left) < 0)
		goto out;
	b.cmd[2] = b.secs.buf;
	spec.cmd = b.cmd;
	prepared = clock_now_s();
	if (run_builder(d, &spec, b.src_fd, &out, &b.id, &code, &t) < 0)
		goto out;
	if (timed_out(code, t.started, left)) {
		err_set("the build took longer than %ld s (%s) and was stopped; set the app's "
			"WHARF_BUILD_TIMEOUT config var (seconds, or 30m, 2h) to allow more",
			limit, limit_from.buf);
		goto out;
	}
	if (code != 0) {
		err_set("the buildpack build failed (exit status %lld; its output is above)", code);
		goto out;
	}
	if (!out.types) {
		err_set("the buildpack build ended without naming its process types");
		goto out;
	}
	if (!json_array_size(out.types))
		say_warn("no process types: add a Procfile (web: <command>)");
	/* The image runs the launcher; its default is the web process, as the stack's
	 * unprivileged user. The rest is Docker's merge of the builder's config (the
	 * stack's); Env is the stack's, without what only the build had (the proxy). */
	config = json_pack("{s:[s,s],s:s,s:O,s:O,s:s}", "Cmd", "/wharf/launch", "web", "WorkingDir",
			   CT_APP, "Labels", o->labels ? o->labels : labels, "Env", image_env,
			   "User", BUILD_APP_USER);
	if (!config) {
		err_set("out of memory");
		goto out;
	}
	if (docker_container_commit(d, b.id.buf, repo.buf, tag + 1, config, image_id) < 0)
		goto out;
	committed = clock_now_s();
	if (build_check_image_size(d, image_id->buf, o->config) < 0)
		goto out;
	if (launcher_processes(out.types, processes) < 0)
		goto out;
	report_size(d, image_id->buf, stack);
	/* Where the time went, so a slow build says which part was slow. */
	say_detail("builder: prepare %.1fs, create %.1fs, copy source %.1fs, buildpacks %.1fs, "
		   "commit %.1fs",
		   prepared - t0, t.created - prepared, t.started - t.created, t.ended - t.started,
		   committed - t.ended);
	ret = 0;
out:
	if (ret < 0)
		buf_reset(image_id);
	{
		/* Keep the build's error over any from the cleanup. */
		struct err_saved why;
		err_save(&why);
		builder_release(d, &b);
		build_proxy_stop(proxy);
		if (ret < 0)
			err_restore(&why);
	}
	json_decref(out.types);
	json_decref(config);
	json_decref(labels);
	json_decref(image_env);
	json_decref(run_env);
	free(envv);
	buf_release(&limit_from);
	buf_release(&out.line);
	buf_release(&bind_bp);
	buf_release(&bind_cache);
	buf_release(&bind_env);
	buf_release(&prefix);
	buf_release(&repo);
	buf_release(&deps);
	return ret;
}
