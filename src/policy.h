/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy model: what a policy file says, validated. Pure user space.
 */
#ifndef CGF_POLICY_H
#define CGF_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgfence/abi.h"
#include "addr.h"

struct cgf_rule {
	uint32_t id;		/* index in cgf_policy.rules */
	int dir;		/* enum cgf_dir: the section it belongs to */
	int action;		/* CGF_ALLOW / CGF_DENY */
	int proto;		/* enum cgf_proto, or -1 for any */
	bool to_given;		/* false: "to"/"from" omitted, i.e. any */
	struct cgf_prefix *to;	/* never empty: an omitted list is any */
	size_t n_to;
	struct cgf_prefix *except;
	size_t n_except;
	struct cgf_port_range *ports;	/* empty: all ports */
	size_t n_ports;
	char **names;		/* to_names (egress, allow): canonical names and "*." patterns;
				 * such a rule has no address (n_to 0) */
	size_t n_names;
	int line, col;
};

struct cgf_section {
	bool present;
	int def;		/* CGF_ALLOW / CGF_DENY */
	size_t first, n;	/* rules[first .. first + n) */
	int line, col;
};

/* network.sockets: what cgroup/sock_create lets the cgroup create. */
struct cgf_sockets {
	bool present;
	uint8_t families;		/* CGF_FAM_*: allowed */
	uint64_t families_other;	/* bit per AF_* other than inet/inet6 listed in families */
	uint8_t deny_types;		/* bit 1 << SOCK_STREAM / SOCK_DGRAM / SOCK_RAW */
	uint32_t deny_protos[9];	/* bit per protocol number 0..255, bit 256: MPTCP */
	int line, col;
	int families_line;		/* 0: families not given (both allowed) */
	int type_line[8];		/* where each denied type was named */
	int proto_line[257];		/* where each denied protocol was named */
};

/* sockopt.deny_set / deny_get */
struct cgf_sockopt_rule {
	int op;				/* enum cgf_sockopt_op */
	int level, optname;
	char name[48];			/* as written */
	int line, col;
};

/* devices: a path (or glob) is resolved to type/major/minor by the compiler,
 * from the host's device nodes (compile.h: struct cgf_host) */
struct cgf_dev_rule {
	int action;			/* CGF_ALLOW / CGF_DENY */
	char *path;			/* NULL: type/major/minor as written */
	uint32_t type;			/* 0 any, 1 block, 2 char */
	uint32_t major, minor;		/* CGF_DEV_ANY for "*" */
	uint8_t access;			/* m 1, r 2, w 4 */
	int line, col;
};

struct cgf_devices {
	bool present;
	int def;
	struct cgf_dev_rule *rules;
	size_t n;
};

/* tcp: per-cgroup TCP behaviour through sockops */
struct cgf_tcp {
	bool present;
	char congestion[16];		/* "" = leave alone */
	uint32_t initial_cwnd;		/* 0 = leave alone */
	uint32_t syn_rto_ms;		/* 0 = leave alone */
	int syn_rto_line, syn_rto_col;
	int congestion_line, congestion_col;
};

/* sysctl: one entry per pattern, in the order the kernel tries them */
struct cgf_sysctl_pat {
	char pat[CGF_SYSCTL_PAT_MAX];	/* with '/' separators */
	int verdict;			/* enum cgf_sysctl_verdict */
	int specificity;		/* literal characters; +1000 when exact */
	int line, col;
};

struct cgf_sysctl {
	bool present;
	int def;			/* enum cgf_sysctl_verdict */
	struct cgf_sysctl_pat *pats;
	size_t n;
};

/* network.redirect: entry i is rules[sec[CGF_DIR_REDIRECT].first + i] */
#define CGF_REDIR_BACKENDS_MAX 64

struct cgf_endpoint {
	struct cgf_prefix addr;		/* full length */
	uint16_t port;
};

struct cgf_redirect {
	int select;			/* enum cgf_select */
	struct cgf_endpoint backends[CGF_REDIR_BACKENDS_MAX];
	size_t n;
	int line, col;
};

enum cgf_target_kind {
	CGF_TARGET_NONE = 0,
	CGF_TARGET_CGROUP,
	CGF_TARGET_PID,
	CGF_TARGET_CONTAINER,
	CGF_TARGET_UNIT,
};

/* accounting, log, network.rate_limit */
struct cgf_visibility {
	bool accounting;
	bool log_denials;		/* default true */
	bool log_connections;
	bool log_dns;			/* an event per address of every trusted answer (learn) */
	uint32_t denials_per_second;	/* per rule; default 100 */
	uint32_t rate_cps, rate_burst;	/* network.rate_limit; 0: none */
};

/* network.dns: the resolvers whose answers teach to_names rules their addresses */
#define CGF_DNS_MIN_TTL_DEFAULT 60
#define CGF_DNS_MAX_ADDRESSES_DEFAULT 4096

struct cgf_dns {
	bool present;
	struct cgf_prefix servers[CGF_DNS_SERVERS_MAX];	/* full-length addresses */
	size_t n_servers;
	uint32_t min_ttl;		/* seconds */
	uint32_t max_addresses;		/* learnt addresses kept (LRU) */
	int line, col;
};

struct cgf_policy {
	char *file;
	char name[CGF_NAME_MAX + 1];
	int mode;		/* enum cgf_mode */
	int target_kind;
	char *target_cgroup;		/* or the container id */
	int target_pid;
	int target_line, target_col;
	struct cgf_section sec[CGF_DIR_MAX];
	struct cgf_rule *rules;
	size_t n_rules;
	size_t n_prefixes;
	struct cgf_sockets sockets;
	bool sockopt_present;
	struct cgf_sockopt_rule *sockopts;
	size_t n_sockopts;
	struct cgf_devices devices;
	struct cgf_tcp tcp;
	struct cgf_sysctl sysctl;
	struct cgf_redirect *redirects;	/* sec[CGF_DIR_REDIRECT].n of them */
	struct cgf_visibility vis;
	bool stateless;		/* network.state: off (each packet judged alone) */
	int state_line;		/* where network.state was written (0: not written) */
	bool destroy_outside;	/* network.outside_sockets: destroy */
	struct cgf_dns dns;	/* defaults filled in when omitted */
	size_t n_name_rules;	/* egress rules with to_names */
};

/* network.dns's default resolvers, NULL-ended */
extern const char *const cgf_dns_default_servers[];
/* d's resolvers as text (into buf), listed NULL-ended in list; how many */
size_t cgf_dns_server_strs(const struct cgf_dns *d, char buf[][64], const char **list);

int cgf_policy_load(const char *path, struct cgf_policy **out);
int cgf_policy_parse_string(const char *name, const char *buf, size_t len,
			    struct cgf_policy **out);
void cgf_policy_free(struct cgf_policy *p);

/* One-line rendering of a rule, lists abbreviated, for explain. */
void cgf_rule_text(const struct cgf_rule *r, char *buf, size_t len);
const char *cgf_dir_name(int dir);
const char *cgf_action_name(int action);
const char *cgf_select_name(int s);
void cgf_endpoint_str(const struct cgf_endpoint *e, char *buf, size_t len);

#endif
