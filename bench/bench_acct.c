// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_acct: what accounting and the connection log cost, side by side in
 * one run.
 *
 * Packets: UDP datagrams of 1400 bytes sent and received over loopback by
 * sockets made in each of three cgroups: no policy; a policy with an egress
 * and an ingress section; the same policy with `accounting: true`. Each
 * datagram passes cgroup_skb egress and ingress of its cgroup. Alternating,
 * rotating chunks; throughput (datagrams/s) and the kernel's own time per
 * run of the egress and ingress programs.
 *
 * Connections: TCP connect()+close() to a listener outside the cgroups,
 * from a cgroup whose policy has `log.connections: true` and from one with
 * the same policy without it; the process moves between them per chunk. The
 * time per connection and the sockops program's time per run.
 *
 *   bench_acct [--rounds N] [--calls N] [--cgfence PATH] [--cpu N]
 *
 * Run it in a network namespace of its own (bench/run.sh does).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "benchlib.h"
#include "cgroup.h"

enum { V_NONE, V_POLICY, V_ACCT, V_MAX };
static const char *const vname[V_MAX] = { "no policy", "policy", "policy + accounting" };
enum { C_PLAIN, C_LOG, C_MAX };
static const char *const cname[C_MAX] = { "policy", "policy + log.connections" };

static void write_policy(const char *path, const char *name, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die(path);
	fprintf(f, "version: 1\nname: %s\n%snetwork:\n  egress:\n    default: allow\n"
		   "    rules:\n      - {action: deny, to: [10.0.0.0/8], ports: [25]}\n"
		   "  ingress:\n    default: allow\n    rules:\n"
		   "      - {action: deny, from: [192.168.0.0/16]}\n", name, extra);
	fclose(f);
}

static void apply(const char *cgf, const char *file, const char *cg)
{
	char *argv[] = { (char *)cgf, "apply", (char *)file, "--cgroup", (char *)cg, NULL };

	if (run(argv).status)
		die("cgfence apply");
}

static int hook_prog(const char *name, const char *cg, const char *hook)
{
	char pin[900];
	uint64_t id;

	cgf_cgroup_id(cg, &id);
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/cgfence/%s/cg-%llu/%s", name,
		 (unsigned long long)id, hook);
	return linked_prog_fd(pin);
}

/* datagrams per second through a sender/receiver pair */
static double udp_rate(int tx, int rx, int n)
{
	static char buf[1400];
	double t0 = now_ns();

	for (int i = 0; i < n; i++) {
		if (send(tx, buf, sizeof(buf), 0) != sizeof(buf))
			die("send");
		if (recv(rx, buf, sizeof(buf), 0) != sizeof(buf))
			die("recv");
	}
	return n / ((now_ns() - t0) / 1e9);
}

/* ns per TCP connect()+close() */
static double conn_ns(const struct sockaddr_in *a, int n)
{
	double t0 = now_ns();

	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };	/* no TIME_WAIT pile-up */

		if (fd < 0 || connect(fd, (const void *)a, sizeof(*a)))
			die("connect");
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	return (now_ns() - t0) / n;
}

int main(int argc, char **argv)
{
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	char cg2[512], orig[700], dir[V_MAX][700], cdir[C_MAX][700], pol[800], tmp[] = "/tmp/cgfence-bench-XXXXXX";
	char name[3][64];
	int tx[V_MAX], rx[V_MAX], lfd;
	double rate[V_MAX][64], ct[C_MAX][64];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t al = sizeof(a);

	if (bench_init(&o, argc, argv, cg2, sizeof(cg2), orig, sizeof(orig)) || !mkdtemp(tmp))
		return 2;
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	for (int v = 0; v < V_MAX; v++) {
		snprintf(dir[v], sizeof(dir[v]), "%s/cgfence-bench-%d-acct%d", cg2, getpid(), v);
		if (mkdir(dir[v], 0755))
			die(dir[v]);
	}
	for (int c = 0; c < C_MAX; c++) {
		snprintf(cdir[c], sizeof(cdir[c]), "%s/cgfence-bench-%d-conn%d", cg2, getpid(), c);
		if (mkdir(cdir[c], 0755))
			die(cdir[c]);
	}
	snprintf(name[0], sizeof(name[0]), "bench-acct0-%d", getpid());
	snprintf(name[1], sizeof(name[1]), "bench-acct1-%d", getpid());
	snprintf(name[2], sizeof(name[2]), "bench-acct2-%d", getpid());
	snprintf(pol, sizeof(pol), "%s/p.yaml", tmp);
	write_policy(pol, name[0], "");
	apply(o.cgf, pol, dir[V_POLICY]);
	write_policy(pol, name[1], "accounting: true\n");
	apply(o.cgf, pol, dir[V_ACCT]);
	/* the connection log: the same policy on both, with and without it */
	write_policy(pol, name[2], "");
	apply(o.cgf, pol, cdir[C_PLAIN]);
	char logname[64];

	snprintf(logname, sizeof(logname), "bench-log-%d", getpid());
	write_policy(pol, logname, "log: {connections: true}\n");
	apply(o.cgf, pol, cdir[C_LOG]);
	unlink(pol);
	rmdir(tmp);

	/* sockets belong to the cgroup they were made in */
	for (int v = 0; v < V_MAX; v++) {
		struct sockaddr_in r = a;
		socklen_t rl = sizeof(r);

		enter(dir[v]);
		rx[v] = socket(AF_INET, SOCK_DGRAM, 0);
		tx[v] = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(rx[v], (void *)&r, sizeof(r)) || getsockname(rx[v], (void *)&r, &rl) ||
		    connect(tx[v], (void *)&r, sizeof(r)))
			die("udp sockets");
	}
	enter(orig);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 4096) ||
	    getsockname(lfd, (void *)&a, &al))
		die("listener");
	int calls = o.calls, rounds = o.rounds < 64 ? o.rounds : 63;

	for (int v = 0; v < V_MAX; v++)		/* warm up */
		udp_rate(tx[v], rx[v], calls / 10 + 1);
	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			rate[v][r] = udp_rate(tx[v], rx[v], calls);
		}
		for (int j = 0; j < C_MAX; j++) {
			int c = (j + r) % C_MAX;

			enter(cdir[c]);
			ct[c][r] = conn_ns(&a, calls / 10);
			enter(orig);
			/* accept what queued, outside the timing */
			for (int s; (s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
				close(s);
		}
	}
	double med[V_MAX], cmed[C_MAX];

	for (int v = 0; v < V_MAX; v++)
		med[v] = median(rate[v], rounds);
	for (int c = 0; c < C_MAX; c++)
		cmed[c] = median(ct[c], rounds);
	printf("# bench_acct: %d rounds; %d datagrams of 1400 bytes per variant and round, "
	       "%d connections; pinned to CPU %d\n\n", rounds, calls, calls / 10, o.cpu);
	printf("| variant | datagrams/s (send+recv) | x no policy | x policy | egress ns/run | ingress ns/run |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int v = 0; v < V_MAX; v++) {
		double e = 0, i = 0;

		if (v != V_NONE) {
			int pe = hook_prog(name[v - 1], dir[v], "egress");
			int pi = hook_prog(name[v - 1], dir[v], "ingress");

			e = prog_ns(pe);
			i = prog_ns(pi);
			close(pe);
			close(pi);
		}
		printf("| %s | %.0f | %.3f | %s | %.1f | %.1f |\n", vname[v], med[v],
		       med[v] / med[V_NONE], v == V_NONE ? "" : ({
			       static char b[32];
			       snprintf(b, sizeof(b), "%.3f", med[v] / med[V_POLICY]);
			       b;
		       }), e, i);
	}
	int so = hook_prog(logname, cdir[C_LOG], "sockops");

	printf("\n| variant | connect()+close() ns | x policy | sockops ns/run | sockops runs/connection |\n");
	printf("|---|---:|---:|---:|---:|\n");
	printf("| %s | %.0f | 1.000 | | |\n", cname[C_PLAIN], cmed[C_PLAIN]);
	{
		struct bpf_prog_info pi = {};
		__u32 len = sizeof(pi);

		bpf_obj_get_info_by_fd(so, &pi, &len);
		printf("| %s | %.0f | %.3f | %.1f | %.1f |\n", cname[C_LOG], cmed[C_LOG],
		       cmed[C_LOG] / cmed[C_PLAIN], prog_ns(so),
		       (double)pi.run_cnt / ((double)rounds * (calls / 10) + 1e-9));
	}
	close(so);
	enter(orig);
	for (int v = 0; v < V_MAX; v++) {
		close(tx[v]);
		close(rx[v]);
	}
	close(lfd);
	for (int k = 0; k < 3; k++) {
		char *det[] = { (char *)o.cgf, "detach", name[k], NULL };

		run(det);
	}
	char *det[] = { (char *)o.cgf, "detach", logname, NULL };

	run(det);
	for (int v = 0; v < V_MAX; v++)
		rmdir(dir[v]);
	for (int c = 0; c < C_MAX; c++)
		rmdir(cdir[c]);
	close(stats_fd);
	return 0;
}
