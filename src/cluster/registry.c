/* registry.c - cluster state (cluster.json) and the private registry: its CA and TLS
 * certificate (OpenSSL), its htpasswd (bcrypt through libcrypt), its config, and the
 * docker-registry host process (started detached, stopped by its pid file). */
#include "internal.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CA_DAYS 3650L

int cluster_path(struct buf *out, const char *leaf)
{
	return buf_addf(out, "%s/cluster%s%s", wharf_root(), leaf ? "/" : "", leaf ? leaf : "");
}

int cluster_valid_ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

void cluster_state_release(struct cluster_state *st)
{
	free(st->addr);
	free(st->registry);
	free(st->user);
	free(st->password);
	json_decref(st->nodes);
	memset(st, 0, sizeof(*st));
}

static int state_from_json(struct cluster_state *st, const json_t *j)
{
	const json_t *nodes = json_object_get(j, "nodes");

	if (!(st->addr = strdup(json_str(j, "addr", ""))) ||
	    !(st->registry = strdup(json_str(j, "registry", ""))) ||
	    !(st->user = strdup(json_str(j, "registry_user", ""))) ||
	    !(st->password = strdup(json_str(j, "registry_password", ""))) ||
	    !(st->nodes = json_is_object(nodes) ? json_deep_copy(nodes) : json_object()))
		return err_set("out of memory");
	return 0;
}

int cluster_load(struct cluster_state *st)
{
	struct buf path = BUF_INIT;
	json_t *j = NULL;
	int ret = -1;

	if (cluster_path(&path, "cluster.json") < 0 || json_load_object(&j, path.buf, 1) < 0)
		goto out;
	if (!json_object_size(j)) { /* missing */
		ret = 0;
		goto out;
	}
	if (state_from_json(st, j) < 0)
		goto out;
	ret = 1;
out:
	json_decref(j);
	buf_release(&path);
	return ret;
}

/* Writes cluster.json from st (0600: it holds the registry's password). */
int cluster__save(const struct cluster_state *st)
{
	struct buf path = BUF_INIT;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:O}", "addr", st->addr, "registry",
			      st->registry, "registry_user", st->user, "registry_password",
			      st->password, "nodes", st->nodes);
	int ret = -1;

	if (!j) {
		err_set("out of memory");
		goto out;
	}
	if (cluster_path(&path, "cluster.json") < 0 || json_save_atomic(path.buf, j) < 0)
		goto out;
	ret = 0;
out:
	json_decref(j);
	buf_release(&path);
	return ret;
}

/* ---- TLS ------------------------------------------------------------------------ */

static int ssl_failed(const char *what)
{
	unsigned long e = ERR_get_error();

	return err_set("cannot make the registry's %s: %s", what,
		       e && ERR_reason_error_string(e) ? ERR_reason_error_string(e)
						       : "OpenSSL error");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)))
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int pem_append(struct buf *out, X509 *x, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ret = -1;

	if (!bio || (x && !PEM_write_bio_X509(bio, x)) ||
	    (key && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))) {
		ssl_failed("PEM");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	ret = buf_add(out, data, (size_t)len);
out:
	BIO_free(bio);
	return ret;
}

/* A new P-256 key and a certificate for it: a CA when issuer is NULL (self-signed),
 * else a server certificate for the IP address addr signed by issuer/issuer_key. */
static int make_cert(X509 **xout, EVP_PKEY **kout, const char *cn, const char *addr, X509 *issuer,
		     EVP_PKEY *issuer_key)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIGNUM *serial = NULL;
	struct buf san = BUF_INIT;
	int ret = -1;

	if (!(key = EVP_EC_gen("P-256")) || !(x = X509_new()) || !(serial = BN_new()) ||
	    !X509_set_version(x, 2) || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * CA_DAYS) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x))) {
		ssl_failed("certificate");
		goto out;
	}
	if (!issuer) {
		if (!add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
		    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    !add_ext(x, x, NID_subject_key_identifier, "hash") ||
		    !X509_sign(x, key, EVP_sha256())) {
			ssl_failed("CA");
			goto out;
		}
	} else {
		if (buf_addf(&san, "IP:%s", addr) < 0)
			goto out;
		if (!add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
		    !add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") ||
		    !add_ext(x, issuer, NID_ext_key_usage, "serverAuth") ||
		    !add_ext(x, issuer, NID_subject_alt_name, san.buf) ||
		    !X509_sign(x, issuer_key, EVP_sha256())) {
			ssl_failed("certificate");
			goto out;
		}
	}
	*xout = x;
	*kout = key;
	x = NULL;
	key = NULL;
	ret = 0;
out:
	buf_release(&san);
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

/* Writes DIR/leaf. */
static int write_leaf(const char *dir, const char *leaf, const struct buf *b, mode_t mode)
{
	struct buf path = BUF_INIT;
	int ret;

	ret = buf_addf(&path, "%s/%s", dir, leaf) < 0
		      ? -1
		      : fs_write_atomic(path.buf, b->buf, b->len, mode);
	buf_release(&path);
	return ret;
}

/* ca.crt, ca.key, server.crt, server.key in dir, for the address addr. */
static int make_tls(const char *dir, const char *addr)
{
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	struct buf pem = BUF_INIT;
	int ret = -1;

	if (make_cert(&ca, &ca_key, "wharf registry CA", NULL, NULL, NULL) < 0 ||
	    make_cert(&srv, &srv_key, addr, addr, ca, ca_key) < 0)
		goto out;
	{
		const struct {
			X509 *x;
			EVP_PKEY *key;
			const char *leaf;
			mode_t mode;
		} files[] = { { ca, NULL, "ca.crt", 0644 },
			      { NULL, ca_key, "ca.key", 0600 },
			      { srv, NULL, "server.crt", 0644 },
			      { NULL, srv_key, "server.key", 0600 } };

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			buf_reset(&pem);
			if (pem_append(&pem, files[i].x, files[i].key) < 0 ||
			    write_leaf(dir, files[i].leaf, &pem, files[i].mode) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	buf_release(&pem);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	return ret;
}

int cluster_registry_ca(struct buf *out)
{
	struct buf path = BUF_INIT;
	int ret;

	ret = cluster_path(&path, "registry/ca.crt") < 0 ? -1 : fs_read_file(path.buf, out, 65536);
	buf_release(&path);
	return ret;
}

/* ---- credentials and config ----------------------------------------------------- */

/* n random bytes as 2n hex digits. */
static int random_hex(struct buf *out, size_t n)
{
	unsigned char b[32];
	size_t i;

	if (n > sizeof(b) || getrandom(b, n, 0) != (ssize_t)n)
		return err_set_errno("cannot read random bytes");
	for (i = 0; i < n; i++)
		if (buf_addf(out, "%02x", b[i]) < 0)
			return -1;
	return 0;
}

static int write_htpasswd(const char *dir, const char *user, const char *password)
{
	struct buf line = BUF_INIT;
	char *salt = NULL, *hash = NULL;
	void *scratch = NULL;
	int size = 0, ret = -1;

	/* bcrypt: the only scheme docker-registry's htpasswd accepts. */
	if (!(salt = crypt_gensalt_ra("$2b$", 10, NULL, 0)) ||
	    !(hash = crypt_ra(password, salt, &scratch, &size)) || hash[0] == '*') {
		err_set_errno("cannot hash the registry's password (bcrypt)");
		goto out;
	}
	if (buf_addf(&line, "%s:%s\n", user, hash) < 0 ||
	    write_leaf(dir, "htpasswd", &line, 0600) < 0)
		goto out;
	ret = 0;
out:
	free(salt);
	free(scratch);
	buf_release(&line);
	return ret;
}

static int write_config(const char *dir, const char *listen)
{
	struct buf cfg = BUF_INIT, secret = BUF_INIT;
	int ret = -1;

	if (random_hex(&secret, 32) < 0 ||
	    buf_addf(&cfg,
		     "# written by wharf cluster:init (docs/cluster.md)\n"
		     "version: 0.1\n"
		     "log:\n  level: info\n"
		     "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
		     "  delete:\n    enabled: true\n"
		     "http:\n  addr: %s\n  secret: %s\n"
		     "  tls:\n    certificate: %s/server.crt\n    key: %s/server.key\n"
		     "auth:\n  htpasswd:\n    realm: wharf\n    path: %s/htpasswd\n",
		     dir, listen, secret.buf, dir, dir, dir) < 0 ||
	    write_leaf(dir, "config.yml", &cfg, 0600) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&cfg);
	buf_release(&secret);
	return ret;
}

/* Runs argv (stdin /dev/null); a non-zero exit is an error naming argv[0]. */
static int run_checked(const char *const *argv)
{
	struct proc_opts po = PROC_OPTS_INIT;
	int status;

	po.argv = argv;
	po.in = PROC_NULL;
	if ((status = proc_run(&po)) < 0)
		return -1;
	if (status != 0)
		return err_set("%s failed (exit %d)", argv[0], status);
	return 0;
}

/* chown -R of path to uid:gid (no symlinks followed: all of it is ours). */
static int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct buf owner = BUF_INIT;
	int ret;

	ret = buf_addf(&owner, "%u:%u", (unsigned)uid, (unsigned)gid) < 0
		      ? -1
		      : run_checked((const char *[]){ "chown", "-R", "-h", owner.buf, path, NULL });
	buf_release(&owner);
	return ret;
}

/* ssh/id_ed25519: the key cluster:add-node logs in to root@HOST with. */
static int make_ssh_key(void)
{
	struct buf dir = BUF_INIT, key = BUF_INIT;
	int ret = -1;

	if (cluster_path(&dir, "ssh") < 0 || fs_private_dir(dir.buf) < 0 ||
	    buf_addf(&key, "%s/id_ed25519", dir.buf) < 0 ||
	    run_checked((const char *[]){ "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
					  "wharf-cluster", "-f", key.buf, NULL }) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&dir);
	buf_release(&key);
	return ret;
}

int cluster_trust_registry(const char *certs_dir)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf ca = BUF_INIT;
	int have, ret = -1;

	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("this wharf is not a cluster manager: run cluster:init ADDR first");
		goto out;
	}
	if (cluster_registry_ca(&ca) < 0 || cluster__install_ca(certs_dir, st.registry, &ca) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&ca);
	cluster_state_release(&st);
	return ret;
}

static const char *certs_dir_of(const char *given)
{
	const char *env = getenv("WHARF_DOCKER_CERTS_DIR");

	return given ? given : env && *env ? env : CLUSTER_DOCKER_CERTS_DIR;
}

/* Writes ca into certs_dir/registry/ca.crt (what a dockerd reads for that registry). */
int cluster__install_ca(const char *certs_dir, const char *registry, const struct buf *ca)
{
	struct buf dir = BUF_INIT;
	int ret = -1;

	if (buf_addf(&dir, "%s/%s", certs_dir, registry) < 0 || fs_mkdir_p(dir.buf, 0755) < 0 ||
	    write_leaf(dir.buf, "ca.crt", ca, 0644) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&dir);
	return ret;
}

int cluster_prepare(const struct cluster_init_opts *o)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf dir = BUF_INIT, reg = BUF_INIT, listen = BUF_INIT, ca = BUF_INIT, pw = BUF_INIT;
	struct stat root;
	int have, port = o->registry_port ? o->registry_port : CLUSTER_REGISTRY_PORT, ret = -1;

	if (!cluster_valid_ipv4(o->addr))
		return err_set("'%s' is not an IPv4 address (the manager's private address)",
			       o->addr ? o->addr : "");
	if (port < 1 || port > 65535)
		return err_set("registry port %d is out of range", port);
	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (have && strcmp(st.addr, o->addr)) {
		err_set("this wharf is the manager of a cluster on %s already (cluster:leave "
			"--force "
			"first)",
			st.addr);
		goto out;
	}
	if (cluster_path(&dir, "registry") < 0 || buf_addf(&listen, "%s:%d", o->addr, port) < 0)
		goto out;
	if (!have) {
		if (stat(wharf_root(), &root) < 0) {
			err_set_errno("cannot stat %s", wharf_root());
			goto out;
		}
		if (cluster_path(&reg, NULL) < 0 || fs_private_dir(reg.buf) < 0 ||
		    fs_private_dir(dir.buf) < 0)
			goto out;
		buf_reset(&reg);
		if (buf_addf(&reg, "%s/data", dir.buf) < 0 || fs_private_dir(reg.buf) < 0 ||
		    make_tls(dir.buf, o->addr) < 0 || random_hex(&pw, 24) < 0 ||
		    write_htpasswd(dir.buf, CLUSTER_REGISTRY_USER, pw.buf) < 0 ||
		    write_config(dir.buf, listen.buf) < 0)
			goto out;
		if (!(st.addr = strdup(o->addr)) || !(st.registry = strdup(listen.buf)) ||
		    !(st.user = strdup(CLUSTER_REGISTRY_USER)) || !(st.password = strdup(pw.buf)) ||
		    !(st.nodes = json_object())) {
			err_set("out of memory");
			goto out;
		}
		if (cluster__save(&st) < 0 || make_ssh_key() < 0)
			goto out;
		buf_reset(&reg);
		if (cluster_path(&reg, NULL) < 0 ||
		    chown_tree(reg.buf, root.st_uid, root.st_gid) < 0)
			goto out;
	}
	if (cluster_registry_ca(&ca) < 0 ||
	    cluster__install_ca(certs_dir_of(o->certs_dir), st.registry, &ca) < 0)
		goto out;
	ret = 0;
out:
	cluster_state_release(&st);
	buf_release(&dir);
	buf_release(&reg);
	buf_release(&listen);
	buf_release(&ca);
	buf_release(&pw);
	return ret;
}

int cluster__remove_ca(const char *certs_dir, const char *registry)
{
	struct buf dir = BUF_INIT;
	int ret;

	ret = buf_addf(&dir, "%s/%s", certs_dir_of(certs_dir), registry) < 0 ? -1
									     : fs_rm_rf(dir.buf);
	buf_release(&dir);
	return ret;
}

/* ---- the process ----------------------------------------------------------------- */

/* The registry's pid from its pid file when that process runs, else 0. */
static pid_t registry_pid(void)
{
	struct buf path = BUF_INIT, text = BUF_INIT, cmd = BUF_INIT;
	long pid = 0;

	if (cluster_path(&path, "registry/registry.pid") < 0 ||
	    fs_read_file(path.buf, &text, 64) < 0) {
		err_clear();
		goto out;
	}
	pid = strtol(text.buf, NULL, 10);
	if (pid <= 1 || kill((pid_t)pid, 0) < 0) {
		pid = 0;
		goto out;
	}
	/* A reused pid is not ours: the process must be docker-registry. */
	buf_reset(&path);
	if (buf_addf(&path, "/proc/%ld/comm", pid) < 0 || fs_read_file(path.buf, &cmd, 64) < 0 ||
	    strncmp(cmd.buf, "docker-registry", 15))
		pid = 0;
	err_clear();
out:
	buf_release(&path);
	buf_release(&text);
	buf_release(&cmd);
	return (pid_t)pid;
}

/* 1 when something accepts TCP connections on "ADDR:PORT". */
static int listening(const char *hostport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(hostport, ':');
	int fd, ok;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return 0;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Starts the registry with registry/<config> (config.yml, or the read-only copy of the
 * garbage collection) unless it runs; returns once it listens. */
static int registry_start(const struct cluster_state *st, const char *config)
{
	struct buf dir = BUF_INIT, log = BUF_INIT, cfg = BUF_INIT, pidfile = BUF_INIT,
		   text = BUF_INIT;
	pid_t pid;
	double deadline;
	int fd = -1, ret = -1;

	if (registry_pid() > 0)
		return 0;
	if (access("/usr/bin/docker-registry", X_OK) < 0)
		return err_set(
			"docker-registry is not installed (apt-get install docker-registry)");
	if (cluster_path(&dir, "registry") < 0 || buf_addf(&log, "%s/registry.log", dir.buf) < 0 ||
	    buf_addf(&cfg, "%s/%s", dir.buf, config) < 0 ||
	    buf_addf(&pidfile, "%s/registry.pid", dir.buf) < 0)
		goto out;
	if ((fd = open(log.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
		err_set_errno("cannot open %s", log.buf);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err_set_errno("fork");
		goto out;
	}
	if (pid == 0) {
		/* Detached: its own session, no terminal, stdio to its log. */
		int null = open("/dev/null", O_RDONLY);

		setsid();
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 3; i < 1024; i++)
			if (i != fd)
				close(i);
		execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg.buf,
		      (char *)NULL);
		_exit(127);
	}
	if (buf_addf(&text, "%ld\n", (long)pid) < 0 ||
	    fs_write_atomic(pidfile.buf, text.buf, text.len, 0600) < 0)
		goto out;
	deadline = clock_now_s() + 15;
	while (!listening(st->registry)) {
		if (kill(pid, 0) < 0 || clock_now_s() > deadline) {
			err_set("the registry did not listen on %s within 15 s (log: %s)",
				st->registry, log.buf);
			goto out;
		}
		usleep(100 * 1000);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&dir);
	buf_release(&log);
	buf_release(&cfg);
	buf_release(&pidfile);
	buf_release(&text);
	return ret;
}

int cluster_registry_start(const struct cluster_state *st)
{
	return registry_start(st, "config.yml");
}

int cluster_registry_stop(void)
{
	pid_t pid = registry_pid();
	int i;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	/* Reaped when it is our child (one the garbage collection started): a zombie
	 * would pass for a registry that still runs. */
	for (i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) <= 0 && kill(pid, 0) == 0; i++)
		usleep(100 * 1000);
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0); /* ours: at once; else ECHILD */
	}
	return 0;
}

/* ---- the lock of pushes, and the garbage collection ------------------------------- */

#define READONLY_CONFIG "config-readonly.yml"

/* 1 when the registry runs from the read-only config (a garbage collection). */
static int registry_readonly(void)
{
	struct buf path = BUF_INIT, cmd = BUF_INIT;
	pid_t pid = registry_pid();
	int ro = 0;

	if (pid > 0 && buf_addf(&path, "/proc/%ld/cmdline", (long)pid) == 0 &&
	    fs_read_file(path.buf, &cmd, 4096) == 0)
		/* NUL-separated: the config is the last argument. */
		ro = cmd.len > sizeof(READONLY_CONFIG) &&
		     !strcmp(cmd.buf + cmd.len - sizeof(READONLY_CONFIG), READONLY_CONFIG);
	err_clear(); /* handled: not running, or gone meanwhile */
	buf_release(&path);
	buf_release(&cmd);
	return ro;
}

/* Stops the registry and starts it from config; the old one must be gone first, or the
 * new one could not listen. */
static int registry_restart(const struct cluster_state *st, const char *config)
{
	if (cluster_registry_stop() < 0)
		return -1;
	for (int i = 0; i < 50 && listening(st->registry); i++)
		usleep(100 * 1000);
	return registry_start(st, config);
}

int cluster_registry_lock(struct lock *l, int exclusive, const char *waiting_msg)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct buf path = BUF_INIT;
	int waited = -1;

	if (cluster_path(&path, "registry/gc.lock") < 0 ||
	    (waited = lock_take_mode(l, path.buf, !exclusive, waiting_msg)) < 0)
		goto out;
	/* A garbage collection that was killed half way left the
	 * registry read-only: nobody collects while we hold the lock, so it is made
	 * writable again, under the exclusive lock so two pushes do not both restart it
	 * (flock converts by dropping first: no deadlock between two converting). */
	if (!exclusive && registry_readonly()) {
		if (flock(l->fd, LOCK_EX) < 0 || cluster_load(&st) < 0 ||
		    (registry_readonly() && registry_restart(&st, "config.yml") < 0) ||
		    flock(l->fd, LOCK_SH) < 0) {
			if (!*err_msg())
				err_set_errno("flock");
			err_prefix("the registry was left read-only and cannot be made writable");
			lock_release(l);
			waited = -1;
		}
	}
out:
	cluster_state_release(&st);
	buf_release(&path);
	return waited;
}

/* Bytes and blobs under the registry's storage. */
static long long walk_bytes, walk_blobs;

static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F) {
		walk_bytes += (long long)sb->st_size;
		/* a blob is .../blobs/sha256/<2 hex>/<digest>/data */
		if (strstr(path, "/blobs/sha256/") && !strcmp(path + strlen(path) - 5, "/data"))
			walk_blobs++;
	}
	return 0;
}

static int storage_size(const char *data, long long *bytes, long long *blobs)
{
	walk_bytes = walk_blobs = 0;
	if (fs_is_dir(data) && nftw(data, walk_one, 16, FTW_PHYS) < 0)
		return err_set_errno("cannot measure %s", data);
	*bytes = walk_bytes;
	*blobs = walk_blobs;
	return 0;
}

/* registry/config-readonly.yml: config.yml with storage.maintenance.readonly on. */
static int write_readonly_config(const char *dir)
{
	static const char storage[] = "\nstorage:\n";
	struct buf path = BUF_INIT, cfg = BUF_INIT, ro = BUF_INIT;
	const char *at;
	int ret = -1;

	if (buf_addf(&path, "%s/config.yml", dir) < 0 || fs_read_file(path.buf, &cfg, 65536) < 0)
		goto out;
	if (!(at = strstr(cfg.buf, storage))) {
		err_set("%s has no storage section", path.buf);
		goto out;
	}
	at += sizeof(storage) - 1;
	if (buf_add(&ro, cfg.buf, (size_t)(at - cfg.buf)) < 0 ||
	    buf_addstr(&ro, "  maintenance:\n    readonly:\n      enabled: true\n") < 0 ||
	    buf_addstr(&ro, at) < 0 || write_leaf(dir, READONLY_CONFIG, &ro, 0600) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&path);
	buf_release(&cfg);
	buf_release(&ro);
	return ret;
}

/* Keeps garbage-collect's summary line ("N blobs marked, N blobs and N manifests
 * eligible for deletion") and its last line (its error, when it fails). */
struct gc_out {
	struct buf summary, last;
};

static void gc_line(int stream, const char *line, size_t len, void *data)
{
	struct gc_out *o = data;

	(void)stream;
	if (!len)
		return;
	buf_reset(&o->last);
	buf_add(&o->last, line, len < 300 ? len : 300);
	if (memmem(line, len, "blobs marked", 12)) {
		buf_reset(&o->summary);
		buf_add(&o->summary, line, len < 300 ? len : 300);
	}
}

int cluster_registry_gc(struct cluster_gc_result *res)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	struct lock l = LOCK_INIT;
	struct buf dir = BUF_INIT, data = BUF_INIT, cfg = BUF_INIT, repos = BUF_INIT;
	struct gc_out o = { BUF_INIT, BUF_INIT };
	struct proc_opts po = PROC_OPTS_INIT;
	int have, running = 0, status, ret = -1;

	res->bytes_before = res->bytes_after = res->blobs_before = res->blobs_after = 0;
	buf_reset(&res->summary);
	if ((have = cluster_load(&st)) < 0)
		goto out;
	if (!have) {
		err_set("this host is not a cluster manager: run cluster:init first");
		goto out;
	}
	if (cluster_path(&dir, "registry") < 0 || buf_addf(&data, "%s/data", dir.buf) < 0 ||
	    buf_addf(&cfg, "%s/config.yml", dir.buf) < 0 ||
	    buf_addf(&repos, "%s/docker/registry/v2/repositories", data.buf) < 0)
		goto out;
	/* No push and no manifest deletion of wharf's meanwhile: they hold it shared. */
	if (cluster_registry_lock(&l, 1, "Waiting for pushes to the registry to finish") < 0 ||
	    storage_size(data.buf, &res->bytes_before, &res->blobs_before) < 0)
		goto out;
	if (!fs_is_dir(repos.buf)) { /* nothing was ever pushed: nothing to collect */
		res->bytes_after = res->bytes_before;
		res->blobs_after = res->blobs_before;
		ret = 0;
		goto out;
	}
	/* Read-only meanwhile, for anyone else who holds the credentials: the nodes
	 * still pull. Left stopped when it was. */
	running = registry_pid() > 0;
	if (!running && listening(st.registry)) {
		/* Someone else's registry on the address (a unit of the admin's): wharf cannot
		 * make it read-only, and collecting under a registry that takes writes could
		 * delete a blob being pushed. */
		err_set("a registry answers on %s that wharf did not start (no %s/registry.pid): "
			"stop it, or let wharf run it (cluster:init starts it), then cluster:gc",
			st.registry, dir.buf);
		goto out;
	}
	if (running &&
	    (write_readonly_config(dir.buf) < 0 || registry_restart(&st, READONLY_CONFIG) < 0))
		goto restart;
	po.argv = (const char *[]){ "/usr/bin/docker-registry", "garbage-collect",
				    "--delete-untagged", cfg.buf, NULL };
	po.in = PROC_NULL;
	po.out = po.err = PROC_LINES;
	po.on_line = gc_line;
	po.data = &o;
	if ((status = proc_run(&po)) < 0)
		goto restart;
	if (status != 0) {
		err_set("docker-registry garbage-collect failed (exit %d): %s", status,
			o.last.len ? o.last.buf : "no output");
		goto restart;
	}
	if (buf_addstr(&res->summary, o.summary.len ? o.summary.buf : "") < 0 ||
	    storage_size(data.buf, &res->bytes_after, &res->blobs_after) < 0)
		goto restart;
	ret = 0;
restart:
	/* Writable again whatever happened (the collection's error is kept). */
	if (running) {
		struct err_saved why;
		err_save(&why);
		if (registry_restart(&st, "config.yml") < 0) {
			err_prefix("the registry is left read-only");
			ret = -1;
		} else {
			err_restore(&why);
		}
	}
out:
	lock_release(&l);
	cluster_state_release(&st);
	buf_release(&dir);
	buf_release(&data);
	buf_release(&cfg);
	buf_release(&repos);
	buf_release(&o.summary);
	buf_release(&o.last);
	return ret;
}

/* ---- auth ------------------------------------------------------------------------- */

int cluster_registry_auth(const struct cluster_state *st, struct buf *out)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "username", st->user, "password", st->password,
			      "serveraddress", st->registry);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	unsigned char *b64 = NULL;
	size_t i, n, len;
	int ret = -1;

	if (!text) {
		err_set("out of memory");
		goto out;
	}
	len = strlen(text);
	if (!(b64 = malloc(4 * ((len + 2) / 3) + 1))) {
		err_set("out of memory");
		goto out;
	}
	n = (size_t)EVP_EncodeBlock(b64, (const unsigned char *)text, (int)len);
	/* X-Registry-Auth is base64url. */
	for (i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	ret = buf_add(out, b64, n);
out:
	free(b64);
	free(text);
	json_decref(j);
	return ret;
}
