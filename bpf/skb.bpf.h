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
 * remote service on egress, the local service on ingress). Non-first
 * fragments carry no ports and are let through: the first fragment, which
 * the receiver needs to reassemble anything, was judged with its ports.
 *
 * Headers are read in place when they are in the linear part of the packet
 * (the usual case) and copied with bpf_skb_load_bytes() otherwise.
 */
struct pkt {
	__u32 addr[4];		/* v4: addr[0] */
	__u16 port;
	__u8 ipproto;		/* IPPROTO_* */
	__u8 v6;
	__u32 l4off;
};

#define SKIP 1			/* not judged: let it pass */

static __always_inline int read_hdr(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (off < 256 && data + off + len <= end) {
		__builtin_memcpy(to, data + (off & 0xff), len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

static __always_inline int parse(struct __sk_buff *skb, __u8 dir, struct pkt *p)
{
	__u16 ports[2] = {};
	__u32 l4off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr iph;

		if (read_hdr(skb, 0, &iph, sizeof(iph)))
			return SKIP;
		if (iph.frag_off & bpf_htons(IP_OFFSET_MASK))
			return SKIP;
		p->v6 = 0;
		p->ipproto = iph.protocol;
		p->addr[0] = dir == CGF_DIR_EGRESS ? iph.daddr : iph.saddr;
		l4off = iph.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6h;
		__u8 nexthdr;

		if (read_hdr(skb, 0, &ip6h, sizeof(ip6h)))
			return SKIP;
		nexthdr = ip6h.nexthdr;
		l4off = sizeof(ip6h);
		if (nexthdr == IPPROTO_FRAGMENT) {
			struct frag_hdr fh;

			if (read_hdr(skb, l4off, &fh, sizeof(fh)))
				return SKIP;
			if (fh.frag_off & bpf_htons(IP6_OFFSET_MASK))
				return SKIP;
			nexthdr = fh.nexthdr;
			l4off += sizeof(fh);
		}
		p->v6 = 1;
		p->ipproto = nexthdr;
		if (dir == CGF_DIR_EGRESS)
			__builtin_memcpy(p->addr, &ip6h.daddr, 16);
		else
			__builtin_memcpy(p->addr, &ip6h.saddr, 16);
	} else {
		return SKIP;	/* neither IPv4 nor IPv6 */
	}
	p->l4off = l4off;
	if (p->ipproto == IPPROTO_TCP || p->ipproto == IPPROTO_UDP)
		read_hdr(skb, l4off, ports, sizeof(ports));
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
		if (p->ipproto == IPPROTO_TCP &&
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
