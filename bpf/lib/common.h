/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every program includes. vmlinux.h carries the kernel's types but no
 * macros, so the few constants the programs need are named here, once. */
#ifndef CGF_BPF_COMMON_H
#define CGF_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "cgfence/abi.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_HOPOPTS	0	/* IPv6 extension headers (ipv6.h, not in vmlinux.h) */
#define IPPROTO_ROUTING	43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS	60
#define IPPROTO_ICMPV6	58
#define AF_INET		2
#define AF_INET6	10
#define PAGE_SIZE	4096
#define SOL_TCP		6
#define TCP_CONGESTION	13
#define IP_OFFSET_MASK	0x1fff
#define IP6_OFFSET_MASK	0xfff8
#define TCP_FLAGS_OFF	13	/* the flags byte of a TCP header */
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10

/* A 32-bit field of a bpf_sock at a constant offset: the verifier refuses the
 * computed offsets the compiler makes of an array field read in a branch. */
#define SK_U32(sk, field)						\
	({								\
		__u32 v_;						\
		asm volatile("%0 = *(u32 *)(%1 + %2)"			\
			     : "=r"(v_)					\
			     : "r"(sk), "i"(__builtin_offsetof(struct bpf_sock, field))); \
		v_;							\
	})

/* The local address a socket holds (IPv4 in a[0]); 0 / :: when unbound. */
#define SK_SRC_ADDR(sk, a, v6)						\
	do {								\
		if (v6) {						\
			(a)[0] = SK_U32(sk, src_ip6[0]);		\
			(a)[1] = SK_U32(sk, src_ip6[1]);		\
			(a)[2] = SK_U32(sk, src_ip6[2]);		\
			(a)[3] = SK_U32(sk, src_ip6[3]);		\
		} else {						\
			(a)[0] = SK_U32(sk, src_ip4);			\
		}							\
	} while (0)

/* Set by user space before load (abi.h: struct cgf_config). */
extern const volatile struct cgf_config cfg;

#endif
