/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup_skb hooks: packets out (egress) and in (ingress). */
#ifndef CGF_BPF_SKB_H
#define CGF_BPF_SKB_H

#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

/*
 * Packets: the remote address is the destination on egress and the source on
 * ingress; the port a rule names is the destination port either way (the
 * remote service on egress, the local service on ingress).
 *
 * The transport header is found past IPv6's extension headers (hop-by-hop,
 * routing, destination options, fragment, AH; at most CGF_EXT_MAX of them).
 * Where it cannot be found - a non-first fragment, a chain too long, a
 * truncated header - the packet is judged by its address alone, and fails
 * closed where the verdict depends on a port (pkt.no_l4). Locally sent
 * packets reach egress before fragmentation and received ones reach ingress
 * after reassembly, so only crafted packets meet that.
 *
 * Headers are read in place when they are in the linear part of the packet
 * (the usual case) and copied with bpf_skb_load_bytes() otherwise.
 */
struct pkt {
	__u32 addr[4];		/* v4: addr[0] */
	__u16 port;
	__u8 ipproto;		/* IPPROTO_*; 255 when the walk found none */
	__u8 v6;
	__u32 l4off;
	__u8 no_l4;		/* the transport header (ports) could not be read */
};

#define SKIP 1			/* not judged: let it pass */
#define CGF_EXT_MAX 8		/* IPv6 extension headers walked before failing closed */
#define IPPROTO_UNKNOWN 255

static __always_inline int read_hdr(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off < 256 && data + off + len <= end) {
		__builtin_memcpy(to, data + (off & 0xff), len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* IPv6: from the fixed header's next header to the transport header. A
 * bounded loop, not unrolled, inlined: a BPF-to-BPF call in these programs
 * (which also tail-call) cost the IPv4 path about 25 ns per packet in
 * bench_egress, inlined it costs nothing measurable. */
static __always_inline int ipv6_transport(struct __sk_buff *skb, struct pkt *p, __u32 next, __u32 off)
{
	for (int i = 0; i < CGF_EXT_MAX; i++) {
		struct {
			__u8 next, len;
			__be16 frag_off;	/* a fragment header's offset and flags */
		} h;

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_AH && next != IPPROTO_FRAGMENT) {
			p->ipproto = next;	/* transport, ESP, "no next header" ... */
			p->l4off = off;
			return 0;
		}
		if (read_hdr(skb, off, &h, sizeof(h)))
			break;		/* truncated */
		if (next == IPPROTO_FRAGMENT) {
			if (h.frag_off & bpf_htons(IP6_OFFSET_MASK)) {
				p->ipproto = h.next;	/* a non-first fragment: no ports */
				p->no_l4 = 1;
				return 0;
			}
			off += 8;
		} else {
			off += next == IPPROTO_AH ? ((__u32)h.len + 2) * 4 : ((__u32)h.len + 1) * 8;
		}
		next = h.next;
	}
	p->ipproto = IPPROTO_UNKNOWN;	/* too many, or truncated: fail closed */
	p->no_l4 = 1;
	return 0;
}

static __always_inline int parse(struct __sk_buff *skb, __u8 dir, struct pkt *p)
{
	__u16 ports[2] = {};

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr iph;

		if (read_hdr(skb, 0, &iph, sizeof(iph)))
			return SKIP;
		p->v6 = 0;
		p->ipproto = iph.protocol;
		p->addr[0] = dir == CGF_DIR_EGRESS ? iph.daddr : iph.saddr;
		p->l4off = iph.ihl * 4;
		p->no_l4 = !!(iph.frag_off & bpf_htons(IP_OFFSET_MASK));	/* non-first fragment */
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6h;

		if (read_hdr(skb, 0, &ip6h, sizeof(ip6h)))
			return SKIP;
		p->v6 = 1;
		if (dir == CGF_DIR_EGRESS)
			__builtin_memcpy(p->addr, &ip6h.daddr, 16);
		else
			__builtin_memcpy(p->addr, &ip6h.saddr, 16);
		if (ip6h.nexthdr == IPPROTO_TCP || ip6h.nexthdr == IPPROTO_UDP) {
			p->ipproto = ip6h.nexthdr;	/* the common case: no extension header */
			p->l4off = sizeof(ip6h);
		} else {
			ipv6_transport(skb, p, ip6h.nexthdr, sizeof(ip6h));
		}
	} else {
		return SKIP;	/* neither IPv4 nor IPv6 */
	}
	if (p->ipproto == IPPROTO_TCP || p->ipproto == IPPROTO_UDP)
		p->no_l4 |= !!read_hdr(skb, p->l4off, ports, sizeof(ports));	/* truncated */
	p->port = bpf_ntohs(ports[1]);
	return 0;
}

/* accounting of a packet that passes: bytes, packets, TCP handshakes */
static __always_inline void skb_acct(struct __sk_buff *skb, __u8 dir, const struct pkt *p)
{
	struct cgf_acct *a = acct_get(bpf_skb_cgroup_id(skb));
	__u8 flags = 0;

	if (!a)
		return;
	if (dir == CGF_DIR_EGRESS) {
		a->bytes_out += skb->len;
		a->packets_out++;
		if (p->ipproto == IPPROTO_TCP && !p->no_l4 &&
		    !read_hdr(skb, p->l4off + TCP_FLAGS_OFF, &flags, 1) &&
		    (flags & TCP_FLAG_SYN)) {	/* SYN: we connect; SYN-ACK: we accept */
			if (flags & TCP_FLAG_ACK)
				a->tcp_accepts++;
			else
				a->tcp_connects++;
			acct_conn(a);
		}
	} else {
		a->bytes_in += skb->len;
		a->packets_in++;
	}
}

static __always_inline int skb_decide(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook)
{
	struct pkt p = {};
	const struct cgf_addr_val *av;
	__u32 rule = CGF_RULE_DEFAULT;
	int v = CGF_ALLOW, parsed = parse(skb, dir, &p);

	if (!parsed && (dir == CGF_DIR_EGRESS ? cfg.has_egress : cfg.has_ingress)) {
		av = p.v6 ? lookup6(dir, p.addr) : lookup4(dir, p.addr[0]);
		if (av && p.no_l4 && (av->flags & CGF_AV_CLASS))	/* no ports to read */
			v = p.ipproto == IPPROTO_UNKNOWN ? CGF_DENY
							 : by_class_portless(av->ref, p.ipproto, &rule);
		else
			v = VERDICT_RULE(av, p.ipproto, p.port, &rule);
		hit(rule);
	}
	if (v == CGF_ALLOW) {
		if (cfg.accounting && !parsed)
			skb_acct(skb, dir, &p);
		return v;
	}
	struct cgf_event *e = ev_denial(hook, rule);

	acct_denied(bpf_skb_cgroup_id(skb));
	if (e) {		/* no process here: the socket's cgroup */
		e->cgroup_id = bpf_skb_cgroup_id(skb);
		e->proto = p.ipproto;
		e->family = p.v6 ? 6 : 4;
		__builtin_memcpy(dir == CGF_DIR_EGRESS ? e->daddr : e->saddr, p.addr, 16);
		e->dport = p.port;
		ev_send(e);
	}
	return v;
}

SEC("cgroup_skb/egress")
int cgf_egress(struct __sk_buff *skb)
{
	GATE(skb, egress);
	return finish(CGF_H_EGRESS, skb_decide(skb, CGF_DIR_EGRESS, CGF_H_EGRESS));
}

SEC("cgroup_skb/ingress")
int cgf_ingress(struct __sk_buff *skb)
{
	GATE(skb, ingress);
	return finish(CGF_H_INGRESS, skb_decide(skb, CGF_DIR_INGRESS, CGF_H_INGRESS));
}

#endif
