// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence events [--json] [--follow] [NAME]
 *
 * Each policy's programs write events into its pinned ring buffer. A ring
 * buffer has one consumer position, so readers do not take events from it
 * directly: whoever holds RUN_DIR/events/NAME.lock (the collector) moves
 * them, as JSON lines, to RUN_DIR/events/NAME.jsonl, and every reader prints
 * that file. So several readers each see every event, a reader without
 * --follow sees what was recorded so far, and a follower takes over
 * collecting when the collector exits. Events the ring buffer could not take
 * and events over their rule's rate are counted by the programs; the
 * collector records how many as "lost" lines, so no loss is silent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cgroup.h"
#include "cli.h"
#include "jsonout.h"
#include "events.h"
#include "loader.h"
#include "rundir.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_line(const char *line)
{
	json_object *o, *v;
	char addr[200] = "";

	if (cgf_json) {
		fputs(line, stdout);
		return;
	}
	o = json_tokener_parse(line);
	if (!o)
		return;
#define S(k) (json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL)
#define I(k) (json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v) : 0)
	if (!strcmp(S("type") ?: "", "lost")) {
		printf("%s %s lost: %lld dropped (ring buffer full), %lld suppressed (over the "
		       "rule's rate)\n", S("time"), S("policy"), (long long)I("dropped"),
		       (long long)I("suppressed"));
		json_object_put(o);
		return;
	}
	if (!strcmp(S("type") ?: "", "outside-socket")) {
		const char *r = S("remote");

		printf("%s %-16s %s pid %lld (%s) cgroup %s holds %s %s%s%s made in cgroup %s, not "
		       "filtered by the policy%s\n", S("time"), S("type"), S("policy"),
		       (long long)I("pid"), S("comm") ?: "", S("cgroup") ?: "?",
		       S("protocol") ?: "?", S("local") ?: "?", r ? " -> " : "", r ? r : "",
		       S("socket_cgroup") ?: "?",
		       json_object_object_get_ex(o, "destroyed", &v) && json_object_get_boolean(v)
			       ? ": destroyed" : "");
		json_object_put(o);
		return;
	}
	{
		const char *sa = S("src"), *da = S("dst"), *pr = S("protocol");
		char src[80] = "", dst[80] = "";

		if (sa)
			snprintf(src, sizeof(src), strchr(sa, ':') ? " [%s]:%lld" : " %s:%lld", sa,
				 (long long)I("sport"));
		if (da)
			snprintf(dst, sizeof(dst), strchr(da, ':') ? " -> [%s]:%lld" : " -> %s:%lld",
				 da, (long long)I("dport"));
		snprintf(addr, sizeof(addr), "%s%s%s%s", pr ? " " : "", pr ? pr : "", src, dst);
	}
	printf("%s %-16s %s %s%s pid %lld (%s) cgroup %s", S("time"), S("type"), S("policy"),
	       S("hook"), addr, (long long)I("pid"), S("comm") ?: "", S("cgroup") ?: "?");
	if (json_object_object_get_ex(o, "rule", &v) && v) {
		json_object *t, *l;

		if (json_object_is_type(v, json_type_string))
			printf(" rule %s", json_object_get_string(v));
		else if (json_object_object_get_ex(v, "text", &t) &&
			 json_object_object_get_ex(v, "line", &l))
			printf(" rule line %d: %s", json_object_get_int(l), json_object_get_string(t));
	}
	if (S("name"))
		printf(" through name %s", S("name"));
	if (S("names_why"))
		printf(" (%s)", S("names_why"));
	if (!strcmp(S("type") ?: "", "connection-close")) {
		double ms = json_object_object_get_ex(o, "duration_ms", &v) && v
				    ? json_object_get_double(v) : 0.0;

		printf(" %.3f ms, %lld bytes sent, %lld received, %lld retransmits, srtt %lld us",
		       ms, (long long)I("bytes_sent"),
		       (long long)I("bytes_received"), (long long)I("retransmits"),
		       (long long)I("srtt_us"));
	}
	printf("\n");
#undef S
#undef I
	json_object_put(o);
}

static bool all_lives;	/* --all: events of earlier lives of the name too */

/* Is the line of this life of the policy (its "instance")? A line written
 * before cgfence recorded instances (an upgrade) is of no known life: shown. */
static bool this_life(const char *line, const char *instance)
{
	const char *k = strstr(line, "\"instance\":\"");
	size_t n = strlen(instance);

	if (all_lives || !instance[0] || !k)
		return true;
	return !strncmp(k + 12, instance, n) && k[12 + n] == '"';
}

/* Print the log lines we have not printed yet (the log may have been rotated). */
static void drain_log(struct cgf_event_src *s)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;

	if (stat(s->log, &st))
		return;
	if (s->in && (st.st_ino != s->ino)) {
		fclose(s->in);	/* rotated: the new file from its start */
		s->in = NULL;
	}
	if (!s->in) {
		s->in = fopen(s->log, "r");
		if (!s->in)
			return;
		s->ino = st.st_ino;
	}
	clearerr(s->in);
	for (;;) {
		long pos = ftell(s->in);
		ssize_t n = getline(&line, &cap, s->in);

		if (n <= 0)
			break;
		if (line[n - 1] != '\n') {	/* a line still being written */
			fseek(s->in, pos, SEEK_SET);
			break;
		}
		if (this_life(line, s->instance))
			print_line(line);
	}
	free(line);
	fflush(stdout);
}

/* The sources: policy name's events, or every policy's (NULL). */
static int open_sources(const char *name, struct cgf_event_src **srcs, size_t *n)
{
	DIR *d;
	struct dirent *e;

	if (name) {
		char sname[CGF_INSTANCE_MAX];
		int err = cgf_event_src_add(srcs, n, name);

		if (!err && cgf_pin_staged_name(name, sname, sizeof(sname))) {
			CGF_DIAG_SCOPE(ignored);	/* unstaged meanwhile */

			cgf_event_src_add(srcs, n, sname);
		}
		return err;
	}
	d = opendir(CGF_PIN_ROOT);
	while (d && (e = readdir(d))) {
		CGF_DIAG_SCOPE(ignored);	/* a policy that went meanwhile */

		if (e->d_name[0] != '.' && e->d_type == DT_DIR)
			cgf_event_src_add(srcs, n, e->d_name);
	}
	if (d)
		closedir(d);
	return 0;
}

int cgf_do_events(int argc, char **argv)
{
	const char *name = NULL;
	bool follow = false;
	struct cgf_event_src *srcs = NULL;
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
			follow = true;
		else if (!strcmp(argv[i], "--all"))
			all_lives = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cgf_usage_error("events: unknown option '%s'", argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cgf_usage_error("events: one NAME at a time ('%s')", argv[i]);
	}
	if (name && !valid_name(name))
		return cgf_usage_error("events: '%s' is not a policy name", name);
	if (cgf_env_check() || open_sources(name, &srcs, &n)) {
		fprintf(stderr, "cgfence: %s\n", cgf_last_error());
		free(srcs);
		return EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_DFL);
	for (size_t i = 0; i < n; i++) {
		cgf_event_collect(&srcs[i], follow);
		drain_log(&srcs[i]);
	}
	while (follow && !stop) {
		struct pollfd p[64];
		nfds_t np = 0;

		for (size_t i = 0; i < n && np < 64; i++)
			if (srcs[i].rb)
				p[np++] = (struct pollfd){ .fd = ring_buffer__epoll_fd(srcs[i].rb),
							   .events = POLLIN };
		poll(p, np, 100);	/* readers that do not collect look every 100 ms */
		for (size_t i = 0; i < n; i++) {
			cgf_event_collect(&srcs[i], true);	/* takes over when the collector left */
			drain_log(&srcs[i]);
		}
		if (n == 1 && access(CGF_PIN_ROOT, F_OK) == 0) {
			char dir[PATH_MAX];

			cgf_pin_policy_dir(srcs[0].name, dir, sizeof(dir));
			if (access(dir, F_OK))
				break;	/* the policy was detached */
		}
	}
	for (size_t i = 0; i < n; i++)
		cgf_event_src_close(&srcs[i]);
	free(srcs);
	return EXIT_OK;
}
