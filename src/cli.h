/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_CLI_H
#define CGF_CLI_H

#include <stddef.h>

#include "compile.h"
#include "policy.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

int cgf_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cgf_load_compile(const char *path, struct cgf_policy **p, struct cgf_compiled **c);
int cgf_target_cgroup(const struct cgf_policy *p, const char *arg, char *abs, size_t len);
int cgf_do_run(int argc, char **argv);
int cgf_do_oci_hook(int argc, char **argv);
int cgf_do_tree(int argc, char **argv);
int cgf_do_daemon(int argc, char **argv);
int cgf_do_events(int argc, char **argv);
/* Collecting one policy's events into the run directory's log (events.c). */
struct cgf_collector *cgf_collector_open(const char *name);
void cgf_collector_poll(struct cgf_collector *c);
void cgf_collector_close(struct cgf_collector *c);
/* `stats --json` of every policy, without cleaning up first (metrics) */
struct json_object *cgf_stats_all(void);
/* The running daemon's status (RUN_DIR/daemon.json), NULL when none runs. */
struct json_object *cgf_daemon_status(const char *run_dir);

#endif
