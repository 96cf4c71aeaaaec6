/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* From an address and a port to a verdict: the lookups every hook shares. */
#ifndef CGF_BPF_VERDICT_H
#define CGF_BPF_VERDICT_H

#include "maps.h"

static __always_inline __u8 proto_class(__u32 ipproto)
{
	switch (ipproto) {
	case IPPROTO_TCP:
		return CGF_P_TCP;
	case IPPROTO_UDP:
		return CGF_P_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return CGF_P_ICMP;
	default:
		return CGF_P_OTHER;
	}
}

/* Ports of a class with more segments than a cgf_class holds; the verdict,
 * and the deciding rule in the upper 32 bits. */
static __noinline __u64 port_trie(__u32 cls, __u8 proto, __u16 port)
{
	struct cgf_port_key pk = {
		.prefixlen = CGF_PORT_KEY_FULL,
		.proto = proto,
	};
	struct cgf_verdict *v;

	pk.cls[0] = cls >> 24;
	pk.cls[1] = cls >> 16;
	pk.cls[2] = cls >> 8;
	pk.cls[3] = cls;
	pk.port[0] = port >> 8;
	pk.port[1] = port;
	v = bpf_map_lookup_elem(&cgf_ports, &pk);
	return v ? (__u64)v->rule << 32 | v->verdict : CGF_DENY;
}

/* Second stage: only for addresses whose answer depends on proto/port.
 * Returns the verdict; *rule gets the deciding rule. */
static __always_inline int by_class(__u32 id, __u32 ipproto, __u16 port, __u32 *rule)
{
	const struct cgf_class *c = bpf_map_lookup_elem(&cgf_classes, &id);
	const __u16 *start;
	__u32 t, i = 0;

	if (!c)
		return CGF_DENY;
	if (ipproto == IPPROTO_TCP) {
		t = 0;
	} else if (ipproto == IPPROTO_UDP) {
		t = 1;
	} else {
		const struct cgf_verdict *v =
			proto_class(ipproto) == CGF_P_ICMP ? &c->icmp : &c->other;

		*rule = v->rule;
		return v->verdict;
	}
	start = c->start[t];
	if (start[0] == CGF_START_IN_TRIE) {
		__u64 r = port_trie(id, t ? CGF_P_UDP : CGF_P_TCP, port);

		*rule = r >> 32;
		return (__u8)r;
	}
	/* the last segment starting at or below port: fixed steps, no bounds */
#pragma unroll
	for (int step = CGF_CLASS_SEGS / 2; step; step /= 2)
		if (start[(i + step) & (CGF_CLASS_SEGS - 1)] <= port)
			i += step;
	*rule = c->rule[t][i & (CGF_CLASS_SEGS - 1)];
	return c->verdict[t][i & (CGF_CLASS_SEGS - 1)];
}

/* The same without a port (a packet whose ports cannot be read): the class's
 * verdict where it is one for every port of the protocol, else a deny. */
static __always_inline int by_class_portless(__u32 id, __u32 ipproto, __u32 *rule)
{
	const struct cgf_class *c = bpf_map_lookup_elem(&cgf_classes, &id);
	__u32 t = ipproto == IPPROTO_UDP;

	if (!c)
		return CGF_DENY;
	if (ipproto != IPPROTO_TCP && ipproto != IPPROTO_UDP)
		return by_class(id, ipproto, 0, rule);
	if (c->nseg[t] != 1)
		return CGF_DENY;	/* the verdict depends on the port */
	*rule = c->rule[t][0];
	return c->verdict[t][0];
}

/* When a CGF_AV_NAME entry expires (jiffies; abi.h: cgf_addr_val). */
static __always_inline __u64 name_until(const struct cgf_addr_val *av)
{
	return (__u64)av->verdict << 32 | av->ref;
}

/* Whether a CGF_AV_NAME entry is still in force */
static __always_inline bool name_alive(const struct cgf_addr_val *av)
{
	return cfg.has_names && bpf_jiffies64() <= name_until(av);	/* inlined: a load */
}

/* Whether ctx (a socket address call, a packet) is in the version's home
 * network namespace, the only one where its copy of learnt addresses
 * decides (names.h: cgf_learnt_at). Asked only of a CGF_AV_NAME entry. */
#define NAME_HOME(ctx) (bpf_get_netns_cookie(ctx) == cfg.home_netns)

/*
 * An address a name taught, in the version's own copy (abi.h: Names): its
 * pattern's verdict while the answer's lifetime lasts, in the home network
 * namespace (home). Anything else is left to the deny default
 * (CGF_RULE_DEFAULT), where the learnt addresses judge it again. *name: the
 * pattern's index + 1 (name may be NULL).
 */
static __always_inline int name_fast(const struct cgf_addr_val *av, __u32 ipproto, __u16 port,
				     __u32 *rule, __u32 *name, bool home)
{
	__u32 slot = av->slot, r = CGF_RULE_DEFAULT;
	const struct cgf_name_pat *np;
	int v;

	*rule = CGF_RULE_DEFAULT;
	if (!name_alive(av) || !home)
		return CGF_DENY;
	np = bpf_map_lookup_elem(&cgf_name_slots, &slot);
	if (!np)
		return CGF_DENY;
	if (np->av.flags & CGF_AV_CLASS) {
		v = by_class(np->av.ref, ipproto, port, &r);
	} else {
		r = np->av.ref;
		v = np->av.verdict;
	}
	if (v != CGF_ALLOW)
		return CGF_DENY;
	*rule = r;
	if (name)
		*name = np->idx + 1;
	return CGF_ALLOW;
}

/*
 * The verdict for an address-trie value. proto, port and home are
 * expressions, evaluated only when the answer depends on them (a helper call
 * would keep the compiler from moving their loads after the lookup). home:
 * whether the call is in the version's home network namespace, asked only
 * of an address a name taught (only egress tries hold those; elsewhere 0).
 */
#define VERDICT_RULE_AT(av, proto, port, rulep, home)			\
	(!(av) ? CGF_DENY /* the compiler always inserts /0: fail closed */ \
	 : !((av)->flags & (CGF_AV_CLASS | CGF_AV_NAME)) ? (*(rulep) = (av)->ref, (av)->verdict) \
	 : (av)->flags & CGF_AV_CLASS ? by_class((av)->ref, (proto), (port), (rulep))	\
				      : name_fast((av), (proto), (port), (rulep), NULL, (home)))
/* a trie that holds no address a name taught (every one but egress's) */
#define VERDICT_RULE(av, proto, port, rulep) VERDICT_RULE_AT(av, proto, port, rulep, 0)
#define VERDICT(av, proto, port) ({ __u32 _rule; VERDICT_RULE(av, proto, port, &_rule); })
/* proto: the IP protocol number (IPPROTO_*) */

/*
 * Whether an IPv4 trie node's own port ranges allow this call (abi.h:
 * cgf_addr_val4): true only for a port its class allows on this protocol;
 * false says nothing (the class decides). av: from lookup4, nothing else.
 */
static __always_inline bool fast_allows(const struct cgf_addr_val *av, __u32 ipproto, __u16 port)
{
	const struct cgf_fast *f = &((const struct cgf_addr_val4 *)av)->fast;
	__u8 bit = ipproto == IPPROTO_TCP ? CGF_FAST_TCP : ipproto == IPPROTO_UDP ? CGF_FAST_UDP : 0;

#pragma unroll
	for (int i = 0; i < CGF_FAST_RANGES; i++)
		if ((f->proto[i] & bit) && (__u16)(port - f->lo[i]) <= f->span[i])
			return true;
	return false;
}

/* ip: network byte order; an IPv4 trie's value is a cgf_addr_val4, whose
 * first member this is */
static __always_inline const struct cgf_addr_val *lookup4(__u8 dir, __u32 ip)
{
	struct cgf_key4 k = { .prefixlen = 32 };
	void *trie = dir == CGF_DIR_EGRESS    ? (void *)&cgf_egress4
		   : dir == CGF_DIR_INGRESS ? (void *)&cgf_ingress4
		   : dir == CGF_DIR_BIND    ? (void *)&cgf_local4
					    : (void *)&cgf_redir4;

	__builtin_memcpy(k.addr, &ip, 4);
	return bpf_map_lookup_elem(trie, &k);
}

/* IPv4-mapped addresses (::ffff:a.b.c.d) are judged as IPv4. */
static __always_inline const struct cgf_addr_val *lookup6(__u8 dir, const __u32 ip[4])
{
	struct cgf_key6 k = { .prefixlen = 128 };
	void *trie = dir == CGF_DIR_EGRESS    ? (void *)&cgf_egress6
		   : dir == CGF_DIR_INGRESS ? (void *)&cgf_ingress6
		   : dir == CGF_DIR_BIND    ? (void *)&cgf_local6
					    : (void *)&cgf_redir6;

	/* IPv4 in IPv6 clothes is judged as IPv4 (addr.c: cgf_prefix_unmap):
	 * v4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, and IPv4-compatible
	 * ::a.b.c.d (a not 0, so that :: and ::1 stay IPv6) */
	if ((ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff)) ||
	    (ip[0] == bpf_htonl(0x0064ff9b) && ip[1] == 0 && ip[2] == 0) ||
	    (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && (ip[3] & bpf_htonl(0xff000000))))
		return lookup4(dir, ip[3]);
	__builtin_memcpy(k.addr, ip, 16);
	return bpf_map_lookup_elem(trie, &k);
}

/*
 * network.bind on the port a socket actually holds (post_bind, and the
 * first packet of a socket the kernel bound by itself: listen(), connect()
 * and UDP autobind). A port the kernel chose from the host's ephemeral
 * range (cfg.eph_lo-eph_hi, read at apply) is also judged as port 0 -
 * "let the kernel choose" - and one it chose elsewhere (a range a process
 * set for its own network namespace) only as itself. addr: the local
 * address (IPv4 in addr[0]); 0.0.0.0 or :: for a wildcard.
 */
static __always_inline int bind_verdict(const __u32 addr[4], __u8 v6, __u32 ipproto, __u16 port,
					__u32 *rule)
{
	const struct cgf_addr_val *av = v6 ? lookup6(CGF_DIR_BIND, addr)
					   : lookup4(CGF_DIR_BIND, addr[0]);
	int v = VERDICT_RULE(av, ipproto, port, rule);

	if (v != CGF_ALLOW && port >= cfg.eph_lo && port <= cfg.eph_hi)
		v = VERDICT_RULE(av, ipproto, 0, rule);
	return v;
}

#endif
