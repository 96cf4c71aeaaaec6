/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* to_names (abi.h: Names): DNS answers read before the socket gets them,
 * the addresses they teach, and the guard of the resolvers' port. */
#ifndef CGF_BPF_NAMES_H
#define CGF_BPF_NAMES_H

#include "cgfence/dns.h"
#include "events.h"
#include "verdict.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cgf_name_key);
	__type(value, struct cgf_name_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);		/* sized by user space */
} cgf_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct cgf_name_pat);
	__uint(max_entries, 1);		/* sized by user space */
} cgf_name_pats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cgf_learnt_key);
	__type(value, __u8);
	__uint(max_entries, 1);		/* sized by user space */
} cgf_dns_servers SEC(".maps");

/* pinned, kept across versions; network.dns.max_addresses entries */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cgf_learnt_at);
	__type(value, struct cgf_learnt);
	__uint(max_entries, 1);		/* sized by user space */
} cgf_learnt SEC(".maps");

/* the parser's state, one per CPU: an array sized by user space (the CPUs
 * with to_names, else 1), not a per-CPU map, which every policy would pay */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_dns_parse);
	__uint(max_entries, 1);
} cgf_dns_scratch SEC(".maps");

#define DNS_PORT 53

/* An address as the names maps key it: IPv4 (a[0]) as ::ffff:a.b.c.d. */
static __always_inline void name_addr_key(struct cgf_learnt_key *k, const __u32 a[4], __u8 v6)
{
	if (v6) {
		k->addr[0] = a[0];
		k->addr[1] = a[1];
		k->addr[2] = a[2];
		k->addr[3] = a[3];
	} else {
		k->addr[0] = 0;
		k->addr[1] = 0;
		k->addr[2] = bpf_htonl(0xffff);
		k->addr[3] = a[0];
	}
}

static __always_inline bool is_dns_server(const __u32 a[4], __u8 v6)
{
	struct cgf_learnt_key k;

	name_addr_key(&k, a, v6);
	return bpf_map_lookup_elem(&cgf_dns_servers, &k) != NULL;
}

/*
 * An address the address rules leave to egress's deny default: allowed if
 * an answer to an allowed name taught it in this network namespace (netns:
 * the caller's cookie) and a pattern of that name allows the protocol and
 * port. any_age: an open connection's, which outlives the answer's
 * lifetime. *why says why not.
 */
static __always_inline int names_verdict(const __u32 a[4], __u8 v6, __u64 netns, __u32 ipproto,
					 __u16 port, bool any_age, __u32 *rule, __u8 *why,
					 __u32 *name)
{
	struct cgf_learnt_at k = { .netns = netns };
	struct cgf_learnt *l;
	__u64 now;

	*why = CGF_WHY_NO_NAME;
	name_addr_key((struct cgf_learnt_key *)&k, a, v6);
	l = bpf_map_lookup_elem(&cgf_learnt, &k);
	if (!l) {		/* learnt by an older layout: any namespace */
		k.netns = 0;
		l = bpf_map_lookup_elem(&cgf_learnt, &k);
	}
	if (!l)
		return CGF_DENY;
	now = bpf_ktime_get_coarse_ns();
	for (int i = 0; i < CGF_NAME_IDS; i++) {
		const struct cgf_name_pat *np;
		__u64 id = l->n[i].id;
		__u32 r = CGF_RULE_DEFAULT;

		if (!id)
			continue;
		if (!any_age && l->n[i].expires < now) {
			if (*why == CGF_WHY_NO_NAME)
				*why = CGF_WHY_EXPIRED;
			continue;
		}
		np = bpf_map_lookup_elem(&cgf_name_pats, &id);
		if (!np)	/* a pattern this version no longer has */
			continue;
		if (VERDICT_RULE(&np->av, ipproto, port, &r) == CGF_ALLOW) {
			*rule = r;
			*name = np->idx + 1;
			*why = CGF_WHY_NONE;
			return CGF_ALLOW;
		}
		*why = CGF_WHY_PORT;
	}
	return CGF_DENY;
}

/*
 * The version's copy (abi.h: Names): addr (IPv4 as ::ffff:a.b.c.d) as a
 * full-length entry of the egress trie, naming the first pattern of nv,
 * until ttl seconds from now (jiffies, rounded up). Only where the address
 * rules leave the address to the deny default (or to an entry of its own
 * from an earlier answer), so that no rule of the policy is overridden.
 * A full trie keeps what it has: the learnt addresses still decide.
 */
static __always_inline void learn_fast(const __u32 addr[4], const struct cgf_name_val *nv,
				       __u32 ttl)
{
	struct cgf_addr_val4 val = { .v.flags = CGF_AV_NAME };
	const struct cgf_addr_val *cur;
	const struct cgf_name_pat *np;
	__u32 slot = nv->fast - 1;
	struct cgf_key4 k4 = { .prefixlen = 32 };
	struct cgf_key6 k6 = { .prefixlen = 128 };
	bool v4 = !addr[0] && !addr[1] && addr[2] == bpf_htonl(0xffff);
	void *trie = v4 ? (void *)&cgf_egress4 : (void *)&cgf_egress6;
	void *key = v4 ? (void *)&k4 : (void *)&k6;
	__u64 until;

	if (!cfg.hz || !nv->fast)
		return;
	until = bpf_jiffies64() + (__u64)ttl * cfg.hz + 1;
	if (until >> 40)
		return;
	val.v.ref = (__u32)until;
	val.v.verdict = (__u8)(until >> 32);
	val.v.slot = slot;
	np = bpf_map_lookup_elem(&cgf_name_slots, &slot);
	if (np)		/* the pattern's allowed ports, for connect4/sendmsg4 */
		val.fast = np->fast;
	__builtin_memcpy(k4.addr, &addr[3], 4);
	__builtin_memcpy(k6.addr, addr, 16);
	cur = bpf_map_lookup_elem(trie, key);
	if (cur && (cur->flags & CGF_AV_NAME)) {
		/* an update replaces the trie's node (an allocation and an RCU
		 * free): not while the copy has half the new lifetime left, after
		 * which the learnt table decides until it is renewed */
		if (cur->slot == slot &&
		    name_until(cur) >= until - ((__u64)ttl * cfg.hz) / 2)
			return;
	} else if (cur && ((cur->flags & CGF_AV_CLASS) || cur->verdict != CGF_DENY ||
			   cur->ref != CGF_RULE_DEFAULT)) {
		return;		/* a rule of the policy decides this address */
	}
	if (bpf_map_update_elem(trie, key, &val, BPF_ANY))	/* IPv6: its first 8 B */
		pcount(CGF_PC_NAMES_COPY_FULL);
}

/* One address of an answer to a name whose patterns are nv, arrived in the
 * network namespace netns: allowed there for max(TTL, min_ttl) from now, for
 * each pattern; a later answer extends it. The version's copy only for its
 * home namespace. */
static __always_inline void learn_one(const struct cgf_dns_addr *a, const struct cgf_name_val *nv,
				      __u64 now, __u64 netns)
{
	struct cgf_learnt_at k = { .netns = netns };
	struct cgf_learnt *l, nl = {};
	__u32 ttl = a->ttl > CGF_TTL_CAP_S ? CGF_TTL_CAP_S : a->ttl;
	__u64 exp;

	if (ttl < cfg.dns_min_ttl_s)
		ttl = cfg.dns_min_ttl_s;
	exp = now + (__u64)ttl * 1000000000ull;
	__builtin_memcpy(k.addr, a->addr, 16);
	if (netns == cfg.home_netns)
		learn_fast(k.addr, nv, ttl);
	l = bpf_map_lookup_elem(&cgf_learnt, &k);
	if (!l) {
		for (int j = 0; j < CGF_NAME_IDS; j++) {
			if (j >= nv->n)
				break;
			nl.n[j].id = nv->id[j];
			nl.n[j].expires = exp;
		}
		nl.learnt = now;
		if (!bpf_map_update_elem(&cgf_learnt, &k, &nl, BPF_NOEXIST))
			pcount(CGF_PC_DNS_LEARNT);
		return;
	}
	for (int j = 0; j < CGF_NAME_IDS; j++) {
		__u64 id;
		int s = 0;

		if (j >= nv->n)
			break;
		id = nv->id[j];
		/* its slot, else the one that expires first (a free one: 0) */
		for (int i = 1; i < CGF_NAME_IDS; i++)
			if (l->n[i].id == id ||
			    (l->n[s].id != id && l->n[i].expires < l->n[s].expires))
				s = i;
		if (l->n[s & (CGF_NAME_IDS - 1)].id != id) {
			l->n[s & (CGF_NAME_IDS - 1)].id = id;
			l->n[s & (CGF_NAME_IDS - 1)].expires = exp;
		} else if (l->n[s & (CGF_NAME_IDS - 1)].expires < exp) {
			l->n[s & (CGF_NAME_IDS - 1)].expires = exp;
		}
	}
	l->learnt = now;
}

struct dns_loop {
	struct cgf_dns_parse *p;
};

static long dns_loop_step(__u32 i, void *ctx)
{
	struct dns_loop *d = ctx;

	return cgf_dns_step(d->p);
}

/* The UDP header of a packet: IPv4, or IPv6 with no extension header (an
 * answer with one is not read, and so teaches nothing). 0: found. */
static __always_inline int udp_at(struct __sk_buff *skb, __u32 a[4], __u8 *v6, bool src,
				  __u32 *l4off)
{
	__u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)data;

		if ((void *)(ip + 1) > (void *)end || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(IP_OFFSET_MASK | 0x2000)))
			return -1;
		a[0] = src ? ip->saddr : ip->daddr;
		*v6 = 0;
		*l4off = ip->ihl * 4;
		return 0;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)data;

		if ((void *)(ip6 + 1) > (void *)end || ip6->nexthdr != IPPROTO_UDP)
			return -1;
		__builtin_memcpy(a, src ? &ip6->saddr : &ip6->daddr, 16);
		*v6 = 1;
		*l4off = sizeof(*ip6);
		return 0;
	}
	return -1;
}

/* log.dns: an event per address of the answer, with its question */
static __always_inline void dns_events(const struct cgf_dns_parse *p)
{
	for (__u32 i = 0; i < CGF_DNS_ADDRS; i++) {
		struct cgf_dns_event *d;
		const struct cgf_dns_addr *a;

		if (i >= p->naddr)
			break;
		d = bpf_ringbuf_reserve(&cgf_events, sizeof(*d), 0);
		if (!d) {
			pcount(CGF_PC_EV_DROPPED);
			return;
		}
		a = &p->addr[i & (CGF_DNS_ADDRS - 1)];
		__builtin_memset(d, 0, sizeof(d->e));
		d->e.time_ns = bpf_ktime_get_boot_ns();
		d->e.type = CGF_EV_DNS;
		d->e.hook = CGF_H_INGRESS;
		d->e.proto = IPPROTO_UDP;
		d->e.sport = DNS_PORT;
		d->e.family = a->addr[0] || a->addr[1] || a->addr[2] != bpf_htonl(0xffff) ? 6 : 4;
		if (d->e.family == 4)
			__builtin_memcpy(d->e.daddr, &a->addr[3], 4);
		else
			__builtin_memcpy(d->e.daddr, a->addr, 16);
		__builtin_memcpy(d->name, p->key.name, sizeof(d->name));
		ev_send(&d->e);
	}
}

/*
 * Ingress: an answer from a trusted resolver's port 53 (the socket has not
 * seen it yet). Its question name decides; every A and AAAA record of an
 * answer to an allowed name is learnt.
 */
__noinline int cgf_dns_learn(struct __sk_buff *skb)
{
	__u32 a[4] = {}, l4off = 0, len, cpu = bpf_get_smp_processor_id();
	struct cgf_dns_parse *p;
	const struct cgf_name_val *nv;
	struct dns_loop d;
	__u16 sport = 0;
	__u8 v6 = 0;
	__u64 now, netns;

	if (!skb || udp_at(skb, a, &v6, true, &l4off) ||
	    bpf_skb_load_bytes(skb, l4off, &sport, sizeof(sport)) || sport != bpf_htons(DNS_PORT) ||
	    !is_dns_server(a, v6))
		return 0;
	p = bpf_map_lookup_elem(&cgf_dns_scratch, &cpu);
	if (!p || skb->len < l4off + 8 + 12)
		return 0;
	len = skb->len - l4off - 8;
	if (len > CGF_DNS_BUF)
		len = CGF_DNS_BUF;	/* records past it are not read */
	if (len < 12 || bpf_skb_load_bytes(skb, l4off + 8, p->buf, len))
		return 0;
	p->len = len;
	p->off = p->phase = p->rrs = p->nlabels = p->cur = p->loff = p->kp = p->naddr = 0;
	__builtin_memset(&p->key, 0, sizeof(p->key));
	d.p = p;
	bpf_loop(CGF_DNS_STEPS, dns_loop_step, &d, 0);
	pcount(CGF_PC_DNS_ANSWERS);
	if (p->phase != CGF_DNS_DONE) {
		pcount(CGF_PC_DNS_IGNORED);
		return 0;
	}
	if (cfg.log_dns)
		dns_events(p);
	nv = bpf_map_lookup_elem(&cgf_names, &p->key);
	if (!nv || !nv->n) {	/* a name no rule allows */
		pcount(CGF_PC_DNS_IGNORED);
		return 0;
	}
	now = bpf_ktime_get_coarse_ns();
	netns = bpf_get_netns_cookie(skb);	/* where the answer arrived */
	for (__u32 i = 0; i < CGF_DNS_ADDRS; i++) {
		if (i >= p->naddr)
			break;
		learn_one(&p->addr[i], nv, now, netns);
	}
	return 0;
}

/*
 * Egress: a datagram from port 53 of a trusted resolver's address (or
 * through a socket bound to the wildcard with IP_PKTINFO) would be an
 * answer this cgroup's own sockets could read: the cgroup may not send one.
 */
static __always_inline bool dns_forged(struct __sk_buff *skb)
{
	__u32 a[4] = {}, l4off = 0;
	__u16 sport = 0;
	__u8 v6 = 0;

	return !udp_at(skb, a, &v6, true, &l4off) &&
	       !bpf_skb_load_bytes(skb, l4off, &sport, sizeof(sport)) &&
	       sport == bpf_htons(DNS_PORT) && is_dns_server(a, v6);
}

/* bind(): port 53 on a trusted resolver's address or on the wildcard. */
static __always_inline bool dns_bind_guard(const __u32 a[4], __u8 v6, __u16 port)
{
	if (port != DNS_PORT)
		return false;
	if (!(a[0] | (v6 ? a[1] | a[2] | a[3] : 0)))
		return true;	/* 0.0.0.0 or :: */
	return is_dns_server(a, v6);
}

#endif
