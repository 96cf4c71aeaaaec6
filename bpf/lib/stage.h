/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Staging (abi.h: Staging): what the version in force returned, handed to
 * the staged version that runs after it. */
#ifndef CGF_BPF_STAGE_H
#define CGF_BPF_STAGE_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_handoff);
	__uint(max_entries, CGF_HANDOFF_ENTRIES);
} cgf_handoff SEC(".maps");		/* pinned, kept across versions; a staged
					 * version uses the policy's */

/* 1 while a staged version listens: the pinned one-entry array "listen",
 * read as a global like the gate's switch (gate.h); apply --stage sets it
 * before the staged version is attached, unstage clears it once that is gone */
__u32 cgf_listen SEC(".data.listen");

static __always_inline __u32 handoff_idx(enum cgf_hook h)
{
	return h == CGF_H_EGRESS ? 1 : h == CGF_H_INGRESS ? 2 : 0;
}

/* The version in force: ret is what this call gets. Costs a load while no
 * staged version listens, then one per-CPU array lookup (inlined) and two
 * stores. */
static __always_inline int handoff_put(void *ctx, enum cgf_hook h, int ret)
{
	__u32 k = handoff_idx(h);
	struct cgf_handoff *o;

	if (!*(volatile __u32 *)&cgf_listen)
		return ret;
	o = bpf_map_lookup_elem(&cgf_handoff, &k);
	if (o) {
		o->ctx = (__u64)(long)ctx;	/* an address as a number: root's programs may */
		o->verdict = ret ? CGF_HO_ALLOWED : CGF_HO_DENIED;
	}
	return ret;
}

/* The staged version: what the version in force returned for this call
 * (CGF_HO_*), kept for ev_denial. compare: the call is one to compare. A
 * hook the version in force did not have allowed; another call's entry
 * (preempted in between, or a link attached out of order) is unknown. */
static __always_inline __u32 staged_take(void *ctx, enum cgf_hook h, bool compare)
{
	__u32 k = handoff_idx(h), was = CGF_HO_UNKNOWN;
	struct cgf_handoff *o = bpf_map_lookup_elem(&cgf_handoff, &k);

	if (!o)
		return was;
	if (compare && o->ctx == (__u64)(long)ctx)
		was = o->verdict;
	else if (compare && !(cfg.enforced_hooks & CGF_HOOK_BIT(h)))
		was = CGF_HO_ALLOWED;
	o->seen = was;
	o->ctx = 0;
	return was;
}

/* ev_denial in a staged version: is a denial of hook a difference? */
static __always_inline bool staged_differs(enum cgf_hook h)
{
	__u32 k = handoff_idx(h);
	struct cgf_handoff *o = bpf_map_lookup_elem(&cgf_handoff, &k);

	return o && o->seen == CGF_HO_ALLOWED;
}

#endif
