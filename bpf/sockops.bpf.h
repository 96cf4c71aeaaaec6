/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* sockops: TCP behaviour and the connection log. */
#ifndef CGF_BPF_SOCKOPS_H
#define CGF_BPF_SOCKOPS_H

#include "lib/conn.h"
#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

struct cgf_conn {
	__u64 start_ns, cgroup_id;
	__u32 pid, pad;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgf_conn);
} cgf_conn SEC(".maps");		/* log.connections: when and by whom */		/* the deciding slot or CGF_SLOT_OFF */

/* TCP behaviour: congestion control, initial window, SYN RTO. */
static __always_inline void set_cc(struct bpf_sock_ops *skops)
{
	char cc[16];

	if (!cfg.tcp_cc[0])
		return;
	/* volatile reads, one by one: a memcpy that casts volatile away
	 * is folded by clang into a copy of the (empty) initializer */
	for (int i = 0; i < (int)sizeof(cc); i++)
		cc[i] = cfg.tcp_cc[i];
	bpf_setsockopt(skops, SOL_TCP, TCP_CONGESTION, cc, sizeof(cc));
}

/*
 * log.connections. An active open is seen first in connect() (process
 * context: who), then established (start of the clock). A passive one is
 * seen once established, in softirq context: no process, and the cgroup of
 * a listener is not known to sockops (cgroup id 0).
 */
static __always_inline struct cgf_conn *conn_begin(struct bpf_sock_ops *skops, bool task)
{
	struct bpf_sock *sk = skops->sk;
	struct cgf_conn *c;

	if (!sk)
		return NULL;
	c = bpf_sk_storage_get(&cgf_conn, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (c && task) {
		c->cgroup_id = bpf_get_current_cgroup_id();
		c->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(c->comm, sizeof(c->comm));
	}
	return c;
}

static __always_inline void conn_event(struct bpf_sock_ops *skops, __u8 type, bool active)
{
	struct cgf_conn *c = conn_begin(skops, false);
	struct cgf_event *e;
	__u64 now = bpf_ktime_get_boot_ns();

	if (!c)
		return;
	if (type == CGF_EV_CONN_OPEN) {
		c->start_ns = now;
		/* from now on, tell us about state changes (the close) */
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
	} else if (!c->start_ns) {
		return;		/* closed before it was established */
	}
	e = bpf_ringbuf_reserve(&cgf_events, sizeof(*e), 0);
	if (!e) {
		pcount(CGF_PC_EV_DROPPED);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = now;
	e->type = type;
	e->hook = CGF_H_SOCKOPS;
	e->rule = CGF_RULE_DEFAULT;
	struct bpf_sock *sk = skops->sk;

	if (sk) {	/* allowed through a name: which one */
		struct cgf_state *st = bpf_sk_storage_get(&cgf_state, sk, 0, 0);

		if (st && st->name) {
			e->name = st->name;
			e->rule = st->rule;
		}
	}
	e->proto = IPPROTO_TCP;
	e->cgroup_id = c->cgroup_id;
	e->pid = c->pid;
	__builtin_memcpy(e->comm, c->comm, sizeof(e->comm));
	e->active = type == CGF_EV_CONN_OPEN ? active : c->pid != 0;
	if (skops->family == AF_INET6) {
		e->family = 6;
		((__u32 *)e->saddr)[0] = skops->local_ip6[0];
		((__u32 *)e->saddr)[1] = skops->local_ip6[1];
		((__u32 *)e->saddr)[2] = skops->local_ip6[2];
		((__u32 *)e->saddr)[3] = skops->local_ip6[3];
		((__u32 *)e->daddr)[0] = skops->remote_ip6[0];
		((__u32 *)e->daddr)[1] = skops->remote_ip6[1];
		((__u32 *)e->daddr)[2] = skops->remote_ip6[2];
		((__u32 *)e->daddr)[3] = skops->remote_ip6[3];
	} else {
		e->family = 4;
		((__u32 *)e->saddr)[0] = skops->local_ip4;
		((__u32 *)e->daddr)[0] = skops->remote_ip4;
	}
	e->sport = (__u16)skops->local_port;
	{	/* network byte order, in the upper 16 bits (older kernels: the lower) */
		__u32 rp = skops->remote_port;

		e->dport = bpf_ntohs((__u16)(rp >> 16 ? rp >> 16 : rp));
	}
	if (type == CGF_EV_CONN_CLOSE) {
		e->duration_ns = now - c->start_ns;
		e->bytes_sent = skops->bytes_acked;
		e->bytes_received = skops->bytes_received;
		e->retrans = skops->total_retrans;
		e->srtt_us = skops->srtt_us >> 3;
	}
	pcount(CGF_PC_EV_SENT);
	bpf_ringbuf_submit(e, 0);
}

SEC("sockops")
int cgf_sockops(struct bpf_sock_ops *skops)
{
	GATE(skops, sockops);
	int iw = cfg.tcp_iw;

	switch (skops->op) {
	case BPF_SOCK_OPS_TIMEOUT_INIT:	/* reply: the SYN RTO in jiffies, -1 default */
		skops->reply = cfg.tcp_syn_rto_jiffies ? cfg.tcp_syn_rto_jiffies : -1;
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:	/* active open, before the SYN */
		set_cc(skops);
		if (cfg.log_conns)
			conn_begin(skops, true);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		set_cc(skops);
		if (iw)
			bpf_setsockopt(skops, SOL_TCP, TCP_BPF_IW, &iw, sizeof(iw));
		if (cfg.log_conns)
			conn_event(skops, CGF_EV_CONN_OPEN, false);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:	/* before any data is sent */
		if (iw)
			bpf_setsockopt(skops, SOL_TCP, TCP_BPF_IW, &iw, sizeof(iw));
		if (cfg.log_conns)
			conn_event(skops, CGF_EV_CONN_OPEN, true);
		break;
	case BPF_SOCK_OPS_STATE_CB:	/* args[1]: the new state */
		if (cfg.log_conns && skops->args[1] == BPF_TCP_CLOSE)
			conn_event(skops, CGF_EV_CONN_CLOSE, false);
		break;
	}
	return 1;
}

#endif
