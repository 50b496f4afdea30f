/* ssh.c - nodes joined over ssh as root: a script run on one (the join, the leave), and
 * its dockerd reached through an OpenSSH unix-socket forward (a tunnel that lives as long
 * as the docker handle on it). Every ssh uses wharf's cluster key and known_hosts. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* The remote socket a tunnel forwards to: the node's default Docker. */
#define NODE_DOCKER_SOCK "/var/run/docker.sock"
/* How long a tunnel may take to answer (ssh's own ConnectTimeout is 15 s). */
#define TUNNEL_WAIT_S    20

/* ssh's argv for root@host with wharf's key and known hosts: the common options, then
 * the caller's (up to SSH_EXTRA_MAX), then the destination and cmd (may be NULL). */
#define SSH_EXTRA_MAX 12
struct ssh_cmd {
	struct buf key, known, kopt, dest;
	const char *argv[16 + SSH_EXTRA_MAX];
};
#define SSH_CMD_INIT                                                                   \
	{                                                                              \
		.key = BUF_INIT, .known = BUF_INIT, .kopt = BUF_INIT, .dest = BUF_INIT \
	}

static void ssh_cmd_release(struct ssh_cmd *c)
{
	buf_release(&c->key);
	buf_release(&c->known);
	buf_release(&c->kopt);
	buf_release(&c->dest);
}

static int ssh_cmd(struct ssh_cmd *c, const char *host, int first, const char *const *extra,
		   const char *cmd)
{
	size_t n = 0, i;

	if (!*host || host[0] == '-' || strpbrk(host, " \t\n@/'\"\\;"))
		return err_set("'%s' is not a host name or address", host);
	if (cluster_path(&c->key, "ssh/id_ed25519") < 0 ||
	    cluster_path(&c->known, "ssh/known_hosts") < 0 ||
	    buf_addf(&c->kopt, "UserKnownHostsFile=%s", c->known.buf) < 0 ||
	    buf_addf(&c->dest, "root@%s", host) < 0)
		return -1;
	if (!fs_exists(c->key.buf))
		return err_set("no ssh key %s: run cluster:init first", c->key.buf);
	c->argv[n++] = "ssh";
	/* No ssh_config of the user's or the system's (a ProxyCommand, a ControlMaster) for
	 * connections as root to the nodes. */
	c->argv[n++] = "-F";
	c->argv[n++] = "none";
	c->argv[n++] = "-i";
	c->argv[n++] = c->key.buf;
	c->argv[n++] = "-o";
	c->argv[n++] = "IdentitiesOnly=yes";
	c->argv[n++] = "-o";
	c->argv[n++] = "BatchMode=yes";
	c->argv[n++] = "-o";
	/* A node's host key is learnt when it joins, and must match ever after: a known_hosts
	 * line gone does not make wharf trust whoever answers at the node's address. */
	c->argv[n++] = first ? "StrictHostKeyChecking=accept-new" : "StrictHostKeyChecking=yes";
	c->argv[n++] = "-o";
	c->argv[n++] = c->kopt.buf;
	c->argv[n++] = "-o";
	c->argv[n++] = "ConnectTimeout=15";
	for (i = 0; extra && extra[i] && i < SSH_EXTRA_MAX; i++)
		c->argv[n++] = extra[i];
	c->argv[n++] = c->dest.buf;
	if (cmd)
		c->argv[n++] = cmd;
	c->argv[n] = NULL;
	return 0;
}

int cluster__ssh_script(const char *host, const char *script, int first)
{
	struct ssh_cmd c = SSH_CMD_INIT;
	struct proc_opts po = PROC_OPTS_INIT;
	int status, ret = -1;

	if (ssh_cmd(&c, host, first, NULL, "sh -s") < 0)
		goto out;
	po.argv = c.argv;
	po.in = PROC_DATA;
	po.in_data = script;
	po.in_len = strlen(script);
	if ((status = proc_run(&po)) < 0)
		goto out;
	if (status != 0) {
		err_set("the commands run on %s over ssh failed (exit %d; see above)", c.dest.buf,
			status);
		goto out;
	}
	ret = 0;
out:
	ssh_cmd_release(&c);
	return ret;
}

/* ---- tunnels ------------------------------------------------------------------- */

/* A forward: the ssh process and the private directory holding its local socket, its
 * stderr and "owner" ("<wharf pid> <ssh pid>", for reap_stale()). */
struct tunnel {
	pid_t pid;
	struct buf dir, sock, errlog;
};

/* Removes a tunnel's directory and what it holds (no error state touched). */
static void remove_dir(const char *dir)
{
	static const char *const leaves[] = { "d.sock", "ssh.err", "owner", NULL };
	char p[4096];
	size_t i;

	for (i = 0; leaves[i]; i++)
		if (snprintf(p, sizeof(p), "%s/%s", dir, leaves[i]) < (int)sizeof(p))
			unlink(p);
	rmdir(dir);
}

/* 1 when /proc/<pid>/cmdline (an argv) has an argument containing needle: the process is
 * the ssh of that tunnel and not another that took its pid. */
static int cmdline_has(pid_t pid, const char *needle)
{
	struct buf p = BUF_INIT, cmd = BUF_INIT;
	size_t off;
	int found = 0;

	if (buf_addf(&p, "/proc/%ld/cmdline", (long)pid) < 0 ||
	    fs_read_file(p.buf, &cmd, 64 << 10) < 0) {
		err_clear();
		goto out;
	}
	for (off = 0; off < cmd.len && !found; off += strlen(cmd.buf + off) + 1)
		found = strstr(cmd.buf + off, needle) != NULL;
out:
	buf_release(&p);
	buf_release(&cmd);
	return found;
}

/* Tunnels whose wharf process died without freeing them (SIGKILL): their ssh is stopped
 * (when it is still that ssh and ours to signal) and their directory removed. */
static void reap_stale(const char *base)
{
	struct buf pat = BUF_INIT, owner = BUF_INIT;
	glob_t g;
	size_t i;

	if (buf_addf(&pat, "%s/tunnel.*", base) < 0 || glob(pat.buf, 0, NULL, &g) != 0)
		goto out;
	for (i = 0; i < g.gl_pathc; i++) {
		long wpid = 0, spid = 0;

		buf_reset(&owner);
		if (buf_addf(&owner, "%s/owner", g.gl_pathv[i]) < 0)
			break;
		{
			FILE *f = fopen(owner.buf, "r");
			int n = f ? fscanf(f, "%ld %ld", &wpid, &spid) : 0;

			if (f)
				fclose(f);
			if (n != 2 || wpid <= 0)
				continue; /* being made, or not ours to judge */
		}
		if (kill((pid_t)wpid, 0) == 0 || errno != ESRCH)
			continue; /* its wharf still runs (or is another user's) */
		if (spid > 0 && cmdline_has((pid_t)spid, g.gl_pathv[i]) &&
		    kill((pid_t)spid, SIGTERM) < 0 && errno == EPERM)
			continue;
		remove_dir(g.gl_pathv[i]);
	}
	globfree(&g);
out:
	buf_release(&pat);
	buf_release(&owner);
}

/* Stops the ssh (SIGTERM, SIGKILL after 2 s) and removes what it made. Leaves the error
 * state alone (it runs from docker_free(), often on an error path). */
static void tunnel_stop(void *data)
{
	struct tunnel *t = data;
	int i;

	if (!t)
		return;
	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		for (i = 0; i < 200; i++) {
			pid_t r = waitpid(t->pid, NULL, WNOHANG);
			if (r == t->pid || (r < 0 && errno != EINTR))
				break;
			usleep(10 * 1000);
		}
		if (i == 200) {
			kill(t->pid, SIGKILL);
			while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	if (t->dir.len)
		remove_dir(t->dir.buf);
	buf_release(&t->dir);
	buf_release(&t->sock);
	buf_release(&t->errlog);
	free(t);
}

/* What ssh said on stderr, on one line (the last 600 bytes); "" when nothing. */
static void tunnel_said(const struct tunnel *t, struct buf *out)
{
	struct buf raw = BUF_INIT;
	size_t i, from;

	if (fs_read_file(t->errlog.buf, &raw, 64 << 10) < 0) {
		err_clear();
		goto out;
	}
	while (raw.len && (raw.buf[raw.len - 1] == '\n' || raw.buf[raw.len - 1] == '\r'))
		raw.len--;
	from = raw.len > 600 ? raw.len - 600 : 0;
	for (i = from; i < raw.len; i++)
		buf_addch(out, raw.buf[i] == '\n' ? ' ' : raw.buf[i] == '\r' ? ' ' : raw.buf[i]);
out:
	buf_release(&raw);
}

int cluster__ssh_docker(const char *host, const char *node, struct docker **out)
{
	struct ssh_cmd c = SSH_CMD_INIT;
	struct proc_opts po = PROC_OPTS_INIT;
	struct proc p;
	struct tunnel *t = calloc(1, sizeof(*t));
	struct buf base = BUF_INIT, fwd = BUF_INIT, host_url = BUF_INIT, said = BUF_INIT,
		   last = BUF_INIT, owner = BUF_INIT, pids = BUF_INIT;
	struct docker *d = NULL;
	double deadline = clock_now_s() + TUNNEL_WAIT_S;
	int errfd = -1, status, ret = -1;

	*out = NULL;
	if (!t) {
		err_set("out of memory");
		goto out;
	}
	t->pid = -1;
	t->dir = (struct buf)BUF_INIT;
	t->sock = (struct buf)BUF_INIT;
	t->errlog = (struct buf)BUF_INIT;
	/* The local socket: in a fresh directory of the cluster's (0700), as ssh makes it
	 * 0600 for whoever runs it. */
	if (cluster_path(&base, NULL) < 0)
		goto out;
	reap_stale(base.buf);
	if (fs_mkdtemp(&t->dir, base.buf, "tunnel.") < 0 ||
	    buf_addf(&t->sock, "%s/d.sock", t->dir.buf) < 0 ||
	    buf_addf(&t->errlog, "%s/ssh.err", t->dir.buf) < 0 ||
	    buf_addf(&fwd, "%s:%s", t->sock.buf, NODE_DOCKER_SOCK) < 0 ||
	    buf_addf(&host_url, "unix://%s", t->sock.buf) < 0)
		goto out;
	if (t->sock.len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		err_set("the tunnel's socket path %s is too long for a unix socket (WHARF_ROOT is "
			"too deep)",
			t->sock.buf);
		goto out;
	}
	if ((errfd = open(t->errlog.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		err_set_errno("cannot create %s", t->errlog.buf);
		goto out;
	}
	if (ssh_cmd(&c, host, 0,
		    (const char *const[]){ "-N", "-o", "ExitOnForwardFailure=yes", "-o",
					   "StreamLocalBindUnlink=yes", "-o",
					   "ServerAliveInterval=15", "-L", fwd.buf, NULL },
		    NULL) < 0)
		goto out;
	po.argv = c.argv;
	po.in = PROC_NULL;
	po.out = PROC_NULL;
	po.err = PROC_FD;
	po.err_fd = errfd;
	po.new_group = 1; /* a terminal's ^C is for `enter`'s process, not the tunnel */
	/* But a wharf that dies of it (or of anything) takes its tunnel along. */
	po.die_with_parent = 1;
	/* The owner first: a directory left by a wharf killed at any point is reaped. */
	if (buf_addf(&owner, "%s/owner", t->dir.buf) < 0 ||
	    buf_addf(&pids, "%ld 0\n", (long)getpid()) < 0 ||
	    fs_write_atomic(owner.buf, pids.buf, pids.len, 0600) < 0)
		goto out;
	if (proc_start(&p, &po) < 0)
		goto out;
	t->pid = p.pid;
	close(errfd);
	errfd = -1;
	buf_reset(&pids);
	if (buf_addf(&pids, "%ld %ld\n", (long)getpid(), (long)t->pid) < 0 ||
	    fs_write_atomic(owner.buf, pids.buf, pids.len, 0600) < 0)
		goto out;
	for (;;) {
		pid_t r = waitpid(t->pid, &status, WNOHANG);

		if (r == t->pid) {
			t->pid = -1;
			buf_reset(&said);
			tunnel_said(t, &said);
			err_set("cannot reach the Docker of node %.12s over ssh (%s, exit %d): %s",
				node, c.dest.buf, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				said.len ? said.buf : "ssh said nothing");
			goto out;
		}
		if (fs_exists(t->sock.buf)) {
			if (docker_new(&d, host_url.buf) == 0)
				break;
			buf_reset(&last);
			buf_addstr(&last, err_msg());
			err_clear();
			buf_reset(&said);
			tunnel_said(t, &said);
			/* ssh connected, but the node refused the forward (no dockerd there,
			 * forwarding not allowed): no point in waiting. */
			if (strstr(said.buf, "open failed")) {
				err_set("cannot reach the Docker of node %.12s over ssh: "
					"%s refused the forward to %s (is dockerd running "
					"there, and does its sshd allow local forwards?): %s",
					node, c.dest.buf, NODE_DOCKER_SOCK, said.buf);
				goto out;
			}
		}
		if (clock_now_s() > deadline) {
			buf_reset(&said);
			tunnel_said(t, &said);
			err_set("cannot reach the Docker of node %.12s over ssh: no answer on %s "
				"from %s:" NODE_DOCKER_SOCK " within %d s (%s; ssh: %s)",
				node, t->sock.buf, c.dest.buf, TUNNEL_WAIT_S,
				last.len ? last.buf : "no socket", said.len ? said.buf : "nothing");
			goto out;
		}
		usleep(50 * 1000);
	}
	docker_on_free(d, tunnel_stop, t);
	t = NULL;
	*out = d;
	ret = 0;
out:
	if (errfd >= 0)
		close(errfd);
	tunnel_stop(t);
	ssh_cmd_release(&c);
	buf_release(&base);
	buf_release(&fwd);
	buf_release(&host_url);
	buf_release(&said);
	buf_release(&last);
	buf_release(&owner);
	buf_release(&pids);
	return ret;
}
