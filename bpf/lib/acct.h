/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Accounting per cgroup, and the GCRA of the rate limits. */
#ifndef CGF_BPF_ACCT_H
#define CGF_BPF_ACCT_H

#include "common.h"

/* per cgroup, allocated as cgroups come (no preallocation): a policy
 * without accounting or rate limit pays nothing for them (pin layout 2) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct cgf_acct);
	__uint(max_entries, CGF_ACCT_MAX);
} cgf_acct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct cgf_rl);
	__uint(max_entries, CGF_ACCT_MAX);
} cgf_rl SEC(".maps");

static __always_inline struct cgf_acct *acct_get(__u64 id)
{
	struct cgf_acct *a = bpf_map_lookup_elem(&cgf_acct, &id);
	struct cgf_acct zero = {};

	if (a)
		return a;
	bpf_map_update_elem(&cgf_acct, &id, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&cgf_acct, &id);
}

/* accounting: a call or packet of this cgroup denied (or, in audit mode, would be) */
static __always_inline void acct_denied(__u64 cg)
{
	struct cgf_acct *a;

	if (!cfg.accounting)
		return;
	a = acct_get(cg);
	if (a)
		a->denied++;
}

/* a new connection in this minute (per CPU: no races) */
static __always_inline void acct_conn(struct cgf_acct *a)
{
	__u32 m = bpf_ktime_get_boot_ns() / 60000000000ull, i = m & 1;

	if (a->minute_of[i] != m) {
		a->minute_of[i] = m;
		a->minute[i] = 0;
	}
	a->minute[i]++;
}

/* GCRA: may one more go now? *tat is the theoretical arrival time */
static __always_inline bool gcra(__u64 *tat, __u64 now, __u64 interval, __u64 burst)
{
	__u64 t = *tat < now ? now : *tat;

	if (t - now > burst)
		return false;
	*tat = t + interval;
	return true;
}


#endif
