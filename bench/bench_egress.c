// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_egress: what the egress decision costs, side by side in one run.
 *
 * Five cgroups, one per variant:
 *   none   no program
 *   empty  programs that return 1 (connect4, sendmsg4, cgroup_skb/egress)
 *   lpm    the same hooks doing one bare LPM-trie lookup of the destination
 *   cgf    a cgfence policy (allow rule with ports and a deny rule)
 *   nft    an nftables interval set matched with `socket cgroupv2`
 * all holding the same N prefixes. The benchmark moves itself from cgroup to
 * cgroup in alternating chunks (rotating the order every round) and times
 * UDP connect() and unconnected UDP sendto() of an 8-byte datagram to a sink
 * on 127.0.0.1:9; it also reads the kernel's own per-program statistics
 * (BPF_ENABLE_STATS: run_time_ns / run_cnt). Medians over the rounds.
 *
 *   bench_egress [--sizes 1,1000,100000,1000000] [--rounds N] [--calls N]
 *                [--cgfence PATH] [--no-nft] [--cpu N] [--portless]
 *
 * By default the probed destination (127.0.0.1:9/udp) is decided by a rule
 * that names ports, so cgfence takes its second stage (class array); with
 * --portless the allow rule names no ports and one trie lookup decides.
 *
 * Run it in a network namespace of its own (bench/run.sh does): it sends
 * only to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "benchlib.h"
#include "cgroup.h"
#include "ref.skel.h"

enum { V_NONE, V_EMPTY, V_LPM, V_CGF, V_NFT, V_MAX };
static const char *const vname[V_MAX] = { "none", "empty", "lpm", "cgfence", "nft" };
enum { M_CONNECT, M_SENDTO, M_MAX };
enum { H_CONNECT4, H_SENDMSG4, H_EGRESS, H_MAX };
static const char *const hname[H_MAX] = { "connect4", "sendmsg4", "egress" };

static char cg2[512], cgdir[V_MAX][700], orig_cg[700], policy_name[64];
static const char *cgf_bin = "./cgfence";
static int rounds = 11, calls = 20000, use_nft = 1, portless;

/* i-th prefix (i >= 1; 0 is 127.0.0.1/32): /32s in 10/8, /28s in 100/8 */
static void prefix(long i, uint32_t *addr, int *len)
{
	if (i == 0) {
		*addr = 0x7f000001;
		*len = 32;
	} else if (i % 10 == 9) {
		*addr = (100u << 24) | (((uint32_t)(i / 10) * 2654435761u) & 0xfffff) << 4;
		*len = 28;
	} else {
		*addr = (10u << 24) | (((uint32_t)(i - i / 10) * 2654435761u) & 0xffffff);
		*len = 32;
	}
}

static void fmt_prefix(long i, char *buf, size_t n)
{
	uint32_t a;
	int l;

	prefix(i, &a, &l);
	snprintf(buf, n, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, l);
}

static struct run_cost apply_cgfence(long n)
{
	char path[] = "/tmp/cgfence-bench-XXXXXX", buf[64];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct run_cost c;

	fprintf(f, "version: 1\nname: %s\nnetwork:\n  egress:\n    default: deny\n    rules:\n"
		   "      - action: allow\n%s        to:\n", policy_name,
		   portless ? "" : "        protocol: udp\n        ports: [9, 443, \"8000-9000\"]\n");
	for (long i = 0; i < n; i += 2) {
		fmt_prefix(i, buf, sizeof(buf));
		fprintf(f, "          - %s\n", buf);
	}
	if (n > 1) {
		fprintf(f, "      - action: deny\n        to:\n");
		for (long i = 1; i < n; i += 2) {
			fmt_prefix(i, buf, sizeof(buf));
			fprintf(f, "          - %s\n", buf);
		}
	}
	fclose(f);
	char *argv[] = { (char *)cgf_bin, "apply", path, "--cgroup", cgdir[V_CGF], NULL };

	c = run(argv);
	unlink(path);
	if (c.status)
		fprintf(stderr, "bench_egress: cgfence apply failed (status %d)\n", c.status);
	return c;
}

static struct run_cost load_nft(long n)
{
	char path[] = "/tmp/cgfence-bench-nft-XXXXXX", buf[64];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	const char *rel = cgdir[V_NFT] + strlen("/sys/fs/cgroup/");

	fprintf(f, "table inet cgfbench {\n set p4 {\n  type ipv4_addr; flags interval; auto-merge;\n"
		   "  elements = {\n");
	for (long i = 0; i < n; i++) {
		fmt_prefix(i, buf, sizeof(buf));
		fprintf(f, "   %s,\n", buf);
	}
	fprintf(f, "  }\n }\n chain out {\n  type filter hook output priority 0; policy accept;\n"
		   "  socket cgroupv2 level 1 \"%s\" ip daddr @p4 udp dport { 9, 443, 8000-9000 } accept\n"
		   "  socket cgroupv2 level 1 \"%s\" drop\n }\n}\n", rel, rel);
	fclose(f);
	char *argv[] = { "nft", "-f", path, NULL };
	struct run_cost c = run(argv);

	unlink(path);
	if (c.status)
		fprintf(stderr, "bench_egress: nft -f failed (status %d)\n", c.status);
	return c;
}

static void unload_nft(void)
{
	char *argv[] = { "nft", "delete", "table", "inet", "cgfbench", NULL };

	run(argv);
}

/* ns per call for one chunk of `calls` syscalls from the current cgroup */
static double measure(int method, const struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	double t0, t1;
	long fails = 0;

	if (fd < 0)
		die("socket");
	t0 = now_ns();
	for (int i = 0; i < calls; i++) {
		int r = method == M_CONNECT
				? connect(fd, (const void *)dst, sizeof(*dst))
				: (int)sendto(fd, "cgfbench", 8, MSG_DONTWAIT, (const void *)dst, sizeof(*dst));
		fails += r < 0;
	}
	t1 = now_ns();
	close(fd);
	if (fails > calls / 100)
		fprintf(stderr, "bench_egress: %ld of %d calls failed (%s)\n", fails, calls, strerror(errno));
	return (t1 - t0) / calls;
}

/* the cgfence program behind a pinned link, and the memory of its maps */
static int cgf_prog_fd(const char *hook, long *map_kb)
{
	char p[900];
	struct bpf_prog_info pi = {};
	uint32_t len, ids[16], n;
	uint64_t cgid;
	int pfd;

	cgf_cgroup_id(cgdir[V_CGF], &cgid);
	snprintf(p, sizeof(p), "/sys/fs/bpf/cgfence/%s/cg-%llu/%s", policy_name,
		 (unsigned long long)cgid, hook);
	pfd = linked_prog_fd(p);
	if (map_kb && pfd >= 0) {
		len = sizeof(pi);
		pi.nr_map_ids = 16;
		pi.map_ids = (uint64_t)(unsigned long)ids;
		*map_kb = 0;
		if (!bpf_obj_get_info_by_fd(pfd, &pi, &len))
			for (n = 0; n < pi.nr_map_ids && n < 16; n++) {
				int mfd = bpf_map_get_fd_by_id(ids[n]);
				char fi[64], line[256];
				FILE *f;

				snprintf(fi, sizeof(fi), "/proc/self/fdinfo/%d", mfd);
				f = fopen(fi, "r");
				while (f && fgets(line, sizeof(line), f))
					if (!strncmp(line, "memlock:", 8))
						*map_kb += atol(line + 8) / 1024;
				if (f)
					fclose(f);
				close(mfd);
			}
	}
	return pfd;
}

static void bench_size(long n)
{
	struct ref_bpf *ref = ref_bpf__open();
	struct bpf_link *links[6] = {};
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(0x7f000001) };
	double t[V_MAX][M_MAX][64];
	struct run_cost ac, nc = { 0 };
	long map_kb = 0;
	int cgfd[V_MAX];

	if (!ref)
		die("open ref");
	bpf_map__set_max_entries(ref->maps.ref_trie, (uint32_t)n);
	if (ref_bpf__load(ref))
		die("load ref");
	for (long i = 0; i < n; i++) {
		struct { uint32_t len; uint32_t addr; } k;
		uint32_t a, v = 1;
		int l;

		prefix(i, &a, &l);
		k.len = (uint32_t)l;
		k.addr = htonl(a);
		if (bpf_map_update_elem(bpf_map__fd(ref->maps.ref_trie), &k, &v, BPF_ANY))
			die("fill ref trie");
	}
	for (int v = 0; v < V_MAX; v++)
		cgfd[v] = open(cgdir[v], O_RDONLY | O_DIRECTORY);
	links[0] = bpf_program__attach_cgroup(ref->progs.empty_connect4, cgfd[V_EMPTY]);
	links[1] = bpf_program__attach_cgroup(ref->progs.empty_sendmsg4, cgfd[V_EMPTY]);
	links[2] = bpf_program__attach_cgroup(ref->progs.empty_egress, cgfd[V_EMPTY]);
	links[3] = bpf_program__attach_cgroup(ref->progs.ref_connect4, cgfd[V_LPM]);
	links[4] = bpf_program__attach_cgroup(ref->progs.ref_sendmsg4, cgfd[V_LPM]);
	links[5] = bpf_program__attach_cgroup(ref->progs.ref_egress, cgfd[V_LPM]);
	for (int i = 0; i < 6; i++)
		if (!links[i])
			die("attach reference programs");
	ac = apply_cgfence(n);
	if (use_nft)
		nc = load_nft(n);

	int cfd[H_MAX] = { cgf_prog_fd("connect4", &map_kb), cgf_prog_fd("sendmsg4", NULL),
			   cgf_prog_fd("egress", NULL) };
	int efd[H_MAX] = { bpf_program__fd(ref->progs.empty_connect4),
			   bpf_program__fd(ref->progs.empty_sendmsg4),
			   bpf_program__fd(ref->progs.empty_egress) };
	int rfd[H_MAX] = { bpf_program__fd(ref->progs.ref_connect4),
			   bpf_program__fd(ref->progs.ref_sendmsg4),
			   bpf_program__fd(ref->progs.ref_egress) };

	/* warm up every variant once */
	for (int v = 0; v < V_MAX; v++) {
		if (v == V_NFT && !use_nft)
			continue;
		enter(cgdir[v]);
		measure(M_CONNECT, &dst);
		measure(M_SENDTO, &dst);
	}
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			if (v == V_NFT && !use_nft)
				continue;
			enter(cgdir[v]);
			t[v][M_CONNECT][r] = measure(M_CONNECT, &dst);
			t[v][M_SENDTO][r] = measure(M_SENDTO, &dst);
		}
	enter(orig_cg);

	double med[V_MAX][M_MAX];

	for (int v = 0; v < V_MAX; v++)
		for (int m = 0; m < M_MAX; m++)
			med[v][m] = (v == V_NFT && !use_nft) ? 0 : median(t[v][m], rounds);
	double pe[H_MAX], pr[H_MAX], pc[H_MAX];

	for (int h = 0; h < H_MAX; h++) {
		pe[h] = prog_ns(efd[h]);
		pr[h] = prog_ns(rfd[h]);
		pc[h] = prog_ns(cfd[h]);
	}

	printf("\n## %ld prefixes\n\n", n);
	printf("| variant | UDP connect ns | x none | UDP sendto ns | x none |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (int v = 0; v < V_MAX; v++) {
		if (v == V_NFT && !use_nft)
			continue;
		printf("| %s | %.0f | %.3f | %.0f | %.3f |\n", vname[v], med[v][M_CONNECT],
		       med[v][M_CONNECT] / med[V_NONE][M_CONNECT], med[v][M_SENDTO],
		       med[v][M_SENDTO] / med[V_NONE][M_SENDTO]);
	}
	printf("\n| program (kernel stats, ns/run) | empty | lpm | cgfence | cgfence / lpm |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (int h = 0; h < H_MAX; h++)
		printf("| %s | %.1f | %.1f | %.1f | %.2f |\n", hname[h], pe[h], pr[h], pc[h],
		       pr[h] > 0 ? pc[h] / pr[h] : 0);
	double oc = med[V_CGF][M_SENDTO] - med[V_NONE][M_SENDTO];
	double ol = med[V_LPM][M_SENDTO] - med[V_NONE][M_SENDTO];
	double on = med[V_NFT][M_SENDTO] - med[V_NONE][M_SENDTO];

	printf("\nsendto overhead over none: lpm %.0f ns, cgfence %.0f ns (%.2fx lpm)", ol, oc,
	       ol > 0 ? oc / ol : 0);
	if (use_nft)
		printf(", nft %.0f ns (cgfence/nft %.2f)", on, on > 0 ? oc / on : 0);
	printf("\napply: cgfence %.2f s, %ld MB max RSS, maps %ld MB kernel memory", ac.secs,
	       ac.maxrss_kb / 1024, map_kb / 1024);
	if (use_nft)
		printf("; nft -f %.2f s, %ld MB max RSS", nc.secs, nc.maxrss_kb / 1024);
	printf("\n");
	fflush(stdout);

	for (int h = 0; h < H_MAX; h++)
		if (cfd[h] >= 0)
			close(cfd[h]);
	for (int i = 0; i < 6; i++)
		bpf_link__destroy(links[i]);
	for (int v = 0; v < V_MAX; v++)
		close(cgfd[v]);
	ref_bpf__destroy(ref);
	char *argv[] = { (char *)cgf_bin, "detach", policy_name, NULL };

	run(argv);
	drain_wait();	/* a big version's entries: not during the next size's rounds */
	if (use_nft)
		unload_nft();
}

int main(int argc, char **argv)
{
	const char *sizes = "1,1000,100000,1000000";
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	int cpu, stats_fd;
	char *s, *tok, *save;

	for (int i = 1; i < argc; i++) {
		if (bench_opt(&o, argc, argv, &i))
			continue;
		if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			sizes = argv[++i];
		} else if (!strcmp(argv[i], "--no-nft")) {
			use_nft = 0;
		} else if (!strcmp(argv[i], "--portless")) {
			portless = 1;
		} else {
			fprintf(stderr, "usage: bench_egress [--sizes LIST] " BENCH_OPTS_USAGE
					" [--no-nft] [--portless]\n");
			return 2;
		}
	}
	if (!bench_opts_ok(&o))
		return 2;
	rounds = o.rounds;
	calls = o.calls;
	cgf_bin = o.cgf;
	cpu = o.cpu;
	pin_cpu(cpu);
	if (cgf_cgroup2_mount(cg2, sizeof(cg2)))
		die("no cgroup2 mount");
	if (use_nft && strncmp(cg2, "/sys/fs/cgroup", 14)) {
		fprintf(stderr, "bench_egress: cgroup2 is not under /sys/fs/cgroup; skipping nft\n");
		use_nft = 0;
	}
	current_cgroup(cg2, orig_cg, sizeof(orig_cg));	/* where we started */
	snprintf(policy_name, sizeof(policy_name), "bench-%d", getpid());
	for (int v = 0; v < V_MAX; v++) {
		snprintf(cgdir[v], sizeof(cgdir[v]), "%s/cgfence-bench-%d-%s", cg2, getpid(), vname[v]);
		if (mkdir(cgdir[v], 0755))
			die(cgdir[v]);
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		die("bpf_enable_stats");

	/* the sink: drops what it cannot hold, nobody reads it */
	int sink = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(0x7f000001) };

	setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	if (bind(sink, (void *)&sa, sizeof(sa)))
		die("bind sink 127.0.0.1:9");

	printf("# bench_egress: %d rounds x %d calls per variant and syscall, pinned to CPU %d; "
	       "cgfence's deciding rule %s\n", rounds, calls, cpu,
	       portless ? "names no ports (one lookup)" : "names ports (trie + class array)");
	s = strdup(sizes);
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		bench_size(atol(tok));
	free(s);
	for (int v = 0; v < V_MAX; v++)
		rmdir(cgdir[v]);
	close(stats_fd);
	return 0;
}
