/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup/setsockopt and cgroup/getsockopt. */
#ifndef CGF_BPF_SOCKOPT_H
#define CGF_BPF_SOCKOPT_H

#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cgf_sockopt_key);
	__type(value, __u32);		/* the sockopt rule's index */
	__uint(max_entries, 1);
} cgf_sockopt SEC(".maps");

/* Socket options: a key in cgf_sockopt denies (op, level, optname). */
static __always_inline int sockopt(struct bpf_sockopt *ctx, __u32 op, enum cgf_hook hook)
{
	struct cgf_sockopt_key k = { .op = op, .level = ctx->level, .optname = ctx->optname };

	__u32 *rule = bpf_map_lookup_elem(&cgf_sockopt, &k);

	if (rule)
		return finish_ev(hook, CGF_DENY, cfg.sockopt_rule_first + *rule);
	/* optval past a page: let the kernel use the caller's buffer untouched */
	if (ctx->optlen > PAGE_SIZE)
		ctx->optlen = 0;
	return 1;
}

SEC("cgroup/setsockopt")
int cgf_setsockopt(struct bpf_sockopt *ctx)
{
	GATE(ctx, setsockopt);
	return DECIDE(ctx, CGF_H_SETSOCKOPT, true, sockopt(ctx, CGF_SOCKOPT_SET, CGF_H_SETSOCKOPT));
}

SEC("cgroup/getsockopt")
int cgf_getsockopt(struct bpf_sockopt *ctx)
{
	GATE(ctx, getsockopt);
	return DECIDE(ctx, CGF_H_GETSOCKOPT, true, sockopt(ctx, CGF_SOCKOPT_GET, CGF_H_GETSOCKOPT));
}

#endif
