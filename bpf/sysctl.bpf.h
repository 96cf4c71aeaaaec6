/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup/sysctl: the sysctl allowlist. */
#ifndef CGF_BPF_SYSCTL_H
#define CGF_BPF_SYSCTL_H

#include "lib/events.h"
#include "lib/gate.h"
#include "lib/verdict.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_sysctl_rule);
	__uint(max_entries, 1);
} cgf_sysctl_rules SEC(".maps");

/*
 * sysctl: the full name ("net/ipv4/ip_forward") against the patterns, most
 * specific first; the first match decides. The matcher is the iterative
 * one with a single backtrack point for the last '*', one step per
 * bpf_loop() iteration. sysctl access is rare; this is not a hot path.
 */
enum glob_result { GLOB_RUNNING = -1, GLOB_NO_MATCH = 0, GLOB_MATCH = 1 };

struct glob {
	char name[CGF_SYSCTL_NAME_MAX];
	char pat[CGF_SYSCTL_PAT_MAX];
	__u32 nlen, plen, n, p, mark;
	__s32 star;
	__s32 result;		/* enum glob_result */
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
			g->result = GLOB_NO_MATCH;
			return 1;
		}
		return 0;
	}
	if (pc == '*') {	/* the name is used up: only stars may remain */
		g->p = p + 1;
		return 0;
	}
	g->result = p == g->plen ? GLOB_MATCH : GLOB_NO_MATCH;
	return 1;
}

struct sysctl_scan {
	struct glob g;
	__u32 verdict;
	__u32 rule;		/* the pattern that decided, or CGF_RULE_DEFAULT */
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
	sc->g.result = GLOB_RUNNING;
	bpf_loop(CGF_SYSCTL_NAME_MAX * CGF_SYSCTL_PAT_MAX, glob_step, &sc->g, 0);
	if (sc->g.result == GLOB_MATCH) {
		sc->verdict = r->verdict;
		sc->rule = cfg.sysctl_rule_first + i;
		return 1;
	}
	return 0;
}

static __always_inline int sysctl_decide(struct bpf_sysctl *ctx)
{
	struct sysctl_scan sc = { .verdict = cfg.sysctl_default, .rule = CGF_RULE_DEFAULT };
	long len = bpf_sysctl_get_name(ctx, sc.g.name, sizeof(sc.g.name), 0);

	if (len >= 0) {		/* a name too long for the buffer gets the default */
		sc.g.nlen = len;
		bpf_loop(CGF_SYSCTL_RULES_MAX, rule_step, &sc, 0);
	}
	if (sc.verdict != CGF_SYSCTL_DENY && !(sc.verdict == CGF_SYSCTL_READ_ONLY && ctx->write))
		return finish(CGF_H_SYSCTL, CGF_ALLOW);
	ev_detail(CGF_H_SYSCTL, sc.rule, 0, ctx->write ? 1 : 0, 0, sc.g.name);	/* the name */
	acct_denied(bpf_get_current_cgroup_id());
	return finish(CGF_H_SYSCTL, CGF_DENY);
}

SEC("cgroup/sysctl")
int cgf_sysctl(struct bpf_sysctl *ctx)
{
	GATE(ctx, sysctl);
	return DECIDE(ctx, CGF_H_SYSCTL, true, sysctl_decide(ctx));
}


#endif
