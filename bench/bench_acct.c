// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_acct: what accounting and the connection log cost, side by side in
 * one run.
 *
 * Packets: UDP datagrams of 1400 bytes sent and received over loopback, and
 * TCP messages of 1400 bytes exchanged both ways on an established
 * connection, by sockets made in each of six cgroups: no policy; empty
 * cgroup_skb programs (return 1); programs that do one socket-storage lookup
 * and return 1 (the floor of a verdict kept in the socket); a policy with an egress and an ingress
 * section (network.state: on, the default); the same with state: off (each
 * packet judged alone); the same as the first with `accounting: true`. Each
 * packet passes cgroup_skb egress and ingress of its cgroup. Alternating,
 * rotating chunks; throughput and the kernel's own time per run of the
 * egress and ingress programs, for UDP and TCP apart.
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
#include <fcntl.h>
#include <netinet/tcp.h>

#include <bpf/libbpf.h>

#include "benchlib.h"
#include "cgroup.h"
#include "ref.skel.h"

enum { V_NONE, V_EMPTY, V_STORAGE, V_POLICY, V_STATELESS, V_ACCT, V_MAX };
static const char *const vname[V_MAX] = { "no policy", "empty programs",
					  "one socket-storage lookup (floor)", "policy (state: on)",
					  "policy, state: off", "policy + accounting" };
enum { P_UDP, P_TCP, P_MAX };
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

/* TCP messages per second, each 1400 bytes one way and back */
static double tcp_rate(int a, int b, int n)
{
	static char buf[1400];
	double t0 = now_ns();

	for (int i = 0; i < n; i++) {
		if (send(a, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(b, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf) ||
		    send(b, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(a, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
			die("tcp exchange");
	}
	return n / ((now_ns() - t0) / 1e9);
}

/* run time and runs of a program so far (BPF_ENABLE_STATS) */
struct pstat {
	double ns, cnt;
};

static struct pstat pstat(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return (struct pstat){ 0, 0 };
	return (struct pstat){ (double)info.run_time_ns, (double)info.run_cnt };
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

/* the cgroup_skb programs of variant v: [0] egress, [1] ingress (-1: none) */
static void skb_progs(int v, const char *name, const char *dir, struct ref_bpf *ref, int fds[2])
{
	fds[0] = fds[1] = -1;
	if (v == V_EMPTY) {
		fds[0] = dup(bpf_program__fd(ref->progs.empty_egress));
		fds[1] = dup(bpf_program__fd(ref->progs.empty_ingress));
	} else if (v == V_STORAGE) {
		fds[0] = dup(bpf_program__fd(ref->progs.storage_egress));
		fds[1] = dup(bpf_program__fd(ref->progs.storage_ingress));
	} else if (v != V_NONE) {
		fds[0] = policy_prog_fd(name, dir, "egress");
		fds[1] = policy_prog_fd(name, dir, "ingress");
	}
}

/* sockets made in cgroup dir: a UDP pair and an established TCP pair */
static void make_sockets(const char *dir, const struct sockaddr_in *lo, int udp[2], int tcp[2])
{
	struct sockaddr_in r = *lo;
	socklen_t rl = sizeof(r);
	int l, one = 1;

	enter(dir);
	udp[1] = socket(AF_INET, SOCK_DGRAM, 0);
	udp[0] = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(udp[1], (void *)&r, sizeof(r)) || getsockname(udp[1], (void *)&r, &rl) ||
	    connect(udp[0], (void *)&r, sizeof(r)))
		die("udp sockets");
	r = *lo;
	rl = sizeof(r);
	l = socket(AF_INET, SOCK_STREAM, 0);
	tcp[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(l, (void *)&r, sizeof(r)) || listen(l, 1) || getsockname(l, (void *)&r, &rl) ||
	    connect(tcp[0], (void *)&r, sizeof(r)) || (tcp[1] = accept(l, NULL, NULL)) < 0)
		die("tcp sockets");
	setsockopt(tcp[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(tcp[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
}

int main(int argc, char **argv)
{
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	char cg2[512], orig[700], dir[V_MAX][700], cdir[C_MAX][700], pol[800], tmp[] = "/tmp/cgfence-bench-XXXXXX";
	char name[V_MAX][64], logname[64], plainname[64];
	int udp[V_MAX][2], tcp[V_MAX][2], lfd, progs[V_MAX][2];
	double rate[P_MAX][V_MAX][64], ct[C_MAX][64];
	struct pstat spent[P_MAX][V_MAX][2] = {};
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t al = sizeof(a);
	struct ref_bpf *ref;
	struct bpf_link *el, *il, *sel, *sil;

	if (bench_init(&o, argc, argv, cg2, sizeof(cg2), orig, sizeof(orig)) || !mkdtemp(tmp))
		return 2;
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	ref = ref_bpf__open_and_load();
	if (!ref)
		die("ref programs");
	for (int v = 0; v < V_MAX; v++) {
		snprintf(dir[v], sizeof(dir[v]), "%s/cgfence-bench-%d-acct%d", cg2, getpid(), v);
		if (mkdir(dir[v], 0755))
			die(dir[v]);
		snprintf(name[v], sizeof(name[v]), "bench-acct%d-%d", v, getpid());
	}
	for (int c = 0; c < C_MAX; c++) {
		snprintf(cdir[c], sizeof(cdir[c]), "%s/cgfence-bench-%d-conn%d", cg2, getpid(), c);
		if (mkdir(cdir[c], 0755))
			die(cdir[c]);
	}
	{
		int cgfd = open(dir[V_EMPTY], O_RDONLY | O_DIRECTORY);

		el = bpf_program__attach_cgroup(ref->progs.empty_egress, cgfd);
		il = bpf_program__attach_cgroup(ref->progs.empty_ingress, cgfd);
		close(cgfd);
		cgfd = open(dir[V_STORAGE], O_RDONLY | O_DIRECTORY);
		sel = bpf_program__attach_cgroup(ref->progs.storage_egress, cgfd);
		sil = bpf_program__attach_cgroup(ref->progs.storage_ingress, cgfd);
		close(cgfd);
		if (!el || !il || !sel || !sil)
			die("attach the reference programs");
	}
	snprintf(pol, sizeof(pol), "%s/p.yaml", tmp);
	write_policy(pol, name[V_POLICY], "");
	apply(o.cgf, pol, dir[V_POLICY]);
	write_policy(pol, name[V_STATELESS], "");
	{	/* the same policy, packets judged alone */
		FILE *f = fopen(pol, "a");

		fputs("  state: off\n", f);
		fclose(f);
	}
	apply(o.cgf, pol, dir[V_STATELESS]);
	write_policy(pol, name[V_ACCT], "accounting: true\n");
	apply(o.cgf, pol, dir[V_ACCT]);
	/* the connection log: the same policy on both, with and without it */
	snprintf(plainname, sizeof(plainname), "bench-plain-%d", getpid());
	write_policy(pol, plainname, "");
	apply(o.cgf, pol, cdir[C_PLAIN]);
	snprintf(logname, sizeof(logname), "bench-log-%d", getpid());
	write_policy(pol, logname, "log: {connections: true}\n");
	apply(o.cgf, pol, cdir[C_LOG]);
	unlink(pol);
	rmdir(tmp);

	/* sockets belong to the cgroup they were made in */
	for (int v = 0; v < V_MAX; v++) {
		make_sockets(dir[v], &a, udp[v], tcp[v]);
		skb_progs(v, name[v], dir[v], ref, progs[v]);
	}
	enter(orig);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bind(lfd, (void *)&a, sizeof(a)) || listen(lfd, 4096) ||
	    getsockname(lfd, (void *)&a, &al))
		die("listener");
	int calls = o.calls, rounds = o.rounds < 64 ? o.rounds : 63;

	for (int v = 0; v < V_MAX; v++) {	/* warm up */
		udp_rate(udp[v][0], udp[v][1], calls / 10 + 1);
		tcp_rate(tcp[v][0], tcp[v][1], calls / 10 + 1);
	}
	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			for (int pr = 0; pr < P_MAX; pr++) {
				struct pstat b[2] = { pstat(progs[v][0]), pstat(progs[v][1]) };

				rate[pr][v][r] = pr == P_UDP ? udp_rate(udp[v][0], udp[v][1], calls)
							     : tcp_rate(tcp[v][0], tcp[v][1], calls / 2);
				for (int h = 0; h < 2; h++) {
					struct pstat e = pstat(progs[v][h]);

					spent[pr][v][h].ns += e.ns - b[h].ns;
					spent[pr][v][h].cnt += e.cnt - b[h].cnt;
				}
			}
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
	double med[P_MAX][V_MAX], cmed[C_MAX];

	for (int pr = 0; pr < P_MAX; pr++)
		for (int v = 0; v < V_MAX; v++)
			med[pr][v] = median(rate[pr][v], rounds);
	for (int c = 0; c < C_MAX; c++)
		cmed[c] = median(ct[c], rounds);
	printf("# bench_acct: %d rounds; %d UDP datagrams and %d TCP exchanges (1400 bytes each "
	       "way) per variant and round, %d connections; pinned to CPU %d\n", rounds, calls,
	       calls / 2, calls / 10, o.cpu);
	for (int pr = 0; pr < P_MAX; pr++) {
		double ens = spent[pr][V_EMPTY][0].cnt ? spent[pr][V_EMPTY][0].ns / spent[pr][V_EMPTY][0].cnt : 0;
		double ins = spent[pr][V_EMPTY][1].cnt ? spent[pr][V_EMPTY][1].ns / spent[pr][V_EMPTY][1].cnt : 0;

		printf("\n%s\n\n| variant | %s/s | x no policy | loss / empty's loss | egress ns/run | x empty | ingress ns/run | x empty |\n",
		       pr == P_UDP ? "UDP, a connected sender and a bound receiver in the cgroup:"
				   : "TCP, both ends of an established connection in the cgroup:",
		       pr == P_UDP ? "datagrams (send+recv)" : "exchanges (both ways)");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
		for (int v = 0; v < V_MAX; v++) {
			const struct pstat *e = &spent[pr][v][0], *i = &spent[pr][v][1];
			double en = e->cnt ? e->ns / e->cnt : 0, in = i->cnt ? i->ns / i->cnt : 0;
			double loss = 1 - med[pr][v] / med[pr][V_NONE];
			double eloss = 1 - med[pr][V_EMPTY] / med[pr][V_NONE];
			char l[32] = "", ex[32] = "", ix[32] = "";

			if (v > V_EMPTY && eloss > 0)	/* the throughput lost, against the empty programs' */
				snprintf(l, sizeof(l), "%.2f", loss / eloss);
			if (v > V_EMPTY && ens > 0)
				snprintf(ex, sizeof(ex), "%.2f", en / ens);
			if (v > V_EMPTY && ins > 0)
				snprintf(ix, sizeof(ix), "%.2f", in / ins);
			printf("| %s | %.0f | %.3f | %s | %.1f | %s | %.1f | %s |\n", vname[v],
			       med[pr][v], med[pr][v] / med[pr][V_NONE], l, en, ex, in, ix);
		}
	}
	int so = policy_prog_fd(logname, cdir[C_LOG], "sockops");

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
		close(udp[v][0]);
		close(udp[v][1]);
		close(tcp[v][0]);
		close(tcp[v][1]);
		if (progs[v][0] >= 0)
			close(progs[v][0]);
		if (progs[v][1] >= 0)
			close(progs[v][1]);
	}
	close(lfd);
	bpf_link__destroy(el);
	bpf_link__destroy(il);
	bpf_link__destroy(sel);
	bpf_link__destroy(sil);
	ref_bpf__destroy(ref);
	for (int v = V_POLICY; v < V_MAX; v++) {
		char *det[] = { (char *)o.cgf, "detach", name[v], NULL };

		run(det);
	}
	char *det1[] = { (char *)o.cgf, "detach", plainname, NULL };
	char *det2[] = { (char *)o.cgf, "detach", logname, NULL };

	run(det1);
	run(det2);
	for (int v = 0; v < V_MAX; v++)
		rmdir(dir[v]);
	for (int c = 0; c < C_MAX; c++)
		rmdir(cdir[c]);
	close(stats_fd);
	return 0;
}
