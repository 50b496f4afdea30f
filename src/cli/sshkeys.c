/* sshkeys.c - ssh-keys:add, ssh-keys:list, ssh-keys:remove: the authorized_keys
 * file whose every line forces `wharf ssh-command --key NAME`. */
#include "cli.h"
#include "plugins/plugins.h"
#include "receiver/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The environment a forced command carries, so a key added to an isolated wharf
 * (tests, several wharfs side by side) pushes to that wharf. */
static const char *const carried_env[] = { "WHARF_ROOT", "DOCKER_HOST", "WHARF_ROUTER_SOCKET",
					   "WHARF_PORT_RANGE", NULL };

#define SAFE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._:+@=,-"

static int keys_path(struct buf *out, const char *leaf)
{
	return buf_addf(out, "%s/.ssh/%s", wharf_root(), leaf);
}

/* The key name of an authorized_keys line written by wharf, or NULL. */
static const char *line_key_name(const char *line, char *name, size_t size)
{
	const char *p = strstr(line, "ssh-command --key ");
	size_t n;

	if (!p)
		return NULL;
	p += strlen("ssh-command --key ");
	n = strcspn(p, "\"");
	if (n >= size)
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	return name;
}

/* The key part (after the options) of a line; lines written before `run` and
 * `enter` needed a terminal lack ",pty". */
static const char *line_key(const char *line)
{
	const char *p = strstr(line, "\",restrict,pty ");
	if (p)
		return p + strlen("\",restrict,pty ");
	p = strstr(line, "\",restrict ");
	return p ? p + strlen("\",restrict ") : line;
}

static int load_keys(struct buf *text)
{
	struct buf p = BUF_INIT;
	int ret = 0;

	if (keys_path(&p, "authorized_keys") < 0)
		return -1;
	if (fs_exists(p.buf))
		ret = fs_read_file(p.buf, text, 16u << 20);
	buf_release(&p);
	return ret;
}

static int save_keys(const struct buf *text)
{
	struct buf p = BUF_INIT, dir = BUF_INIT;
	int ret = -1;

	if (buf_addf(&dir, "%s/.ssh", wharf_root()) < 0 || fs_mkdir_p(dir.buf, 0700) < 0 ||
	    keys_path(&p, "authorized_keys") < 0)
		goto out;
	ret = fs_write_atomic(p.buf, text->buf, text->len, 0600);
out:
	buf_release(&p);
	buf_release(&dir);
	return ret;
}

static int lock_keys(struct lock *l)
{
	struct buf p = BUF_INIT, dir = BUF_INIT;
	int ret = -1;

	if (buf_addf(&dir, "%s/.ssh", wharf_root()) < 0 || fs_mkdir_p(dir.buf, 0700) < 0 ||
	    keys_path(&p, "keys.lock") < 0)
		goto out;
	ret = lock_take(l, p.buf, NULL);
out:
	buf_release(&p);
	buf_release(&dir);
	return ret;
}

static int forced_command(struct buf *out, const char *name)
{
	struct buf exe = BUF_INIT;
	int i, ret = -1;

	if (buf_addstr(out, "command=\"env") < 0)
		goto out;
	for (i = 0; carried_env[i]; i++) {
		const char *v = getenv(carried_env[i]);
		if (!v || !*v)
			continue;
		if (strspn(v, SAFE_CHARS) != strlen(v)) {
			err_set("%s='%s' has characters an authorized_keys line cannot carry",
				carried_env[i], v);
			goto out;
		}
		buf_addf(out, " %s=%s", carried_env[i], v);
	}
	if (cli_self_exe(&exe) < 0)
		goto out;
	if (strspn(exe.buf, SAFE_CHARS) != exe.len) {
		err_set("wharf's path '%s' has characters an authorized_keys line cannot carry",
			exe.buf);
		goto out;
	}
	/* restrict takes away forwarding and the terminal; pty gives the terminal
	 * back, for `ssh -t wharf@host run app bash` and `enter`. */
	ret = buf_addf(out, " %s ssh-command --key %s\",restrict,pty", exe.buf, name);
out:
	buf_release(&exe);
	return ret;
}

int cmd_ssh_keys_add(int argc, char **argv)
{
	struct buf in = BUF_INIT, text = BUF_INIT, line = BUF_INIT, fp = BUF_INIT;
	struct lock l = LOCK_INIT;
	struct receiver_pubkey *k = calloc(2, sizeof(*k));
	char *cur, *next, name[128];
	const char *role = "admin";
	int ret = -1;

	if (!k)
		return err_set("out of memory");
	/* NAME [--role admin|deployer]: admin, as before roles, unless told. */
	if (argc == 4 && !strcmp(argv[2], "--role"))
		role = argv[3];
	else if (argc == 3 && !strncmp(argv[2], "--role=", 7))
		role = argv[2] + 7;
	else if (argc != 2) {
		cli_usage(argv[0]);
		goto out;
	}
	if (valid_key_name(argv[1]) < 0)
		goto out;
	if (strcmp(role, "admin") && strcmp(role, "deployer")) {
		err_set("unknown role '%s': use admin or deployer", role);
		goto out;
	}
	buf_init(&in, 64u << 10);
	if (fs_read_file("/dev/stdin", &in, 64u << 10) < 0)
		goto out;
	if (strchr(in.buf, '\n') && strchr(in.buf, '\n')[strspn(strchr(in.buf, '\n'), "\r\n \t")]) {
		err_set("give exactly one public key on stdin");
		goto out;
	}
	if (receiver_pubkey_parse(&k[0], in.buf) < 0 || lock_keys(&l) < 0 || load_keys(&text) < 0)
		goto out;
	for (cur = text.buf; *cur; cur = next) {
		next = strchr(cur, '\n');
		next = next ? next + 1 : cur + strlen(cur);
		if (line_key_name(cur, name, sizeof(name)) && !strcmp(name, argv[1])) {
			err_set("a key named '%s' already exists; remove it first", argv[1]);
			goto out;
		}
		if (receiver_pubkey_parse(&k[1], line_key(cur)) == 0 &&
		    !strcmp(k[0].b64, k[1].b64)) {
			err_set("this key is already added as '%s'",
				line_key_name(cur, name, sizeof(name)) ? name : "(unnamed)");
			goto out;
		}
		err_clear(); /* handled: a line that is no key cannot be this key again */
	}
	if (forced_command(&line, argv[1]) < 0 ||
	    buf_addf(&line, " %s %s %s\n", k[0].type, k[0].b64, argv[1]) < 0 ||
	    buf_add(&text, line.buf, line.len) < 0 || receiver_acl_set_role(argv[1], role) < 0 ||
	    save_keys(&text) < 0)
		goto out;
	receiver_pubkey_fingerprint(&fp, &k[0]);
	say_step("Added key '%s' (%s)%s", argv[1], fp.buf,
		 strcmp(role, "deployer") ? "" : " as a deployer: grant it apps with acl:add");
	/* An admin mounts host directories, installs plugins that run as a member of
	 * the docker group and runs any image: that is root on this host. */
	if (strcmp(role, "deployer"))
		say_warn("'%s' is an admin key: whoever holds it is root on this host (docker "
			 "group, plugins, mounts; see docs/security.md). Give people who deploy "
			 "apps --role deployer",
			 argv[1]);
	ret = 0;
out:
	lock_release(&l);
	free(k);
	buf_release(&in);
	buf_release(&text);
	buf_release(&line);
	buf_release(&fp);
	return ret;
}

int cmd_ssh_keys_list(int argc, char **argv)
{
	struct buf text = BUF_INIT;
	struct receiver_pubkey *k = calloc(1, sizeof(*k));
	json_t *acl = NULL;
	char *cur, *next, name[128];
	int count = 0;

	(void)argc;
	(void)argv;
	if (!k || load_keys(&text) < 0 || receiver_acl_load(&acl) < 0) {
		free(k);
		buf_release(&text);
		return -1;
	}
	for (cur = text.buf; *cur; cur = next) {
		struct buf fp = BUF_INIT;
		next = strchr(cur, '\n');
		next = next ? next + 1 : cur + strlen(cur);
		if (!line_key_name(cur, name, sizeof(name)) ||
		    receiver_pubkey_parse(k, line_key(cur)) < 0)
			continue;
		receiver_pubkey_fingerprint(&fp, k);
		printf("%s NAME=\"%s\" TYPE=\"%s\" ROLE=\"%s\"\n", fp.buf, name, k->type,
		       receiver_acl_role(acl, name));
		buf_release(&fp);
		count++;
	}
	if (!count)
		say_warn("No public keys found.");
	json_decref(acl);
	free(k);
	buf_release(&text);
	return 0;
}

int cmd_ssh_keys_remove(int argc, char **argv)
{
	struct buf text = BUF_INIT, kept = BUF_INIT;
	struct lock l = LOCK_INIT;
	char *cur, *next, name[128];
	int found = 0, ret = -1;

	if (argc != 2)
		return cli_usage(argv[0]);
	if (valid_key_name(argv[1]) < 0 || lock_keys(&l) < 0 || load_keys(&text) < 0)
		goto out;
	for (cur = text.buf; *cur; cur = next) {
		next = strchr(cur, '\n');
		next = next ? next + 1 : cur + strlen(cur);
		if (line_key_name(cur, name, sizeof(name)) && !strcmp(name, argv[1]))
			found = 1;
		else
			buf_add(&kept, cur, (size_t)(next - cur));
	}
	if (!found) {
		err_set("no key named '%s'", argv[1]);
		goto out;
	}
	if (save_keys(&kept) < 0 || receiver_acl_forget(argv[1]) < 0)
		goto out;
	say_step("Removed key '%s'", argv[1]);
	/* Grants plugins keep by key name go too (the services plugin's acl-add). */
	plugins_post("post-ssh-key-remove", NULL, (const char *[]){ argv[1], NULL });
	ret = 0;
out:
	lock_release(&l);
	buf_release(&text);
	buf_release(&kept);
	return ret;
}

int cli_caller_is_deployer(void)
{
	const char *key = caller_get()->key;
	json_t *acl = NULL;
	int deployer;

	if (!key || !*key)
		return 0;
	/* Unreadable rules count as a deployer: the caller gets less, never more. */
	if (receiver_acl_load(&acl) < 0) {
		err_clear();
		return 1;
	}
	deployer = !strcmp(receiver_acl_role(acl, key), "deployer");
	json_decref(acl);
	return deployer;
}
