/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy semantics, written directly: which rule decides a packet or a
 * call. `explain` uses it; the compiler must agree with it (unit and
 * differential tests check that), though it reaches the answer differently.
 */
#ifndef CGF_EVAL_H
#define CGF_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct cgf_query {
	int dir;			/* enum cgf_dir */
	struct cgf_prefix addr;		/* full-length address (v4-mapped allowed) */
	int proto;			/* enum cgf_proto */
	uint16_t port;
};

struct cgf_decision {
	int verdict;			/* CGF_ALLOW / CGF_DENY */
	uint32_t rule;			/* rule id or CGF_RULE_DEFAULT */
};

/* How specific a matching rule is; the most specific decides. */
struct cgf_spec {
	int matchlen;			/* longest matching prefix */
	uint32_t width;			/* ports covered by the matching entry; 65536 = no ports */
	bool proto_named;
	int action;
	uint32_t rule;
};

/* < 0 when a beats b. Order: longer prefix, narrower ports, named protocol,
 * deny over allow, then the earlier rule (only to name one at a full tie). */
int cgf_spec_cmp(const struct cgf_spec *a, const struct cgf_spec *b);

/* Does r match proto/port? On a match *width is its narrowest matching entry. */
bool cgf_rule_l4(const struct cgf_rule *r, int proto, uint16_t port, uint32_t *width);

/* If rule r matches (proto, port) with prefix length matchlen (< 0: the
 * address does not match) and is more specific than *best, make it *best. */
void cgf_pick(struct cgf_spec *best, bool *found, const struct cgf_rule *r, int matchlen,
	      int proto, uint16_t port);

/* socket(family = 4 or 6, SOCK_*, IPPROTO_*): the verdict of network.sockets;
 * *line is where the deciding entry was written (0: nothing denies it). */
int cgf_eval_socket(const struct cgf_policy *p, int family, int type, int proto, int *line);

/* A section that is absent allows everything (no hook is attached for it). */
void cgf_eval(const struct cgf_policy *p, const struct cgf_query *q, struct cgf_decision *d);

/*
 * A packet of a flow (cgfence-policy(5): Connections). Under network.state:
 * on, every packet of a flow has the verdict of the flow, judged in the
 * direction it started in: egress on (remote, remote port) for one the
 * cgroup started, ingress on (remote, local port) for one that arrived
 * unasked. Under state: off, each packet is judged by its own direction.
 */
struct cgf_flow {
	int origin;			/* CGF_DIR_EGRESS: the cgroup started it; _INGRESS: it arrived */
	int dir;			/* this packet's: CGF_DIR_EGRESS (out) or _INGRESS (in) */
	struct cgf_prefix remote;	/* the other end */
	int proto;			/* enum cgf_proto */
	uint16_t rport, lport;		/* the remote and the local port */
};

void cgf_eval_flow(const struct cgf_policy *p, const struct cgf_flow *f, struct cgf_decision *d);

#endif
