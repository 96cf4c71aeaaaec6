// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the kernel programs would answer for an address and port, from the
 * compiled entries, by a linear longest-prefix search: slow, for tests
 * (the unit tests compare it with the evaluator on random policies).
 */
#include <string.h>

#include "compile.h"

static bool key_bits_match(const uint8_t *a, const uint8_t *b, uint32_t bits)
{
	uint32_t full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The IPv4 entry the trie finds for a (NULL: none). */
static const struct cgf_entry4 *best4(const struct cgf_compiled *c, int dir,
				      const struct cgf_prefix *a)
{
	const struct cgf_entry4 *best = NULL;

	for (size_t i = 0; i < c->n_v4; i++)
		if (c->v4[i].dir == dir && (!best || c->v4[i].key.prefixlen > best->key.prefixlen) &&
		    key_bits_match(c->v4[i].key.addr, a->addr, c->v4[i].key.prefixlen))
			best = &c->v4[i];
	return best;
}

bool cgf_compiled_fast(const struct cgf_compiled *c, const struct cgf_query *q)
{
	struct cgf_prefix a = q->addr;
	const struct cgf_entry4 *e;
	uint8_t bit = q->proto == CGF_P_TCP ? CGF_FAST_TCP : q->proto == CGF_P_UDP ? CGF_FAST_UDP : 0;

	cgf_prefix_unmap(&a);
	e = a.family == 4 ? best4(c, q->dir, &a) : NULL;
	if (!e || !(e->val.v.flags & CGF_AV_CLASS))
		return false;
	for (int i = 0; i < CGF_FAST_RANGES; i++)
		if ((e->val.fast.proto[i] & bit) &&
		    (uint16_t)(q->port - e->val.fast.lo[i]) <= e->val.fast.span[i])
			return true;
	return false;
}

void cgf_compiled_lookup(const struct cgf_compiled *c, const struct cgf_query *q,
			 struct cgf_decision *d)
{
	struct cgf_prefix a = q->addr;
	const struct cgf_addr_val *best = NULL;
	uint32_t bestlen = 0;

	cgf_prefix_unmap(&a);
	if (a.family == 4) {
		const struct cgf_entry4 *e = best4(c, q->dir, &a);

		best = e ? &e->val.v : NULL;
	} else {
		for (size_t i = 0; i < c->n_v6; i++)
			if (c->v6[i].dir == q->dir && (!best || c->v6[i].key.prefixlen > bestlen) &&
			    key_bits_match(c->v6[i].key.addr, a.addr, c->v6[i].key.prefixlen)) {
				best = &c->v6[i].val;
				bestlen = c->v6[i].key.prefixlen;
			}
	}
	d->verdict = CGF_DENY;
	d->rule = CGF_RULE_DEFAULT;
	if (!best)
		return;
	if (!(best->flags & CGF_AV_CLASS)) {
		d->verdict = best->verdict;
		d->rule = best->ref;
		return;
	}
	const struct cgf_class *k = &c->classes[best->ref];
	const struct cgf_verdict *bv = NULL;
	struct cgf_verdict segv;
	int t = q->proto == CGF_P_UDP;

	if (q->proto == CGF_P_OTHER) {
		bv = &k->other;
	} else if (q->proto == CGF_P_ICMP) {
		bv = &k->icmp;
	} else if (k->start[t][0] != CGF_START_IN_TRIE) {
		for (int i = 0; i < CGF_CLASS_SEGS; i++)
			if (k->start[t][i] <= q->port) {
				segv = (struct cgf_verdict){ .rule = k->rule[t][i],
							     .verdict = k->verdict[t][i] };
				bv = &segv;
			}
	} else {
		uint8_t pk[7] = { best->ref >> 24, best->ref >> 16, best->ref >> 8, best->ref,
				  (uint8_t)q->proto, q->port >> 8, q->port & 0xff };

		bestlen = 0;
		for (size_t i = 0; i < c->n_ports; i++)
			if ((!bv || c->ports[i].key.prefixlen > bestlen) &&
			    key_bits_match(c->ports[i].key.cls, pk, c->ports[i].key.prefixlen)) {
				bv = &c->ports[i].val;
				bestlen = c->ports[i].key.prefixlen;
			}
	}
	if (bv) {
		d->verdict = bv->verdict;
		d->rule = bv->rule;
	}
}
