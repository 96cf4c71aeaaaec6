/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Part of abi.h (included there): egress by name, learnt addresses. */
#ifndef CGFENCE_NAMES_H
#define CGFENCE_NAMES_H

/*
 * Names (egress rules with to_names; docs/design.md "Names"). The cgroup's
 * ingress program reads DNS answers from a trusted resolver (cgf_dns_servers,
 * source port 53) before the socket gets them. The question name, lower
 * case with its labels reversed ("api.example.test" -> "test.example.api."
 * and a NUL), is looked up in the cgf_names LPM trie: an exact pattern is
 * an entry ending in the NUL, a wildcard "*.example.test" one ending in the
 * dot (its apex "example.test" gets an entry of its own, so that it does not
 * match). The entry holds the ids of every pattern that matches such a
 * name. Each A/AAAA record of the answer then goes into cgf_learnt (an LRU
 * hash kept across versions), keyed with the network namespace the answer
 * arrived in, with those ids and an expiry. An egress call
 * or packet the address rules leave to a deny default is looked up there;
 * each id of a live entry gives, through the version's cgf_name_pats, the
 * verdict of its pattern's rules for the protocol and port.
 * Pattern ids are a hash of the pattern's text: the same across versions.
 * The version's copy: the ingress program also puts each address it learns
 * into the version's egress trie as a full-length CGF_AV_NAME entry (the
 * first pattern of its name, and the expiry in jiffies), where the address
 * rules leave it to the deny default; one trie lookup then decides a call
 * to it. What that entry does not allow (expired, another port) is judged
 * again through cgf_learnt, which stays the reference. Only with the
 * kernel's HZ known (cfg.hz), and only for answers that arrived in the
 * version's home namespace (cfg.home_netns, the one it was applied from);
 * the copy decides only there.
 */
#define CGF_DNS_NAME	256	/* bytes of a name key (LPM data, the kernel's limit) */
#define CGF_DNS_BUF	1024	/* bytes of an answer read (power of two); records past them are not */
#define CGF_DNS_ADDRS	16	/* addresses taken from one answer */
#define CGF_DNS_LABELS	64	/* labels of a question name */
#define CGF_DNS_RRS	32	/* answer records walked */
#define CGF_DNS_STEPS	1024	/* steps of the parser (bpf_loop) */
#define CGF_NAME_IDS	4	/* patterns one name may match; ids kept per learnt address */
#define CGF_NAMES_MAX	1024	/* name patterns per policy */
#define CGF_DNS_SERVERS_MAX 16
#define CGF_LEARNT_MAX	1000000u
#define CGF_TTL_CAP_S	86400	/* a longer TTL counts as a day */

enum cgf_name_why {
	CGF_WHY_NONE = 0,
	CGF_WHY_NO_NAME = 1,	/* no allowed name resolved to the address */
	CGF_WHY_EXPIRED = 2,	/* one did, but its lifetime is over */
	CGF_WHY_PORT = 3,	/* one did, but its rules do not allow this port or protocol */
};

struct cgf_name_key {
	__u32 prefixlen;	/* bits */
	__u8 name[CGF_DNS_NAME];
};

struct cgf_name_val {
	__u32 n;			/* ids in use */
	__u16 fast;			/* id[0]'s index in cgf_name_slots + 1 (0: none) */
	__u16 pad;
	__u64 id[CGF_NAME_IDS];
};

/* cgf_name_pats: pattern id -> the verdict of its rules, and its index
 * (events); fast: the first port ranges its rules allow (abi.h:
 * cgf_addr_val4), which the ingress program copies into each IPv4 address
 * it learns for the pattern (the version's copy) */
struct cgf_name_pat {
	struct cgf_addr_val av;
	__u32 idx;		/* its rule_info index (the pattern's text): cfg.name_rule_first + i */
	struct cgf_fast fast;
};

/* an address, IPv4 as ::ffff:a.b.c.d (cgf_dns_servers' key) */
struct cgf_learnt_key {
	__u32 addr[4];
};

/* cgf_learnt's key (pin layout 8): the address, and the network namespace
 * the answer arrived in (its cookie). An answer is real only where it
 * arrived: a namespace the workload makes (a user namespace gives it
 * CAP_NET_RAW there) can forge any answer to its own sockets, so what is
 * learnt there allows connections there only. netns 0: an entry an older
 * layout learnt (copied at the upgrade), for any namespace until it expires. */
struct cgf_learnt_at {
	__u32 addr[4];
	__u64 netns;
};

struct cgf_learnt {
	struct {
		__u64 id;	/* pattern id; 0: free */
		__u64 expires;	/* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC, a tick's
				 * precision: about 90 ns less per call than the boot clock) */
	} n[CGF_NAME_IDS];
	__u64 learnt;		/* when an answer last named it */
};

/* cgf_dns_servers: key is the resolver's address (as cgf_learnt_key) */

_Static_assert(sizeof(struct cgf_name_key) == 4 + CGF_DNS_NAME, "cgf_name_key layout");
_Static_assert(sizeof(struct cgf_name_val) == 8 + 8 * CGF_NAME_IDS, "cgf_name_val layout");
_Static_assert(sizeof(struct cgf_name_pat) == 32, "cgf_name_pat layout");
_Static_assert(sizeof(struct cgf_learnt) == 16 * CGF_NAME_IDS + 8, "cgf_learnt layout");
_Static_assert(sizeof(struct cgf_learnt_at) == 24, "cgf_learnt_at layout");

#endif
