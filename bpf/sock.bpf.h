/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup/sock_create: which sockets may be made. */
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

SEC("cgroup/sock_create")
int cgf_sock_create(struct bpf_sock *sk)
{
	GATE(sk, sock_create);
	return finish_ev(CGF_H_SOCK_CREATE, sock_verdict(sk->family, sk->type, sk->protocol),
			 CGF_RULE_DEFAULT);
}

#endif
