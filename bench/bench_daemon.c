// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence daemon: time from mkdir() of a cgroup that a glob target matches
 * to the policy being attached (every link pinned), over N cgroups made one
 * after another; and the daemon's memory with N managed cgroups.
 *
 * The daemon runs on CPU 1, this process on CPU 0 and polls for the last
 * link's pin. As a yardstick, the same run times fork+exec+wait of
 * /bin/true: the least a runtime does between making a container's cgroup
 * and the container's first instruction.
 *
 *   bench_daemon --cgfence PATH [--cgroups N]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>

#include "benchlib.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long rss_kb(pid_t pid, const char *field)
{
	char p[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = atol(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	const char *cgf = "./cgfence";
	int n = 1000;
	char cg2[512], top[700], dir[] = "/tmp/cgfence-bench-daemon.XXXXXX", pol[800], run[800];
	char name[64], cmd[2048];
	double *lat, *spawn;
	pid_t d;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cgfence") && i + 1 < argc)
			cgf = argv[++i];
		else if (!strcmp(argv[i], "--cgroups") && i + 1 < argc)
			n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_daemon --cgfence PATH [--cgroups N]\n");
			return 2;
		}
	}
	if (n < 1 || cgf_cgroup2_mount(cg2, sizeof(cg2)) || !mkdtemp(dir))
		die("setup");
	snprintf(name, sizeof(name), "bench-daemon-%d", getpid());
	snprintf(top, sizeof(top), "%s/cgfence-%s", cg2, name);
	snprintf(pol, sizeof(pol), "%s/p", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	if (mkdir(top, 0755) || mkdir(pol, 0700))
		die(top);
	snprintf(cmd, sizeof(cmd), "%s/p.yaml", pol);
	f = fopen(cmd, "w");
	if (!f)
		die(cmd);
	fprintf(f, "version: 1\nname: %s\ntarget: {cgroup: \"cgfence-%s/c-*\"}\nnetwork:\n"
		"  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.3]}\n",
		name, name);
	fclose(f);

	d = fork();
	if (d == 0) {
		pin_cpu(1);
		freopen("/dev/null", "w", stderr);
		execl(cgf, cgf, "daemon", "--policy-dir", pol, "--run-dir", run, NULL);
		_exit(127);
	}
	pin_cpu(0);
	snprintf(cmd, sizeof(cmd), "/sys/fs/bpf/cgfence/%s/active", name);
	for (int i = 0; i < 500 && access(cmd, F_OK); i++)
		usleep(10000);
	usleep(200000);
	long rss0 = rss_kb(d, "VmRSS:");

	lat = calloc((size_t)n, sizeof(*lat));
	spawn = calloc((size_t)n, sizeof(*spawn));
	for (int i = 0; i < n; i++) {
		char cg[800], pin[900];
		struct stat st;
		double t0;

		snprintf(cg, sizeof(cg), "%s/c-%d", top, i);
		t0 = now_ns();
		if (mkdir(cg, 0755) || stat(cg, &st))
			die(cg);
		/* egress is the last of the policy's links; the cgroup's record follows it */
		snprintf(pin, sizeof(pin), "/sys/fs/bpf/cgfence/%s/cg-%llu/egress", name,
			 (unsigned long long)st.st_ino);
		while (access(pin, F_OK)) {
			if (now_ns() - t0 > 5e9) {
				fprintf(stderr, "bench: cgroup %d not attached after 5 s\n", i);
				goto out;
			}
			sched_yield();
		}
		lat[i] = now_ns() - t0;
		t0 = now_ns();
		pid_t c = fork();

		if (c == 0) {
			execl("/bin/true", "true", NULL);
			_exit(127);
		}
		waitpid(c, NULL, 0);
		spawn[i] = now_ns() - t0;
	}
	usleep(300000);
	long rss1 = rss_kb(d, "VmRSS:"), hwm = rss_kb(d, "VmHWM:");

	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	qsort(spawn, (size_t)n, sizeof(*spawn), cmp);
	printf("| cgroups | mkdir -> attached, median | p99 | worst | fork+exec+wait /bin/true, median | ratio |\n");
	printf("|---|---|---|---|---|---|\n");
	printf("| %d | %.0f µs | %.0f µs | %.0f µs | %.0f µs | %.2f |\n", n, lat[n / 2] / 1e3,
	       lat[(size_t)(n * 0.99)] / 1e3, lat[n - 1] / 1e3, spawn[n / 2] / 1e3,
	       lat[n / 2] / spawn[n / 2]);
	printf("\ndaemon memory: VmRSS %ld KiB with no cgroup, %ld KiB with %d cgroups "
	       "(peak %ld KiB)\n", rss0, rss1, n, hwm);
out:
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s detach %s >/dev/null 2>&1; "
		 "find %s -depth -type d -exec rmdir {} + 2>/dev/null; rm -rf %s", cgf, name, top, dir);
	if (system(cmd))
		fprintf(stderr, "bench: cleanup: %s\n", cmd);
	return 0;
}
