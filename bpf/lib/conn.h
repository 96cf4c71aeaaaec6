/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Connections (abi.h: Connections): the verdicts that belong to sockets. */
#ifndef CGF_BPF_CONN_H
#define CGF_BPF_CONN_H

#include "common.h"

#define BPF_TCP_ESTABLISHED_ 1	/* enum values of bpf_sock.state (uapi) */
#define BPF_TCP_SYN_SENT_ 2
#define BPF_TCP_LISTEN_ 10

/* TCP: one verdict per connection; a listener's entry (dir IN, no verdict) is
 * copied into the sockets it accepts */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct cgf_state);
} cgf_state SEC(".maps");

/* datagram sockets: the peers they exchanged datagrams with */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgf_peers);
} cgf_peers SEC(".maps");

/* The bucket of a peer: CGF_PEERS / 2 buckets of two ways. */
static __always_inline __u32 peer_bucket(const __u32 addr[4], __u16 port, __u8 proto)
{
	__u32 h = addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ ((__u32)port << 8) ^ proto;

	h *= 0x9e3779b1u;
	return (h >> 24) & (CGF_PEERS / 2 - 1);
}

static __always_inline bool peer_is(const struct cgf_peer *e, const __u32 addr[4], __u8 v6,
				    __u16 port, __u8 proto)
{
	return e->dir != CGF_CONN_NONE && e->port == port && e->proto == proto && e->v6 == v6 &&
	       e->addr[0] == addr[0] && e->addr[1] == addr[1] && e->addr[2] == addr[2] &&
	       e->addr[3] == addr[3];
}

/* Is addr/port the peer the datagram socket sk is connected to? */
static __always_inline bool peer_connected(const struct bpf_sock *sk, const __u32 addr[4],
					   __u16 port, __u8 v6)
{
	if (sk->state != BPF_TCP_ESTABLISHED_ || bpf_ntohs(sk->dst_port) != port)
		return false;
	if (!v6)
		return SK_U32(sk, dst_ip4) == addr[0];
	return SK_U32(sk, dst_ip6[0]) == addr[0] && SK_U32(sk, dst_ip6[1]) == addr[1] &&
	       SK_U32(sk, dst_ip6[2]) == addr[2] && SK_U32(sk, dst_ip6[3]) == addr[3];
}

/* Now, in the unit of cgf_peer.seen: jiffies (the verifier inlines
 * bpf_jiffies64 into a load), or coarse seconds where HZ is unknown. */
static __always_inline __u32 peer_now(void)
{
	return cfg.peer_window_jiffies ? (__u32)bpf_jiffies64()
				       : (__u32)(bpf_ktime_get_coarse_ns() / 1000000000ull);
}

/* Has the peer last seen at seen gone quiet for longer than the window? */
static __always_inline bool peer_expired(__u32 now, __u32 seen)
{
	return now - seen > (cfg.peer_window_jiffies ?: CGF_PEER_WINDOW_S);
}

/*
 * sendmsg()/connect() of a UDP socket to addr/port: is it a peer the socket
 * already exchanges datagrams with, whose answers are not "started" by the
 * cgroup? CGF_CONN_NONE: no (egress judges); else the entry's direction, and
 * *valid says whether the version in force judged it (else the caller judges
 * it again in that direction). addr: IPv4 in addr[0].
 */
static __always_inline __u8 peer_known(struct bpf_sock *sk, const __u32 addr[4], __u8 v6,
				       __u16 port, bool *valid)
{
	struct cgf_peers *ps;
	struct cgf_peer *e;
	__u32 b;

	if (!sk)
		return CGF_CONN_NONE;
	ps = bpf_sk_storage_get(&cgf_peers, sk, 0, 0);
	if (!ps)
		return CGF_CONN_NONE;
	b = peer_bucket(addr, port, IPPROTO_UDP) * 2;
	e = &ps->p[b & (CGF_PEERS - 1)];
	if (!peer_is(e, addr, v6, port, IPPROTO_UDP)) {
		e = &ps->p[(b + 1) & (CGF_PEERS - 1)];
		if (!peer_is(e, addr, v6, port, IPPROTO_UDP))
			return CGF_CONN_NONE;
	}
	if (peer_expired(peer_now(), e->seen))
		return CGF_CONN_NONE;
	*valid = e->generation == cfg.generation;
	return e->dir;
}

#endif
