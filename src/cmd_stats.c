// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgfence stats, cgfence metrics */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "jsonout.h"
#include "loader.h"
#include "report.h"
#include "stats.h"
#include "util.h"

static volatile sig_atomic_t stats_stop;

static void print_stats_text(json_object *doc)
{
	printf("%-24s %-12s %12s %12s %12s %10s\n", "NAME", "HOOK", "DENIED", "AUDIT", "RUNS",
	       "NS/RUN");
	for (size_t i = 0; i < json_object_array_length(doc); i++) {
		json_object *p = json_object_array_get_idx(doc, i), *bh, *den, *aud, *progs, *x;
		const char *name = json_object_get_string(json_object_object_get(p, "name"));

		json_object_object_get_ex(p, "by_hook", &bh);
		den = json_object_object_get(bh, "denied");
		aud = json_object_object_get(bh, "audit_would_deny");
		progs = json_object_object_get(p, "programs");
		json_object_object_foreach(den, hook, dv) {
			uint64_t runs = 0, t = 0;

			for (size_t j = 0; progs && j < json_object_array_length(progs); j++) {
				json_object *g = json_object_array_get_idx(progs, j);

				if (!strcmp(json_object_get_string(json_object_object_get(g, "hook")),
					    hook)) {
					runs = (uint64_t)json_object_get_int64(
						json_object_object_get(g, "run_count"));
					t = (uint64_t)json_object_get_int64(
						json_object_object_get(g, "run_time_ns"));
				}
			}
			char per[32] = "-";

			if (runs)
				snprintf(per, sizeof(per), "%.0f", (double)t / (double)runs);
			printf("%-24s %-12s %12lld %12lld %12llu %10s\n", name, hook,
			       (long long)json_object_get_int64(dv),
			       (long long)json_object_get_int64(json_object_object_get(aud, hook)),
			       (unsigned long long)runs, per);
		}
		if (json_object_object_get_ex(p, "events", &x))
			printf("  events: %lld sent, %lld dropped (ring buffer full), %lld suppressed "
			       "(over the rule's rate); %lld connects refused by rate_limit\n",
			       (long long)json_object_get_int64(json_object_object_get(x, "sent")),
			       (long long)json_object_get_int64(json_object_object_get(x, "dropped")),
			       (long long)json_object_get_int64(json_object_object_get(x, "suppressed")),
			       (long long)json_object_get_int64(json_object_object_get(p, "rate_limited")));
		if (json_object_object_get_ex(p, "staged", &x))
			printf("  staged differences: %lld would be denied that are allowed now, "
			       "%lld would be allowed that are denied now\n",
			       (long long)json_object_get_int64(json_object_object_get(x, "would_deny")),
			       (long long)json_object_get_int64(json_object_object_get(x, "would_allow")));
		x = json_object_object_get(p, "accounting");
		for (size_t j = 0; x && j < json_object_array_length(x); j++) {
			json_object *c = json_object_array_get_idx(x, j);
#define U(k) ((unsigned long long)json_object_get_int64(json_object_object_get(c, k)))
			printf("  cgroup %s: out %llu bytes, %llu packets; in %llu bytes, %llu packets; "
			       "tcp %llu connects, %llu accepts; udp %llu flows; %llu new per "
			       "minute\n", json_object_get_string(json_object_object_get(c, "cgroup")) ?: "(gone)",
			       U("bytes_out"), U("packets_out"), U("bytes_in"), U("packets_in"),
			       U("tcp_connects"), U("tcp_accepts"), U("udp_flows"),
			       U("connections_per_minute"));
#undef U
		}
		cgf_print_names(json_object_object_get(p, "names"), "  ");
		x = json_object_object_get(p, "rule_hits");
		for (size_t j = 0; x && j < json_object_array_length(x); j++) {
			json_object *h = json_object_array_get_idx(x, j), *t;

			if (json_object_object_get_ex(h, "text", &t))
				printf("  rule line %d %s: %lld hits\n",
				       json_object_get_int(json_object_object_get(h, "line")),
				       json_object_get_string(t),
				       (long long)json_object_get_int64(json_object_object_get(h, "hits")));
			else
				printf("  %s: %lld hits\n",
				       json_object_get_string(json_object_object_get(h, "rule")),
				       (long long)json_object_get_int64(json_object_object_get(h, "hits")));
		}
	}
}

static void stats_signal(int sig)
{
	(void)sig;
	stats_stop = 1;
}

int cgf_do_stats(int argc, char **argv)
{
	const char *name = NULL;
	long watch = 0;
	bool found = false;
	int stats_fd = -1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--watch")) {
			char *end;

			if (++i >= argc)
				return cgf_usage_error("--watch needs a number of SECONDS");
			watch = strtol(argv[i], &end, 10);
			if (*end || watch < 1 || watch > 86400)
				return cgf_usage_error("--watch: '%s' is not a number of seconds from "
						       "1 to 86400", argv[i]);
			continue;
		}
		if (argv[i][0] == '-')
			return cgf_usage_error("stats: unknown option '%s'", argv[i]);
		if (name)
			return cgf_usage_error("stats: one NAME at a time");
		name = argv[i];
	}
	if (cgf_env_check())
		return cgf_fail();
	if (watch) {	/* the programs' run count and time, while we watch */
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		signal(SIGINT, stats_signal);
		signal(SIGTERM, stats_signal);
	}
	do {
		json_object *doc = cgf_stats_doc(name, true, &found);

		cgf_unlock();
		if (!doc)
			return cgf_fail();
		if (name && !found) {
			json_object_put(doc);
			cgf_error(-ENOENT, "no policy named '%s' is applied", name);
			if (stats_fd >= 0)
				close(stats_fd);
			return cgf_fail();
		}
		if (cgf_json) {
			if (watch) {	/* one document per line and interval */
				puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
				fflush(stdout);
				json_object_put(doc);
			} else {
				cgf_json_emit(doc);
			}
		} else {
			if (watch) {
				time_t t = time(NULL);
				char ts[64];

				strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
				printf("-- %s\n", ts);
			}
			print_stats_text(doc);
			if (!watch && !cgf_run_stats_enabled())
				printf("(RUNS and NS/RUN count only while kernel.bpf_stats_enabled is 1 "
				       "or a `stats --watch` runs)\n");
			fflush(stdout);
			json_object_put(doc);
		}
		for (long s = 0; watch && s < watch * 10 && !stats_stop; s++)
			usleep(100000);
	} while (watch && !stats_stop);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}

/* cgfence metrics --listen HOST:PORT: /metrics in the Prometheus text format */
int cgf_do_metrics(int argc, char **argv)
{
	const char *listen = NULL;
	struct cgf_metrics *m;
	int stats_fd;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
		else
			return cgf_usage_error("metrics: unexpected argument '%s' (metrics --listen "
					       "HOST:PORT)", argv[i]);
	}
	if (!listen)
		return cgf_usage_error("metrics: --listen HOST:PORT is required");
	if (cgf_env_check())
		return cgf_fail();
	m = cgf_metrics_start(listen, cgf_stats_all);
	if (!m)
		return cgf_fail();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	signal(SIGINT, stats_signal);
	signal(SIGTERM, stats_signal);
	fprintf(stderr, "cgfence: serving http://%s/metrics\n", listen);
	while (!stats_stop) {
		struct pollfd p = { .fd = cgf_metrics_fd(m), .events = POLLIN };

		if (poll(&p, 1, 500) > 0)
			cgf_metrics_run(m);
	}
	cgf_metrics_stop(m);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}
