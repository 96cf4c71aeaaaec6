// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence: per-cgroup network policy.
 *
 * One object holds every hook of a policy; user space loads one copy per
 * policy, fills its maps from the compiled policy and attaches the programs
 * with links (multi-attach), so the kernel runs every policy on the path from
 * a process's cgroup to the root and any of them can deny.
 *
 * Thin entry points (cgf_<hook>) call shared inline code that returns
 * CGF_ALLOW or CGF_DENY; only the entry point turns that into the hook's
 * return value, and only there does audit mode turn a deny into an allow.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "cgfence/abi.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_FRAGMENT 44
#define IPPROTO_ICMPV6	58
#define AF_INET		2
#define AF_INET6	10
#define PAGE_SIZE	4096
#define SOL_TCP		6
#define TCP_CONGESTION	13
#define IP_OFFSET_MASK	0x1fff
#define IP6_OFFSET_MASK	0xfff8

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load (abi.h: struct cgf_config). */
const volatile struct cgf_config cfg = {};

#define ADDR_TRIE(name, keytype)					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);			\
		__type(key, keytype);					\
		__type(value, struct cgf_addr_val);			\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__uint(max_entries, 1);		/* sized by user space */ \
	} name SEC(".maps")

ADDR_TRIE(cgf_egress4, struct cgf_key4);
ADDR_TRIE(cgf_egress6, struct cgf_key6);
ADDR_TRIE(cgf_ingress4, struct cgf_key4);
ADDR_TRIE(cgf_ingress6, struct cgf_key6);
ADDR_TRIE(cgf_local4, struct cgf_key4);	/* bind: local addresses */
ADDR_TRIE(cgf_local6, struct cgf_key6);
ADDR_TRIE(cgf_redir4, struct cgf_key4);	/* redirect: which entry applies */
ADDR_TRIE(cgf_redir6, struct cgf_key6);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_redir_entry);
	__uint(max_entries, 1);
} cgf_redirects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, CGF_REDIR_ENTRIES_MAX);
} cgf_rr SEC(".maps");			/* round-robin positions */

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgf_revnat);
} cgf_revnat SEC(".maps");		/* pinned, kept across re-applies */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_BACKEND_HITS);
} cgf_backend_hits SEC(".maps");	/* connections per (entry, backend) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_class);
	__uint(max_entries, 1);
} cgf_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cgf_port_key);
	__type(value, struct cgf_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} cgf_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cgf_sockopt_key);
	__type(value, __u8);
	__uint(max_entries, 1);
} cgf_sockopt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct cgf_dev_key);
	__type(value, struct cgf_dev_val);
	__uint(max_entries, 1);
} cgf_devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_sysctl_rule);
	__uint(max_entries, 1);
} cgf_sysctl_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_STATS_ENTRIES);
} cgf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_meta);
	__uint(max_entries, CGF_SLOTS);
} cgf_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} cgf_active SEC(".maps");

/* visibility (abi.h: Events, accounting); all pinned and kept across versions
 * except the per-rule maps, whose ids change with the policy */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CGF_EVENTS_RING);
} cgf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CGF_PC_MAX);
} cgf_pstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, __u64);
	__type(value, struct cgf_acct);
	__uint(max_entries, CGF_ACCT_MAX);
} cgf_acct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct cgf_rl);
	__uint(max_entries, CGF_ACCT_MAX);
} cgf_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);		/* sized at load: rules + default + rate limit */
} cgf_ev_rl SEC(".maps");		/* per rule: GCRA time of the next event */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);		/* sized at load, as cgf_ev_rl */
} cgf_rule_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_rule_info);
	__uint(max_entries, 1);		/* sized at load; user space only */
} cgf_rule_info SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, CGF_CGROUPS_MAX);
} cgf_cgroups SEC(".maps");		/* user space: cgroup id -> bit per slot */

/* one prog array per hook: a prog array holds programs of one type */
#define SLOTS(hook)							\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);			\
		__uint(key_size, sizeof(__u32));			\
		__uint(value_size, sizeof(__u32));			\
		__uint(max_entries, CGF_SLOTS);				\
	} cgf_slot_##hook SEC(".maps")
#define X(E, n, a, f, by) SLOTS(n);
CGF_HOOKS(X)
#undef X

/*
 * First thing in every program: am I the deciding version? If not, the
 * active slot's program of this hook decides; with none (CGF_SLOT_OFF, or a
 * version without this hook) the hook allows, as if it were not attached.
 */
#define GATE(ctx, hook)							\
	do {								\
		__u32 zero_ = 0, *act_ = bpf_map_lookup_elem(&cgf_active, &zero_); \
		if (!act_ || *act_ != cfg.slot) {			\
			if (act_)					\
				bpf_tail_call(ctx, &cgf_slot_##hook, *act_); \
			return 1;					\
		}							\
	} while (0)

static __always_inline __u8 proto_class(__u32 ipproto)
{
	switch (ipproto) {
	case IPPROTO_TCP:
		return CGF_P_TCP;
	case IPPROTO_UDP:
		return CGF_P_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return CGF_P_ICMP;
	default:
		return CGF_P_OTHER;
	}
}

/* Ports of a class with more segments than a cgf_class holds; the verdict,
 * and the deciding rule in the upper 32 bits. */
static __noinline __u64 port_trie(__u32 cls, __u8 proto, __u16 port)
{
	struct cgf_port_key pk = {
		.prefixlen = CGF_PORT_KEY_FULL,
		.proto = proto,
	};
	struct cgf_verdict *v;

	pk.cls[0] = cls >> 24;
	pk.cls[1] = cls >> 16;
	pk.cls[2] = cls >> 8;
	pk.cls[3] = cls;
	pk.port[0] = port >> 8;
	pk.port[1] = port;
	v = bpf_map_lookup_elem(&cgf_ports, &pk);
	return v ? (__u64)v->rule << 32 | v->verdict : CGF_DENY;
}

/* Second stage: only for addresses whose answer depends on proto/port.
 * Returns the verdict; *rule gets the deciding rule. */
static __always_inline int by_class(__u32 id, __u32 ipproto, __u16 port, __u32 *rule)
{
	const struct cgf_class *c = bpf_map_lookup_elem(&cgf_classes, &id);
	const struct cgf_seg *seg;
	__u32 t, i = 0;

	if (!c)
		return CGF_DENY;
	if (ipproto == IPPROTO_TCP) {
		t = 0;
	} else if (ipproto == IPPROTO_UDP) {
		t = 1;
	} else {
		const struct cgf_verdict *v =
			proto_class(ipproto) == CGF_P_ICMP ? &c->icmp : &c->other;

		*rule = v->rule;
		return v->verdict;
	}
	if (c->nseg[t] == CGF_SEGS_IN_TRIE) {
		__u64 r = port_trie(id, t ? CGF_P_UDP : CGF_P_TCP, port);

		*rule = r >> 32;
		return (__u8)r;
	}
	/* the last segment starting at or below port: fixed steps, no bounds */
	seg = c->seg[t];
#pragma unroll
	for (int step = CGF_CLASS_SEGS / 2; step; step /= 2)
		if (seg[(i + step) & (CGF_CLASS_SEGS - 1)].start <= port)
			i += step;
	*rule = seg[i & (CGF_CLASS_SEGS - 1)].rule;
	return seg[i & (CGF_CLASS_SEGS - 1)].verdict;
}

/*
 * The verdict for an address-trie value. proto and port are expressions,
 * evaluated only when the answer depends on them (a helper call would keep
 * the compiler from moving their loads after the lookup).
 */
#define VERDICT_RULE(av, proto, port, rulep)				\
	(!(av) ? CGF_DENY /* the compiler always inserts /0: fail closed */ \
	       : !((av)->flags & CGF_AV_CLASS) ? (*(rulep) = (av)->ref, (av)->verdict) \
					       : by_class((av)->ref, (proto), (port), (rulep)))
#define VERDICT(av, proto, port) ({ __u32 _rule; VERDICT_RULE(av, proto, port, &_rule); })
/* proto: the IP protocol number (IPPROTO_*) */

/* ip: network byte order */
static __always_inline const struct cgf_addr_val *lookup4(__u8 dir, __u32 ip)
{
	struct cgf_key4 k = { .prefixlen = 32 };
	void *trie = dir == CGF_DIR_EGRESS    ? (void *)&cgf_egress4
		   : dir == CGF_DIR_INGRESS ? (void *)&cgf_ingress4
		   : dir == CGF_DIR_BIND    ? (void *)&cgf_local4
					    : (void *)&cgf_redir4;

	__builtin_memcpy(k.addr, &ip, 4);
	return bpf_map_lookup_elem(trie, &k);
}

/* IPv4-mapped addresses (::ffff:a.b.c.d) are judged as IPv4. */
static __always_inline const struct cgf_addr_val *lookup6(__u8 dir, const __u32 ip[4])
{
	struct cgf_key6 k = { .prefixlen = 128 };
	void *trie = dir == CGF_DIR_EGRESS    ? (void *)&cgf_egress6
		   : dir == CGF_DIR_INGRESS ? (void *)&cgf_ingress6
		   : dir == CGF_DIR_BIND    ? (void *)&cgf_local6
					    : (void *)&cgf_redir6;

	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff))
		return lookup4(dir, ip[3]);
	__builtin_memcpy(k.addr, ip, 16);
	return bpf_map_lookup_elem(trie, &k);
}

static __always_inline void count(enum cgf_hook hook, enum cgf_counter c)
{
	__u32 idx = hook * CGF_C_MAX + c;
	__u64 *val = bpf_map_lookup_elem(&cgf_stats, &idx);

	if (val)
		*val += 1;
}

static __always_inline void pcount(enum cgf_pcounter c)
{
	__u32 idx = c;
	__u64 *val = bpf_map_lookup_elem(&cgf_pstats, &idx);

	if (val)
		*val += 1;
}

/* index of a rule id in the per-rule maps: rules, then default, then rate limit */
static __always_inline __u32 rule_idx(__u32 rule)
{
	return rule == CGF_RULE_DEFAULT ? cfg.n_rules : rule == CGF_RULE_RATE ? cfg.n_rules + 1
									  : rule;
}

/* accounting: which rule decided */
static __always_inline void hit(__u32 rule)
{
	__u32 idx = rule_idx(rule);
	__u64 *val;

	if (!cfg.accounting)
		return;
	val = bpf_map_lookup_elem(&cgf_rule_hits, &idx);
	if (val)
		*val += 1;
}

static __always_inline struct cgf_acct *acct_get(__u64 id)
{
	struct cgf_acct *a = bpf_map_lookup_elem(&cgf_acct, &id);
	struct cgf_acct zero = {};

	if (a)
		return a;
	bpf_map_update_elem(&cgf_acct, &id, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&cgf_acct, &id);
}

/* accounting: a call or packet of this cgroup denied (or, in audit mode, would be) */
static __always_inline void acct_denied(__u64 cg)
{
	struct cgf_acct *a;

	if (!cfg.accounting)
		return;
	a = acct_get(cg);
	if (a)
		a->denied++;
}

/* a new connection in this minute (per CPU: no races) */
static __always_inline void acct_conn(struct cgf_acct *a)
{
	__u32 m = bpf_ktime_get_boot_ns() / 60000000000ull, i = m & 1;

	if (a->minute_of[i] != m) {
		a->minute_of[i] = m;
		a->minute[i] = 0;
	}
	a->minute[i]++;
}

/* GCRA: may one more go now? *tat is the theoretical arrival time */
static __always_inline bool gcra(__u64 *tat, __u64 now, __u64 interval, __u64 burst)
{
	__u64 t = *tat < now ? now : *tat;

	if (t - now > burst)
		return false;
	*tat = t + interval;
	return true;
}

/*
 * A denial event, or NULL: denials are not logged, the rule is over its
 * rate (counted as suppressed) or the ring buffer is full (counted as
 * dropped). The caller fills in what its hook knows and sends it.
 */
static __always_inline struct cgf_event *ev_denial(__u8 hook, __u32 rule)
{
	struct cgf_event *e;
	__u32 idx = rule_idx(rule);
	__u64 *tat;

	if (!cfg.log_denials)
		return NULL;
	tat = bpf_map_lookup_elem(&cgf_ev_rl, &idx);
	if (cfg.ev_interval_ns && tat && !gcra(tat, bpf_ktime_get_boot_ns(), cfg.ev_interval_ns, cfg.ev_burst_ns)) {
		pcount(CGF_PC_EV_SUPPRESSED);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&cgf_events, sizeof(*e), 0);
	if (!e) {
		pcount(CGF_PC_EV_DROPPED);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_boot_ns();
	e->type = cfg.audit ? CGF_EV_AUDIT : CGF_EV_DENY;
	e->hook = hook;
	e->rule = rule;
	return e;
}

/* the process the call came from (hooks that run in its context) */
static __always_inline void ev_task(struct cgf_event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline void ev_send(struct cgf_event *e)
{
	pcount(CGF_PC_EV_SENT);
	bpf_ringbuf_submit(e, 0);
}

/* A call denied with no address to report (socket, sockopt, device, sysctl). */
static __always_inline void ev_plain(__u8 hook, __u32 rule)
{
	struct cgf_event *e = ev_denial(hook, rule);

	if (e) {
		ev_task(e);
		ev_send(e);
	}
}

/* The only place a verdict becomes a hook return value. */
static __always_inline int finish(enum cgf_hook hook, int verdict)
{
	if (verdict == CGF_ALLOW)
		return 1;
	if (cfg.audit) {
		count(hook, CGF_C_AUDIT);
		return 1;
	}
	count(hook, CGF_C_DENIED);
	return 0;
}

/* finish() for hooks whose denials carry no address (socket, sockopt, device, sysctl) */
static __always_inline int finish_ev(enum cgf_hook hook, int verdict)
{
	if (verdict != CGF_ALLOW) {
		ev_plain(hook, CGF_RULE_DEFAULT);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, verdict);
}

/*
 * Redirect: the most specific matching entry picks a backend, the socket's
 * destination is rewritten, and (socket, backend) -> original is kept for
 * recvmsg and getpeername. Runs before the egress check, which then judges
 * the rewritten destination: where the packets will go.
 */
static __always_inline const struct cgf_redir_entry *
redirect_entry(const struct cgf_addr_val *av, __u32 ipproto, __u16 port, __u32 *idx)
{
	__u32 rule = 0;

	if (VERDICT_RULE(av, ipproto, port, &rule) != CGF_ALLOW)
		return NULL;
	*idx = rule - cfg.redir_first;
	return bpf_map_lookup_elem(&cgf_redirects, idx);
}

static __always_inline __u32 pick(struct bpf_sock_addr *ctx, const struct cgf_redir_entry *e,
				  __u32 idx)
{
	__u32 n = e->n, *pos;

	if (e->select == 1 /* round-robin */) {
		pos = bpf_map_lookup_elem(&cgf_rr, &idx);
		return pos ? __sync_fetch_and_add(pos, 1) % n : 0;
	}
	if (e->select == 2 /* hash: stable per socket */)
		return (__u32)((bpf_get_socket_cookie(ctx) * 0x9E3779B97F4A7C15ull) >> 32) % n;
	return bpf_get_prandom_u32() % n;
}

static __always_inline int same_addr(const __u8 *a, const __u8 *b, __u8 v6)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && (!v6 || (x[1] == y[1] && x[2] == y[2] && x[3] == y[3]));
}

/* keep now -> was for this socket, and count the connection */
static __always_inline void remember(struct bpf_sock_addr *ctx, const __u8 *now, __u16 now_port,
				     const __u8 *was, __u16 was_port, __u8 v6, __u32 idx, __u32 b)
{
	__u32 hit = (idx & (CGF_REDIR_ENTRIES_MAX - 1)) * CGF_REDIR_BACKENDS + b;
	__u64 *cnt = bpf_map_lookup_elem(&cgf_backend_hits, &hit);
	struct cgf_revnat *rn;
	struct cgf_revnat_slot *sl = NULL;

	if (cnt)
		*cnt += 1;
	if (!ctx->sk)
		return;
	rn = bpf_sk_storage_get(&cgf_revnat, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rn)
		return;
	for (int i = 0; i < CGF_REVNAT_SLOTS; i++)	/* the same target again */
		if (rn->slot[i].used && rn->slot[i].v6 == v6 && rn->slot[i].now_port == now_port &&
		    same_addr(rn->slot[i].now, now, v6))
			sl = &rn->slot[i];
	if (!sl)
		sl = &rn->slot[rn->next++ & (CGF_REVNAT_SLOTS - 1)];
	__builtin_memcpy(sl->now, now, 16);
	__builtin_memcpy(sl->was, was, 16);
	sl->now_port = now_port;
	sl->was_port = was_port;
	sl->v6 = v6;
	sl->used = 1;
}

static __always_inline void redirect4(struct bpf_sock_addr *ctx)
{
	const struct cgf_redir_entry *e;
	const struct cgf_backend *be;
	__u8 now[16] = {}, was[16] = {};
	__u32 ip = ctx->user_ip4, idx = 0, b;
	__u16 port = (__u16)ctx->user_port;

	e = redirect_entry(lookup4(CGF_DIR_REDIRECT, ip), ctx->protocol, bpf_ntohs(port), &idx);
	if (!e || !e->n)
		return;
	b = pick(ctx, e, idx) & (CGF_REDIR_BACKENDS - 1);
	be = &e->b[b];
	if (be->v6)
		return;		/* refused when the policy was read */
	__builtin_memcpy(was, &ip, 4);
	__builtin_memcpy(now, be->addr, 4);
	__builtin_memcpy(&ip, be->addr, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = be->port;
	remember(ctx, now, be->port, was, port, 0, idx, b);
}

static __always_inline void redirect6(struct bpf_sock_addr *ctx)
{
	const struct cgf_redir_entry *e;
	const struct cgf_backend *be;
	__u32 ip[4], now[4], idx = 0, b;
	__u16 port = (__u16)ctx->user_port;

	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	e = redirect_entry(lookup6(CGF_DIR_REDIRECT, ip), ctx->protocol, bpf_ntohs(port), &idx);
	if (!e || !e->n)
		return;
	b = pick(ctx, e, idx) & (CGF_REDIR_BACKENDS - 1);
	be = &e->b[b];
	if (be->v6) {
		__builtin_memcpy(now, be->addr, 16);
	} else {		/* an IPv4 backend, as a v4-mapped address */
		now[0] = 0;
		now[1] = 0;
		now[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&now[3], be->addr, 4);
	}
	ctx->user_ip6[0] = now[0];
	ctx->user_ip6[1] = now[1];
	ctx->user_ip6[2] = now[2];
	ctx->user_ip6[3] = now[3];
	ctx->user_port = be->port;
	remember(ctx, (const __u8 *)now, be->port, (const __u8 *)ip, port, 1, idx, b);
}

/* An address call denied: the process, and the address it asked for
 * (bind: the local one, others: the destination). */
static __always_inline void ev_sock_addr(struct bpf_sock_addr *ctx, __u8 hook, __u32 rule,
					 __u8 dir, __u8 v6)
{
	struct cgf_event *e = ev_denial(hook, rule);
	__u8 *a;

	if (!e)
		return;
	ev_task(e);
	e->proto = ctx->protocol;
	e->family = v6 ? 6 : 4;
	a = dir == CGF_DIR_BIND ? e->saddr : e->daddr;
	if (v6) {
		((__u32 *)a)[0] = ctx->user_ip6[0];
		((__u32 *)a)[1] = ctx->user_ip6[1];
		((__u32 *)a)[2] = ctx->user_ip6[2];
		((__u32 *)a)[3] = ctx->user_ip6[3];
	} else {
		((__u32 *)a)[0] = ctx->user_ip4;
	}
	if (dir == CGF_DIR_BIND)
		e->sport = bpf_ntohs((__u16)ctx->user_port);
	else
		e->dport = bpf_ntohs((__u16)ctx->user_port);
	ev_send(e);
}

/* accounting: an allowed connect() of a UDP socket starts a flow */
static __always_inline int udp_flow(struct bpf_sock_addr *ctx, __u8 hook, int v)
{
	if (cfg.accounting && v == CGF_ALLOW && ctx->type == SOCK_DGRAM &&
	    (hook == CGF_H_CONNECT4 || hook == CGF_H_CONNECT6)) {
		struct cgf_acct *a = acct_get(bpf_get_current_cgroup_id());

		if (a) {
			a->udp_flows++;
			acct_conn(a);
		}
	}
	return v;
}

/* connect(): network.rate_limit (TCP: new connections per cgroup). True when refused. */
static __always_inline bool connect_limits(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct cgf_rl init = {}, *rl;
	struct cgf_acct *a;
	__u64 cg, now;
	bool ok;

	if ((hook != CGF_H_CONNECT4 && hook != CGF_H_CONNECT6) || !cfg.rl_interval_ns ||
	    ctx->type != SOCK_STREAM)
		return false;
	cg = bpf_get_current_cgroup_id();
	rl = bpf_map_lookup_elem(&cgf_rl, &cg);
	if (!rl) {
		bpf_map_update_elem(&cgf_rl, &cg, &init, BPF_NOEXIST);
		rl = bpf_map_lookup_elem(&cgf_rl, &cg);
		if (!rl)
			return false;	/* the map is full: not limited */
	}
	now = bpf_ktime_get_boot_ns();	/* no helper calls under the lock */
	bpf_spin_lock(&rl->lock);
	ok = gcra(&rl->tat, now, cfg.rl_interval_ns, cfg.rl_burst_ns);
	bpf_spin_unlock(&rl->lock);
	if (ok)
		return false;
	if (cfg.accounting && (a = acct_get(cg)))
		a->rate_limited++;
	hit(CGF_RULE_RATE);
	pcount(CGF_PC_RATE_LIMITED);
	ev_sock_addr(ctx, hook, CGF_RULE_RATE, CGF_DIR_EGRESS, hook == CGF_H_CONNECT6);
	return true;	/* finish() makes it a "would deny" in audit mode */
}

static __always_inline int sock_addr4(struct bpf_sock_addr *ctx, __u8 dir,
				      enum cgf_hook hook)
{
	const struct cgf_addr_val *av;

	__u32 rule = CGF_RULE_DEFAULT;
	int v;

	if (connect_limits(ctx, hook))
		return finish(hook, CGF_DENY);
	if (dir == CGF_DIR_EGRESS && cfg.has_redirect)
		redirect4(ctx);
	if (dir == CGF_DIR_EGRESS && !cfg.has_egress)
		return udp_flow(ctx, hook, 1);
	av = lookup4(dir, ctx->user_ip4);
	v = VERDICT_RULE(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), &rule);
	hit(rule);
	if (v != CGF_ALLOW) {
		ev_sock_addr(ctx, hook, rule, dir, 0);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, udp_flow(ctx, hook, v));
}

static __always_inline int sock_addr6(struct bpf_sock_addr *ctx, __u8 dir,
				      enum cgf_hook hook)
{
	const struct cgf_addr_val *av;
	__u32 ip[4], rule = CGF_RULE_DEFAULT;
	int v;

	if (connect_limits(ctx, hook))
		return finish(hook, CGF_DENY);
	if (dir == CGF_DIR_EGRESS && cfg.has_redirect)
		redirect6(ctx);
	if (dir == CGF_DIR_EGRESS && !cfg.has_egress)
		return udp_flow(ctx, hook, 1);
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	av = lookup6(dir, ip);
	v = VERDICT_RULE(av, ctx->protocol, bpf_ntohs((__u16)ctx->user_port), &rule);
	hit(rule);
	if (v != CGF_ALLOW) {
		ev_sock_addr(ctx, hook, rule, dir, 1);
		acct_denied(bpf_get_current_cgroup_id());
	}
	return finish(hook, udp_flow(ctx, hook, v));
}

/* The reverse translation: a reply's source, or the peer, back to what the
 * program asked for. These hooks may not deny. */
static __always_inline void unredirect(struct bpf_sock_addr *ctx, __u8 v6)
{
	struct cgf_revnat *rn;
	__u32 ip[4] = {};
	__u16 port = (__u16)ctx->user_port;

	if (!ctx->sk)
		return;
	rn = bpf_sk_storage_get(&cgf_revnat, ctx->sk, 0, 0);
	if (!rn)
		return;
	if (!v6) {
		ip[0] = ctx->user_ip4;
	} else {
		ip[0] = ctx->user_ip6[0];
		ip[1] = ctx->user_ip6[1];
		ip[2] = ctx->user_ip6[2];
		ip[3] = ctx->user_ip6[3];
	}
	for (int i = 0; i < CGF_REVNAT_SLOTS; i++) {
		const struct cgf_revnat_slot *sl = &rn->slot[i];
		__u32 was[4];

		if (!sl->used || sl->v6 != v6 || sl->now_port != port ||
		    !same_addr(sl->now, (const __u8 *)ip, v6))
			continue;
		__builtin_memcpy(was, sl->was, 16);
		if (!v6) {
			ctx->user_ip4 = was[0];
		} else {
			ctx->user_ip6[0] = was[0];
			ctx->user_ip6[1] = was[1];
			ctx->user_ip6[2] = was[2];
			ctx->user_ip6[3] = was[3];
		}
		ctx->user_port = sl->was_port;
		return;
	}
}

SEC("cgroup/recvmsg4")
int cgf_recvmsg4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, recvmsg4);
	unredirect(ctx, 0);
	return 1;
}

SEC("cgroup/recvmsg6")
int cgf_recvmsg6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, recvmsg6);
	unredirect(ctx, 1);
	return 1;
}

SEC("cgroup/getpeername4")
int cgf_getpeername4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, getpeername4);
	unredirect(ctx, 0);
	return 1;
}

SEC("cgroup/getpeername6")
int cgf_getpeername6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, getpeername6);
	unredirect(ctx, 1);
	return 1;
}

SEC("cgroup/connect4")
int cgf_connect4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, connect4);
	return sock_addr4(ctx, CGF_DIR_EGRESS, CGF_H_CONNECT4);
}

SEC("cgroup/connect6")
int cgf_connect6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, connect6);
	return sock_addr6(ctx, CGF_DIR_EGRESS, CGF_H_CONNECT6);
}

SEC("cgroup/sendmsg4")
int cgf_sendmsg4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, sendmsg4);
	return sock_addr4(ctx, CGF_DIR_EGRESS, CGF_H_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int cgf_sendmsg6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, sendmsg6);
	return sock_addr6(ctx, CGF_DIR_EGRESS, CGF_H_SENDMSG6);
}

/* bind(): the local address and port asked for (0.0.0.0 / :: for any) */
SEC("cgroup/bind4")
int cgf_bind4(struct bpf_sock_addr *ctx)
{
	GATE(ctx, bind4);
	return sock_addr4(ctx, CGF_DIR_BIND, CGF_H_BIND4);
}

SEC("cgroup/bind6")
int cgf_bind6(struct bpf_sock_addr *ctx)
{
	GATE(ctx, bind6);
	return sock_addr6(ctx, CGF_DIR_BIND, CGF_H_BIND6);
}

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
		if (p->ipproto == IPPROTO_TCP && !read_hdr(skb, p->l4off + 13, &flags, 1) &&
		    (flags & 0x02)) {		/* SYN: we connect; SYN-ACK: we accept */
			if (flags & 0x10)
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

/*
 * socket(): only AF_INET and AF_INET6 sockets reach this hook. The family,
 * type and protocol checks come from .rodata, set before load.
 */
static __always_inline int sock_verdict(__u32 family, __u32 type, __u32 protocol)
{
	__u32 bit = protocol == 262 /* IPPROTO_MPTCP */ ? 256 : protocol, word;

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
	return finish_ev(CGF_H_SOCK_CREATE, sock_verdict(sk->family, sk->type, sk->protocol));
}

/* Socket options: a key in cgf_sockopt denies (op, level, optname). */
static __always_inline int sockopt(struct bpf_sockopt *ctx, __u32 op, enum cgf_hook hook)
{
	struct cgf_sockopt_key k = { .op = op, .level = ctx->level, .optname = ctx->optname };

	if (bpf_map_lookup_elem(&cgf_sockopt, &k))
		return finish_ev(hook, CGF_DENY);
	/* optval past a page: let the kernel use the caller's buffer untouched */
	if (ctx->optlen > PAGE_SIZE)
		ctx->optlen = 0;
	return 1;
}

SEC("cgroup/setsockopt")
int cgf_setsockopt(struct bpf_sockopt *ctx)
{
	GATE(ctx, setsockopt);
	return sockopt(ctx, CGF_SOCKOPT_SET, CGF_H_SETSOCKOPT);
}

SEC("cgroup/getsockopt")
int cgf_getsockopt(struct bpf_sockopt *ctx)
{
	GATE(ctx, getsockopt);
	return sockopt(ctx, CGF_SOCKOPT_GET, CGF_H_GETSOCKOPT);
}

/*
 * Devices: for each access bit asked for (m, r, w) the most specific pattern
 * that says anything about it decides: exact major:minor, then major:*, then
 * the type alone; an explicit type before "a". At most six lookups.
 */
static __always_inline void dev_level(__u32 type, __u32 major, __u32 minor, __u8 acc,
				      __u8 *decided, __u8 *allowed)
{
	struct cgf_dev_key k = { .type = type, .major = major, .minor = minor };
	struct cgf_dev_val *v = bpf_map_lookup_elem(&cgf_devices, &k);
	__u8 d;

	if (!v)
		return;
	d = (v->allow | v->deny) & acc & ~*decided;
	*allowed |= v->allow & ~v->deny & d;
	*decided |= d;
}

SEC("cgroup/dev")
int cgf_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	GATE(ctx, dev);
	__u32 type = ctx->access_type & 0xffff, major = ctx->major, minor = ctx->minor;
	__u8 acc = ctx->access_type >> 16, decided = 0, allowed = 0;

	dev_level(type, major, minor, acc, &decided, &allowed);
	dev_level(0, major, minor, acc, &decided, &allowed);
	dev_level(type, major, CGF_DEV_ANY, acc, &decided, &allowed);
	dev_level(0, major, CGF_DEV_ANY, acc, &decided, &allowed);
	dev_level(type, CGF_DEV_ANY, CGF_DEV_ANY, acc, &decided, &allowed);
	dev_level(0, CGF_DEV_ANY, CGF_DEV_ANY, acc, &decided, &allowed);
	if (cfg.dev_default == CGF_ALLOW)
		allowed |= acc & ~decided;
	return finish_ev(CGF_H_DEVICE, (allowed & acc) == acc ? CGF_ALLOW : CGF_DENY);
}

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

/*
 * sysctl: the full name ("net/ipv4/ip_forward") against the patterns, most
 * specific first; the first match decides. The matcher is the iterative
 * one with a single backtrack point for the last '*', one step per
 * bpf_loop() iteration. sysctl access is rare; this is not a hot path.
 */
struct glob {
	char name[CGF_SYSCTL_NAME_MAX];
	char pat[CGF_SYSCTL_PAT_MAX];
	__u32 nlen, plen, n, p, mark;
	__s32 star;
	__s32 result;		/* -1 running, 0 no match, 1 match */
};

static long glob_step(__u32 i, void *data)
{
	struct glob *g = data;
	__u32 n = g->n, p = g->p;
	char pc = p < g->plen ? g->pat[p & (CGF_SYSCTL_PAT_MAX - 1)] : 0;

	if (n < g->nlen) {
		if (pc && (pc == '?' || pc == g->name[n & (CGF_SYSCTL_NAME_MAX - 1)])) {
			g->n = n + 1;
			g->p = p + 1;
		} else if (pc == '*') {
			g->star = p;
			g->mark = n;
			g->p = p + 1;
		} else if (g->star >= 0) {
			g->p = g->star + 1;
			g->n = ++g->mark;
		} else {
			g->result = 0;
			return 1;
		}
		return 0;
	}
	if (pc == '*') {	/* the name is used up: only stars may remain */
		g->p = p + 1;
		return 0;
	}
	g->result = p == g->plen;
	return 1;
}

struct sysctl_scan {
	struct glob g;
	__u32 verdict;
};

/* one pattern per iteration; stops at the first that matches */
static long rule_step(__u32 i, void *data)
{
	struct sysctl_scan *sc = data;
	struct cgf_sysctl_rule *r;

	if (i >= cfg.sysctl_n)
		return 1;
	r = bpf_map_lookup_elem(&cgf_sysctl_rules, &i);
	if (!r)
		return 1;
	__builtin_memcpy(sc->g.pat, r->pat, sizeof(sc->g.pat));
	sc->g.plen = r->len;
	sc->g.n = sc->g.p = sc->g.mark = r->zero;
	sc->g.star = (__s32)r->zero - 1;
	sc->g.result = -1;
	bpf_loop(CGF_SYSCTL_NAME_MAX * CGF_SYSCTL_PAT_MAX, glob_step, &sc->g, 0);
	if (sc->g.result == 1) {
		sc->verdict = r->verdict;
		return 1;
	}
	return 0;
}

SEC("cgroup/sysctl")
int cgf_sysctl(struct bpf_sysctl *ctx)
{
	GATE(ctx, sysctl);
	struct sysctl_scan sc = { .verdict = cfg.sysctl_default };
	long len = bpf_sysctl_get_name(ctx, sc.g.name, sizeof(sc.g.name), 0);

	if (len >= 0) {		/* a name too long for the buffer gets the default */
		sc.g.nlen = len;
		bpf_loop(CGF_SYSCTL_RULES_MAX, rule_step, &sc, 0);
	}
	return finish_ev(CGF_H_SYSCTL, sc.verdict == CGF_SYSCTL_DENY ||
					    (sc.verdict == CGF_SYSCTL_READ_ONLY && ctx->write)
					    ? CGF_DENY : CGF_ALLOW);
}
