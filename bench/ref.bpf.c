// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference programs for bench/bench_egress: on the hooks cgfence uses for
 * egress (connect4, sendmsg4, cgroup_skb/egress),
 *   empty_*  return 1 and do nothing else: the cost of running a program
 *            (also on sock_create and bind4, for bench_sock);
 *   ref_*    do one bare LPM-trie lookup of the destination: the floor for
 *            any policy that matches prefixes.
 * The egress one reads the IPv4 header as cgfence does. For bench_acct,
 *   empty_ingress       the same on cgroup_skb/ingress;
 *   storage_egress/_ingress   one socket-storage lookup of the packet's
 *            socket (bpf_sk_storage_get, no entry made), the floor of a
 *            verdict kept in the socket (network.state).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct ref_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ref_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} ref_trie SEC(".maps");

volatile __u64 hits;

static __always_inline int lookup(__u32 ip)
{
	struct ref_key k = { .prefixlen = 32 };

	__builtin_memcpy(k.addr, &ip, 4);
	if (bpf_map_lookup_elem(&ref_trie, &k))
		hits++;		/* keep the lookup from being optimised away */
	return 1;
}

SEC("cgroup/connect4")
int empty_connect4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/sendmsg4")
int empty_sendmsg4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup_skb/egress")
int empty_egress(struct __sk_buff *skb) { return 1; }

SEC("cgroup/connect4")
int ref_connect4(struct bpf_sock_addr *ctx) { return lookup(ctx->user_ip4); }

SEC("cgroup/sendmsg4")
int ref_sendmsg4(struct bpf_sock_addr *ctx) { return lookup(ctx->user_ip4); }

SEC("cgroup_skb/egress")
int ref_egress(struct __sk_buff *skb)
{
	struct iphdr iph;

	if (skb->protocol != bpf_htons(0x0800) || bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return 1;
	return lookup(iph.daddr);
}

SEC("cgroup/sock_create")
int empty_sock_create(struct bpf_sock *sk) { return 1; }

SEC("cgroup/bind4")
int empty_bind4(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup_skb/ingress")
int empty_ingress(struct __sk_buff *skb) { return 1; }

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} ref_sk SEC(".maps");

static __always_inline int sk_lookup(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u32 *v;

	if (!sk)
		return 1;
	v = bpf_sk_storage_get(&ref_sk, sk, 0, 0);
	if (v)
		hits++;
	return 1;
}

SEC("cgroup_skb/egress")
int storage_egress(struct __sk_buff *skb) { return sk_lookup(skb); }

SEC("cgroup_skb/ingress")
int storage_ingress(struct __sk_buff *skb) { return sk_lookup(skb); }
