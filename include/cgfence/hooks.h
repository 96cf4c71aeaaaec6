/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hook registry: every kernel hook cgfence attaches, once. Each table
 * that names hooks (the enum, names, attach types, programs, slot maps, the
 * hooks a policy needs, the BPF slot maps, `tree`, help, completion, the man
 * page) is generated from it or checked against it (tests/unit/test_hooks.c).
 *
 *   X(ENUM, name, attach, family, needed_by)
 *
 *   ENUM       CGF_H_<ENUM>, the hook's index in counters and the bit in
 *              cgf_meta.hooks: pinned, so never reorder (pin layout)
 *   name       the CLI/JSON/pin name; the program is cgf_<name>, its slot
 *              map cgf_slot_<name>, its pin slot-<name>
 *   attach     BPF_<attach>, the enum bpf_attach_type
 *   family     the BPF source that holds the program: bpf/<family>.bpf.h
 *   needed_by  the policy features (CGF_F_*) that attach this hook
 */
#ifndef CGFENCE_HOOKS_H
#define CGFENCE_HOOKS_H

/* What a policy uses, as the compiler finds it; each turns hooks on. */
enum cgf_feature {
	CGF_F_EGRESS     = 1u << 0,	/* network.egress */
	CGF_F_INGRESS    = 1u << 1,	/* network.ingress */
	CGF_F_BIND       = 1u << 2,	/* network.bind */
	CGF_F_REDIRECT   = 1u << 3,	/* network.redirect */
	CGF_F_SOCKETS    = 1u << 4,	/* network.sockets */
	CGF_F_SOCKOPT_SET = 1u << 5,	/* sockopt.deny_set */
	CGF_F_SOCKOPT_GET = 1u << 6,	/* sockopt.deny_get */
	CGF_F_DEVICES    = 1u << 7,	/* devices */
	CGF_F_SYSCTL     = 1u << 8,	/* sysctl */
	CGF_F_TCP        = 1u << 9,	/* tcp */
	CGF_F_ACCOUNTING = 1u << 10,	/* accounting: true */
	CGF_F_RATE_LIMIT = 1u << 11,	/* network.rate_limit */
	CGF_F_LOG_CONNS  = 1u << 12,	/* log.connections */
	CGF_F_STATE      = 1u << 13,	/* network.state: on, with egress, ingress or bind */
	CGF_F_NAMES      = 1u << 14,	/* egress rules with to_names: DNS answers read in
					 * ingress, the resolvers' port guarded in bind */
};

#define CGF_F_SOCK_ADDR_OUT (CGF_F_EGRESS | CGF_F_REDIRECT)

#define CGF_HOOKS(X)									\
	X(CONNECT4, connect4, CGROUP_INET4_CONNECT, sock_addr,				\
	  CGF_F_SOCK_ADDR_OUT | CGF_F_ACCOUNTING | CGF_F_RATE_LIMIT)			\
	X(CONNECT6, connect6, CGROUP_INET6_CONNECT, sock_addr,				\
	  CGF_F_SOCK_ADDR_OUT | CGF_F_ACCOUNTING | CGF_F_RATE_LIMIT)			\
	X(SENDMSG4, sendmsg4, CGROUP_UDP4_SENDMSG, sock_addr, CGF_F_SOCK_ADDR_OUT)	\
	X(SENDMSG6, sendmsg6, CGROUP_UDP6_SENDMSG, sock_addr, CGF_F_SOCK_ADDR_OUT)	\
	X(EGRESS, egress, CGROUP_INET_EGRESS, skb, CGF_F_EGRESS | CGF_F_ACCOUNTING | CGF_F_STATE) \
	X(INGRESS, ingress, CGROUP_INET_INGRESS, skb,					\
	  CGF_F_INGRESS | CGF_F_ACCOUNTING | CGF_F_STATE | CGF_F_NAMES)		\
	X(BIND4, bind4, CGROUP_INET4_BIND, sock_addr, CGF_F_BIND | CGF_F_NAMES)	\
	X(BIND6, bind6, CGROUP_INET6_BIND, sock_addr, CGF_F_BIND | CGF_F_NAMES)	\
	X(SOCK_CREATE, sock_create, CGROUP_INET_SOCK_CREATE, sock, CGF_F_SOCKETS)	\
	X(SETSOCKOPT, setsockopt, CGROUP_SETSOCKOPT, sockopt, CGF_F_SOCKOPT_SET)	\
	X(GETSOCKOPT, getsockopt, CGROUP_GETSOCKOPT, sockopt, CGF_F_SOCKOPT_GET)	\
	X(DEVICE, dev, CGROUP_DEVICE, dev, CGF_F_DEVICES)				\
	X(SOCKOPS, sockops, CGROUP_SOCK_OPS, sockops, CGF_F_TCP | CGF_F_LOG_CONNS)	\
	X(SYSCTL, sysctl, CGROUP_SYSCTL, sysctl, CGF_F_SYSCTL)				\
	X(RECVMSG4, recvmsg4, CGROUP_UDP4_RECVMSG, sock_addr, CGF_F_REDIRECT)		\
	X(RECVMSG6, recvmsg6, CGROUP_UDP6_RECVMSG, sock_addr, CGF_F_REDIRECT)		\
	X(GETPEERNAME4, getpeername4, CGROUP_INET4_GETPEERNAME, sock_addr, CGF_F_REDIRECT) \
	X(GETPEERNAME6, getpeername6, CGROUP_INET6_GETPEERNAME, sock_addr, CGF_F_REDIRECT) \
	X(POST_BIND4, post_bind4, CGROUP_INET4_POST_BIND, sock, CGF_F_BIND)		\
	X(POST_BIND6, post_bind6, CGROUP_INET6_POST_BIND, sock, CGF_F_BIND)

/* Hooks, as indexes of counters and bits of cgf_meta.hooks. */
enum cgf_hook {
#define CGF_X_ENUM(E, n, a, f, by) CGF_H_##E,
	CGF_HOOKS(CGF_X_ENUM)
#undef CGF_X_ENUM
	CGF_H_MAX,
};

#define CGF_HOOK_BIT(h) (1u << (h))

/* The hooks that only serve network.redirect's reverse translation. */
#define CGF_REDIRECT_ONLY_HOOKS                                                         \
	(CGF_HOOK_BIT(CGF_H_RECVMSG4) | CGF_HOOK_BIT(CGF_H_RECVMSG6) |                  \
	 CGF_HOOK_BIT(CGF_H_GETPEERNAME4) | CGF_HOOK_BIT(CGF_H_GETPEERNAME6))

#endif /* CGFENCE_HOOKS_H */
