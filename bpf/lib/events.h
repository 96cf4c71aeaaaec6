/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Events (abi.h): the ring buffer, per-rule rates, rule texts; and finish(),
 * the only place a verdict becomes a hook's return value. */
#ifndef CGF_BPF_EVENTS_H
#define CGF_BPF_EVENTS_H

#include "acct.h"
#include "stage.h"
#include "stats.h"

/* visibility (abi.h: Events, accounting); all pinned and kept across versions
 * except the per-rule maps, whose ids change with the policy */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CGF_EVENTS_RING);
} cgf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);		/* sized at load: rules + default + rate limit */
} cgf_ev_rl SEC(".maps");		/* per rule: GCRA time of the next event */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_rule_info);
	__uint(max_entries, 1);		/* sized at load; user space only */
} cgf_rule_info SEC(".maps");

/* An event of type for hook, decided by rule, zeroed but for those and the
 * time; NULL when the ring buffer is full (counted as dropped). */
static __always_inline struct cgf_event *ev_new(__u8 type, __u8 hook, __u32 rule)
{
	struct cgf_event *e = bpf_ringbuf_reserve(&cgf_events, sizeof(*e), 0);

	if (!e) {
		pcount(CGF_PC_EV_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_boot_ns();
	e->type = type;
	e->hook = hook;
	e->rule = rule;
	return e;
}

/*
 * A denial event, or NULL: denials are not logged, the rule is over its
 * rate (counted as suppressed) or the ring buffer is full (counted as
 * dropped). The caller fills in what its hook knows and sends it.
 */
static __always_inline struct cgf_event *ev_denial(__u8 hook, __u32 rule)
{
	__u32 idx = rule_idx(rule);
	__u64 *tat;

	if (!cfg.log_denials || (cfg.staged && !staged_differs(hook)))
		return NULL;
	tat = bpf_map_lookup_elem(&cgf_ev_rl, &idx);
	if (cfg.ev_interval_ns && tat && !gcra(tat, bpf_ktime_get_boot_ns(), cfg.ev_interval_ns, cfg.ev_burst_ns)) {
		pcount(CGF_PC_EV_SUPPRESSED);
		return NULL;
	}
	return ev_new(cfg.staged ? CGF_EV_STAGED_DENY : cfg.audit ? CGF_EV_AUDIT : CGF_EV_DENY, hook,
		      rule);
}

/* the process the call came from (hooks that run in its context) */
static __always_inline void ev_task(struct cgf_event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void ev_send(struct cgf_event *e)
{
	pcount(CGF_PC_EV_SENT);
	bpf_ringbuf_submit(e, 0);
}

/* A call denied with no address to report (socket, sockopt, device, sysctl). */
static __always_inline void ev_plain(__u8 hook, __u32 rule)
{
	struct cgf_event *e = ev_denial(hook, rule);

	if (e) {
		ev_task(e);
		ev_send(e);
	}
}

/* What an address call asked for (bind: the local address and port, others:
 * the destination). */
static __always_inline void ev_sock_addr_fill(struct cgf_event *e, struct bpf_sock_addr *ctx,
					      __u8 dir, __u8 v6)
{
	__u8 *a = dir == CGF_DIR_BIND ? e->saddr : e->daddr;

	e->active = dir == CGF_DIR_EGRESS;	/* the cgroup starts it */
	e->proto = ctx->protocol;
	e->family = v6 ? 6 : 4;
	if (v6) {
		((__u32 *)a)[0] = ctx->user_ip6[0];
		((__u32 *)a)[1] = ctx->user_ip6[1];
		((__u32 *)a)[2] = ctx->user_ip6[2];
		((__u32 *)a)[3] = ctx->user_ip6[3];
	} else {
		((__u32 *)a)[0] = ctx->user_ip4;
	}
	if (dir == CGF_DIR_BIND)
		e->sport = bpf_ntohs((__u16)ctx->user_port);
	else
		e->dport = bpf_ntohs((__u16)ctx->user_port);
}

/* A denial of a hook with no address, with what it knows (abi.h:
 * CGF_EV_DETAIL); detail: CGF_EV_DETAIL bytes or NULL */
static __always_inline void ev_detail(__u8 hook, __u32 rule, __u8 family, __u8 proto, __u16 sport,
				      const void *detail)
{
	struct cgf_event *e = ev_denial(hook, rule);

	if (!e)
		return;
	ev_task(e);
	e->family = family;
	e->proto = proto;
	e->sport = sport;
	if (detail)
		__builtin_memcpy(e->saddr, detail, CGF_EV_DETAIL);
	ev_send(e);
}

/* The only place a verdict becomes a hook return value (a staged version's
 * is its verdict: DECIDE compares it and allows). */
static __always_inline int finish(enum cgf_hook hook, int verdict)
{
	if (verdict == CGF_ALLOW)
		return 1;
	if (cfg.staged)
		return 0;
	if (cfg.audit) {
		count(hook, CGF_C_AUDIT);
		return 1;
	}
	count(hook, CGF_C_DENIED);
	return 0;
}

/* finish() for hooks whose denials carry no address (socket, sockopt, device,
 * sysctl), with the rule id that decided (CGF_RULE_DEFAULT: the default) */
static __always_inline int finish_ev(enum cgf_hook hook, int verdict, __u32 rule)
{
	if (verdict != CGF_ALLOW) {
		ev_plain(hook, rule);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, verdict);
}

/* A staged version would allow what the version in force denied: the
 * call's process (or the packet's cgroup), and the address asked for. */
static __always_inline void ev_staged_allow(void *ctx, enum cgf_hook hook)
{
	struct cgf_event *e = ev_new(CGF_EV_STAGED_ALLOW, hook, CGF_RULE_DEFAULT);
	bool v6 = hook == CGF_H_CONNECT6 || hook == CGF_H_SENDMSG6 || hook == CGF_H_BIND6;

	if (!e)
		return;
	if (hook == CGF_H_EGRESS || hook == CGF_H_INGRESS)
		e->cgroup_id = bpf_skb_cgroup_id(ctx);
	else
		ev_task(e);
	if (v6 || hook == CGF_H_CONNECT4 || hook == CGF_H_SENDMSG4 || hook == CGF_H_BIND4)
		ev_sock_addr_fill(e, ctx, hook == CGF_H_BIND4 || hook == CGF_H_BIND6 ? CGF_DIR_BIND
										   : CGF_DIR_EGRESS, v6);
	ev_send(e);
}

/*
 * Every verdict program's end: the version in force hands what it returns
 * to a staged version after it (handoff_put); a staged version decides the
 * same call (expr) where it is one to compare, counts and reports where it
 * differs, and always allows.
 */
#define DECIDE(ctx, hook, compare, expr)					\
	({									\
		__u32 was_ = cfg.staged ? staged_take(ctx, hook, (compare)) : 0; \
		int r_ = !cfg.staged || cfg.own_hooks & CGF_HOOK_BIT(hook) ? (expr) : 1; \
									\
		if (!cfg.staged) {						\
			handoff_put(ctx, hook, r_);				\
		} else {							\
			if (was_ == CGF_HO_ALLOWED && !r_) {			\
				count(hook, CGF_C_AUDIT);			\
				pcount(CGF_PC_STAGED_DENY);			\
			} else if (was_ == CGF_HO_DENIED && r_) {		\
				pcount(CGF_PC_STAGED_ALLOW);			\
				if (cfg.log_denials)				\
					ev_staged_allow(ctx, hook);		\
			}							\
			r_ = 1;							\
		}								\
		r_;								\
	})

#endif
