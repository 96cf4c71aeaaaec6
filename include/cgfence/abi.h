/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ABI shared by the BPF programs and user space: map keys, values and
 * counter indexes. Only fixed-width __u types, explicit padding, and a size
 * assertion next to every struct.
 *
 * How a verdict is found (see docs/design.md):
 *   1. egress4/egress6/ingress4/ingress6/local4/local6: one LPM-trie lookup
 *      keyed by the remote address (the local one for bind). Its value is either final (verdict + deciding rule) or,
 *      when the answer for that address depends on protocol or port, a class
 *      id.
 *   2. classes: only for such addresses, one array lookup (inlined by the
 *      JIT) by class id. For TCP and UDP the entry holds the port axis cut
 *      into at most CGF_CLASS_SEGS segments, searched by a binary search of
 *      fixed steps; ICMP and other protocols have one verdict each. A class with
 *      more segments than that keeps them in the ports LPM trie instead,
 *      keyed by (class, protocol, port) with ranges split into prefixes.
 *   The compiler resolved "most specific rule wins" and except: no program
 *   ever loops over rules.
 */
#ifndef CGFENCE_ABI_H
#define CGFENCE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h>		/* struct bpf_spin_lock */
#include <linux/types.h>
#endif

#define CGF_DENY  0
#define CGF_ALLOW 1

/* Directions: a policy's egress and ingress sections. */
enum cgf_dir {
	CGF_DIR_EGRESS = 0,
	CGF_DIR_INGRESS = 1,
	CGF_DIR_BIND = 2,	/* network.bind: the local address and port */
	CGF_DIR_REDIRECT = 3,	/* network.redirect: which entry rewrites a destination */
	CGF_DIR_MAX,
};

/* Protocol classes a rule can name; everything else is OTHER. */
enum cgf_proto {
	CGF_P_OTHER = 0,
	CGF_P_TCP = 1,
	CGF_P_UDP = 2,
	CGF_P_ICMP = 3, /* ICMP and ICMPv6 */
	CGF_P_MAX,
};

/* Rule id when no rule matched and the section's default decided. */
/* network.redirect's backend selection */
enum cgf_select { CGF_SELECT_RANDOM = 0, CGF_SELECT_ROUND_ROBIN = 1, CGF_SELECT_HASH = 2 };

/* IPPROTO_MPTCP is 262: protocol bitmaps give it bit 256 */
#define CGF_IPPROTO_MPTCP   262
#define CGF_PROTO_MPTCP_BIT 256

/*
 * Rule ids, as events and the per-rule maps (rule_info, rule_hits) number
 * them: the network rules 0 .. n_rules - 1, then "default" and "rate_limit",
 * then the devices rules, the sysctl patterns and the sockopt rules from
 * their cfg.*_rule_first on. Events carry CGF_RULE_DEFAULT for a section's
 * default, and the hooks with no rules of their own (sock_create) too.
 */
#define CGF_RULE_DEFAULT 0xffffffffu
#define CGF_RULE_RATE    0xfffffffeu	/* events: refused by network.rate_limit */
#define CGF_RULE_DNS     0xfffffffdu	/* events: refused to guard network.dns's resolvers */

struct cgf_key4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct cgf_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* CGF_AV_CLASS: ref is a class id, look up the classes array.
 * CGF_AV_NAME (egress tries only, full-length keys): an address an answer
 * to an allowed name taught, put there by the ingress program (Names: the
 * version's copy). ref and verdict hold when it expires, in jiffies (bits
 * 0-31 and 32-39); slot is its pattern's index in cgf_name_slots. */
#define CGF_AV_CLASS 0x1
#define CGF_AV_NAME 0x2

struct cgf_addr_val {
	__u32 ref;     /* rule id (final) or class id (CGF_AV_CLASS) */
	__u8 verdict;  /* CGF_ALLOW / CGF_DENY when final */
	__u8 flags;
	__u16 slot;    /* CGF_AV_NAME: the pattern's index in cgf_name_slots */
};

/*
 * The IPv4 tries' value: cgf_addr_val and, on a class's node, the first
 * CGF_FAST_RANGES port ranges its class allows on TCP or UDP (proto: bit
 * 0 TCP, bit 1 UDP; 0 an unused range; lo .. lo + span). An allowed call
 * whose port is in one is decided by the trie's node alone, without the
 * class (bpf/sock_addr.bpf.h: plain_allowed); any other call reads the
 * class, which holds every range. So the ranges only ever name ports the
 * class allows. 28 B: a node (24 B), its key (4 B) and this fill the trie
 * allocator's 64-B unit with its 8-B header, as the 8-B value did: no more
 * memory per prefix. The IPv6 tries keep the 8-B value (a 16-B key).
 */
#define CGF_FAST_RANGES 4
#define CGF_FAST_TCP 0x1
#define CGF_FAST_UDP 0x2

struct cgf_fast {
	__u8 proto[CGF_FAST_RANGES];
	__u16 lo[CGF_FAST_RANGES];
	__u16 span[CGF_FAST_RANGES];
};

struct cgf_addr_val4 {
	struct cgf_addr_val v;
	struct cgf_fast fast;
};

#define CGF_CLASS_SEGS 32		/* power of two */
#define CGF_CLASS_STEPS 5		/* log2(CGF_CLASS_SEGS) */

struct cgf_verdict {
	__u32 rule;
	__u8 verdict;
	__u8 pad[3];
};

#define CGF_START_IN_TRIE 0xffff	/* cgf_class.start[t][0]: the ports trie decides */

/*
 * Port-dependent verdicts of one class, [0] for TCP, [1] for UDP: segment i
 * covers the ports from start[t][i] up to start[t][i + 1], sorted; the
 * first starts at 0, so the search never reads start[t][0], which says
 * where the axis is: 0, here, or CGF_START_IN_TRIE, in the ports trie (for
 * more than CGF_CLASS_SEGS segments). Entries past nseg repeat the last
 * segment with start 65535, so a search of CGF_CLASS_STEPS fixed steps
 * needs no bounds. Laid out by cache line (the map is mmapable, so each
 * class starts on a line): a protocol's starts fill one line and both
 * protocols' verdicts the next, so an allowed call reads two lines of its
 * class; the rule ids (for accounting and events) come after.
 */
struct cgf_class {
	__u16 start[2][CGF_CLASS_SEGS];
	__u8 verdict[2][CGF_CLASS_SEGS];
	__u32 rule[2][CGF_CLASS_SEGS];
	struct cgf_verdict other;	/* protocols without ports */
	struct cgf_verdict icmp;
	__u8 nseg[2];			/* TCP, UDP: segments held here (0: in the ports trie) */
	__u8 pad[46];
};

struct cgf_port_key {
	__u32 prefixlen; /* 32 (class) + 8 (proto) + port bits */
	__u8 cls[4];     /* big endian */
	__u8 proto;      /* enum cgf_proto */
	__u8 port[2];    /* big endian */
	__u8 pad;
};

#define CGF_PORT_KEY_FULL (32 + 8 + 16)

/* sockopt map: a present key denies that option. */
enum cgf_sockopt_op {
	CGF_SOCKOPT_SET = 0,
	CGF_SOCKOPT_GET = 1,
};

struct cgf_sockopt_key {
	__u32 op;	/* enum cgf_sockopt_op */
	__s32 level;
	__s32 optname;
};

/* sockets section: families a socket may have (bit 0 inet, bit 1 inet6) */
#define CGF_FAM_INET  0x1
#define CGF_FAM_INET6 0x2

/* devices: one entry per (type, major, minor) pattern a rule names;
 * CGF_DEV_ANY stands for "*" (and type 0 for any type). Access bits are the
 * kernel's: m = 1 (BPF_DEVCG_ACC_MKNOD), r = 2, w = 4. */
#define CGF_DEV_ANY 0xffffffffu

struct cgf_dev_key {
	__u32 type;	/* 0 any, 1 block, 2 char (BPF_DEVCG_DEV_*) */
	__u32 major;
	__u32 minor;
};

struct cgf_dev_val {
	__u8 allow;	/* access bits allowed at this pattern */
	__u8 deny;	/* access bits denied (wins over allow here) */
	__u8 pad[2];
	__u32 rule;	/* a deciding rule, for later events */
};

/* sysctl: patterns in the order they are tried (most specific first); the
 * first that matches the full name ("net/ipv4/ip_forward") decides. */
#define CGF_SYSCTL_PAT_MAX 64		/* bytes of a pattern, with its NUL */
#define CGF_SYSCTL_NAME_MAX 128		/* longer names get the default */
#define CGF_SYSCTL_RULES_MAX 64

enum cgf_sysctl_verdict {
	CGF_SYSCTL_DENY = 0,
	CGF_SYSCTL_ALLOW = 1,
	CGF_SYSCTL_READ_ONLY = 2,
};

struct cgf_sysctl_rule {
	char pat[CGF_SYSCTL_PAT_MAX];	/* '*' matches any run, '/' too; '?' one char */
	__u32 len;
	__u32 verdict;			/* enum cgf_sysctl_verdict */
	__u32 zero;			/* always 0; the matcher starts from it so the
					 * verifier sees an unknown value, not a constant
					 * it would have to follow step by step */
	__u32 pad;
};

/* network.redirect: the entry the redirect tries chose, its backends, and the
 * reverse translation for replies (recvmsg) and getpeername. */
#define CGF_REDIR_ENTRIES_MAX 64
#define CGF_REDIR_BACKENDS 64		/* per entry; power of two */

struct cgf_backend {
	__u8 addr[16];		/* IPv4 in the first 4 bytes */
	__u16 port;		/* network byte order */
	__u8 v6;
	__u8 pad;
};

struct cgf_redir_entry {
	__u32 n;		/* backends in use */
	__u32 select;		/* enum cgf_select (policy.h) */
	struct cgf_backend b[CGF_REDIR_BACKENDS];
};

/* Per socket (socket-local storage): the address it talks to now -> the one
 * the program asked for, as the recvmsg/getpeername hook of that family sees
 * them. A UDP socket may talk to several redirected destinations: a few
 * slots, reused round the ring. */
#define CGF_REVNAT_SLOTS 4
struct cgf_revnat_slot {
	__u8 now[16];		/* IPv4 in the first 4 bytes */
	__u8 was[16];
	__u16 now_port;		/* network byte order */
	__u16 was_port;
	__u8 v6;
	__u8 used;
	__u8 pad[2];
};

struct cgf_revnat {
	struct cgf_revnat_slot slot[CGF_REVNAT_SLOTS];
	__u32 next;
	__u32 pad;
};
#define CGF_BACKEND_HITS (CGF_REDIR_ENTRIES_MAX * CGF_REDIR_BACKENDS)

/* Limits of one policy (documented in docs/design.md, refused by check). */
#define CGF_TRIE_MAX	  4000000u	/* entries per address trie (section, family) */
#define CGF_CLASSES_MAX	  1000000u	/* port-dependent classes */
#define CGF_PORTS_MAX	  4000000u	/* ports-trie entries */
#define CGF_SOCKOPT_MAX	  256u		/* deny_set + deny_get */
#define CGF_DEVICES_MAX	  4096u		/* device patterns (after globs expand) */

#include "hooks.h"	/* enum cgf_hook: the hook registry */

/* stats map (per-CPU array): index = hook * CGF_C_MAX + counter. */
enum cgf_counter {
	CGF_C_DENIED = 0,      /* denied (enforce mode) */
	CGF_C_AUDIT = 1,       /* would have been denied (audit mode) */
	CGF_C_MAX,
};
/* room for 32 hooks, so that a hook added to the registry does not change
 * the pinned map (layout 3 made it so; layouts 1 and 2 had CGF_H_MAX) */
#define CGF_HOOKS_ROOM 32
#define CGF_STATS_ENTRIES (CGF_HOOKS_ROOM * CGF_C_MAX)

/* pstats map (per-CPU array): counters of the policy as a whole. */
enum cgf_pcounter {
	CGF_PC_EV_SENT = 0,     /* events put into the ring buffer */
	CGF_PC_EV_DROPPED,      /* events lost: the ring buffer was full */
	CGF_PC_EV_SUPPRESSED,   /* events not sent: over their rule's rate */
	CGF_PC_RATE_LIMITED,    /* connects refused by network.rate_limit */
	CGF_PC_DNS_ANSWERS,     /* answers from a trusted resolver read */
	CGF_PC_DNS_LEARNT,      /* addresses learnt (new in cgf_learnt) */
	CGF_PC_DNS_IGNORED,     /* answers that taught nothing: malformed, or no name rule's */
	CGF_PC_DNS_GUARD,       /* binds and datagrams refused as a resolver's port 53 */
	CGF_PC_STAGED_DENY,     /* a staged version: would deny what the version in force allows */
	CGF_PC_STAGED_ALLOW,    /* ... would allow what the version in force denies */
	CGF_PC_NAMES_COPY_FULL, /* learnt addresses the version's copy had no room for */
	CGF_PC_SRC_REFUSED,     /* datagrams refused for a source of their own choosing (state: on) */
	CGF_PC_ATTACH_FAILED,   /* user space: cgroups the daemon followed but could not attach (frozen) */
	CGF_PC_MAX,
};
/* room for 16 counters, so that a counter added later changes no pinned
 * map (layout 4 made it so; layouts 1 to 3 had 4) */
#define CGF_PC_ROOM 16

/*
 * Events (ring buffer "events"): denials, audit-mode would-be denials, and
 * with log.connections TCP connections established and closed.
 */
enum cgf_event_type {
	CGF_EV_DENY = 1,
	CGF_EV_AUDIT = 2,      /* would have been denied */
	CGF_EV_CONN_OPEN = 3,
	CGF_EV_CONN_CLOSE = 4,
	CGF_EV_DNS = 5,        /* log.dns: an address of an answer (struct cgf_dns_event) */
	CGF_EV_STAGED_DENY = 6,  /* a staged version would deny what is allowed now */
	CGF_EV_STAGED_ALLOW = 7, /* a staged version would allow what is denied now */
};

struct cgf_event {
	__u64 time_ns;         /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u64 cgroup_id;       /* the process's (or socket's) cgroup; 0 unknown */
	__u32 pid;             /* thread group id; 0 where no process is current */
	__u32 rule;            /* deciding rule id, CGF_RULE_DEFAULT for the default */
	__u8 type;             /* enum cgf_event_type */
	__u8 hook;             /* enum cgf_hook */
	__u8 proto;            /* IPPROTO_*, 0 where none */
	__u8 family;           /* 4, 6, or 0 where no address */
	__u16 sport, dport;    /* host byte order */
	__u8 active;           /* connections: 1 we connected, 0 we accepted; denials of
				* addresses: 1 the cgroup started the flow, 0 it arrived */
	__u8 why;              /* enum cgf_name_why: egress denials under to_names */
	__u8 pad[2];
	__u32 name;            /* allowed through the name pattern whose rule_info index is
				* name - 1 (0: none) */
	__u8 saddr[16], daddr[16];  /* IPv4 in the first 4 bytes */
	char comm[16];
	__u64 duration_ns;     /* CGF_EV_CONN_CLOSE */
	__u64 bytes_sent, bytes_received;
	__u32 retrans, srtt_us;
};

/*
 * What denial events of the hooks with no address carry, in the address
 * fields: sock_create: family (4/6), proto, sport = the socket type;
 * dev: proto = the type (1 block, 2 char), sport = the access bits (m 1,
 * r 2, w 4), saddr = major, minor (u32 each); sysctl: proto = 1 for a
 * write, saddr..daddr = the name's first 32 bytes.
 */
#define CGF_EV_DETAIL 32

/* log.dns: one per address of an answer from a trusted resolver: the event
 * (type CGF_EV_DNS, family, daddr the address) and the question, as the
 * names trie keys it (abi.h: Names), its first 128 bytes */
struct cgf_dns_event {
	struct cgf_event e;
	__u8 name[128];
};

#define CGF_EVENTS_RING (1u << 18)	/* bytes of a policy's ring buffer */

/* accounting (per-CPU LRU hash): per socket cgroup id */
struct cgf_acct {
	__u64 bytes_out, bytes_in, packets_out, packets_in;
	__u64 tcp_connects;    /* SYNs sent: connection attempts */
	__u64 tcp_accepts;     /* SYN-ACKs sent: connections accepted */
	__u64 udp_flows;       /* connect() on UDP sockets */
	__u64 denied;          /* calls and packets denied (or would be, audit mode) */
	__u64 rate_limited;
	__u64 minute[2];       /* new connections in minute m (index m & 1) ... */
	__u32 minute_of[2];    /* ... and which m it counts */
};
#define CGF_ACCT_MAX 8192u	/* cgroups accounted and rate-limited per policy */

/* network.rate_limit: per cgroup id, a GCRA "theoretical arrival time" */
struct cgf_rl {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat;
};

/*
 * Connections (network.state: on). A verdict belongs to the socket, kept in
 * socket-local storage of the policy (one map per policy, shared by its
 * versions), judged once in the direction the flow started in and valid for
 * the version (generation) that judged it.
 *
 * TCP sockets: one verdict for the connection (cgf_state). A listener carries
 * dir = CGF_CONN_IN and no verdict; the kernel copies it into each socket
 * it accepts (BPF_F_CLONE), so an accepted connection knows it came in.
 *
 * Datagram sockets (UDP, ping, raw): the peers the socket exchanged
 * datagrams with (cgf_peers), a small hash table of CGF_PEERS entries, two
 * ways per bucket. A datagram from or to a peer with a valid entry passes;
 * an entry lasts CGF_PEER_WINDOW_S seconds after its last datagram
 * (no limit for the peer of a connected socket).
 */
enum cgf_conn_dir {
	CGF_CONN_NONE = 0,
	CGF_CONN_OUT = 1,	/* the cgroup started it: egress judges (remote address and port) */
	CGF_CONN_IN = 2,	/* it arrived unasked: ingress judges (remote address, local port) */
};

struct cgf_state {
	__u32 generation;	/* of the version that judged it; 0: not judged */
	__u32 rule;		/* the deciding rule */
	__u8 dir;		/* enum cgf_conn_dir */
	__u8 verdict;		/* CGF_ALLOW / CGF_DENY */
	__u16 name;		/* allowed through a name: its event name (0: by address) */
};

#define CGF_PEERS 16		/* entries per datagram socket: a power of two */
#define CGF_PEER_WINDOW_S 30	/* seconds a datagram peer stays known after its last datagram */

struct cgf_peer {
	__u32 addr[4];		/* v4: addr[0], the rest 0 */
	__u16 port;		/* the peer's port (0 for ICMP and raw) */
	__u8 proto;		/* IPPROTO_* */
	__u8 dir;		/* enum cgf_conn_dir; NONE: a free entry */
	__u8 v6;		/* addr is IPv6 */
	__u8 pad[3];
	__u32 generation;
	__u32 seen;		/* when its last datagram passed: jiffies (coarse
				 * CLOCK_MONOTONIC seconds where HZ is unknown) */
};

struct cgf_peers {
	struct cgf_peer p[CGF_PEERS];
};

#include "names.h"	/* Names: to_names, learnt addresses */

/* rule texts, for events and stats (array indexed by rule id) */
struct cgf_rule_info {
	__u32 line;
	char text[124];
};

/*
 * A version's configuration: the BPF object's read-only data (.rodata), set
 * by user space before load, so the verifier prunes what a policy does not
 * use. The compiler fills all of it but slot (the loader's).
 */
struct cgf_config {
	/* The first 64 bytes: what every hook's common path reads (the gate, the
	 * sections a policy has, the mode). One cache line: a call that finds
	 * its lines cold (a sendmsg runs much kernel code between two) pays
	 * one miss for the configuration, not three. */
	__u32 slot;		/* this version's slot (Versions, below) */
	__u32 n_rules;		/* rule ids are 0 .. n_rules - 1 */
	__u32 generation;	/* the version's meta generation: sockets judged by another are judged again */
	__u32 own_hooks;	/* staged: the hooks its policy has (the others allow) */
	__u32 enforced_hooks;	/* staged: the hooks of the version in force when staged */
	__u32 hz;		/* to_names: the kernel's HZ (the version's copy); 0: unknown, none */
	__u32 peer_window_jiffies;	/* CGF_PEER_WINDOW_S in jiffies; 0: HZ unknown (coarse clock) */
	__u16 eph_lo, eph_hi;	/* the host's ephemeral ports: a port the kernel chose there is port 0 to bind rules */
	__u8 audit;		/* mode: audit */
	__u8 staged;		/* a staged version (Staging, below) */
	__u8 has_egress, has_ingress, has_redirect;	/* the policy has the section */
	__u8 has_bind;		/* the policy has network.bind */
	__u8 has_names;		/* egress rules with to_names */
	__u8 accounting;	/* accounting: true */
	__u8 state;		/* network.state: on (connections, not packets) */
	__u8 log_denials, log_conns;	/* log.denials, log.connections */
	__u8 log_dns;		/* log.dns: an event per address of every trusted answer */
	__u8 sock_families;	/* CGF_FAM_* allowed */
	__u8 sock_deny_types;	/* bit 1 << SOCK_STREAM / SOCK_DGRAM / SOCK_RAW, denied */
	__u8 dev_default;	/* CGF_ALLOW / CGF_DENY */
	__u8 plain;		/* CGF_PLAIN_*: set at load from the fields above */
	__u64 rl_interval_ns;	/* network.rate_limit: ns per connection (0: off) */
	__u64 ev_interval_ns;	/* denial events per rule: ns per event (0: all) */
	/* the rest: read by one feature each */
	__u64 rl_burst_ns;	/* ... and (burst - 1) intervals */
	__u64 ev_burst_ns;
	__u32 sock_deny_protos[16];	/* bit per IPPROTO_*; bit 256: MPTCP */
	__u32 redir_first;	/* rule id of redirect entry 0 */
	__u32 sysctl_default;	/* enum cgf_sysctl_verdict */
	__u32 sysctl_n;		/* patterns in cgf_sysctl_rules */
	__u32 dev_rule_first;	/* rule id of devices rule 0 */
	__u32 sysctl_rule_first;	/* rule id of sysctl pattern 0 */
	__u32 sockopt_rule_first;	/* rule id of sockopt rule 0 */
	__u32 tcp_iw;		/* 0: leave alone */
	__s32 tcp_syn_rto_jiffies;	/* 0: leave alone */
	char tcp_cc[16];	/* "": leave alone */
	__u32 name_rule_first;	/* rule id (rule_info) of name pattern 0 */
	__u32 dns_min_ttl_s;	/* network.dns.min_ttl */
	__u64 home_netns;	/* to_names: the cookie of the network namespace the version was
				 * applied from, where its copy of learnt addresses decides */
};

/* cgf_config.plain: an allowed connect (sendmsg) asks nothing of the policy
 * beyond its verdict (no staging, redirect, accounting, or rate limit for
 * connect), so the short path may decide it (bpf/sock_addr.bpf.h) */
#define CGF_PLAIN_CONNECT 1u
#define CGF_PLAIN_SENDMSG 2u

static inline __u8 cgf_config_plain(const struct cgf_config *c)
{
	if (c->staged || !c->has_egress || c->has_redirect || c->accounting)
		return 0;
	return (__u8)((c->rl_interval_ns ? 0 : CGF_PLAIN_CONNECT) | CGF_PLAIN_SENDMSG);
}

enum cgf_mode {
	CGF_MODE_ENFORCE = 0,
	CGF_MODE_AUDIT = 1,
};

/*
 * Versions. A policy's programs come in two slots (0, 1); the pinned
 * one-entry array "active" (one __u32, no flags; programs of layouts up to
 * 6 look it up, later ones read it as a global) names the slot whose
 * programs decide, or CGF_SLOT_OFF (nobody decides: every hook allows). A program of the other slot hands
 * the call to the active slot's program of its hook (tail call through the
 * hook's pinned cgf_slot_* prog array), so one map write switches every hook
 * of every cgroup from one version to the next at once.
 */
#define CGF_SLOTS 2
#define CGF_SLOT_OFF 2
#define CGF_CGROUPS_MAX 8192u	/* cgroups one policy is attached to */

/* meta map: one entry per slot, written by user space, describes the policy. */
#define CGF_NAME_MAX 48
#define CGF_INSTANCE_MAX (CGF_NAME_MAX + 8)	/* an instance: NAME, or NAME@staged */
#define CGF_PATH_MAX 512
struct cgf_meta {
	__u32 magic;        /* CGF_META_MAGIC */
	__u32 mode;         /* enum cgf_mode */
	__u32 hooks;        /* bit per enum cgf_hook */
	__u32 generation;   /* incremented by every apply */
	__u64 applied_at;   /* CLOCK_REALTIME, seconds */
	__u64 n_prefixes;
	__u32 n_rules;
	__u32 flags;        /* CGF_META_* */
	__u64 digest;       /* of the policy file's bytes (daemon: unchanged file) */
	char name[CGF_NAME_MAX + 8];
	char source[CGF_PATH_MAX];
};
#define CGF_META_MAGIC 0x63676631u /* "cgf1" */
#define CGF_META_KEEP   0x1u  /* stays loaded with no cgroup (a pattern target) */
#define CGF_META_DAEMON 0x2u  /* applied by cgfence daemon */
#define CGF_META_OCI    0x4u  /* the shared instance of oci-hook's containers */
#define CGF_META_DESTROY_OUTSIDE 0x8u /* network.outside_sockets: destroy */
#define CGF_META_STAGED 0x10u /* a staged version, pinned as NAME@staged beside NAME */
#include "stage.h"	/* Staging: the handoff map, NAME@staged */

/*
 * Pin layout: what is pinned under the pin root, with which map types, key and
 * value layouts and names. Every change to it takes the next number, and
 * docs/design.md ("Upgrading") says what each one changed and how a newer
 * cgfence migrates it. The layout that wrote a version is in bits 24-31 of
 * its meta.flags (0: layout 1, the releases before layouts were recorded);
 * the pin root's "LAYOUT" map holds the newest layout present, so that a
 * cgfence that meets a newer one refuses before it touches anything.
 * The magic and the place of meta.flags never change: a cgfence of layout 1
 * treats a meta without CGF_META_MAGIC as no version and removes the policy.
 */
#ifndef CGF_LAYOUT
#define CGF_LAYOUT 8
#endif
#define CGF_LAYOUT_HANDOFF 5	/* the first whose versions write the handoff (Staging) */
#define CGF_LAYOUT_PIN "LAYOUT"	/* array map, one __u32 entry (no policy name: those are lower case) */
#define CGF_META_LAYOUT_SHIFT 24
#define CGF_META_LAYOUT_MASK  0xff000000u

#ifndef __bpf__
_Static_assert(sizeof(struct cgf_key4) == 8, "cgf_key4 layout");
_Static_assert(sizeof(struct cgf_state) == 12, "cgf_state layout");
_Static_assert(sizeof(struct cgf_handoff) == 16, "cgf_handoff layout");
_Static_assert(CGF_H_MAX <= CGF_HOOKS_ROOM, "the stats map has room for every hook");
_Static_assert(CGF_PC_MAX <= CGF_PC_ROOM, "the pstats map has room for every counter");
_Static_assert(sizeof(struct cgf_peer) == 32, "cgf_peer layout");
_Static_assert(sizeof(struct cgf_key6) == 20, "cgf_key6 layout");
_Static_assert(sizeof(struct cgf_addr_val) == 8, "cgf_addr_val layout");
_Static_assert(sizeof(struct cgf_addr_val4) == 28, "cgf_addr_val4 layout");
_Static_assert(sizeof(struct cgf_event) == 120, "cgf_event layout");
_Static_assert(sizeof(struct cgf_dns_event) == 248, "cgf_dns_event layout");
_Static_assert(sizeof(struct cgf_acct) == 96, "cgf_acct layout");
_Static_assert(sizeof(struct cgf_rule_info) == 128, "cgf_rule_info layout");
_Static_assert(sizeof(struct cgf_port_key) == 12, "cgf_port_key layout");
_Static_assert(sizeof(struct cgf_verdict) == 8, "cgf_verdict layout");
_Static_assert(sizeof(struct cgf_sockopt_key) == 12, "cgf_sockopt_key layout");
_Static_assert(sizeof(struct cgf_dev_key) == 12, "cgf_dev_key layout");
_Static_assert(sizeof(struct cgf_backend) == 20, "cgf_backend layout");
_Static_assert(sizeof(struct cgf_revnat_slot) == 40, "cgf_revnat_slot layout");
_Static_assert(sizeof(struct cgf_revnat) == CGF_REVNAT_SLOTS * 40 + 8, "cgf_revnat layout");
_Static_assert(sizeof(struct cgf_dev_val) == 8, "cgf_dev_val layout");
_Static_assert(sizeof(struct cgf_sysctl_rule) == CGF_SYSCTL_PAT_MAX + 16, "cgf_sysctl_rule layout");
_Static_assert(sizeof(struct cgf_class) == 512, "cgf_class: whole cache lines");
_Static_assert((1 << CGF_CLASS_STEPS) == CGF_CLASS_SEGS, "CGF_CLASS_SEGS = 2^CGF_CLASS_STEPS");
_Static_assert(sizeof(struct cgf_meta) == 616, "cgf_meta layout");
_Static_assert(sizeof(struct cgf_config) == 208, "cgf_config layout");
_Static_assert(__builtin_offsetof(struct cgf_config, ev_interval_ns) == 56,
	       "cgf_config: the common path's fields fill the first cache line");
#endif

#endif /* CGFENCE_ABI_H */
