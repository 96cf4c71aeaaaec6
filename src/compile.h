/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policy -> map contents. Pure user space.
 *
 * Every distinct prefix of a section (from to/from and except lists, plus /0)
 * becomes a node. The rules that match an address are decided by the longest
 * node containing it, so the compiler works out per node which rules match
 * and with which prefix length (a "candidate set"), and from that the verdict
 * for every (protocol, port). Nodes whose verdict does not depend on protocol
 * or port store it directly; the others share a class id per distinct
 * candidate set, whose entry in the classes array holds the port segments
 * (or, past CGF_CLASS_SEGS of them, the ports trie does). Nodes that would
 * store the same value as their parent are left out.
 */
#ifndef CGF_COMPILE_H
#define CGF_COMPILE_H

#include "cgfence/abi.h"
#include "eval.h"
#include "hook.h"
#include "policy.h"

struct cgf_entry4 {
	uint8_t dir;		/* which trie: enum cgf_dir */
	struct cgf_key4 key;
	struct cgf_addr_val4 val;	/* .v as cgf_entry6's; .fast: a class's node's ports */
};

struct cgf_entry6 {
	uint8_t dir;
	struct cgf_key6 key;
	struct cgf_addr_val val;
};

struct cgf_port_entry {
	struct cgf_port_key key;
	struct cgf_verdict val;
};

/* to_names: an entry of the names trie, a pattern's verdict, a resolver */
struct cgf_name_entry {
	struct cgf_name_key key;
	struct cgf_name_val val;
};

struct cgf_name_pattern {
	char *text;			/* canonical: "api.example.test", "*.cdn.test" */
	uint64_t id;			/* cgf_name_id(text) */
	struct cgf_name_pat val;	/* cgf_name_pats' value */
	uint32_t rule;			/* the first rule naming it */
};

struct cgf_dev_entry {
	struct cgf_dev_key key;
	struct cgf_dev_val val;
};

/*
 * What the compiler needs to know of the host, an explicit input: so that
 * check finds every error a policy can have here, and unit tests compile
 * for a host of their own (env.h: cgf_host_probe is the real one).
 */
struct cgf_host {
	int hz;				/* CONFIG_HZ; <= 0: unknown */
	uint16_t eph_lo, eph_hi;	/* ip_local_port_range here; 0, 0: unknown (32768-60999) */
	const char *congestion;		/* available congestion controls, "cubic reno";
					 * NULL: unknown (the kernel decides at connect) */
	/* The files a device path or glob names: fn(arg, type, major, minor)
	 * for each, type 0 for a file that is no device node. Returns how many
	 * files matched, or -errno. */
	int (*devices)(const struct cgf_host *h, const char *pattern,
		       int (*fn)(void *arg, uint32_t type, uint32_t major, uint32_t minor),
		       void *arg);
	void *ctx;
};

/*
 * The image of one policy: everything a version needs, and nothing of the
 * policy's text. The loader (version.c) sizes each map by its count here,
 * copies cfg into .rodata and the entries into the maps.
 */
struct cgf_compiled {
	char name[CGF_NAME_MAX + 1];
	int mode;			/* enum cgf_mode, the policy's */
	uint32_t n_rules;		/* network rules (ids 0 .. n_rules - 1) */
	uint64_t n_prefixes;
	struct cgf_config cfg;		/* .rodata, all but slot (and audit: the mode in force) */
	struct cgf_rule_info *rule_info;	/* cgf_rule_info, by rule id (abi.h) */
	uint32_t n_rule_slots;
	struct cgf_sockopt_key *sockopt;	/* cgf_sockopt: key -> its rule's index */
	uint32_t *sockopt_rule;
	size_t n_sockopt;
	struct cgf_sysctl_rule *sysctl;	/* cgf_sysctl_rules, in the order tried */
	size_t n_sysctl;
	struct cgf_redir_entry *redir;	/* cgf_redirects, by entry */
	size_t n_redir;
	struct cgf_entry4 *v4;
	size_t n_v4, cap_v4;
	struct cgf_entry6 *v6;
	size_t n_v6, cap_v6;
	size_t n4[CGF_DIR_MAX], n6[CGF_DIR_MAX];	/* entries per direction */
	struct cgf_class *classes;	/* index = class id */
	size_t cap_classes;
	struct cgf_fast *fast;		/* by class id: its first allowed port ranges */
	size_t cap_fast;
	uint32_t n_classes;
	struct cgf_port_entry *ports;	/* classes with more than CGF_CLASS_SEGS segments */
	size_t n_ports, cap_ports;
	struct cgf_dev_entry *dev;	/* devices: one per distinct pattern */
	size_t n_dev, cap_dev;
	struct cgf_name_entry *names;	/* cgf_names (LPM trie) */
	size_t n_names;
	struct cgf_name_pattern *pats;	/* cgf_name_pats, by pattern index */
	size_t n_pats;
	struct cgf_learnt_key *dns_servers;	/* cgf_dns_servers */
	size_t n_dns_servers;
	uint32_t learnt_max;		/* cgf_learnt's entries (1 without names) */
	uint32_t features;	/* CGF_F_*: what the policy uses */
	uint32_t hooks;		/* bit per enum cgf_hook, from the registry */
	uint32_t meta_flags;	/* CGF_META_* the policy asks for */
};

/* What a policy uses (CGF_F_*), which decides its hooks (cgf_hooks_for). */
uint32_t cgf_policy_features(const struct cgf_policy *p);

/* Compile a policy for a host (NULL: a host of which nothing is known). */
int cgf_compile(const struct cgf_policy *p, const struct cgf_host *host,
		struct cgf_compiled **out);
void cgf_compiled_free(struct cgf_compiled *c);

/* The address and port part (compile.c), called by cgf_compile (image.c). */
int cgf_compile_addresses(const struct cgf_policy *p, struct cgf_compiled *o);

/* to_names (compile.c): the names trie, the patterns' verdicts. */
int cgf_compile_names(const struct cgf_policy *p, struct cgf_compiled *o);

/* The patterns (indexes into c->pats) a name matches, as the kernel finds
 * them through the names trie; returns how many (at most CGF_NAME_IDS). */
size_t cgf_compiled_names(const struct cgf_compiled *c, const char *canon,
			  size_t idx[CGF_NAME_IDS]);

/* What the kernel programs would answer, by a linear longest-prefix search
 * over the compiled entries: slow, for tests (compile_lookup.c). */
void cgf_compiled_lookup(const struct cgf_compiled *c, const struct cgf_query *q,
			 struct cgf_decision *d);

/* Whether the programs' fast_allows (bpf/lib/verdict.h) allows q on the
 * IPv4 node's own port ranges (connect4, sendmsg4), by the same search. */
bool cgf_compiled_fast(const struct cgf_compiled *c, const struct cgf_query *q);

/* Split [lo, hi] into aligned prefixes over 16 bits; returns the count. */
int cgf_range_prefixes(uint32_t lo, uint32_t hi, uint16_t start[32], uint8_t plen[32]);

#endif
