/* test_ssh.c - nodes over ssh without a node: the join script parses as sh and quotes every
 * word; a tunnel to a node's Docker (cluster__ssh_docker) is an ssh whose forward the handle
 * talks through and owns (docker_free() stops it and removes its socket), and an ssh that
 * fails gives its own words. `ssh` is a stub in PATH: it records its arguments and pid, and
 * either says "Permission denied" and exits 255 or links the forward's local socket to the
 * fake Docker (tests/unit/lib) and sleeps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "cluster/internal.h"
#include "lib/fakes.h"

static char dir[64];
static struct buf root = BUF_INIT;

static const char stub[] =
	"#!/bin/sh\n"
	"echo \"$*\" >\"$STUB_DIR/args\"\n"
	"echo $$ >\"$STUB_DIR/pid\"\n"
	"if [ \"$STUB_MODE\" = refuse ]; then\n"
	"  echo \"root@10.0.0.11: Permission denied (publickey).\" >&2\n"
	"  exit 255\n"
	"fi\n"
	"for a; do case $a in *:/var/run/docker.sock) l=${a%:/var/run/docker.sock};; esac; done\n"
	"ln -s \"${DOCKER_HOST#unix://}\" \"$l\"\n"
	"exec sleep 60\n";

static void write_file(const char *path, const char *text, mode_t mode)
{
	assert_int_equal(fs_write_atomic(path, text, strlen(text), mode), 0);
}

static int setup(void **state)
{
	struct buf p = BUF_INIT, path = BUF_INIT;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wharf-ssh-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	buf_addf(&root, "%s/root", dir);
	setenv("WHARF_ROOT", root.buf, 1);
	setenv("STUB_DIR", dir, 1);
	buf_addf(&p, "%s/cluster/ssh", root.buf);
	fs_mkdir_p(p.buf, 0700);
	buf_addstr(&p, "/id_ed25519");
	write_file(p.buf, "not a key\n", 0600);
	buf_reset(&p);
	buf_addf(&p, "%s/bin", dir);
	fs_mkdir_p(p.buf, 0755);
	buf_addf(&path, "%s:%s", p.buf, getenv("PATH"));
	setenv("PATH", path.buf, 1);
	buf_addstr(&p, "/ssh");
	write_file(p.buf, stub, 0755);
	buf_release(&p);
	buf_release(&path);
	return fakes_start(dir);
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(dir);
	buf_release(&root);
	return 0;
}

/* How many tunnel directories are left under $WHARF_ROOT/cluster/. */
static size_t tunnels_left(void)
{
	struct buf pat = BUF_INIT;
	glob_t g;
	size_t n = 0;

	buf_addf(&pat, "%s/cluster/tunnel.*", root.buf);
	if (glob(pat.buf, 0, NULL, &g) == 0)
		n = g.gl_pathc;
	globfree(&g);
	buf_release(&pat);
	return n;
}

static void read_stub(const char *leaf, struct buf *out)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/%s", dir, leaf);
	assert_int_equal(fs_read_file(p.buf, out, 4096), 0);
	buf_release(&p);
}

static void tunnel_is_owned_by_the_handle(void **state)
{
	struct docker *d = NULL;
	struct buf args = BUF_INIT, pid = BUF_INIT;
	pid_t ssh;

	(void)state;
	unsetenv("STUB_MODE");
	if (cluster__ssh_docker("10.0.0.11", "abcdefabcdef0123", &d) < 0)
		fail_msg("%s", err_msg());
	assert_non_null(d);
	/* docker_new() pinged and negotiated through the forward. */
	assert_string_equal(docker_api_version(d), "1.41");
	read_stub("args", &args);
	assert_non_null(strstr(args.buf, "-i "));
	assert_non_null(strstr(args.buf, "IdentitiesOnly=yes"));
	assert_non_null(strstr(args.buf, "BatchMode=yes"));
	assert_non_null(strstr(args.buf, "UserKnownHostsFile="));
	assert_non_null(strstr(args.buf, "-N "));
	assert_non_null(strstr(args.buf, "ExitOnForwardFailure=yes"));
	assert_non_null(strstr(args.buf, "/d.sock:/var/run/docker.sock root@10.0.0.11"));
	read_stub("pid", &pid);
	ssh = (pid_t)atoi(pid.buf);
	assert_true(ssh > 0);
	assert_int_equal(kill(ssh, 0), 0);
	assert_int_equal(tunnels_left(), 1);
	/* Freeing the handle stops that ssh (reaped: no such process) and removes its dir. */
	docker_free(d);
	assert_int_equal(kill(ssh, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(tunnels_left(), 0);
	buf_release(&args);
	buf_release(&pid);
}

/* A tunnel left by a wharf that was killed: its directory, with an ssh stand-in still
 * running (a child whose argv names the directory); *ssh gets its pid. */
static void stale_tunnel(struct buf *tdir, pid_t *ssh)
{
	struct buf owner = BUF_INIT, text = BUF_INIT;
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	buf_addf(tdir, "%s/cluster/tunnel.stale1", root.buf);
	fs_mkdir_p(tdir->buf, 0700);
	*ssh = fork();
	if (*ssh == 0) {
		execlp("sh", "sh", "-c", "while :; do sleep 0.1; done", tdir->buf, (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000);
	buf_addf(&owner, "%s/owner", tdir->buf);
	buf_addf(&text, "%ld %ld\n", (long)dead, (long)*ssh);
	write_file(owner.buf, text.buf, 0600);
	buf_release(&owner);
	buf_release(&text);
}

static void ssh_failure_gives_its_words(void **state)
{
	struct docker *d = NULL;
	struct buf tdir = BUF_INIT;
	pid_t stale;
	int status = 0;

	(void)state;
	stale_tunnel(&tdir, &stale);
	setenv("STUB_MODE", "refuse", 1);
	assert_int_equal(cluster__ssh_docker("10.0.0.11", "abcdefabcdef0123", &d), -1);
	assert_null(d);
	assert_non_null(strstr(err_msg(), "cannot reach the Docker of node abcdefabcdef over ssh "
					  "(root@10.0.0.11, exit 255): root@10.0.0.11: Permission "
					  "denied (publickey)."));
	err_clear();
	/* The stale tunnel went with it: its ssh got SIGTERM, its directory is gone. */
	assert_int_equal(tunnels_left(), 0);
	assert_int_equal(waitpid(stale, &status, 0), stale);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	buf_release(&tdir);
	/* A host that would be an ssh option or carry a user is refused before ssh runs. */
	assert_int_equal(cluster__ssh_docker("-oProxyCommand=x", "abcdefabcdef0123", &d), -1);
	assert_non_null(strstr(err_msg(), "is not a host name or address"));
	assert_int_equal(cluster__ssh_docker("x@10.0.0.11", "abcdefabcdef0123", &d), -1);
	err_clear();
	unsetenv("STUB_MODE");
}

/* sh -n accepts script. */
static int parses(const char *script)
{
	struct proc_opts po = PROC_OPTS_INIT;

	po.argv = (const char *[]){ "sh", "-n", NULL };
	po.in = PROC_DATA;
	po.in_data = script;
	po.in_len = strlen(script);
	return proc_run(&po);
}

static void join_script_quotes_every_word(void **state)
{
	struct cluster_state st = { .addr = "10.0.0.1", .registry = "10.0.0.1:5000" };
	struct buf s = BUF_INIT, ca = BUF_INIT;

	(void)state;
	buf_addstr(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	assert_int_equal(cluster__join_script(&s, &st, "SWMTKN-1-abc-def", "10.0.0.11", &ca), 0);
	assert_int_equal(parses(s.buf), 0);
	assert_non_null(strstr(s.buf,
			       "docker swarm join --token 'SWMTKN-1-abc-def' --advertise-addr "
			       "'10.0.0.11' --listen-addr '10.0.0.11' --data-path-addr "
			       "'10.0.0.11' '10.0.0.1:2377'\n"));
	assert_non_null(strstr(s.buf,
			       "cat >'/etc/docker/certs.d/10.0.0.1:5000/ca.crt' <<'WHARF_CA'\n"
			       "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
			       "WHARF_CA\n"));
	/* Without an address Docker picks; a CA without its last newline still ends the
	 * here-document. */
	buf_reset(&s);
	buf_setlen(&ca, ca.len - 1);
	assert_int_equal(cluster__join_script(&s, &st, "SWMTKN-1-abc-def", NULL, &ca), 0);
	assert_int_equal(parses(s.buf), 0);
	assert_non_null(
		strstr(s.buf, "docker swarm join --token 'SWMTKN-1-abc-def' '10.0.0.1:2377'\n"));
	assert_non_null(strstr(s.buf, "-----END CERTIFICATE-----\nWHARF_CA\n"));
	buf_release(&s);
	buf_release(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tunnel_is_owned_by_the_handle),
		cmocka_unit_test(ssh_failure_gives_its_words),
		cmocka_unit_test(join_script_quotes_every_word),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
