/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sock_addr hooks: connect, sendmsg, bind, recvmsg, getpeername (v4 and v6);
 * redirection and its reverse translation. */
#ifndef CGF_BPF_SOCK_ADDR_H
#define CGF_BPF_SOCK_ADDR_H

#include "lib/calls.h"
#include "lib/conn.h"
#include "lib/events.h"
#include "lib/gate.h"
#include "lib/names.h"
#include "lib/verdict.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_redir_entry);
	__uint(max_entries, 1);
} cgf_redirects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, CGF_REDIR_ENTRIES_MAX);
} cgf_rr SEC(".maps");			/* round-robin positions */

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgf_revnat);
} cgf_revnat SEC(".maps");		/* pinned, kept across re-applies */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_BACKEND_HITS);
} cgf_backend_hits SEC(".maps");	/* connections per (entry, backend) */

/*
 * Redirect: the most specific matching entry picks a backend, the socket's
 * destination is rewritten, and (socket, backend) -> original is kept for
 * recvmsg and getpeername. Runs before the egress check, which then judges
 * the rewritten destination: where the packets will go.
 */
static __always_inline const struct cgf_redir_entry *
redirect_entry(const struct cgf_addr_val *av, __u32 ipproto, __u16 port, __u32 *idx)
{
	__u32 rule = 0;

	if (VERDICT_RULE(av, ipproto, port, &rule) != CGF_ALLOW)
		return NULL;
	*idx = rule - cfg.redir_first;
	return bpf_map_lookup_elem(&cgf_redirects, idx);
}

static __always_inline __u32 pick(struct bpf_sock_addr *ctx, const struct cgf_redir_entry *e,
				  __u32 idx)
{
	__u32 n = e->n, *pos;

	if (e->select == CGF_SELECT_ROUND_ROBIN) {
		pos = bpf_map_lookup_elem(&cgf_rr, &idx);
		return pos ? __sync_fetch_and_add(pos, 1) % n : 0;
	}
	if (e->select == CGF_SELECT_HASH	/* stable per socket */)
		return (__u32)((bpf_get_socket_cookie(ctx) * 0x9E3779B97F4A7C15ull) >> 32) % n;
	return bpf_get_prandom_u32() % n;
}

static __always_inline int same_addr(const __u8 *a, const __u8 *b, __u8 v6)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && (!v6 || (x[1] == y[1] && x[2] == y[2] && x[3] == y[3]));
}

/* keep now -> was for this socket, and count the connection */
static __always_inline void remember(struct bpf_sock_addr *ctx, const __u8 *now, __u16 now_port,
				     const __u8 *was, __u16 was_port, __u8 v6, __u32 idx, __u32 b)
{
	__u32 hit = (idx & (CGF_REDIR_ENTRIES_MAX - 1)) * CGF_REDIR_BACKENDS + b;
	__u64 *cnt = bpf_map_lookup_elem(&cgf_backend_hits, &hit);
	struct cgf_revnat *rn;
	struct cgf_revnat_slot *sl = NULL;

	if (cnt)
		*cnt += 1;
	if (!ctx->sk)
		return;
	rn = bpf_sk_storage_get(&cgf_revnat, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rn)
		return;
	for (int i = 0; i < CGF_REVNAT_SLOTS; i++)	/* the same target again */
		if (rn->slot[i].used && rn->slot[i].v6 == v6 && rn->slot[i].now_port == now_port &&
		    same_addr(rn->slot[i].now, now, v6))
			sl = &rn->slot[i];
	if (!sl)
		sl = &rn->slot[rn->next++ & (CGF_REVNAT_SLOTS - 1)];
	__builtin_memcpy(sl->now, now, 16);
	__builtin_memcpy(sl->was, was, 16);
	sl->now_port = now_port;
	sl->was_port = was_port;
	sl->v6 = v6;
	sl->used = 1;
}

static __always_inline void redirect4(struct bpf_sock_addr *ctx)
{
	const struct cgf_redir_entry *e;
	const struct cgf_backend *be;
	__u8 now[16] = {}, was[16] = {};
	__u32 ip = ctx->user_ip4, idx = 0, b;
	__u16 port = (__u16)ctx->user_port;

	e = redirect_entry(lookup4(CGF_DIR_REDIRECT, ip), ctx->protocol, bpf_ntohs(port), &idx);
	if (!e || !e->n)
		return;
	b = pick(ctx, e, idx) & (CGF_REDIR_BACKENDS - 1);
	be = &e->b[b];
	if (be->v6)
		return;		/* refused when the policy was read */
	__builtin_memcpy(was, &ip, 4);
	__builtin_memcpy(now, be->addr, 4);
	__builtin_memcpy(&ip, be->addr, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = be->port;
	remember(ctx, now, be->port, was, port, 0, idx, b);
}

static __always_inline void redirect6(struct bpf_sock_addr *ctx)
{
	const struct cgf_redir_entry *e;
	const struct cgf_backend *be;
	__u32 ip[4], now[4], idx = 0, b;
	__u16 port = (__u16)ctx->user_port;

	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	e = redirect_entry(lookup6(CGF_DIR_REDIRECT, ip), ctx->protocol, bpf_ntohs(port), &idx);
	if (!e || !e->n)
		return;
	b = pick(ctx, e, idx) & (CGF_REDIR_BACKENDS - 1);
	be = &e->b[b];
	if (be->v6) {
		__builtin_memcpy(now, be->addr, 16);
	} else {		/* an IPv4 backend, as a v4-mapped address */
		now[0] = 0;
		now[1] = 0;
		now[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&now[3], be->addr, 4);
	}
	ctx->user_ip6[0] = now[0];
	ctx->user_ip6[1] = now[1];
	ctx->user_ip6[2] = now[2];
	ctx->user_ip6[3] = now[3];
	ctx->user_port = be->port;
	remember(ctx, (const __u8 *)now, be->port, (const __u8 *)ip, port, 1, idx, b);
}

/*
 * network.state: a UDP datagram (or connect) that egress denies may be an
 * answer to a peer the socket exchanges datagrams with, not a flow the
 * cgroup starts: allowed if the version in force allowed the peer, else
 * judged again in the direction the exchange started in. Only asked when
 * egress denies: what egress allows costs no storage lookup. 0: not such a
 * peer (the denial stands); 1: *v and *rule judged anew.
 */
static __always_inline int sock_addr_answer(struct bpf_sock_addr *ctx, const __u32 addr[4],
					    __u8 v6, int *v, __u32 *rule)
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	bool valid = false;
	__u8 d;

	if (!cfg.state || ctx->type != SOCK_DGRAM || ctx->protocol != IPPROTO_UDP)
		return 0;
	d = peer_known(ctx->sk, addr, v6, port, &valid);
	if (d == CGF_CONN_NONE || (!valid && d == CGF_CONN_OUT))
		return 0;
	if (valid) {
		*v = CGF_ALLOW;
		return 1;
	}
	/* a peer that asked, under the version before: ingress judges it again */
	if (!cfg.has_ingress || !ctx->sk) {
		*v = CGF_ALLOW;
		return 1;
	}
	const struct cgf_addr_val *av = v6 ? lookup6(CGF_DIR_INGRESS, addr)
					   : lookup4(CGF_DIR_INGRESS, addr[0]);

	*v = VERDICT_RULE(av, IPPROTO_UDP, (__u16)ctx->sk->src_port, rule);
	return 1;
}

/* to_names: bind() of a resolver's port 53 is refused (true: denied, event sent). */
static __always_inline bool dns_bind_refused(struct bpf_sock_addr *ctx, __u8 dir,
					     enum cgf_hook hook, const __u32 addr[4], __u8 v6)
{
	if (!cfg.has_names || dir != CGF_DIR_BIND ||
	    !dns_bind_guard(addr, v6, bpf_ntohs((__u16)ctx->user_port)))
		return false;
	pcount(CGF_PC_DNS_GUARD);
	ev_sock_addr(ctx, hook, CGF_RULE_DNS, dir, hook == CGF_H_BIND6, 0);
	return true;
}

/* to_names: an egress call the address rules leave to the deny default is
 * judged by the names learnt (*v, *rule, *why). */
static __always_inline void sock_addr_names(struct bpf_sock_addr *ctx, __u8 dir,
					    const __u32 addr[4], __u8 v6, int *v, __u32 *rule,
					    __u8 *why)
{
	__u32 name = 0;

	if (cfg.has_names && dir == CGF_DIR_EGRESS && *v != CGF_ALLOW &&
	    *rule == CGF_RULE_DEFAULT)
		*v = names_verdict(addr, v6, bpf_get_netns_cookie(ctx), ctx->protocol,
				   bpf_ntohs((__u16)ctx->user_port), false, rule, why, &name);
}

static __always_inline int sock_addr4(struct bpf_sock_addr *ctx, __u8 dir,
				      enum cgf_hook hook)
{
	__u8 why = 0;
	const struct cgf_addr_val *av;

	__u32 rule = CGF_RULE_DEFAULT;
	int v;

	if (connect_limits(ctx, hook))
		return finish(hook, CGF_DENY);
	if (dir == CGF_DIR_EGRESS && cfg.has_redirect)
		redirect4(ctx);
	if (dir == CGF_DIR_EGRESS && !cfg.has_egress)
		return udp_flow(ctx, hook, 1);
	__u32 peer[4] = { ctx->user_ip4 };	/* read once: the verifier refuses a
						 * second read through a moved pointer */

	if (dns_bind_refused(ctx, dir, hook, peer, 0) ||
	    (hook == CGF_H_SENDMSG4 && sendmsg_src_refused(ctx, hook, peer, 0)))
		return finish(hook, CGF_DENY);
	if (hook == CGF_H_SENDMSG4 && !peer[0] && !ctx->user_port)
		return finish(hook, 1);	/* a connected socket's datagram (CONNECTED_SEND) */
	if (dir == CGF_DIR_BIND && !cfg.has_bind)
		return 1;
	av = lookup4(dir, peer[0]);
	v = VERDICT_RULE_AT(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), &rule,
			    NAME_HOME(ctx));
	sock_addr_names(ctx, dir, peer, 0, &v, &rule, &why);

	/* denied, unless an answer (which no rule of egress decides) */
	if (v == CGF_ALLOW || dir != CGF_DIR_EGRESS || !sock_addr_answer(ctx, peer, 0, &v, &rule))
		hit(rule);
	if (v != CGF_ALLOW) {
		ev_sock_addr(ctx, hook, rule, dir, 0, why);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, udp_flow(ctx, hook, v));
}

static __always_inline int sock_addr6(struct bpf_sock_addr *ctx, __u8 dir,
				      enum cgf_hook hook)
{
	const struct cgf_addr_val *av;
	__u32 ip[4], rule = CGF_RULE_DEFAULT;
	__u8 why = 0;
	int v;

	if (connect_limits(ctx, hook))
		return finish(hook, CGF_DENY);
	if (dir == CGF_DIR_EGRESS && cfg.has_redirect)
		redirect6(ctx);
	if (dir == CGF_DIR_EGRESS && !cfg.has_egress)
		return udp_flow(ctx, hook, 1);
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	__u32 peer[4] = { ip[0], ip[1], ip[2], ip[3] };
	__u8 v6 = 1;

	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff)) {	/* v4-mapped */
		peer[0] = ip[3];
		peer[1] = peer[2] = peer[3] = 0;
		v6 = 0;
	}
	if (dns_bind_refused(ctx, dir, hook, peer, v6) ||
	    (hook == CGF_H_SENDMSG6 && sendmsg_src_refused(ctx, hook, peer, v6)))
		return finish(hook, CGF_DENY);
	if (hook == CGF_H_SENDMSG6 && !(ip[0] | ip[1] | ip[2] | ip[3]) && !ctx->user_port)
		return finish(hook, 1);	/* a connected socket's datagram (CONNECTED_SEND) */
	if (dir == CGF_DIR_BIND && !cfg.has_bind)
		return 1;
	av = lookup6(dir, ip);
	v = VERDICT_RULE_AT(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), &rule,
			    NAME_HOME(ctx));
	sock_addr_names(ctx, dir, peer, v6, &v, &rule, &why);
	/* denied, unless an answer (which no rule of egress decides) */
	if (v == CGF_ALLOW || dir != CGF_DIR_EGRESS || !sock_addr_answer(ctx, peer, v6, &v, &rule))
		hit(rule);
	if (v != CGF_ALLOW) {
		ev_sock_addr(ctx, hook, rule, dir, 1, why);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, udp_flow(ctx, hook, v));
}

/* The reverse translation: a reply's source, or the peer, back to what the
 * program asked for. These hooks may not deny. */
static __always_inline void unredirect(struct bpf_sock_addr *ctx, __u8 v6)
{
	struct cgf_revnat *rn;
	__u32 ip[4] = {};
	__u16 port = (__u16)ctx->user_port;

	if (!ctx->sk)
		return;
	rn = bpf_sk_storage_get(&cgf_revnat, ctx->sk, 0, 0);
	if (!rn)
		return;
	if (!v6) {
		ip[0] = ctx->user_ip4;
	} else {
		ip[0] = ctx->user_ip6[0];
		ip[1] = ctx->user_ip6[1];
		ip[2] = ctx->user_ip6[2];
		ip[3] = ctx->user_ip6[3];
	}
	for (int i = 0; i < CGF_REVNAT_SLOTS; i++) {
		const struct cgf_revnat_slot *sl = &rn->slot[i];
		__u32 was[4];

		if (!sl->used || sl->v6 != v6 || sl->now_port != port ||
		    !same_addr(sl->now, (const __u8 *)ip, v6))
			continue;
		__builtin_memcpy(was, sl->was, 16);
		if (!v6) {
			ctx->user_ip4 = was[0];
		} else {
			ctx->user_ip6[0] = was[0];
			ctx->user_ip6[1] = was[1];
			ctx->user_ip6[2] = was[2];
			ctx->user_ip6[3] = was[3];
		}
		ctx->user_port = sl->was_port;
		return;
	}
}

SEC("cgroup/recvmsg4")
int cgf_recvmsg4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, recvmsg4);
	unredirect(ctx, 0);
	return 1;
}

SEC("cgroup/recvmsg6")
int cgf_recvmsg6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, recvmsg6);
	unredirect(ctx, 1);
	return 1;
}

SEC("cgroup/getpeername4")
int cgf_getpeername4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, getpeername4);
	unredirect(ctx, 0);
	return 1;
}

SEC("cgroup/getpeername6")
int cgf_getpeername6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, getpeername6);
	unredirect(ctx, 1);
	return 1;
}

/*
 * An egress call's common case on its own, before the whole decision:
 * allowed by the address rules, where the policy asks nothing else of an
 * allowed call (cfg.plain, computed at load: no redirect, rate limit,
 * accounting or staging; one load of a constant). False: the whole
 * decision, which looks up again. Kept apart, it compiles to the lookup,
 * the port search and nothing else (no spills, no reads of what a denial
 * needs): connect and sendmsg stay near a bare trie lookup (bench/RESULTS.md).
 */
static __always_inline bool plain_allowed(struct bpf_sock_addr *ctx, enum cgf_hook hook)
{
	const struct cgf_addr_val *av;
	__u32 rule;

	if (!(cfg.plain & (hook == CGF_H_CONNECT4 || hook == CGF_H_CONNECT6 ? CGF_PLAIN_CONNECT
									     : CGF_PLAIN_SENDMSG)))
		return false;
	if (cfg.state && (hook == CGF_H_SENDMSG4 ? ctx->msg_src_ip4 != 0
			  : hook == CGF_H_SENDMSG6 ? (ctx->msg_src_ip6[0] | ctx->msg_src_ip6[1] |
						      ctx->msg_src_ip6[2] | ctx->msg_src_ip6[3]) != 0
						   : false))
		return false;	/* a source of its choosing: sendmsg_src_refused judges it */
	if (hook == CGF_H_CONNECT4 || hook == CGF_H_SENDMSG4) {
		av = lookup4(CGF_DIR_EGRESS, ctx->user_ip4);
		/* a port the node's own ranges allow: no class to read (nor,
		 * for an address a name taught, its pattern while it lasts) */
		if (av && ((av->flags & CGF_AV_CLASS) ||
			   ((av->flags & CGF_AV_NAME) && name_alive(av) && NAME_HOME(ctx))) &&
		    fast_allows(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port)))
			return true;
	} else {
		__u32 ip[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
				ctx->user_ip6[3] };

		av = lookup6(CGF_DIR_EGRESS, ip);
	}
	return VERDICT_RULE_AT(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), &rule,
			       NAME_HOME(ctx)) == CGF_ALLOW;
}

/* connect() and sendmsg(): the destination */
#define EGRESS_CALL(ctx, hook, v6)							\
	(plain_allowed(ctx, hook) ? handoff_put(ctx, hook, 1)				\
	 : DECIDE(ctx, hook, true, v6 ? sock_addr6(ctx, CGF_DIR_EGRESS, hook)		\
				      : sock_addr4(ctx, CGF_DIR_EGRESS, hook)))

SEC("cgroup/connect4")
int cgf_connect4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, connect4);
	return EGRESS_CALL(ctx, CGF_H_CONNECT4, 0);
}

SEC("cgroup/connect6")
int cgf_connect6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, connect6);
	return EGRESS_CALL(ctx, CGF_H_CONNECT6, 1);
}

SEC("cgroup/sendmsg4")
int cgf_sendmsg4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, sendmsg4);
	return EGRESS_CALL(ctx, CGF_H_SENDMSG4, 0);
}

SEC("cgroup/sendmsg6")
int cgf_sendmsg6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, sendmsg6);
	return EGRESS_CALL(ctx, CGF_H_SENDMSG6, 1);
}

/* bind(): the local address and port asked for (0.0.0.0 / :: for any) */
SEC("cgroup/bind4")
int cgf_bind4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, bind4);
	return DECIDE(ctx, CGF_H_BIND4, true, sock_addr4(ctx, CGF_DIR_BIND, CGF_H_BIND4));
}

SEC("cgroup/bind6")
int cgf_bind6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, bind6);
	return DECIDE(ctx, CGF_H_BIND6, true, sock_addr6(ctx, CGF_DIR_BIND, CGF_H_BIND6));
}

#endif
