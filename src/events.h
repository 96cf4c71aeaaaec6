/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events: each policy's programs write them into its pinned ring buffer; the
 * reader holding RUN_DIR/events/NAME.lock (the collector) moves them, as
 * JSON lines, to RUN_DIR/events/NAME.jsonl, which every reader prints.
 */
#ifndef CGF_EVENTS_H
#define CGF_EVENTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "loader.h"

struct cgf_event_src {
	char name[CGF_INSTANCE_MAX];
	char log[PATH_MAX], lock[PATH_MAX];
	int lock_fd;			/* >= 0 while we collect */
	struct ring_buffer *rb;
	struct cgf_vis v;
	FILE *in;			/* the log, for reading */
	int out;			/* the log, for appending (collector) */
	ino_t ino;
	int64_t boot_to_real;		/* ns to add to CLOCK_BOOTTIME */
	char instance[64];		/* this life of the policy (cgf_event_instance) */
	uint64_t seen_dropped, seen_suppressed;
	bool counters_known;
};

/* Open policy name's events as one more source in *v. */
int cgf_event_src_add(struct cgf_event_src **v, size_t *n, const char *name);
/* Move what the ring buffer holds to the log when we are (or can become,
 * then with keep: stay) the collector. */
void cgf_event_collect(struct cgf_event_src *s, bool keep);

/* Collect, then call fn for each event of the policy's life in force so far
 * (a line that predates instances counts too). */
int cgf_event_each(struct cgf_event_src *s, void (*fn)(json_object *ev, void *arg), void *arg);

/* Release what a source holds (its lock: collecting stops). */
void cgf_event_src_close(struct cgf_event_src *s);

/*
 * Which life of policy name the events are of: a name applied, detached and
 * applied again writes to the same log, and its old events are not the new
 * policy's. The id of the policy's ring buffer map, which lives as long as
 * the policy (across versions and upgrades), with the boot it is of:
 * "BOOT-ID". "" when the policy is not applied.
 */
void cgf_event_instance(const char *name, char *buf, size_t len);

/* One event of user space's (a JSON object with "type"), timed now, to policy
 * name's log: one write, appended. */
void cgf_event_append(const char *name, json_object *o);

/* The daemon collects for the policies it manages. */
struct cgf_collector;
struct cgf_collector *cgf_collector_open(const char *name);
void cgf_collector_poll(struct cgf_collector *c);
void cgf_collector_close(struct cgf_collector *c);

#endif
