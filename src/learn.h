/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Learning a policy from events: what a workload did under an observing
 * policy (audit mode, every default deny, log.dns), as the would-deny and
 * dns events of `events --json`, becomes a policy that allows exactly that.
 * Pure: events in, YAML text out (run --learn and learn feed it).
 */
#ifndef CGF_LEARN_H
#define CGF_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

struct cgf_learn;

struct cgf_learn_opts {
	const char *name;		/* the policy's name */
	const char *const *dns;		/* the resolvers to trust for to_names, NULL-ended */
	int group;			/* --group PREFIXLEN: fold IPv4 addresses into /N (0: no) */
	uint16_t eph_lo, eph_hi;	/* the ephemeral ports: a bind there is "port 0" */
	const char *note;		/* a comment for the head (what was learnt from), or NULL */
};

struct cgf_learn *cgf_learn_new(void);
/* One event (an object of `events --json`); those it does not use are ignored. */
void cgf_learn_event(struct cgf_learn *l, json_object *ev);
/* Events lost while learning (a `lost` line): the output says so. */
uint64_t cgf_learn_lost(const struct cgf_learn *l);
/* How many events were used. */
uint64_t cgf_learn_used(const struct cgf_learn *l);
/* The policy, as YAML (malloc'd). */
char *cgf_learn_yaml(const struct cgf_learn *l, const struct cgf_learn_opts *o);
void cgf_learn_free(struct cgf_learn *l);

/* The observing policy for name: audit, every section's default deny,
 * log.dns, unlimited denial events (malloc'd YAML). */
char *cgf_learn_observer(const char *name, const char *const *dns);

#endif
