// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_stall: does putting a big version in place, replacing it or
 * detaching it hold a CPU? One busy loop per CPU, pinned, reads the
 * monotonic clock and records its longest gap; meanwhile cgfence applies a
 * policy of N prefixes to a cgroup, applies a changed one (a re-apply) and
 * detaches it. A replaced or detached version's big maps are emptied by a
 * process of cgfence's own, cgfence-drain, after the command returned: each
 * phase lasts until no such process is left, and a second more, since the
 * kernel frees maps from a workqueue after the last reference goes. Prints
 * each phase's command time, the time until its drain was done, and the
 * longest gap any CPU saw and when it began (seconds into the phase: during
 * the command, or during the drain after it), and an idle baseline.
 *
 *   bench_stall [--prefixes N] [--cgfence PATH]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "cgroup.h"

#define MAX_CPUS 256
#define PHASES 4

struct shared {
	volatile int phase, stop;
	volatile double phase_t0;			/* now_ns() when the phase began */
	volatile double gap_ms[MAX_CPUS][PHASES];	/* longest gap per CPU and phase */
	volatile double gap_at[MAX_CPUS][PHASES];	/* ... and when it began, s into the phase */
};

static void spin(struct shared *sh, int cpu)
{
	double last = now_ns();

	pin_cpu(cpu);
	while (!sh->stop) {
		double t = now_ns(), gap = (t - last) / 1e6;
		int ph = sh->phase;

		if (gap > sh->gap_ms[cpu][ph]) {
			sh->gap_ms[cpu][ph] = gap;
			sh->gap_at[cpu][ph] = (last - sh->phase_t0) / 1e9;
		}
		last = t;
	}
	_exit(0);
}

/* a policy of n /32 prefixes (variant v shifts them: another version) */
static void write_policy(const char *path, const char *name, long n, int v)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("policy file");
	fprintf(f, "version: 1\nname: %s\nnetwork:\n  egress:\n    default: allow\n    rules:\n"
		"      - action: deny\n        to:\n", name);
	for (long i = 0; i < n; i++)
		fprintf(f, "          - 10.%ld.%ld.%ld\n", ((i + v) >> 16) & 255, ((i + v) >> 8) & 255,
			(i + v) & 255);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *cgf = "./cgfence", *phase_name[PHASES] = { "idle", "apply", "re-apply",
								 "detach" };
	long n = 1000000;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	char cg2[512], cg[600], name[64], p1[128], p2[128];
	double secs[PHASES] = { 0 }, drain[PHASES] = { 0 };
	struct shared *sh;
	pid_t kids[MAX_CPUS];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prefixes") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "--cgfence") && i + 1 < argc)
			cgf = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--prefixes N] [--cgfence PATH]\n", argv[0]);
			return 2;
		}
	}
	if (ncpu > MAX_CPUS)
		ncpu = MAX_CPUS;
	if (cgf_cgroup2_mount(cg2, sizeof(cg2)))
		die("no cgroup2 mount");
	snprintf(name, sizeof(name), "stall-bench-%d", (int)getpid());
	snprintf(cg, sizeof(cg), "%s/cgfence-%s", cg2, name);
	snprintf(p1, sizeof(p1), "/tmp/cgfence-%s-1.yaml", name);
	snprintf(p2, sizeof(p2), "/tmp/cgfence-%s-2.yaml", name);
	write_policy(p1, name, n, 0);
	write_policy(p2, name, n, 1);
	if (mkdir(cg, 0755))
		die("mkdir cgroup");
	drain_wait();	/* an earlier benchmark's: not this one's to measure */
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	memset((void *)sh, 0, sizeof(*sh));
	sh->phase_t0 = now_ns();
	for (int c = 0; c < ncpu; c++) {
		kids[c] = fork();
		if (kids[c] == 0)
			spin(sh, c);
	}
	sleep(1);	/* phase 0: idle */
	for (int ph = 1; ph < PHASES; ph++) {
		char *apply1[] = { (char *)cgf, "apply", p1, "--cgroup", cg, NULL };
		char *apply2[] = { (char *)cgf, "apply", p2, "--cgroup", cg, NULL };
		char *detach[] = { (char *)cgf, "detach", name, NULL };
		struct run_cost c;

		sh->phase_t0 = now_ns();
		sh->phase = ph;
		c = run(ph == 1 ? apply1 : ph == 2 ? apply2 : detach);
		double t_end = now_ns();

		if (c.status)
			fprintf(stderr, "bench_stall: %s exited %d\n", phase_name[ph], c.status);
		secs[ph] = c.secs;
		while (drain_running())
			usleep(20000);
		drain[ph] = c.secs + (now_ns() - t_end) / 1e9;
		sleep(1);	/* maps are freed after the command, from a workqueue */
	}
	sh->stop = 1;
	for (int c = 0; c < ncpu; c++)
		waitpid(kids[c], NULL, 0);
	rmdir(cg);
	unlink(p1);
	unlink(p2);
	printf("# bench_stall: %ld prefixes; a busy loop pinned to each of %d CPUs reports its "
	       "longest gap\n\n| phase | command s | drained s | longest gap ms (any CPU) | began at s | per CPU |\n"
	       "|---|---:|---:|---:|---:|---|\n", n, ncpu);
	for (int ph = 0; ph < PHASES; ph++) {
		double worst = 0, at = 0;
		char per[512] = "";

		for (int c = 0; c < ncpu; c++) {
			if (sh->gap_ms[c][ph] > worst) {
				worst = sh->gap_ms[c][ph];
				at = sh->gap_at[c][ph];
			}
			if (c < 8)
				snprintf(per + strlen(per), sizeof(per) - strlen(per), "%s%.1f",
					 c ? " " : "", sh->gap_ms[c][ph]);
		}
		char t[32] = "-", dr[32] = "-";

		if (ph) {
			snprintf(t, sizeof(t), "%.2f", secs[ph]);
			snprintf(dr, sizeof(dr), "%.2f", drain[ph]);
		}
		printf("| %s | %s | %s | %.1f | %.2f | %s |\n", phase_name[ph], t, dr, worst, at, per);
	}
	return 0;
}
