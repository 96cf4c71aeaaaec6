// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_redirect: what a redirect costs on connect(), side by side in one
 * run. Three cgroups: no program (connect to 127.0.0.1:9 directly); a
 * cgfence redirect of 127.0.0.99:9 to one backend; the same to 64 backends
 * (select: random). The benchmark moves itself between them in alternating,
 * rotating chunks and times UDP connect() (which crosses cgroup/connect4,
 * and no packet), and reads the connect4 programs' own run time.
 *
 *   bench_redirect [--rounds N] [--calls N] [--cgfence PATH] [--cpu N]
 *
 * Run it in a network namespace of its own (bench/run.sh does).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "benchlib.h"
#include "cgroup.h"

enum { V_NONE, V_ONE, V_SIXTYFOUR, V_MAX };
static const char *const vname[V_MAX] = { "none", "redirect-1", "redirect-64" };

static double measure(uint32_t dst, int calls)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(dst) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	double t0 = now_ns();

	if (fd < 0)
		die("socket");
	for (int i = 0; i < calls; i++)
		if (connect(fd, (void *)&a, sizeof(a)))
			die("connect");
	t0 = (now_ns() - t0) / calls;
	close(fd);
	return t0;
}

static void apply(const char *cgf, const char *name, int backends, const char *cg)
{
	char path[] = "/tmp/cgfence-bench-XXXXXX";
	FILE *f = fdopen(mkstemp(path), "w");

	fprintf(f, "version: 1\nname: %s\nnetwork:\n  redirect:\n"
		   "    - match: {to: [127.0.0.99], ports: [9], protocol: udp}\n"
		   "      select: random\n      backends: [", name);
	for (int i = 0; i < backends; i++)
		fprintf(f, "%s127.0.0.1:%d", i ? ", " : "", 9 + i);
	fprintf(f, "]\n");
	fclose(f);
	char *argv[] = { (char *)cgf, "apply", path, "--cgroup", (char *)cg, NULL };

	if (run(argv).status)
		die("cgfence apply");
	unlink(path);
}

int main(int argc, char **argv)
{
	struct bench_opts o = BENCH_OPTS_DEFAULT;
	const char *cgf;
	int rounds, calls;
	char cg2[512], orig[700], dir[V_MAX][700], name[V_MAX][64], pin[900];
	double t[V_MAX][64], med[V_MAX];
	int prog[V_MAX] = { -1, -1, -1 };

	if (bench_init(&o, argc, argv, cg2, sizeof(cg2), orig, sizeof(orig)))
		return 2;
	rounds = o.rounds;
	calls = o.calls;
	cgf = o.cgf;
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	for (int v = 0; v < V_MAX; v++) {
		snprintf(dir[v], sizeof(dir[v]), "%s/cgfence-bench-%d-%s", cg2, getpid(), vname[v]);
		snprintf(name[v], sizeof(name[v]), "bench-%d-%s", getpid(), vname[v]);
		if (mkdir(dir[v], 0755))
			die(dir[v]);
		if (v == V_NONE)
			continue;
		uint64_t id;

		apply(cgf, name[v], v == V_ONE ? 1 : 64, dir[v]);
		cgf_cgroup_id(dir[v], &id);
		snprintf(pin, sizeof(pin), "/sys/fs/bpf/cgfence/%s/cg-%llu/connect4", name[v],
			 (unsigned long long)id);
		prog[v] = linked_prog_fd(pin);
	}
	for (int v = 0; v < V_MAX; v++) {	/* warm up */
		enter(dir[v]);
		measure(v == V_NONE ? 0x7f000001 : 0x7f000063, calls / 10 + 1);
	}
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < V_MAX; j++) {
			int v = (j + r) % V_MAX;

			enter(dir[v]);
			t[v][r] = measure(v == V_NONE ? 0x7f000001 : 0x7f000063, calls);
		}
	enter(orig);
	for (int v = 0; v < V_MAX; v++)
		med[v] = median(t[v], rounds);
	printf("# bench_redirect: %d rounds x %d UDP connect() per variant, pinned to CPU %d\n\n",
	       rounds, calls, o.cpu);
	printf("| variant | connect() ns | x none | connect4 program ns/run (kernel stats) |\n");
	printf("|---|---:|---:|---:|\n");
	for (int v = 0; v < V_MAX; v++)
		printf("| %s | %.0f | %.3f | %.1f |\n", vname[v], med[v], med[v] / med[V_NONE],
		       prog_ns(prog[v]));
	for (int v = 0; v < V_MAX; v++) {
		if (v != V_NONE) {
			char *detach[] = { (char *)cgf, "detach", name[v], NULL };

			close(prog[v]);
			run(detach);
		}
		rmdir(dir[v]);
	}
	close(stats_fd);
	return 0;
}
