// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * difftest: the kernel's verdicts against `explain`'s, on random policies.
 *
 *   difftest CGFENCE CGROUP NAME POLICIES DESTS SEED
 *
 * For each random policy: write it, `CGFENCE apply` it to CGROUP, then a
 * child inside CGROUP makes one syscall per random loopback destination
 * (UDP connect, UDP sendto, TCP connect, ICMP ping-socket connect; IPv4,
 * IPv6 and v4-mapped) and reports allowed (0 / ECONNREFUSED) or denied
 * (EPERM). Each verdict is compared with the evaluator behind `explain`, and
 * one in 25 also with the output of `CGFENCE explain` itself. Run it in a
 * network namespace of its own: it only sends to loopback addresses.
 * Prints TAP lines; exits 1 on any disagreement.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

enum { R_ALLOW = 0, R_DENY = 1, R_OTHER = 2, R_SKIP = 3 };
enum { M_CONNECT = 0, M_SENDTO = 1 };

struct probe {
	struct cgf_query q;
	int method;
	int result;
	int err;
};

static void to_sockaddr(const struct cgf_query *q, struct sockaddr_in6 *s6, bool *v6)
{
	memset(s6, 0, sizeof(*s6));
	/* ICMP has no v4-mapped form: ping sockets are per family */
	if (q->addr.family == 4 && (rnd(3) || q->proto == CGF_P_ICMP)) {
		struct sockaddr_in *s4 = (void *)s6;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(q->port);
		memcpy(&s4->sin_addr, q->addr.addr, 4);
		*v6 = false;
		return;
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(q->port);
	if (q->addr.family == 4) {	/* v4-mapped through an IPv6 socket */
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], q->addr.addr, 4);
	} else {
		memcpy(&s6->sin6_addr, q->addr.addr, 16);
	}
	*v6 = true;
}

static int classify(int rc, int err, int proto)
{
	if (rc == 0)
		return R_ALLOW;
	if (err == EPERM)
		return R_DENY;
	if (proto == CGF_P_TCP && err == ECONNREFUSED)
		return R_ALLOW;
	return R_OTHER;
}

/* In the child, inside the cgroup. */
static void probe_one(struct probe *p)
{
	struct sockaddr_in6 sa;
	bool v6;
	int type, proto = 0, fd, rc;

	to_sockaddr(&p->q, &sa, &v6);
	switch (p->q.proto) {
	case CGF_P_TCP:
		type = SOCK_STREAM;
		break;
	case CGF_P_ICMP:
		type = SOCK_DGRAM;
		proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		break;
	default:	/* OTHER has no socket here: probe UDP instead */
		p->q.proto = CGF_P_UDP;
		type = SOCK_DGRAM;
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		p->result = R_SKIP;	/* e.g. ping sockets not enabled */
		p->err = errno;
		return;
	}
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (p->method == M_SENDTO && p->q.proto == CGF_P_UDP)
		rc = sendto(fd, "x", 1, 0, (void *)&sa, len) < 0 ? -1 : 0;
	else
		rc = connect(fd, (void *)&sa, len);
	p->err = rc ? errno : 0;
	p->result = classify(rc, p->err, p->q.proto);
	close(fd);
}

static int run_child(const char *cgroup, struct probe *probes, int n, int wfd)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	if (write_string(path, "0"))
		_exit(3);
	for (int i = 0; i < n; i++)
		probe_one(&probes[i]);
	for (int i = 0; i < n; i++) {
		int v[3] = { probes[i].result, probes[i].err, probes[i].q.proto };

		if (write(wfd, v, sizeof(v)) != sizeof(v))
			_exit(4);
	}
	_exit(0);
}

/* What `explain` prints first: its verdict word. */
static int explain_cli(const char *cgf, const char *file, const struct probe *p)
{
	char a[64], cmd[1024], word[32] = "";
	FILE *f;

	cgf_prefix_str(&p->q.addr, a, sizeof(a));
	snprintf(cmd, sizeof(cmd), "%s explain %s %s %s%s%s:%u/%s", cgf, file,
		 p->method == M_SENDTO ? "sendmsg" : "connect", p->q.addr.family == 6 ? "[" : "",
		 a, p->q.addr.family == 6 ? "]" : "", p->q.port, cgf_proto_name(p->q.proto));
	f = popen(cmd, "r");
	if (!f || !fgets(word, sizeof(word), f))
		word[0] = '\0';
	if (f)
		pclose(f);
	return !strcmp(word, "allow\n") ? R_ALLOW : !strcmp(word, "deny\n") ? R_DENY : R_OTHER;
}

int main(int argc, char **argv)
{
	const char *cgf, *cgroup, *name;
	int npol, ndest, nok = 0, nbad = 0, nskip = 0, ncli = 0;
	char file[] = "/tmp/cgfence-difftest-XXXXXX";

	if (argc != 7) {
		fprintf(stderr, "usage: difftest CGFENCE CGROUP NAME POLICIES DESTS SEED\n");
		return 2;
	}
	cgf = argv[1];
	cgroup = argv[2];
	name = argv[3];
	npol = atoi(argv[4]);
	ndest = atoi(argv[5]);
	rp_seed = (unsigned int)atoi(argv[6]);
	int tfd = mkstemp(file);

	if (tfd < 0)
		return 1;
	close(tfd);

	struct probe *probes = xcalloc((size_t)ndest, sizeof(*probes));

	for (int it = 0; it < npol && nbad < 5; it++) {
		char yaml[16384];
		struct cgf_policy *p = NULL;
		int pfd[2], status;

		rand_policy(yaml, sizeof(yaml), name, 10);
		if (rp_apply(cgf, file, cgroup, yaml, it, &p)) {
			nbad++;
			continue;
		}
		for (int j = 0; j < ndest; j++) {
			rand_dest(&probes[j].q);
			probes[j].method = rnd(2) ? M_SENDTO : M_CONNECT;
		}
		if (pipe(pfd))
			return 1;
		pid_t pid = fork();

		if (pid == 0) {
			close(pfd[0]);
			run_child(cgroup, probes, ndest, pfd[1]);
		}
		close(pfd[1]);
		for (int j = 0; j < ndest; j++) {
			int v[3];

			if (read(pfd[0], v, sizeof(v)) != sizeof(v)) {
				printf("not ok - policy %d: the probing child failed\n", it);
				nbad++;
				break;
			}
			probes[j].result = v[0];
			probes[j].err = v[1];
			probes[j].q.proto = v[2];
		}
		close(pfd[0]);
		waitpid(pid, &status, 0);

		for (int j = 0; j < ndest; j++) {
			struct probe *pr = &probes[j];
			struct cgf_decision d;
			char a[64];

			if (pr->result == R_SKIP) {
				nskip++;
				continue;
			}
			cgf_eval(p, &pr->q, &d);
			int want = d.verdict == CGF_ALLOW ? R_ALLOW : R_DENY;
			bool bad = pr->result != want;

			if (!bad && (j % 25) == 0) {
				ncli++;
				bad = explain_cli(cgf, file, pr) != want;
			}
			if (!bad) {
				nok++;
				continue;
			}
			cgf_prefix_str(&pr->q.addr, a, sizeof(a));
			printf("not ok - policy %d: %s %s port %u %s: kernel %s (%s), explain %s\n%s", it,
			       pr->method == M_SENDTO ? "sendto" : "connect", a, pr->q.port,
			       cgf_proto_name(pr->q.proto),
			       pr->result == R_ALLOW ? "allow" : pr->result == R_DENY ? "deny" : "error",
			       strerrorname_np(pr->err) ? strerrorname_np(pr->err) : "0",
			       cgf_action_name(d.verdict), yaml);
			if (++nbad >= 5)
				break;
		}
		cgf_policy_free(p);
	}
	unlink(file);
	free(probes);
	if (!nbad)
		printf("ok - difftest: %d kernel verdicts agree with explain over %d random policies "
		       "(%d also through the CLI, %d probes skipped)\n", nok, npol, ncli, nskip);
	return nbad ? 1 : 0;
}
