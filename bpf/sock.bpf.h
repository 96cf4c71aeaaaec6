/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup/sock_create: which sockets may be made; cgroup/post_bind4/6: the
 * port a bind() got. */
#ifndef CGF_BPF_SOCK_H
#define CGF_BPF_SOCK_H

#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

/*
 * socket(): only AF_INET and AF_INET6 sockets reach this hook. The family,
 * type and protocol checks come from .rodata, set before load.
 */
static __always_inline int sock_verdict(__u32 family, __u32 type, __u32 protocol)
{
	__u32 bit = protocol == CGF_IPPROTO_MPTCP ? CGF_PROTO_MPTCP_BIT : protocol, word;

	if (family == AF_INET && !(cfg.sock_families & CGF_FAM_INET))
		return CGF_DENY;
	if (family == AF_INET6 && !(cfg.sock_families & CGF_FAM_INET6))
		return CGF_DENY;
	if (type < 8 && (cfg.sock_deny_types & (1u << type)))
		return CGF_DENY;
	if (bit > 256)
		return CGF_ALLOW;
	word = bit / 32;
	barrier_var(word);	/* keep the mask below for the verifier */
	if (cfg.sock_deny_protos[word & 15] & (1u << (bit % 32)))
		return CGF_DENY;
	return CGF_ALLOW;
}

static __always_inline int sock_create_decide(struct bpf_sock *sk)
{
	__u32 family = sk->family, type = sk->type, protocol = sk->protocol;
	int v = sock_verdict(family, type, protocol);

	if (v != CGF_ALLOW) {	/* the family, type and protocol asked for */
		ev_detail(CGF_H_SOCK_CREATE, CGF_RULE_DEFAULT, family == AF_INET6 ? 6 : 4,
			  (__u8)protocol, (__u16)type, NULL);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(CGF_H_SOCK_CREATE, v);
}

SEC("cgroup/sock_create")
int cgf_sock_create(struct bpf_sock *sk)
{
	GATE(sk, sock_create);
	return DECIDE(sk, CGF_H_SOCK_CREATE, true, sock_create_decide(sk));
}

/*
 * After bind(): the address and port the socket got, which for bind() to
 * port 0 the kernel chose (bind4/6 saw 0). Denied: bind() fails with EPERM
 * and the socket is unbound again.
 */
SEC("cgroup/post_bind4")
int cgf_post_bind4(struct bpf_sock *sk)
{
	__u32 addr[4] = { SK_U32(sk, src_ip4) }, rule = CGF_RULE_DEFAULT;

	GATE(sk, post_bind4);
	return DECIDE(sk, CGF_H_POST_BIND4, true,
		      finish_ev(CGF_H_POST_BIND4,
				bind_verdict(addr, 0, sk->protocol, (__u16)sk->src_port, &rule),
				rule));
}

SEC("cgroup/post_bind6")
int cgf_post_bind6(struct bpf_sock *sk)
{
	__u32 addr[4], rule = CGF_RULE_DEFAULT;

	SK_SRC_ADDR(sk, addr, 1);
	GATE(sk, post_bind6);
	return DECIDE(sk, CGF_H_POST_BIND6, true,
		      finish_ev(CGF_H_POST_BIND6,
				bind_verdict(addr, 1, sk->protocol, (__u16)sk->src_port, &rule),
				rule));
}

#endif
