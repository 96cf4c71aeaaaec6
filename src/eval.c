// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "eval.h"

int cgf_spec_cmp(const struct cgf_spec *a, const struct cgf_spec *b)
{
	if (a->matchlen != b->matchlen)
		return a->matchlen > b->matchlen ? -1 : 1;
	if (a->width != b->width)
		return a->width < b->width ? -1 : 1;
	if (a->proto_named != b->proto_named)
		return a->proto_named ? -1 : 1;
	if (a->action != b->action)
		return a->action == CGF_DENY ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return 0;
}

bool cgf_rule_l4(const struct cgf_rule *r, int proto, uint16_t port, uint32_t *width)
{
	uint32_t best = UINT32_MAX;

	if (r->proto >= 0 && r->proto != proto)
		return false;
	if (!r->n_ports) {
		*width = 65536;
		return true;
	}
	if (proto != CGF_P_TCP && proto != CGF_P_UDP)
		return false;	/* a rule naming ports never matches a portless protocol */
	for (size_t i = 0; i < r->n_ports; i++) {
		uint32_t w = (uint32_t)r->ports[i].hi - r->ports[i].lo + 1;

		if (port >= r->ports[i].lo && port <= r->ports[i].hi && w < best)
			best = w;
	}
	if (best == UINT32_MAX)
		return false;
	*width = best;
	return true;
}

void cgf_pick(struct cgf_spec *best, bool *found, const struct cgf_rule *r, int matchlen,
	      int proto, uint16_t port)
{
	struct cgf_spec sp = { .matchlen = matchlen };

	if (matchlen < 0 || !cgf_rule_l4(r, proto, port, &sp.width))
		return;
	sp.proto_named = r->proto >= 0;
	sp.action = r->action;
	sp.rule = r->id;
	if (!*found || cgf_spec_cmp(&sp, best) < 0) {
		*best = sp;
		*found = true;
	}
}

int cgf_eval_socket(const struct cgf_policy *p, int family, int type, int proto, int *line)
{
	const struct cgf_sockets *s = &p->sockets;
	int bit = proto == CGF_IPPROTO_MPTCP ? CGF_PROTO_MPTCP_BIT : proto;

	*line = 0;
	if (!s->present)
		return CGF_ALLOW;
	if (!(s->families & (family == 4 ? CGF_FAM_INET : CGF_FAM_INET6))) {
		*line = s->families_line;
		return CGF_DENY;
	}
	if (type >= 0 && type < 8 && (s->deny_types & (1u << type))) {
		*line = s->type_line[type];
		return CGF_DENY;
	}
	if (bit >= 0 && bit <= CGF_PROTO_MPTCP_BIT && (s->deny_protos[bit / 32] & (1u << (bit % 32)))) {
		*line = s->proto_line[bit];
		return CGF_DENY;
	}
	return CGF_ALLOW;
}

void cgf_eval(const struct cgf_policy *p, const struct cgf_query *q, struct cgf_decision *d)
{
	const struct cgf_section *s = &p->sec[q->dir];
	struct cgf_prefix a = q->addr;
	struct cgf_spec best = { 0 };
	bool found = false;

	cgf_prefix_unmap(&a);
	if (!s->present) {
		d->verdict = CGF_ALLOW;
		d->rule = CGF_RULE_DEFAULT;
		return;
	}
	for (size_t i = s->first; i < s->first + s->n; i++) {
		const struct cgf_rule *r = &p->rules[i];
		int matchlen = -1;
		bool excluded = false;

		for (size_t j = 0; j < r->n_except && !excluded; j++)
			excluded = cgf_prefix_contains(&r->except[j], &a);
		if (excluded)
			continue;
		for (size_t j = 0; j < r->n_to; j++)
			if (r->to[j].len > matchlen && cgf_prefix_contains(&r->to[j], &a))
				matchlen = r->to[j].len;
		cgf_pick(&best, &found, r, matchlen, q->proto, q->port);
	}
	d->verdict = found ? best.action : s->def;
	d->rule = found ? best.rule : CGF_RULE_DEFAULT;
}

void cgf_eval_flow(const struct cgf_policy *p, const struct cgf_flow *f, struct cgf_decision *d)
{
	/* state on: the direction it started in; off: the packet's own */
	int sec = p->stateless ? f->dir : f->origin;
	struct cgf_query q = {
		.dir = sec,
		.addr = f->remote,
		.proto = f->proto,
		.port = sec == CGF_DIR_EGRESS ? f->rport : f->lport,
	};

	cgf_eval(p, &q, d);
}
