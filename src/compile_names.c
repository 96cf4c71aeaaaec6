// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * to_names: the names trie the ingress program looks question names up in
 * (abi.h: Names), and the same lookup in user space for explain and tests.
 * The patterns' verdicts come from compile.c, as an address's would.
 */
#include <string.h>

#include "compile.h"
#include "names.h"
#include "util.h"

static bool key_prefix(const struct cgf_name_key *a, const struct cgf_name_key *b)
{
	return a->prefixlen <= b->prefixlen && !memcmp(a->name, b->name, a->prefixlen / 8);
}

/* Does pattern k's key match every name whose longest entry is e? */
static bool entry_matched_by(const struct cgf_name_entry *e, const struct cgf_name_key *k,
			     bool wild)
{
	if (!wild)
		return e->key.prefixlen == k->prefixlen && key_prefix(k, &e->key);
	/* a wildcard: its suffix is a prefix, and e is not its apex */
	return key_prefix(k, &e->key) &&
	       !(e->key.prefixlen == k->prefixlen + 8 && !e->key.name[k->prefixlen / 8]);
}

static void add_name_entry(struct cgf_compiled *o, const struct cgf_name_key *k, size_t *cap)
{
	for (size_t i = 0; i < o->n_names; i++)
		if (o->names[i].key.prefixlen == k->prefixlen && key_prefix(k, &o->names[i].key))
			return;
	GROW(o->names, *cap, o->n_names + 1);
	memset(&o->names[o->n_names], 0, sizeof(o->names[0]));
	o->names[o->n_names++].key = *k;
}

int cgf_compile_names(const struct cgf_policy *p, struct cgf_compiled *o)
{
	size_t cap = 0;

	for (size_t i = 0; i < o->n_pats; i++) {	/* each pattern, and a wildcard's apex */
		struct cgf_name_key k;

		cgf_name_key(o->pats[i].text, &k);
		add_name_entry(o, &k, &cap);
		if (o->pats[i].text[0] == '*') {
			cgf_name_key(o->pats[i].text + 2, &k);
			add_name_entry(o, &k, &cap);
		}
	}
	for (size_t e = 0; e < o->n_names; e++) {
		struct cgf_name_entry *ne = &o->names[e];

		for (size_t i = 0; i < o->n_pats; i++) {
			struct cgf_name_key k;
			const struct cgf_rule *r = &p->rules[o->pats[i].rule];

			cgf_name_key(o->pats[i].text, &k);
			if (!entry_matched_by(ne, &k, o->pats[i].text[0] == '*'))
				continue;
			if (ne->val.n >= CGF_NAME_IDS)
				return cgf_error_at(-E2BIG, p->file, r->line, r->col,
						    "to_names: '%s': a name may match at most %d "
						    "patterns (nested wildcards)", o->pats[i].text,
						    CGF_NAME_IDS);
			if (!ne->val.n)		/* the version's copy names the first */
				ne->val.fast = (uint16_t)(i + 1);
			ne->val.id[ne->val.n++] = o->pats[i].id;
		}
	}
	if (o->n_pats > CGF_NAMES_MAX)
		return cgf_error_at(-E2BIG, p->file, p->sec[CGF_DIR_EGRESS].line,
				    p->sec[CGF_DIR_EGRESS].col, "to_names: %zu patterns; the limit "
				    "is %d", o->n_pats, CGF_NAMES_MAX);
	return 0;
}

size_t cgf_compiled_names(const struct cgf_compiled *c, const char *canon,
			  size_t idx[CGF_NAME_IDS])
{
	const struct cgf_name_entry *best = NULL;
	struct cgf_name_key k;
	size_t n = 0;

	cgf_name_key(canon, &k);
	for (size_t e = 0; e < c->n_names; e++)
		if (key_prefix(&c->names[e].key, &k) &&
		    (!best || c->names[e].key.prefixlen > best->key.prefixlen))
			best = &c->names[e];
	for (uint32_t i = 0; best && i < best->val.n; i++)
		for (size_t j = 0; j < c->n_pats; j++)
			if (c->pats[j].id == best->val.id[i] && n < CGF_NAME_IDS)
				idx[n++] = j;
	return n;
}
