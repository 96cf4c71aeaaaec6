// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_names: what to_names costs, side by side in one run.
 *
 * Three cgroups:
 *   none     no program
 *   lpm      one bare LPM-trie lookup of the destination on connect4, over a
 *            trie of N /32s (the floor of any policy that matches addresses)
 *   cgfence  egress default deny and one to_names rule; N addresses learnt
 *            from N real DNS answers (one A record each, from a "resolver"
 *            socket on 127.0.0.53:53 outside the cgroups), 127.0.0.1 among them
 * The benchmark moves itself between the cgroups in alternating, rotating
 * chunks and times UDP connect() to 127.0.0.1:9, which the cgfence policy
 * allows only through the name; it also reads the kernel's own per-program
 * statistics. Then the cost of reading an answer: the ingress program's
 * ns/run for answers to an allowed name against datagrams of the same size
 * from another port (no answer to read). Medians over the rounds.
 *
 *   bench_names [--learnt N] [--rounds N] [--calls N] [--cgfence PATH] [--cpu N]
 *
 * Run it in a network namespace of its own (bench/run.sh does): it sends
 * only to 127.0.0.1 and 127.0.0.53.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "benchlib.h"
#include "cgroup.h"
#include "ref.skel.h"

enum { V_NONE, V_LPM, V_CGF, V_MAX };
static const char *const vname[V_MAX] = { "none", "lpm", "cgfence (names)" };

static double measure(const struct sockaddr_in *dst, int calls)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	double t0;
	long fails = 0;

	if (fd < 0)
		die("socket");
	t0 = now_ns();
	for (int i = 0; i < calls; i++)
		fails += connect(fd, (const void *)dst, sizeof(*dst)) < 0;
	t0 = (now_ns() - t0) / calls;
	close(fd);
	if (fails)
		fprintf(stderr, "bench_names: %ld of %d connects failed\n", fails, calls);
	return t0;
}

/* the i-th learnt address: 127.0.0.1 first, then 10.x.y.z */
static uint32_t learnt_addr(long i)
{
	return i ? (10u << 24) | (((uint32_t)i * 2654435761u) & 0xffffff) : 0x7f000001;
}

/* an answer "hI.bench.test A addr" (or, not_dns, as many bytes that are none) */
static size_t answer(uint8_t *b, long i, uint32_t addr)
{
	char label[16];
	size_t n = 0, l = (size_t)snprintf(label, sizeof(label), "h%ld", i);
	const uint8_t hdr[12] = { 0x42, 0x42, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0 };

	memcpy(b, hdr, 12);
	n = 12;
	b[n++] = (uint8_t)l;
	memcpy(b + n, label, l);
	n += l;
	memcpy(b + n, "\x05" "bench" "\x04" "test" "\0" "\0\x01\0\x01", 16);
	n += 16;
	memcpy(b + n, "\xc0\x0c\0\x01\0\x01\0\0\x0e\x10\0\x04", 12);	/* TTL 3600 */
	n += 12;
	addr = htonl(addr);
	memcpy(b + n, &addr, 4);
	return n + 4;
}

/* N answers (or datagrams that are none) from the resolver socket to a
 * socket made in cgroup cg; returns the ingress program's ns/run over them */
static double send_answers(const char *cg, const char *orig, long n, bool dns, int ingress_fd)
{
	struct sockaddr_in res = { .sin_family = AF_INET, .sin_port = htons(dns ? 53 : 5353),
				   .sin_addr.s_addr = htonl(0x7f000035) };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	struct bpf_prog_info a = {}, b = {};
	uint32_t len = sizeof(a);
	socklen_t sl = sizeof(to);
	uint8_t buf[128];
	int rs, cs, one = 1;

	rs = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(rs, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rs < 0 || bind(rs, (void *)&res, sizeof(res)))
		die("bind the resolver socket (127.0.0.53:53)");
	enter(cg);
	cs = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);	/* its programs: cg's */
	enter(orig);
	if (cs < 0 || bind(cs, (void *)&to, sizeof(to)) || getsockname(cs, (void *)&to, &sl))
		die("the receiving socket");
	bpf_obj_get_info_by_fd(ingress_fd, &a, &len);
	for (long i = 0; i < n; i++) {
		size_t m = answer(buf, i, learnt_addr(i));

		if (!dns)
			memset(buf, 0x11, m);
		if (sendto(rs, buf, m, 0, (void *)&to, sizeof(to)) < 0 || recv(cs, buf, sizeof(buf), 0) < 0)
			die("send an answer");
	}
	len = sizeof(b);
	bpf_obj_get_info_by_fd(ingress_fd, &b, &len);
	close(cs);
	close(rs);
	return b.run_cnt > a.run_cnt ? (double)(b.run_time_ns - a.run_time_ns) /
					       (double)(b.run_cnt - a.run_cnt) : 0;
}

static void apply(const char *cgf, const char *name, const char *cg, long n)
{
	char pol[] = "/tmp/cgfence-bench-XXXXXX";
	int pfd = mkstemp(pol);
	FILE *f = fdopen(pfd, "w");

	fprintf(f, "version: 1\nname: %s\nnetwork:\n"
		   "  dns: {servers: [127.0.0.53], min_ttl: 3600, max_addresses: %ld}\n"
		   "  sockets: {deny_types: [raw]}\n"
		   "  egress:\n    default: deny\n    rules:\n"
		   "      - {action: allow, to: [127.0.0.53], ports: [53]}\n"
		   "      - {action: allow, to_names: [\"*.bench.test\"], ports: [9], protocol: udp}\n",
		name, n + n / 2 + 64);
	fclose(f);
	char *argv[] = { (char *)cgf, "apply", pol, "--cgroup", (char *)cg, NULL };

	if (run(argv).status)
		die("cgfence apply");
	unlink(pol);
}

int main(int argc, char **argv)
{
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	char cg2[512], orig[700], dir[V_MAX][700], name[64];
	double t[V_MAX][64], med[V_MAX], dns_ns, again_ns, plain_ns;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(0x7f000001) };
	struct ref_bpf *ref;
	struct bpf_program *p;
	struct bpf_link *l;
	long n = 10000;
	int cgfd, stats_fd;

	for (int i = 1; i < argc; i++)	/* --learnt N, the rest is benchlib's */
		if (!strcmp(argv[i], "--learnt") && i + 1 < argc) {
			n = atol(argv[i + 1]);
			memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof(*argv));
			argc -= 2;
			i--;
		}
	if (n < 1 || bench_init(&o, argc, argv, cg2, sizeof(cg2), orig, sizeof(orig)))
		return 2;
	for (int v = 0; v < V_MAX; v++) {
		snprintf(dir[v], sizeof(dir[v]), "%s/cgfence-bench-%d-names-%d", cg2, getpid(), v);
		if (mkdir(dir[v], 0755))
			die(dir[v]);
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	ref = ref_bpf__open();
	if (!ref)
		die("open reference programs");
	bpf_object__for_each_program(p, ref->obj)
		bpf_program__set_autoload(p, p == ref->progs.ref_connect4);
	bpf_map__set_max_entries(ref->maps.ref_trie, (uint32_t)n);
	if (ref_bpf__load(ref))
		die("load reference programs");
	for (long i = 0; i < n; i++) {
		struct { uint32_t len, addr; } k = { 32, htonl(learnt_addr(i)) };
		uint32_t one = 1;

		if (bpf_map_update_elem(bpf_map__fd(ref->maps.ref_trie), &k, &one, BPF_ANY))
			die("fill the reference trie");
	}
	cgfd = open(dir[V_LPM], O_RDONLY | O_DIRECTORY);
	l = bpf_program__attach_cgroup(ref->progs.ref_connect4, cgfd);
	if (!l)
		die("attach the reference program");
	snprintf(name, sizeof(name), "bench-names-%d", getpid());
	apply(o.cgf, name, dir[V_CGF], n);

	int cgf_connect = policy_prog_fd(name, dir[V_CGF], "connect4");
	int cgf_ingress = policy_prog_fd(name, dir[V_CGF], "ingress");

	plain_ns = send_answers(dir[V_CGF], orig, n < 2000 ? n : 2000, false, cgf_ingress);
	dns_ns = send_answers(dir[V_CGF], orig, n, true, cgf_ingress);
	again_ns = send_answers(dir[V_CGF], orig, n, true, cgf_ingress);	/* known addresses */
	for (int v = 0; v < V_MAX; v++) {	/* warm up */
		enter(dir[v]);
		measure(&dst, o.calls / 10 + 1);
	}
	for (int r = 0; r < o.rounds; r++)
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			enter(dir[v]);
			t[v][r] = measure(&dst, o.calls);
		}
	enter(orig);
	for (int v = 0; v < V_MAX; v++)
		med[v] = median(t[v], o.rounds);

	double pl = prog_ns(bpf_program__fd(ref->progs.ref_connect4)), pc = prog_ns(cgf_connect);

	printf("# bench_names: %ld learnt addresses, %d rounds x %d UDP connects to 127.0.0.1:9 "
	       "per variant, pinned to CPU %d\n\n", n, o.rounds, o.calls, o.cpu);
	printf("| variant | UDP connect ns | x none |\n|---|---:|---:|\n");
	for (int v = 0; v < V_MAX; v++)
		printf("| %s | %.0f | %.3f |\n", vname[v], med[v], med[v] / med[V_NONE]);
	printf("\nconnect overhead over none: lpm %.0f ns, cgfence %.0f ns (%.2fx lpm)\n",
	       med[V_LPM] - med[V_NONE], med[V_CGF] - med[V_NONE],
	       (med[V_CGF] - med[V_NONE]) / (med[V_LPM] - med[V_NONE]));
	printf("connect4 program (kernel stats): lpm %.1f ns/run, cgfence %.1f ns/run (%.2fx lpm)\n",
	       pl, pc, pl > 0 ? pc / pl : 0);
	printf("ingress program per datagram: a DNS answer read and learnt %.1f ns, another "
	       "datagram %.1f ns: %.1f ns per answer parsed\n", dns_ns, plain_ns, dns_ns - plain_ns);
	printf("the same answers again (addresses already learnt): %.1f ns, %.1f ns per answer "
	       "parsed\n", again_ns, again_ns - plain_ns);

	char *det[] = { (char *)o.cgf, "detach", name, NULL };

	run(det);
	bpf_link__destroy(l);
	ref_bpf__destroy(ref);
	close(cgfd);
	if (cgf_connect >= 0)
		close(cgf_connect);
	if (cgf_ingress >= 0)
		close(cgf_ingress);
	if (stats_fd >= 0)
		close(stats_fd);
	for (int v = 0; v < V_MAX; v++)
		rmdir(dir[v]);
	return 0;
}
