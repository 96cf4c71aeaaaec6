/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Counters: denials per hook, the policy's own, hits per rule. */
#ifndef CGF_BPF_STATS_H
#define CGF_BPF_STATS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_STATS_ENTRIES);
} cgf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_PC_ROOM);
} cgf_pstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);		/* sized at load, as cgf_ev_rl */
} cgf_rule_hits SEC(".maps");

static __always_inline void count(enum cgf_hook hook, enum cgf_counter c)
{
	__u32 idx = hook * CGF_C_MAX + c;
	__u64 *val = bpf_map_lookup_elem(&cgf_stats, &idx);

	if (val)
		*val += 1;
}

static __always_inline void pcount(enum cgf_pcounter c)
{
	__u32 idx = c;
	__u64 *val = bpf_map_lookup_elem(&cgf_pstats, &idx);

	if (val)
		*val += 1;
}

/* index of a rule id in the per-rule maps: rules, then default, then rate limit */
static __always_inline __u32 rule_idx(__u32 rule)
{
	return rule == CGF_RULE_DEFAULT ? cfg.n_rules : rule == CGF_RULE_RATE ? cfg.n_rules + 1
									  : rule;
}

/* accounting: which rule decided */
static __always_inline void hit(__u32 rule)
{
	__u32 idx = rule_idx(rule);
	__u64 *val;

	if (!cfg.accounting)
		return;
	val = bpf_map_lookup_elem(&cgf_rule_hits, &idx);
	if (val)
		*val += 1;
}

#endif
