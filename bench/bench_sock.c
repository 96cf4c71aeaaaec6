// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_sock: what socket() and bind() cost under cgfence, side by side in
 * one run. Three cgroups: no program; empty programs on cgroup/sock_create
 * and cgroup/bind4; a cgfence policy with network.sockets and network.bind
 * (port rules, so bind takes the port stage). The benchmark moves itself
 * between them in alternating, rotating chunks and times socket()+close()
 * and socket()+bind(127.0.0.1:0)+close() of UDP sockets; it also reads the
 * kernel's own per-program statistics. Medians over the rounds.
 *
 *   bench_sock [--rounds N] [--calls N] [--cgfence PATH] [--cpu N]
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
#include "ref.skel.h"

enum { V_NONE, V_EMPTY, V_CGF, V_MAX };
static const char *const vname[V_MAX] = { "none", "empty", "cgfence" };
enum { M_SOCKET, M_BIND, M_MAX };

static double measure(int method, int calls)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	double t0 = now_ns();

	for (int i = 0; i < calls; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket");
		if (method == M_BIND && bind(fd, (void *)&a, sizeof(a)))
			die("bind");
		close(fd);
	}
	return (now_ns() - t0) / calls;
}

int main(int argc, char **argv)
{
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	const char *cgf;
	int rounds, calls, cgfd[V_MAX];
	char cg2[512], orig[700], dir[V_MAX][700], name[64], pol[] = "/tmp/cgfence-bench-XXXXXX";
	double t[V_MAX][M_MAX][64], med[V_MAX][M_MAX];
	struct ref_bpf *ref;
	struct bpf_link *l1, *l2;
	struct bpf_program *p;

	if (bench_init(&o, argc, argv, cg2, sizeof(cg2), orig, sizeof(orig)))
		return 2;
	rounds = o.rounds;
	calls = o.calls;
	cgf = o.cgf;
	for (int v = 0; v < V_MAX; v++) {
		snprintf(dir[v], sizeof(dir[v]), "%s/cgfence-bench-%d-%s", cg2, getpid(), vname[v]);
		if (mkdir(dir[v], 0755))
			die(dir[v]);
		cgfd[v] = open(dir[v], O_RDONLY | O_DIRECTORY);
	}
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	ref = ref_bpf__open();
	if (!ref)
		die("open reference programs");
	/* only the two empty programs this benchmark needs */
	bpf_object__for_each_program(p, ref->obj)
		bpf_program__set_autoload(p, p == ref->progs.empty_sock_create ||
						     p == ref->progs.empty_bind4);
	if (ref_bpf__load(ref))
		die("load reference programs");
	l1 = bpf_program__attach_cgroup(ref->progs.empty_sock_create, cgfd[V_EMPTY]);
	l2 = bpf_program__attach_cgroup(ref->progs.empty_bind4, cgfd[V_EMPTY]);
	if (!l1 || !l2)
		die("attach reference programs");

	snprintf(name, sizeof(name), "bench-sock-%d", getpid());
	int pfd = mkstemp(pol);
	FILE *f = fdopen(pfd, "w");

	fprintf(f, "version: 1\nname: %s\nnetwork:\n  sockets:\n    deny_types: [raw, sctp]\n"
		   "  bind:\n    default: allow\n    rules:\n"
		   "      - {action: deny, ports: [\"1-1023\"]}\n"
		   "      - {action: allow, address: [127.0.0.1], ports: [80, 443]}\n"
		   "      - {action: deny, ports: [5353], protocol: udp}\n", name);
	fclose(f);
	char *apply[] = { (char *)cgf, "apply", pol, "--cgroup", dir[V_CGF], NULL };

	if (run(apply).status)
		die("cgfence apply");
	unlink(pol);

	int cgf_sock = policy_prog_fd(name, dir[V_CGF], "sock_create");
	int cgf_bind = policy_prog_fd(name, dir[V_CGF], "bind4");

	for (int v = 0; v < V_MAX; v++) {	/* warm up */
		enter(dir[v]);
		measure(M_SOCKET, calls / 10 + 1);
		measure(M_BIND, calls / 10 + 1);
	}
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			enter(dir[v]);
			t[v][M_SOCKET][r] = measure(M_SOCKET, calls);
			t[v][M_BIND][r] = measure(M_BIND, calls);
		}
	enter(orig);
	for (int v = 0; v < V_MAX; v++)
		for (int m = 0; m < M_MAX; m++)
			med[v][m] = median(t[v][m], rounds);

	printf("# bench_sock: %d rounds x %d calls per variant, pinned to CPU %d\n\n", rounds, calls,
	       o.cpu);
	printf("| variant | socket()+close() ns | x none | +bind() ns | bind() alone ns | x none |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int v = 0; v < V_MAX; v++) {
		double b = med[v][M_BIND] - med[v][M_SOCKET], b0 = med[V_NONE][M_BIND] - med[V_NONE][M_SOCKET];

		printf("| %s | %.0f | %.3f | %.0f | %.0f | %.3f |\n", vname[v], med[v][M_SOCKET],
		       med[v][M_SOCKET] / med[V_NONE][M_SOCKET], med[v][M_BIND], b, b / b0);
	}
	printf("\n| program (kernel stats, ns/run) | empty | cgfence | cgfence / empty |\n");
	printf("|---|---:|---:|---:|\n");
	double es = prog_ns(bpf_program__fd(ref->progs.empty_sock_create)), cs = prog_ns(cgf_sock);
	double eb = prog_ns(bpf_program__fd(ref->progs.empty_bind4)), cb = prog_ns(cgf_bind);

	printf("| sock_create | %.1f | %.1f | %.2f |\n", es, cs, es > 0 ? cs / es : 0);
	printf("| bind4 | %.1f | %.1f | %.2f |\n", eb, cb, eb > 0 ? cb / eb : 0);

	char *detach[] = { (char *)cgf, "detach", name, NULL };

	run(detach);
	bpf_link__destroy(l1);
	bpf_link__destroy(l2);
	ref_bpf__destroy(ref);
	for (int v = 0; v < V_MAX; v++) {
		close(cgfd[v]);
		rmdir(dir[v]);
	}
	close(stats_fd);
	close(cgf_sock);
	close(cgf_bind);
	return 0;
}
