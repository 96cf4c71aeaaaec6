/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What an address call (connect, sendmsg) is checked for beside its
 * verdict: its denial event, the UDP flow it starts, the rate limit, and a
 * source address of the sender's choosing. */
#ifndef CGF_BPF_CALLS_H
#define CGF_BPF_CALLS_H

#include "acct.h"
#include "conn.h"
#include "events.h"
#include "gate.h"
#include "stats.h"
#include "verdict.h"

/* An address call denied: the process, and the address it asked for
 * (bind: the local one, others: the destination). */
static __always_inline void ev_sock_addr(struct bpf_sock_addr *ctx, __u8 hook, __u32 rule,
					 __u8 dir, __u8 v6, __u8 why)
{
	struct cgf_event *e = ev_denial(hook, rule);

	if (!e)
		return;
	ev_task(e);
	e->why = why;
	ev_sock_addr_fill(e, ctx, dir, v6);
	ev_send(e);
}

/* accounting: an allowed connect() of a UDP socket starts a flow */
static __always_inline int udp_flow(struct bpf_sock_addr *ctx, __u8 hook, int v)
{
	if (cfg.accounting && v == CGF_ALLOW && ctx->type == SOCK_DGRAM &&
	    (hook == CGF_H_CONNECT4 || hook == CGF_H_CONNECT6)) {
		struct cgf_acct *a = acct_get(bpf_get_current_cgroup_id());

		if (a) {
			a->udp_flows++;
			acct_conn(a);
		}
	}
	return v;
}

#define CGF_RL_DEPTH 32	/* cgroup levels searched for the policy's cgroup */

/* The bucket of a rate limit: the cgroup the policy is attached to that
 * holds the caller (the highest, where one holds another), so that the
 * cgroups a workload makes below it share its bucket. 0 (one bucket for
 * all) where none is found within CGF_RL_DEPTH levels. */
static __noinline __u64 rl_bucket(void)
{
	for (int i = 0; i < CGF_RL_DEPTH; i++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(i);

		if (!id)
			break;
		if (bpf_map_lookup_elem(&cgf_cgroups, &id))
			return id;
	}
	return 0;
}

/* connect(): network.rate_limit (TCP: new connections per cgroup the policy
 * is attached to, with the cgroups below it). True when refused. */
static __always_inline bool connect_limits(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct cgf_rl init = {}, *rl;
	struct cgf_acct *a;
	__u64 cg, now, b;
	bool ok;

	if ((hook != CGF_H_CONNECT4 && hook != CGF_H_CONNECT6) || !cfg.rl_interval_ns ||
	    ctx->type != SOCK_STREAM)
		return false;
	cg = bpf_get_current_cgroup_id();
	b = rl_bucket();
	rl = bpf_map_lookup_elem(&cgf_rl, &b);
	if (!rl) {
		bpf_map_update_elem(&cgf_rl, &b, &init, BPF_NOEXIST);
		rl = bpf_map_lookup_elem(&cgf_rl, &b);
		if (!rl)
			return false;	/* the map is full: not limited */
	}
	now = bpf_ktime_get_boot_ns();	/* no helper calls under the lock */
	bpf_spin_lock(&rl->lock);
	ok = gcra(&rl->tat, now, cfg.rl_interval_ns, cfg.rl_burst_ns);
	bpf_spin_unlock(&rl->lock);
	if (ok)
		return false;
	if (cfg.accounting && (a = acct_get(cg)))
		a->rate_limited++;
	hit(CGF_RULE_RATE);
	pcount(CGF_PC_RATE_LIMITED);
	ev_sock_addr(ctx, hook, CGF_RULE_RATE, CGF_DIR_EGRESS, hook == CGF_H_CONNECT6, 0);
	return true;	/* finish() makes it a "would deny" in audit mode */
}

/*
 * CONNECTED_SEND: a connected socket's datagram with control messages
 * (IP_TOS, IP_PKTINFO ...) passes the sendmsg hook with no destination
 * (0.0.0.0 or ::, port 0): it goes to the connected peer, which connect()
 * judged, and its packets are judged by cgroup_skb/egress. So only its
 * source is judged here; it was refused as a call to 0.0.0.0.
 *
 * network.state: a datagram sent from a source address of the sender's
 * choosing (IP_PKTINFO, IPV6_PKTINFO: msg_src), other than the one its
 * socket is bound to, makes its receiver take that address and the socket's
 * port for a peer that asked, and answer it past egress; a receiver in this
 * cgroup too, which then reaches a denied address (or, with IPV6_FREEBIND,
 * any). So such a source is judged by egress as if sent to, with the
 * socket's port, unless the datagram answers a peer that asked this socket
 * (a server on the wildcard address answering from the address it was
 * asked at). True: refused (event and counters). A control message makes
 * the kernel run this hook for a connected socket too (its destination then
 * reads 0.0.0.0); a sticky IPV6_PKTINFO does not change the source. What
 * this cannot see: a socket bound to an address not of this host
 * (IP_FREEBIND, IP_TRANSPARENT, ip_nonlocal_bind), whose source is its own:
 * design.md, SECURITY.
 */
static __always_inline bool sendmsg_src_refused(struct bpf_sock_addr *ctx, enum cgf_hook hook,
						const __u32 peer[4], __u8 peer_v6)
{
	__u32 src[4] = {}, bound[4] = {}, rule = CGF_RULE_DEFAULT;
	__u8 v6 = hook == CGF_H_SENDMSG6;
	const struct cgf_addr_val *av;
	struct bpf_sock *sk = ctx->sk;
	bool valid = false;

	if (!cfg.state || !cfg.has_egress || ctx->type != SOCK_DGRAM || !sk)
		return false;
	if (v6) {
		src[0] = ctx->msg_src_ip6[0];
		src[1] = ctx->msg_src_ip6[1];
		src[2] = ctx->msg_src_ip6[2];
		src[3] = ctx->msg_src_ip6[3];
	} else {
		src[0] = ctx->msg_src_ip4;
	}
	if (!(src[0] | src[1] | src[2] | src[3]))
		return false;	/* the kernel chooses the source */
	SK_SRC_ADDR(sk, bound, v6);
	if (src[0] == bound[0] && src[1] == bound[1] && src[2] == bound[2] && src[3] == bound[3])
		return false;
	if (v6 ? (bpf_ntohl(bound[0]) >> 24) == 0xff
	       : (bpf_ntohl(bound[0]) >> 28) == 0xe || bound[0] == 0xffffffff)
		return false;	/* bound to a group: its source is the interface's */
	if (peer_known(sk, peer, peer_v6, bpf_ntohs((__u16)ctx->user_port), &valid) == CGF_CONN_IN)
		return false;	/* an answer */
	av = v6 ? lookup6(CGF_DIR_EGRESS, src) : lookup4(CGF_DIR_EGRESS, src[0]);
	if (VERDICT_RULE(av, IPPROTO_UDP, (__u16)sk->src_port, &rule) == CGF_ALLOW)
		return false;
	hit(rule);
	pcount(CGF_PC_SRC_REFUSED);
	ev_sock_addr(ctx, hook, rule, CGF_DIR_EGRESS, v6, 0);
	acct_denied(bpf_get_current_cgroup_id());
	return true;
}

#endif
