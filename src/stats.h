/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_STATS_H
#define CGF_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* events, rate_limited, rule_hits, accounting, programs of one policy (NULL: none) */
json_object *cgf_vis_json(const char *name);

/* to_names: patterns, learnt addresses and their expiry, counters (NULL: none) */
json_object *cgf_names_json(const char *name);

/* Add one to counter key (CGF_PC_*) of policy name's pstats map: the
 * counters user space keeps there (the daemon's attach failures). */
int cgf_stats_count(const char *name, uint32_t key);

/* kernel.bpf_stats_enabled: do programs' run_count and run_time_ns count? */
bool cgf_run_stats_enabled(void);

/* The Prometheus text format of an array of `stats --json` policy objects. */
char *cgf_prometheus(json_object *stats);

/* /metrics over HTTP (libmicrohttpd), driven by the caller's event loop. */
struct cgf_metrics;
/* listen on HOST:PORT (IPv4 or [IPv6]; ":PORT" is 127.0.0.1:PORT) */
struct cgf_metrics *cgf_metrics_start(const char *listen, json_object *(*collect)(void));
int cgf_metrics_fd(struct cgf_metrics *m);	/* readable: call cgf_metrics_run */
void cgf_metrics_run(struct cgf_metrics *m);
void cgf_metrics_stop(struct cgf_metrics *m);

#endif
