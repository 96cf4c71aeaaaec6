/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup_skb hooks: packets out (egress) and in (ingress). */
#ifndef CGF_BPF_SKB_H
#define CGF_BPF_SKB_H

#include "lib/conn.h"
#include "lib/events.h"
#include "lib/gate.h"
#include "lib/names.h"
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
	__u16 port;		/* the destination port: what rules of the packet's direction see */
	__u16 rport, lport;	/* the remote and the local port */
	__u8 ipproto;		/* IPPROTO_*; 255 when the walk found none */
	__u8 v6;
	__u32 l4off;
	__u8 no_l4;		/* the transport header (ports) could not be read */
	__u8 why;		/* to_names: why egress denied (enum cgf_name_why) */
	__u8 any_age;		/* to_names: an open connection's, past its answer's lifetime */
	__u8 out;		/* the flow was started by the cgroup (events) */
	__u32 name;		/* to_names: allowed through pattern name - 1 */
	__u64 netns;		/* to_names: the packet's network namespace (judge() sets it) */
};

#define SKIP 1			/* not judged: let it pass */
#define CGF_EXT_MAX 7		/* IPv6 extension headers walked; a longer chain fails closed */
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
	for (int i = 0; i <= CGF_EXT_MAX; i++) {	/* the last round: transport or too many */
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
	if (dir == CGF_DIR_EGRESS) {
		p->rport = p->port;
		p->lport = bpf_ntohs(ports[0]);
	} else {
		p->rport = bpf_ntohs(ports[0]);
		p->lport = p->port;
	}
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
		if (p && p->ipproto == IPPROTO_TCP && !p->no_l4 &&
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

/*
 * The verdict of section sec (egress or ingress) on the packet's remote
 * address, its protocol and the given port; a section the policy lacks
 * allows. Counts the deciding rule's hit. A global function: the verifier
 * checks it once, not at every place a packet may be judged.
 */
__noinline int cgf_judge(__u32 sec, struct pkt *p, __u32 port, __u32 *rule)
{
	const struct cgf_addr_val *av;
	int v;

	if (!p || !rule)
		return CGF_DENY;
	*rule = CGF_RULE_DEFAULT;
	if (!(sec == CGF_DIR_EGRESS ? cfg.has_egress : cfg.has_ingress))
		return CGF_ALLOW;
	av = p->v6 ? lookup6(sec, p->addr) : lookup4(sec, p->addr[0]);
	if (av && p->no_l4 && (av->flags & CGF_AV_CLASS))	/* no ports to read */
		v = p->ipproto == IPPROTO_UNKNOWN ? CGF_DENY
						  : by_class_portless(av->ref, p->ipproto, rule);
	else if (av && (av->flags & CGF_AV_NAME))	/* names allow no portless packet */
		v = p->no_l4 ? CGF_DENY : name_fast(av, p->ipproto, (__u16)port, rule, &p->name,
						    p->netns == cfg.home_netns);
	else
		v = VERDICT_RULE(av, p->ipproto, (__u16)port, rule);	/* (no name: 0) */
	return v;
}

/* to_names: egress's deny default, judged again by the names learnt. A
 * global function of its own, beside cgf_judge rather than inside it: the
 * stack of a call chain is limited (512 bytes). */
__noinline int cgf_judge_names(struct pkt *p, __u32 port, __u32 *rule)
{
	if (!p || !rule)
		return CGF_DENY;
	return names_verdict(p->addr, p->v6, p->netns, p->ipproto, (__u16)port, p->any_age, rule,
			     &p->why, &p->name);
}

/* cgf_judge, then the names; counts the deciding rule's hit */
static __always_inline int judge(struct __sk_buff *skb, __u32 sec, struct pkt *p, __u32 port,
				 __u32 *rule)
{
	int v;

	if (cfg.has_names && sec == CGF_DIR_EGRESS)	/* where the names were learnt */
		p->netns = bpf_get_netns_cookie(skb);
	v = cgf_judge(sec, p, port, rule);
	if (cfg.has_names && sec == CGF_DIR_EGRESS && v != CGF_ALLOW &&
	    *rule == CGF_RULE_DEFAULT && !p->no_l4)
		v = cgf_judge_names(p, port, rule);
	hit(*rule);
	return v;
}

/* The end of every judged packet: accounting, or the denial's counters and event. */
static __always_inline int skb_done(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook,
				    const struct pkt *p, int v, __u32 rule)
{
	if (v == CGF_ALLOW) {
		if (cfg.accounting)
			skb_acct(skb, dir, p);
		return v;
	}
	struct cgf_event *e = ev_denial(hook, rule);

	acct_denied(bpf_skb_cgroup_id(skb));
	if (e) {		/* no process here: the socket's cgroup */
		e->cgroup_id = bpf_skb_cgroup_id(skb);
		e->proto = p->ipproto;
		e->family = p->v6 ? 6 : 4;
		__builtin_memcpy(dir == CGF_DIR_EGRESS ? e->daddr : e->saddr, p->addr, 16);
		e->dport = p->port;
		if (dir == CGF_DIR_INGRESS)
			e->sport = p->rport;	/* the peer's: learn knows a reply by it */
		e->why = p->why;
		e->active = p->out;
		ev_send(e);
	}
	return v;
}

/* network.state: off, and packets with no socket to keep a verdict on: each
 * packet judged alone by the section of its direction */
static __noinline int skb_stateless(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook)
{
	struct pkt p = {};
	__u32 rule = CGF_RULE_DEFAULT;

	if (parse(skb, dir, &p))
		return CGF_ALLOW;	/* neither IPv4 nor IPv6 */
	p.out = dir == CGF_DIR_EGRESS;
	int v = judge(skb, dir, &p, p.port, &rule);	/* before rule is read */

	return skb_done(skb, dir, hook, &p, v, rule);
}

/* network.bind on the address and port the socket holds: those the kernel
 * chose by itself (listen(), connect() and UDP autobind) pass no bind hook. */
static __always_inline int sock_bind_verdict(const struct bpf_sock *sk, __u8 ipproto, __u32 *rule)
{
	__u32 a[4] = {};
	__u8 v6 = sk->family == AF_INET6;

	SK_SRC_ADDR(sk, a, v6);
	return bind_verdict(a, v6, ipproto, (__u16)sk->src_port, rule);
}

/* A connection of a socket that existed before the policy: accepted if its
 * local port has a listener, else one the cgroup made. */
static __noinline __u8 tcp_guess_dir(struct __sk_buff *skb, const struct bpf_sock *sk,
					   __u8 v6)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *l;
	__u32 size;

	if (v6) {
		SK_SRC_ADDR(sk, t.ipv6.daddr, 1);
		t.ipv6.dport = bpf_htons(sk->src_port);
		size = sizeof(t.ipv6);
	} else {
		t.ipv4.daddr = SK_U32(sk, src_ip4);
		t.ipv4.dport = bpf_htons(sk->src_port);
		size = sizeof(t.ipv4);
	}
	l = bpf_skc_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!l)
		return CGF_CONN_OUT;
	__u8 d = l->state == BPF_TCP_LISTEN_ ? CGF_CONN_IN : CGF_CONN_OUT;

	bpf_sk_release(l);
	return d;
}

/* TCP, a packet of a socket with no valid verdict (or a denied one): judge
 * the connection once, in the direction it started in. A listener's packets
 * (SYNs, handshakes' last ACKs) arrive unasked: judged each by ingress. */
static __noinline int tcp_judge(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook,
				struct bpf_sock *sk)
{
	struct cgf_state *c = bpf_sk_storage_get(&cgf_state, sk, 0, 0);
	struct pkt p = {};
	__u32 rule = CGF_RULE_DEFAULT;
	__u8 cdir;
	int v;

	if (parse(skb, dir, &p))
		return CGF_ALLOW;
	if (sk->state == BPF_TCP_LISTEN_ && dir == CGF_DIR_EGRESS) {
		v = CGF_ALLOW;	/* a SYN-ACK (the kernel runs egress with the listener):
				 * the answer to a SYN ingress allowed */
	} else if (sk->state == BPF_TCP_LISTEN_) {
		if (!c || c->dir != CGF_CONN_IN) {	/* what the sockets it accepts inherit */
			struct cgf_state in = { .dir = CGF_CONN_IN };

			c = bpf_sk_storage_get(&cgf_state, sk, &in, BPF_SK_STORAGE_GET_F_CREATE);
			if (c)
				c->dir = CGF_CONN_IN;
		}
		v = judge(skb, CGF_DIR_INGRESS, &p, p.port, &rule);
		if (v == CGF_ALLOW && cfg.has_bind)	/* listen() may have bound it */
			v = sock_bind_verdict(sk, IPPROTO_TCP, &rule);
	} else if (c && c->generation == cfg.generation) {	/* judged: denied */
		v = c->verdict;
		rule = c->rule;
		p.out = c->dir == CGF_CONN_OUT;
	} else {
		/* allowed through a name: an open connection outlives its answer */
		p.any_age = c && c->verdict == CGF_ALLOW && c->name;
		cdir = c && c->dir ? c->dir
		     : sk->state == BPF_TCP_SYN_SENT_
			     ? CGF_CONN_OUT
			     : tcp_guess_dir(skb, sk, skb->protocol == bpf_htons(ETH_P_IPV6));
		p.out = cdir == CGF_CONN_OUT;
		v = cdir == CGF_CONN_OUT ? judge(skb, CGF_DIR_EGRESS, &p, p.rport, &rule)
					 : judge(skb, CGF_DIR_INGRESS, &p, p.lport, &rule);
		if (v == CGF_ALLOW && cfg.has_bind)	/* connect() may have bound it */
			v = sock_bind_verdict(sk, IPPROTO_TCP, &rule);
		if (!c)
			c = bpf_sk_storage_get(&cgf_state, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (c) {
			c->dir = cdir;
			c->verdict = v;
			c->rule = rule;
			c->name = (__u16)p.name;
			c->generation = cfg.generation;
		}
	}
	return skb_done(skb, dir, hook, &p, v, rule);
}

/* The entry of the datagram's peer in the socket's table, or where to put it. */
static __always_inline struct cgf_peer *peer_find(struct cgf_peers *ps, const struct pkt *p,
						  bool *found)
{
	__u32 b = peer_bucket(p->addr, p->rport, p->ipproto) * 2;
	struct cgf_peer *w0 = &ps->p[b & (CGF_PEERS - 1)], *w1 = &ps->p[(b + 1) & (CGF_PEERS - 1)];

	*found = true;
	if (peer_is(w0, p->addr, p->v6, p->rport, p->ipproto))
		return w0;
	if (peer_is(w1, p->addr, p->v6, p->rport, p->ipproto))
		return w1;
	*found = false;		/* a free way, else the one idle longer */
	return w0->dir == CGF_CONN_NONE ? w0 : w1->dir == CGF_CONN_NONE ? w1
	       : (__s32)(w0->seen - w1->seen) <= 0 ? w0 : w1;
}

/* Datagram sockets (UDP, ping, raw): a datagram from or to a known peer
 * passes; one to a new peer is judged by egress, one from a new peer by
 * ingress (by egress if it is the peer the socket connected to). */
static __noinline int dgram_judge(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook,
				  struct bpf_sock *sk)
{
	struct cgf_peers *ps = NULL;
	struct cgf_peer *e = NULL;
	struct pkt p = {};
	__u32 rule = CGF_RULE_DEFAULT, now = 0;
	bool conn = false, live = false, found = false;
	__u8 cdir = dir == CGF_DIR_EGRESS ? CGF_CONN_OUT : CGF_CONN_IN;
	int v;

	if (parse(skb, dir, &p))
		return CGF_ALLOW;
	if (!p.no_l4)		/* else no ports to know the peer by: judged alone */
		ps = bpf_sk_storage_get(&cgf_peers, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (ps) {
		e = peer_find(ps, &p, &found);
		now = peer_now();
		conn = peer_connected(sk, p.addr, p.rport, p.v6);
		live = found && (conn || !peer_expired(now, e->seen));
		/* a known peer keeps the direction it started in; the connected
		 * peer was asked for */
		cdir = live ? e->dir : conn ? CGF_CONN_OUT : cdir;
	}
	/* (a live entry of this version never gets here: dgram_known passed it) */
	p.out = cdir == CGF_CONN_OUT;
	v = cdir == CGF_CONN_OUT ? judge(skb, CGF_DIR_EGRESS, &p, p.rport, &rule)
				 : judge(skb, CGF_DIR_INGRESS, &p, p.lport, &rule);
	/* UDP autobind may have bound it (the "port" of a raw or ping socket is
	 * its protocol or echo id: no bind to judge) */
	if (v == CGF_ALLOW && cfg.has_bind && sk->protocol == IPPROTO_UDP)
		v = sock_bind_verdict(sk, IPPROTO_UDP, &rule);
	if (e && v == CGF_ALLOW) {
		__builtin_memcpy(e->addr, p.addr, 16);
		e->port = p.rport;
		e->proto = p.ipproto;
		e->v6 = p.v6;
		e->dir = cdir;
		e->generation = cfg.generation;
		e->seen = now;
	} else if (e && found) {
		e->dir = CGF_CONN_NONE;	/* no longer allowed */
	}
	return skb_done(skb, dir, hook, &p, v, rule);
}

/* The transport protocol, cheaply: IPv4's, or IPv6's next header (an
 * extension header's number where there is one: not TCP). */
static __always_inline __u8 l4_proto(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (data + sizeof(struct ipv6hdr) > end)
		return IPPROTO_UNKNOWN;
	return skb->protocol == bpf_htons(ETH_P_IP) ? data[9] : data[6];
}

/* A datagram from or to a peer this version allowed: passes, the peer's
 * entry refreshed. 1: it passed; 0: to be judged. */
static __noinline int dgram_known(struct __sk_buff *skb, __u8 dir, struct bpf_sock *sk)
{
	struct cgf_peers *ps = bpf_sk_storage_get(&cgf_peers, sk, 0, 0);
	struct cgf_peer *e;
	struct pkt p = {};
	bool found;
	__u32 now;

	if (!ps || parse(skb, dir, &p) || p.no_l4)
		return 0;
	e = peer_find(ps, &p, &found);
	if (!found || e->generation != cfg.generation)
		return 0;
	if (!peer_connected(sk, p.addr, p.rport, p.v6)) {	/* the window: not for the
								 * connected peer */
		now = peer_now();
		if (peer_expired(now, e->seen))
			return 0;
		if (e->seen != now)
			e->seen = now;
	}
	if (cfg.accounting)
		skb_acct(skb, dir, &p);
	return 1;
}

/*
 * network.state: on. A socket's packets pass without a prefix lookup once its
 * connection is allowed; only the first packet of a connection, a datagram
 * of a new peer and packets after a re-apply are judged.
 */
static __always_inline int skb_decide(struct __sk_buff *skb, __u8 dir, enum cgf_hook hook)
{
	struct bpf_sock *sc = skb->sk, *sk;
	struct cgf_state *c;

	if (!cfg.state || !sc)
		return skb_stateless(skb, dir, hook);
	/* the common case first: a packet of a connection, or of a datagram
	 * exchange, this version allowed (only TCP stream sockets and datagram
	 * sockets get these entries: sc needs no check of its own) */
	if (l4_proto(skb) == IPPROTO_TCP) {
		c = bpf_sk_storage_get(&cgf_state, sc, 0, 0);
		if (c && c->generation == cfg.generation && c->verdict == CGF_ALLOW) {
			if (cfg.accounting)
				skb_acct(skb, dir, NULL);
			return CGF_ALLOW;
		}
	} else if (dgram_known(skb, dir, sc)) {	/* (a raw TCP socket's packets are
						 * judged below, each by its peer) */
		return CGF_ALLOW;
	}
	sk = bpf_sk_fullsock(sc);
	if (!sk)	/* the kernel runs these hooks with full sockets (a listener for
			 * its SYN-ACKs): not expected, judged alone */
		return skb_stateless(skb, dir, hook);
	/* a raw socket of protocol TCP is no connection: its packets are judged
	 * as datagrams, by their own addresses */
	if (sk->protocol == IPPROTO_TCP && sk->type == SOCK_STREAM)
		return tcp_judge(skb, dir, hook, sk);
	return dgram_judge(skb, dir, hook, sk);
}

/* to_names: a datagram from a resolver's port 53 this cgroup may not send */
static __noinline int dns_guard_egress(struct __sk_buff *skb)
{
	struct cgf_event *e;

	if (!skb || !dns_forged(skb))
		return 0;
	pcount(CGF_PC_DNS_GUARD);
	acct_denied(bpf_skb_cgroup_id(skb));
	e = ev_denial(CGF_H_EGRESS, CGF_RULE_DNS);
	if (e) {
		e->cgroup_id = bpf_skb_cgroup_id(skb);
		e->proto = IPPROTO_UDP;
		e->sport = DNS_PORT;
		ev_send(e);
	}
	return 1;
}

static __always_inline int egress_decide(struct __sk_buff *skb)
{
	if (cfg.has_names && dns_guard_egress(skb))
		return finish(CGF_H_EGRESS, CGF_DENY);
	return finish(CGF_H_EGRESS, skb_decide(skb, CGF_DIR_EGRESS, CGF_H_EGRESS));
}

static __always_inline int ingress_decide(struct __sk_buff *skb)
{
	if (cfg.has_names || cfg.log_dns)	/* before the socket sees the answer */
		cgf_dns_learn(skb);
	return finish(CGF_H_INGRESS, skb_decide(skb, CGF_DIR_INGRESS, CGF_H_INGRESS));
}

/*
 * A staged version compares the packets that decide something no call
 * decided: egress packets other than TCP and UDP (whose sockets' connect()
 * and sendmsg() are compared), and inbound connections (a SYN) and every
 * other packet in ingress. Only asked in a staged version.
 */
static __noinline bool staged_packet(struct __sk_buff *skb, __u8 dir)
{
	__u8 proto, flags = 0;
	__u32 off;

	if (!skb)
		return false;
	proto = l4_proto(skb);
	if (dir == CGF_DIR_EGRESS)
		return proto != IPPROTO_TCP && proto != IPPROTO_UDP;
	if (proto != IPPROTO_TCP)
		return true;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vihl = 0;

		if (bpf_skb_load_bytes(skb, 0, &vihl, 1))
			return false;
		off = (vihl & 0xf) * 4;
	} else {
		off = sizeof(struct ipv6hdr);
	}
	if (bpf_skb_load_bytes(skb, off + TCP_FLAGS_OFF, &flags, 1))
		return false;
	return (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

SEC("cgroup_skb/egress")
int cgf_egress(struct __sk_buff *skb)
{
	GATE(skb, egress);
	return DECIDE(skb, CGF_H_EGRESS, cfg.staged && staged_packet(skb, CGF_DIR_EGRESS),
		      egress_decide(skb));
}

SEC("cgroup_skb/ingress")
int cgf_ingress(struct __sk_buff *skb)
{
	GATE(skb, ingress);
	return DECIDE(skb, CGF_H_INGRESS, cfg.staged && staged_packet(skb, CGF_DIR_INGRESS),
		      ingress_decide(skb));
}

#endif
