/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup/dev: the device allowlist. */
#ifndef CGF_BPF_DEV_H
#define CGF_BPF_DEV_H

#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cgf_dev_key);
	__type(value, struct cgf_dev_val);
	__uint(max_entries, 1);
} cgf_devices SEC(".maps");

/*
 * Devices: for each access bit asked for (m, r, w) the most specific pattern
 * that says anything about it decides: exact major:minor, then major:*, then
 * the type alone; an explicit type before "a". At most six lookups.
 */
struct dev_scan {
	__u8 acc, decided, allowed;
	__u32 rule;		/* the first rule that denies an access asked for */
};

static __always_inline void dev_level(__u32 type, __u32 major, __u32 minor, struct dev_scan *s)
{
	struct cgf_dev_key k = { .type = type, .major = major, .minor = minor };
	struct cgf_dev_val *v = bpf_map_lookup_elem(&cgf_devices, &k);
	__u8 d;

	if (!v)
		return;
	d = (v->allow | v->deny) & s->acc & ~s->decided;
	s->allowed |= v->allow & ~v->deny & d;
	s->decided |= d;
	if ((d & ~s->allowed) && s->rule == CGF_RULE_DEFAULT)
		s->rule = cfg.dev_rule_first + v->rule;
}

static __always_inline int dev_decide(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff, major = ctx->major, minor = ctx->minor;
	struct dev_scan s = { .acc = ctx->access_type >> 16, .rule = CGF_RULE_DEFAULT };

	dev_level(type, major, minor, &s);
	dev_level(0, major, minor, &s);
	dev_level(type, major, CGF_DEV_ANY, &s);
	dev_level(0, major, CGF_DEV_ANY, &s);
	dev_level(type, CGF_DEV_ANY, CGF_DEV_ANY, &s);
	dev_level(0, CGF_DEV_ANY, CGF_DEV_ANY, &s);
	if (cfg.dev_default == CGF_ALLOW)
		s.allowed |= s.acc & ~s.decided;
	if ((s.allowed & s.acc) == s.acc)
		return finish(CGF_H_DEVICE, CGF_ALLOW);
	__u32 detail[CGF_EV_DETAIL / 4] = { major, minor };	/* which device, how */

	ev_detail(CGF_H_DEVICE, s.rule, 0, (__u8)type, s.acc, detail);
	acct_denied(bpf_get_current_cgroup_id());
	return finish(CGF_H_DEVICE, CGF_DENY);
}

SEC("cgroup/dev")
int cgf_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	GATE(ctx, dev);
	return DECIDE(ctx, CGF_H_DEVICE, true, dev_decide(ctx));
}

#endif
