// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * statetest: network.state on the real kernel against the evaluator, on
 * random policies (egress and ingress) and random flows.
 *
 *   statetest CGFENCE CGROUP NAME POLICIES CASES SEED
 *
 * For each random policy: write it, `CGFENCE apply` it to CGROUP, then run
 * CASES random flows between a socket of the cgroup and one outside:
 * outgoing TCP, outgoing UDP (unconnected and connected), incoming TCP,
 * incoming UDP, and outgoing UDP answered from another port of the peer.
 * A flow is "allow" when its packets pass both ways, "deny" when the first
 * one is refused (EPERM) or dropped; anything between is a disagreement.
 * Each is compared with cgf_eval_flow(). Sockets of the cgroup are made by
 * a child that lives in CGROUP and hands them over (SCM_RIGHTS): a socket
 * belongs to the cgroup it was made in. Loopback addresses only; run it in
 * a network namespace of its own. Prints TAP lines; exits 1 on a disagreement.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval.h"
#include "policy.h"
#include "util.h"
#include "randpolicy.h"

#define WAIT_MS 30

enum kind { K_OUT_TCP, K_OUT_UDP, K_OUT_UDP_CONN, K_IN_TCP, K_IN_UDP, K_REPLY_OTHER, K_MAX };
static const char *const kind_name[K_MAX] = {
	"out tcp", "out udp", "out udp connected", "in tcp", "in udp", "udp answer from another port",
};
enum { R_ALLOW, R_DENY, R_PARTIAL };
static const char *const res_name[] = { "allow", "deny", "partial" };

struct flow {
	enum kind kind;
	struct cgf_prefix remote;	/* 127.x.y.z or ::1 */
	uint16_t rport, lport;
};

static int factory = -1;	/* to the child in the cgroup */

/* A socket made inside the cgroup. */
static int cg_socket(int domain, int type)
{
	int req[2] = { domain, type }, fd = -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = req, .iov_len = sizeof(req) };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	if (send(factory, req, sizeof(req), 0) != sizeof(req) || recvmsg(factory, &m, 0) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static void run_factory(const char *cgroup, int s)
{
	char path[600];
	int req[2];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	if (write_string(path, "0"))
		_exit(3);
	while (recv(s, req, sizeof(req), 0) == sizeof(req)) {
		int fd = socket(req[0], req[1] | SOCK_CLOEXEC, 0);
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec io = { .iov_base = req, .iov_len = sizeof(req) };
		struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1 };

		if (fd >= 0) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof(cbuf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);

			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(fd));
		}
		if (sendmsg(s, &m, 0) < 0)
			_exit(4);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

static socklen_t sa(const struct cgf_prefix *a, uint16_t port, struct sockaddr_in6 *s6)
{
	memset(s6, 0, sizeof(*s6));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (void *)s6;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->addr, 4);
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->addr, 16);
	return sizeof(*s6);
}

/* a socket outside the cgroup, bound to a:port (port 0: any) */
static int out_socket(const struct cgf_prefix *a, uint16_t port, int type)
{
	struct sockaddr_in6 s6;
	socklen_t l = sa(a, port, &s6);
	int one = 1, fd = socket(a->family == 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (void *)&s6, l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1 && (p.revents & POLLIN);
}

/* one byte from a to b, TCP or UDP (to: for unconnected UDP) */
static bool pass(int a, int b, const struct sockaddr *to, socklen_t tl)
{
	char c = 'x';

	if (to ? sendto(a, &c, 1, 0, to, tl) != 1 : send(a, &c, 1, 0) != 1)
		return false;
	return readable(b) && recv(b, &c, 1, MSG_DONTWAIT) == 1;
}

static void close_all(int *fds, int n)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };	/* no TIME_WAIT */

	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fds[i]);
		}
}

static int tcp_flow(const struct flow *f, const struct cgf_prefix *local)
{
	int fam = f->remote.family == 4 ? AF_INET : AF_INET6;
	int fd[3] = { -1, -1, -1 }, res = R_DENY, client, srv;
	bool out = f->kind == K_OUT_TCP;
	struct sockaddr_in6 s6;
	socklen_t l;

	if (out) {	/* a server outside at remote:rport, the client in the cgroup */
		fd[0] = out_socket(&f->remote, f->rport, SOCK_STREAM);
		fd[1] = cg_socket(fam, SOCK_STREAM);
		l = sa(&f->remote, f->rport, &s6);
	} else {	/* a listener in the cgroup at local:lport, the client outside */
		struct sockaddr_in6 b;
		socklen_t bl = sa(local, f->lport, &b);
		int one = 1;

		fd[0] = cg_socket(fam, SOCK_STREAM);
		setsockopt(fd[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd[0] >= 0 && bind(fd[0], (void *)&b, bl))
			goto out;
		fd[1] = out_socket(&f->remote, 0, SOCK_STREAM);
		l = sa(local, f->lport, &s6);
	}
	if (fd[0] < 0 || fd[1] < 0 || listen(fd[0], 4))
		goto out;
	fcntl(fd[1], F_SETFL, O_NONBLOCK);
	if (connect(fd[1], (void *)&s6, l) && errno != EINPROGRESS) {
		res = errno == EPERM ? R_DENY : R_PARTIAL;
		goto out;
	}
	struct pollfd p = { .fd = fd[1], .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);

	if (poll(&p, 1, WAIT_MS) != 1 || getsockopt(fd[1], SOL_SOCKET, SO_ERROR, &err, &el) || err)
		goto out;	/* no connection: denied */
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	fd[2] = readable(fd[0]) ? accept(fd[0], NULL, NULL) : -1;
	client = fd[1];
	srv = fd[2];
	res = srv >= 0 && pass(client, srv, NULL, 0) && pass(srv, client, NULL, 0) ? R_ALLOW
										   : R_PARTIAL;
out:
	close_all(fd, 3);
	return res;
}

static int udp_flow(const struct flow *f, const struct cgf_prefix *local)
{
	int fam = f->remote.family == 4 ? AF_INET : AF_INET6;
	int fd[3] = { -1, -1, -1 }, res = R_PARTIAL;
	struct sockaddr_in6 rs, cs, from;
	socklen_t rl = sa(&f->remote, f->rport, &rs), cl = sa(local, f->lport, &cs),
		  fl = sizeof(from);
	char c;

	fd[0] = cg_socket(fam, SOCK_DGRAM);	/* the cgroup's, at local:lport */
	fd[1] = out_socket(&f->remote, f->rport, SOCK_DGRAM);
	if (fd[0] < 0 || fd[1] < 0 || bind(fd[0], (void *)&cs, cl))
		goto out;
	if (f->kind == K_IN_UDP) {	/* it asks, the cgroup answers */
		if (!pass(fd[1], fd[0], (void *)&cs, cl)) {
			res = R_DENY;
			goto out;
		}
		res = pass(fd[0], fd[1], (void *)&rs, rl) ? R_ALLOW : R_PARTIAL;
		goto out;
	}
	if (f->kind == K_OUT_UDP_CONN && connect(fd[0], (void *)&rs, rl)) {
		res = errno == EPERM ? R_DENY : R_PARTIAL;
		goto out;
	}
	c = 'q';
	if ((f->kind == K_OUT_UDP_CONN ? send(fd[0], &c, 1, 0)
				       : sendto(fd[0], &c, 1, 0, (void *)&rs, rl)) != 1) {
		res = errno == EPERM ? R_DENY : R_PARTIAL;
		goto out;
	}
	if (!readable(fd[1]) || recvfrom(fd[1], &c, 1, MSG_DONTWAIT, (void *)&from, &fl) != 1)
		goto out;	/* sent, not received: partial */
	if (f->kind == K_REPLY_OTHER) {	/* the peer's address, another port */
		uint16_t other = f->rport == 2000 ? 2001 : 2000;

		fd[2] = out_socket(&f->remote, other, SOCK_DGRAM);
		res = pass(fd[2], fd[0], (void *)&from, fl) ? R_ALLOW : R_DENY;
		goto out;
	}
	res = pass(fd[1], fd[0], (void *)&from, fl) ? R_ALLOW : R_PARTIAL;
out:
	close_all(fd, 3);
	return res;
}

static int expected(const struct cgf_policy *p, const struct flow *f)
{
	bool tcp = f->kind == K_OUT_TCP || f->kind == K_IN_TCP;
	bool in = f->kind == K_IN_TCP || f->kind == K_IN_UDP;
	struct cgf_flow q = {
		.origin = in ? CGF_DIR_INGRESS : CGF_DIR_EGRESS,
		.dir = in ? CGF_DIR_INGRESS : CGF_DIR_EGRESS,
		.remote = f->remote,
		.proto = tcp ? CGF_P_TCP : CGF_P_UDP,
		.rport = f->rport,
		.lport = f->lport,
	};
	struct cgf_decision d;

	cgf_eval_flow(p, &q, &d);
	if (f->kind == K_REPLY_OTHER && d.verdict == CGF_ALLOW) {
		/* not a reply: a datagram from a new peer (its port unknown to the
		 * socket), judged by ingress on the local port */
		q.origin = q.dir = CGF_DIR_INGRESS;
		cgf_eval_flow(p, &q, &d);
	}
	return d.verdict == CGF_ALLOW ? R_ALLOW : R_DENY;
}

/* egress and ingress sections of random rules (ingress rules say from:) */
static void state_policy(char *buf, size_t len, const char *name)
{
	char rules[8192];
	size_t n;

	n = (size_t)snprintf(buf, len, "version: 1\nname: %s\nnetwork:\n", name);
	for (int s = 0; s < 2; s++) {
		unsigned int k = rnd(7);

		n += (size_t)snprintf(buf + n, len - n, "  %s:\n    default: %s\n    rules:\n",
				      s ? "ingress" : "egress", rnd(2) ? "allow" : "deny");
		rules[0] = '\0';
		for (unsigned int i = 0; i < k; i++)
			rand_rule(rules, sizeof(rules));
		if (!k)
			strcpy(rules, "      []\n");
		/* ingress rules name the remote with from: */
		for (char *t = rules, *to; *t; t = to + 4) {
			to = s ? strstr(t, " to: [") : NULL;
			if (!to) {
				n += (size_t)snprintf(buf + n, len - n, "%s", t);
				break;
			}
			n += (size_t)snprintf(buf + n, len - n, "%.*s from: ", (int)(to - t), t);
		}
	}
}

static void rand_flow(struct flow *f, struct cgf_prefix *local)
{
	struct cgf_query q;

	rand_dest(&q);
	f->kind = (enum kind)rnd(K_MAX);
	f->remote = q.addr;
	memset(local, 0, sizeof(*local));
	local->family = q.addr.family;
	local->len = q.addr.family == 4 ? 32 : 128;
	if (q.addr.family == 4) {
		local->addr[0] = 127;
		local->addr[3] = 1;
	} else {
		local->addr[15] = 1;
	}
	f->rport = (uint16_t)(998 + rnd(20));
	do
		f->lport = (uint16_t)(998 + rnd(20));
	while (f->lport == f->rport);
}

int main(int argc, char **argv)
{
	int npol, ncase, nok = 0, nbad = 0, sp[2], counts[K_MAX] = { 0 };
	char file[] = "/tmp/cgfence-statetest-XXXXXX";

	if (argc != 7) {
		fprintf(stderr, "usage: statetest CGFENCE CGROUP NAME POLICIES CASES SEED\n");
		return 2;
	}
	npol = atoi(argv[4]);
	ncase = atoi(argv[5]);
	rp_seed = (unsigned int)atoi(argv[6]);
	int tfd = mkstemp(file);

	if (tfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return 1;
	close(tfd);
	pid_t child = fork();

	if (child == 0) {
		close(sp[0]);
		run_factory(argv[2], sp[1]);
	}
	close(sp[1]);
	factory = sp[0];
	for (int it = 0; it < npol && nbad < 5; it++) {
		char yaml[20000];
		struct cgf_policy *p = NULL;

		state_policy(yaml, sizeof(yaml), argv[3]);
		if (rp_apply(argv[1], file, argv[2], yaml, it, &p)) {
			nbad++;
			continue;
		}
		for (int j = 0; j < ncase && nbad < 5; j++) {
			struct flow fl;
			struct cgf_prefix local;
			char a[64];

			rand_flow(&fl, &local);
			bool tcp = fl.kind == K_OUT_TCP || fl.kind == K_IN_TCP;
			int got = tcp ? tcp_flow(&fl, &local) : udp_flow(&fl, &local);
			int want = expected(p, &fl);

			counts[fl.kind]++;
			if (got == want) {
				nok++;
				continue;
			}
			cgf_prefix_str(&fl.remote, a, sizeof(a));
			printf("not ok - policy %d: %s, remote %s port %u, local port %u: kernel %s, "
			       "evaluator %s\n%s", it, kind_name[fl.kind], a, fl.rport, fl.lport,
			       res_name[got], res_name[want], yaml);
			nbad++;
		}
		cgf_policy_free(p);
	}
	close(factory);
	waitpid(child, NULL, 0);
	unlink(file);
	if (!nbad) {
		printf("ok - statetest: %d flows over %d random policies agree with the evaluator (", nok,
		       npol);
		for (int k = 0; k < K_MAX; k++)
			printf("%s%s %d", k ? ", " : "", kind_name[k], counts[k]);
		printf(")\n");
	}
	return nbad ? 1 : 0;
}
