/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the benchmarks share: timing, medians, moving between cgroups,
 * running a command, the kernel's per-program statistics. */
#ifndef CGF_BENCHLIB_H
#define CGF_BENCHLIB_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include (benchlib.h uses sched_setaffinity)"
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"

static inline void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* move this process into cgroup directory cg */
static inline void enter(const char *cg)
{
	char p[800], pid[32];
	int fd;

	snprintf(p, sizeof(p), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(p, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		die(p);
	close(fd);
}

/* the cgroup2 path this process is in now (absolute) */
static inline void current_cgroup(const char *cg2, char *out, size_t len)
{
	char line[700] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			break;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	snprintf(out, len, "%s%s", cg2, line + 3);
}

static inline void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* the kernel's mean run time of a program (BPF_ENABLE_STATS), ns */
static inline double prog_ns(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len) || !info.run_cnt)
		return 0;
	return (double)info.run_time_ns / info.run_cnt;
}

/* the program behind a pinned link */
static inline int linked_prog_fd(const char *pin)
{
	struct bpf_link_info li = {};
	__u32 len = sizeof(li);
	int lfd = bpf_obj_get(pin), pfd;

	if (lfd < 0 || bpf_obj_get_info_by_fd(lfd, &li, &len))
		return -1;
	close(lfd);
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	return pfd;
}

/* the program of policy name's hook on cgroup cg (cgfence's link pin) */
static inline int policy_prog_fd(const char *name, const char *cg, const char *hook)
{
	char pin[900];
	uint64_t id;

	if (cgf_cgroup_id(cg, &id))
		return -1;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/cgfence/%s/cg-%llu/%s", name,
		 (unsigned long long)id, hook);
	return linked_prog_fd(pin);
}

/* Options every benchmark takes: --rounds N --calls N --cgfence PATH --cpu N */
struct bench_opts {
	int rounds, calls, cpu;
	const char *cgf;
};

#define BENCH_OPTS_DEFAULT { .rounds = 11, .calls = 20000, .cpu = 1, .cgf = "./cgfence" }
#define BENCH_OPTS_USAGE "[--rounds N] [--calls N] [--cgfence PATH] [--cpu N]"

/* Takes argv[*i] (and its value) if it is a common option. */
static inline bool bench_opt(struct bench_opts *o, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return false;
	if (!strcmp(argv[*i], "--rounds"))
		o->rounds = atoi(argv[++*i]);
	else if (!strcmp(argv[*i], "--calls"))
		o->calls = atoi(argv[++*i]);
	else if (!strcmp(argv[*i], "--cgfence"))
		o->cgf = argv[++*i];
	else if (!strcmp(argv[*i], "--cpu"))
		o->cpu = atoi(argv[++*i]);
	else
		return false;
	return true;
}

static inline bool bench_opts_ok(const struct bench_opts *o)
{
	return o->rounds >= 1 && o->rounds <= 64 && o->calls >= 1;
}

/*
 * For benchmarks that take only the common options: parse them, pin the CPU,
 * find the cgroup2 mount and the cgroup we start in. 0, or 2 after a usage
 * message.
 */
static inline int bench_init(struct bench_opts *o, int argc, char **argv, char *cg2,
			     size_t cg2_len, char *orig, size_t orig_len)
{
	for (int i = 1; i < argc; i++)
		if (!bench_opt(o, argc, argv, &i)) {
			fprintf(stderr, "usage: %s " BENCH_OPTS_USAGE "\n", argv[0]);
			return 2;
		}
	if (!bench_opts_ok(o))
		return 2;
	pin_cpu(o->cpu);
	if (cgf_cgroup2_mount(cg2, cg2_len))
		die("no cgroup2 mount");
	current_cgroup(cg2, orig, orig_len);
	return 0;
}

struct run_cost {
	double secs;
	long maxrss_kb;
	int status;
};

/* run argv with stdout to /dev/null; its time, peak memory and status */
static inline struct run_cost run(char *const argv[])
{
	struct run_cost c = { 0 };
	struct rusage ru;
	double t0 = now_ns();
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	wait4(pid, &c.status, 0, &ru);
	c.secs = (now_ns() - t0) / 1e9;
	c.maxrss_kb = ru.ru_maxrss;
	return c;
}

/* Is a cgfence-drain process running (the entries of a replaced or detached
 * version being deleted, paced, after the command returned)? */
static inline bool drain_running(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool yes = false;

	while (d && !yes && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f))
			yes = !strcmp(comm, "cgfence-drain\n");
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return yes;
}

/* Until no drain runs: a benchmark that detached a big version waits for its
 * drain, so that the next measurement does not share the CPUs with it. */
static inline void drain_wait(void)
{
	while (drain_running())
		usleep(100000);
}

#endif
