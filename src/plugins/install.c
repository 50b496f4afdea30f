/* install.c - installed plugins: install from a path (copied) or a git URL
 * (cloned with libgit2), update, uninstall, enable, disable and list. */
#include "plugins.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TREE_MAX_ENTRIES 5000
#define TREE_MAX_BYTES   (64ull << 20)

int plugins_path(struct buf *out, const char *leaf)
{
	return buf_addf(out, "%s/plugins%s%s", wharf_root(), leaf ? "/" : "", leaf ? leaf : "");
}

static int plugin_dir(struct buf *out, const char *where, const char *name)
{
	return buf_addf(out, "%s/plugins/%s/%s", wharf_root(), where, name);
}

int plugins_installed(const char *name)
{
	struct buf p = BUF_INIT;
	int yes;

	if (plugins_valid_name(name) < 0) {
		err_clear();    /* handled: a predicate; no such name is installed */
		return 0;
	}
	yes = plugin_dir(&p, "available", name) == 0 && fs_is_dir(p.buf);
	buf_release(&p);
	return yes;
}

int plugins_enabled(const char *name)
{
	struct buf p = BUF_INIT;
	struct stat st;
	int yes;

	if (plugins_valid_name(name) < 0) {
		err_clear();    /* handled: a predicate; no such name is installed */
		return 0;
	}
	yes = plugin_dir(&p, "enabled", name) == 0 && lstat(p.buf, &st) == 0;
	buf_release(&p);
	return yes;
}

static int sources_load(json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = plugins_path(&p, "sources.json") < 0 ? -1 : json_load_object(out, p.buf, 1);

	buf_release(&p);
	return ret;
}

static int sources_save(const json_t *obj)
{
	struct buf p = BUF_INIT;
	int ret = plugins_path(&p, "sources.json") < 0 ? -1 : json_save_atomic(p.buf, obj);

	buf_release(&p);
	return ret;
}

static int plugins_lock(struct lock *l)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (plugins_path(&p, NULL) < 0 || fs_mkdir_p(p.buf, 0755) < 0)
		goto out;
	buf_reset(&p);
	if (plugins_path(&p, "available") < 0 || fs_mkdir_p(p.buf, 0755) < 0)
		goto out;
	buf_reset(&p);
	if (plugins_path(&p, "enabled") < 0 || fs_mkdir_p(p.buf, 0755) < 0)
		goto out;
	buf_reset(&p);
	if (plugins_path(&p, "plugins.lock") < 0)
		goto out;
	ret = lock_take(l, p.buf, "Waiting for another plugin change to finish");
out:
	buf_release(&p);
	return ret < 0 ? -1 : 0;
}

int plugins_list(json_t **out)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	struct dirent **ents = NULL;
	json_t *sources = NULL;
	int i, n = 0, ret = -1;

	*out = json_array();
	if (plugins_path(&dir, "available") < 0 || sources_load(&sources) < 0)
		goto out;
	n = scandir(dir.buf, &ents, NULL, alphasort);
	if (n < 0) {
		n = 0;
		ret = errno == ENOENT ? 0 : err_set_errno("cannot read %s", dir.buf);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct plugin_meta m;
		const char *name = ents[i]->d_name;
		if (plugins_valid_name(name) < 0) {
			err_clear();     /* staging dirs start with '.' */
			continue;
		}
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", dir.buf, name) < 0)
			goto out;
		if (plugin_meta_load(&m, p.buf) < 0) {
			say_warn("plugin %s: %s", name, err_msg());
			memset(&m, 0, sizeof(m));
		}
		json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:b,s:s}", "name", name,
						      "version", m.version, "description",
						      m.description, "enabled", plugins_enabled(name),
						      "source", json_str(json_object_get(sources, name),
									 "source", "")));
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	json_decref(sources);
	buf_release(&dir);
	buf_release(&p);
	return ret;
}

/* ---- fetching a plugin's tree ------------------------------------------------ */

struct tree_budget {
	unsigned           entries;
	unsigned long long bytes;
};

static int copy_file(const char *src, const char *dst, mode_t mode, struct tree_budget *b)
{
	char chunk[65536];
	int in = -1, out = -1, ret = -1;
	ssize_t n;

	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (in < 0) {
		err_set_errno("cannot read %s", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		err_set_errno("cannot create %s", dst);
		goto out;
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0) {
		b->bytes += (unsigned long long)n;
		if (b->bytes > TREE_MAX_BYTES) {
			err_set("the plugin is larger than %llu MiB", TREE_MAX_BYTES >> 20);
			goto out;
		}
		if (write(out, chunk, (size_t)n) != n) {
			err_set_errno("cannot write %s", dst);
			goto out;
		}
	}
	if (n < 0) {
		err_set_errno("cannot read %s", src);
		goto out;
	}
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && ret == 0)
		ret = err_set_errno("cannot write %s", dst);
	return ret;
}

/* Copies the tree at src into dst (which must not exist): directories and
 * regular files only, modes kept (at most 0755), `.git` left out. rel names the
 * entry in messages. */
static int copy_tree(const char *src, const char *dst, const char *rel, struct tree_budget *b)
{
	struct buf s = BUF_INIT, d = BUF_INIT, r = BUF_INIT;
	DIR *dir = NULL;
	struct dirent *e;
	struct stat st;
	int ret = -1;

	if (mkdir(dst, 0755) < 0) {
		err_set_errno("cannot create %s", dst);
		goto out;
	}
	dir = opendir(src);
	if (!dir) {
		err_set_errno("cannot read %s", src);
		goto out;
	}
	while ((e = readdir(dir)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git"))
			continue;
		if (++b->entries > TREE_MAX_ENTRIES) {
			err_set("the plugin has more than %d files", TREE_MAX_ENTRIES);
			goto out;
		}
		buf_reset(&s);
		buf_reset(&d);
		buf_reset(&r);
		if (buf_addf(&s, "%s/%s", src, e->d_name) < 0 ||
		    buf_addf(&d, "%s/%s", dst, e->d_name) < 0 ||
		    buf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0)
			goto out;
		if (lstat(s.buf, &st) < 0) {
			err_set_errno("cannot read %s", s.buf);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (copy_tree(s.buf, d.buf, r.buf, b) < 0)
				goto out;
		} else if (S_ISREG(st.st_mode)) {
			if (copy_file(s.buf, d.buf, st.st_mode & 0755, b) < 0)
				goto out;
		} else {
			err_set("refused: '%s' in the plugin is %s; a plugin may hold only files and "
				"directories", r.buf, S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file");
			goto out;
		}
	}
	ret = 0;
out:
	if (dir)
		closedir(dir);
	buf_release(&s);
	buf_release(&d);
	buf_release(&r);
	return ret;
}

static int is_git_source(const char *source)
{
	static const char *const schemes[] = { "https://", "http://", "git://", "ssh://",
					       "file://", NULL };
	size_t n = strlen(source);
	int i;

	for (i = 0; schemes[i]; i++)
		if (!strncmp(source, schemes[i], strlen(schemes[i])))
			return 1;
	if (source[0] != '/' && source[0] != '.' && strchr(source, '@') && strchr(source, ':'))
		return 1;               /* git@host:path */
	return n > 4 && !strcmp(source + n - 4, ".git");
}

static int git_fetch(const char *url, const char *dest)
{
	git_clone_options opts;
	git_repository *repo = NULL;
	int ret = -1;

	git_libgit2_init();
	git_clone_options_init(&opts, GIT_CLONE_OPTIONS_VERSION);
	opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_SAFE;
	if (git_clone(&repo, url, dest, &opts) < 0) {
		const git_error *e = git_error_last();
		err_set("cannot clone %s: %s%s", url, e ? e->message : "git error",
			e && strstr(e->message, "safe.directory")
				? " (a local repository must belong to the user wharf runs as)" : "");
		goto out;
	}
	ret = 0;
out:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

/* Fetches source into <stage>/p (through <stage>/clone for git). */
static int fetch_tree(const char *source, const char *stage, struct buf *tree)
{
	struct tree_budget b = { 0, 0 };
	struct buf clone = BUF_INIT;
	const char *from = source;
	int ret = -1;

	if (buf_addf(tree, "%s/p", stage) < 0)
		goto out;
	if (is_git_source(source)) {
		if (buf_addf(&clone, "%s/clone", stage) < 0 || git_fetch(source, clone.buf) < 0)
			goto out;
		from = clone.buf;
	} else if (!fs_is_dir(source)) {
		err_set("'%s' is neither a plugin directory nor a git URL", source);
		goto out;
	}
	if (copy_tree(from, tree->buf, "", &b) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&clone);
	return ret;
}

/* The name a source gives when neither --name nor the metadata name one. */
static int name_from_source(struct buf *out, const char *source)
{
	size_t n = strlen(source);
	const char *base;

	while (n > 1 && source[n - 1] == '/')
		n--;
	if (n > 4 && !memcmp(source + n - 4, ".git", 4))
		n -= 4;
	for (base = source + n; base > source && base[-1] != '/' && base[-1] != ':'; base--)
		;
	return buf_add(out, base, (size_t)(source + n - base));
}

/* An absolute path for a path source, so `plugin:update` finds it again. */
static int source_abs(struct buf *out, const char *source)
{
	char real[PATH_MAX];

	if (is_git_source(source) && strncmp(source, "/", 1))
		return buf_addstr(out, source);
	if (!realpath(source, real))
		return err_set_errno("cannot find '%s'", source);
	return buf_addstr(out, real);
}

static int link_enabled(const char *name)
{
	struct buf link = BUF_INIT, target = BUF_INIT;
	int ret = -1;

	if (plugin_dir(&link, "enabled", name) < 0 || buf_addf(&target, "../available/%s", name) < 0)
		goto out;
	if (symlink(target.buf, link.buf) < 0 && errno != EEXIST) {
		err_set_errno("cannot enable %s", name);
		goto out;
	}
	ret = 0;
out:
	buf_release(&link);
	buf_release(&target);
	return ret;
}

static int unlink_enabled(const char *name)
{
	struct buf link = BUF_INIT;
	int ret = 0;

	if (plugin_dir(&link, "enabled", name) < 0)
		ret = -1;
	else if (unlink(link.buf) < 0 && errno != ENOENT)
		ret = err_set_errno("cannot disable %s", name);
	buf_release(&link);
	return ret;
}

/* Runs one plugin's own install/update/uninstall hook. */
static int run_hook(const char *name, const char *hook)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;

	o.only = name;
	return plugins_trigger(NULL, hook, NULL, &o);
}

int plugins_install(const char *source, const char *name_opt, char **name_out)
{
	struct lock l = LOCK_INIT;
	struct buf root = BUF_INIT, stage = BUF_INIT, tree = BUF_INIT, name = BUF_INIT;
	struct buf dest = BUF_INIT, src = BUF_INIT, now = BUF_INIT;
	struct plugin_meta m;
	json_t *sources = NULL;
	int placed = 0, ret = -1;

	if (!source || !*source)
		return err_set("give a plugin directory or a git URL");
	if (name_opt && plugins_valid_name(name_opt) < 0)
		return -1;
	if (source_abs(&src, source) < 0 || plugins_lock(&l) < 0 || plugins_path(&root, NULL) < 0 ||
	    fs_mkdtemp(&stage, root.buf, ".stage-") < 0)
		goto out;
	if (fetch_tree(src.buf, stage.buf, &tree) < 0 || plugin_meta_load(&m, tree.buf) < 0)
		goto out;
	if (name_opt)
		buf_addstr(&name, name_opt);
	else if (m.name[0])
		buf_addstr(&name, m.name);
	else
		name_from_source(&name, src.buf);
	if (plugins_valid_name(name.buf) < 0)
		goto out;
	if (plugins_installed(name.buf)) {
		err_set("plugin '%s' is already installed; plugin:update %s fetches it again",
			name.buf, name.buf);
		goto out;
	}
	if (plugin_dir(&dest, "available", name.buf) < 0)
		goto out;
	if (rename(tree.buf, dest.buf) < 0) {
		err_set_errno("cannot install %s", name.buf);
		goto out;
	}
	placed = 1;
	if (link_enabled(name.buf) < 0 || sources_load(&sources) < 0 || state_now(&now) < 0)
		goto out;
	json_object_set_new(sources, name.buf,
			    json_pack("{s:s,s:s,s:s}", "source", src.buf, "kind",
				      is_git_source(src.buf) ? "git" : "path", "installed_at", now.buf));
	if (run_hook(name.buf, "install") < 0 || sources_save(sources) < 0)
		goto out;
	if (name_out)
		*name_out = buf_detach(&name, NULL);
	ret = 0;
out:
	if (ret < 0 && placed) {
		/* Nothing half-done: a plugin whose install failed is not left behind. */
		unlink_enabled(name.buf);
		fs_rm_rf(dest.buf);
	}
	if (stage.len)
		fs_rm_rf(stage.buf);
	lock_release(&l);
	json_decref(sources);
	buf_release(&root);
	buf_release(&stage);
	buf_release(&tree);
	buf_release(&name);
	buf_release(&dest);
	buf_release(&src);
	buf_release(&now);
	return ret;
}

static int need_installed(const char *name)
{
	if (plugins_valid_name(name) < 0)
		return -1;
	if (!plugins_installed(name))
		return err_set("plugin '%s' is not installed; see `wharf plugin:list`", name);
	return 0;
}

int plugins_update(const char *name)
{
	struct lock l = LOCK_INIT;
	struct buf root = BUF_INIT, stage = BUF_INIT, tree = BUF_INIT, dest = BUF_INIT,
		   old = BUF_INIT;
	json_t *sources = NULL;
	const char *source;
	int swapped = 0, ret = -1;

	if (need_installed(name) < 0 || plugins_lock(&l) < 0 || sources_load(&sources) < 0)
		goto out;
	source = json_str(json_object_get(sources, name), "source", NULL);
	if (!source) {
		err_set("wharf does not know where plugin '%s' came from; uninstall and install it",
			name);
		goto out;
	}
	if (plugins_path(&root, NULL) < 0 || fs_mkdtemp(&stage, root.buf, ".stage-") < 0 ||
	    fetch_tree(source, stage.buf, &tree) < 0 || plugin_dir(&dest, "available", name) < 0 ||
	    buf_addf(&old, "%s/old", stage.buf) < 0)
		goto out;
	if (rename(dest.buf, old.buf) < 0 || rename(tree.buf, dest.buf) < 0) {
		err_set_errno("cannot replace plugin %s", name);
		if (!fs_exists(dest.buf))
			rename(old.buf, dest.buf);
		goto out;
	}
	swapped = 1;
	if (run_hook(name, "update") < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && swapped) {
		/* The new version refused its update: the old one comes back. */
		fs_rm_rf(dest.buf);
		if (rename(old.buf, dest.buf) < 0)
			say_warn("could not restore the old %s: %s", name, strerror(errno));
	}
	if (stage.len)
		fs_rm_rf(stage.buf);
	lock_release(&l);
	json_decref(sources);
	buf_release(&root);
	buf_release(&stage);
	buf_release(&tree);
	buf_release(&dest);
	buf_release(&old);
	return ret;
}

int plugins_uninstall(const char *name)
{
	struct lock l = LOCK_INIT;
	struct buf dest = BUF_INIT;
	json_t *sources = NULL;
	int ret = -1;

	if (need_installed(name) < 0 || plugins_lock(&l) < 0)
		goto out;
	if (run_hook(name, "uninstall") < 0)
		goto out;
	if (unlink_enabled(name) < 0 || plugin_dir(&dest, "available", name) < 0 ||
	    fs_rm_rf(dest.buf) < 0 || sources_load(&sources) < 0)
		goto out;
	json_object_del(sources, name);
	if (sources_save(sources) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	json_decref(sources);
	buf_release(&dest);
	return ret;
}

int plugins_enable(const char *name)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	if (need_installed(name) == 0 && plugins_lock(&l) == 0)
		ret = link_enabled(name);
	lock_release(&l);
	return ret;
}

int plugins_disable(const char *name)
{
	struct lock l = LOCK_INIT;
	int ret = -1;

	if (need_installed(name) == 0 && plugins_lock(&l) == 0)
		ret = unlink_enabled(name);
	lock_release(&l);
	return ret;
}
