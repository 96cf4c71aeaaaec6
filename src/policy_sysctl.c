// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sysctl: allow, read-only and deny by name glob. Names may be written with
 * '/' or '.'; in a pattern '*' matches any run of characters, '/' included,
 * and '?' one character. The most specific pattern decides: an exact name
 * before any glob, then the pattern with more literal characters, then
 * deny before read-only before allow.
 */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

static int parse_verdict(struct pctx *c, const struct yt_node *v, const char *what, int *out)
{
	int err = pol_want_scalar(c, v, what);

	if (err)
		return err;
	if (!strcmp(v->str, "allow"))
		*out = CGF_SYSCTL_ALLOW;
	else if (!strcmp(v->str, "read-only"))
		*out = CGF_SYSCTL_READ_ONLY;
	else if (!strcmp(v->str, "deny"))
		*out = CGF_SYSCTL_DENY;
	else
		return ERR(v, "%s must be allow, read-only or deny, not '%s'", what, v->str);
	return 0;
}

/* deny 3, read-only 2, allow 1: the stricter wins a tie */
static int strictness(int v)
{
	return v == CGF_SYSCTL_DENY ? 3 : v == CGF_SYSCTL_READ_ONLY ? 2 : 1;
}

static int pat_cmp(const void *a, const void *b)
{
	const struct cgf_sysctl_pat *x = a, *y = b;

	if (x->specificity != y->specificity)
		return x->specificity > y->specificity ? -1 : 1;
	return strictness(y->verdict) - strictness(x->verdict);
}

static int add_pattern(struct pctx *c, const struct yt_node *it, int verdict, size_t *cap)
{
	struct cgf_sysctl *s = &c->p->sysctl;
	struct cgf_sysctl_pat *p;
	int literal = 0;

	if (!it->len)
		return ERR(it, "names: empty name");
	if (it->len >= CGF_SYSCTL_PAT_MAX)
		return ERR(it, "names: '%s' is longer than %d characters", it->str,
			   CGF_SYSCTL_PAT_MAX - 1);
	if (s->n >= CGF_SYSCTL_RULES_MAX)
		return ERR(it, "sysctl: more than %d names", CGF_SYSCTL_RULES_MAX);
	GROW(s->pats, *cap, s->n + 1);
	p = &s->pats[s->n++];
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < it->len; i++) {
		char ch = it->str[i] == '.' ? '/' : it->str[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr("/_-*?", ch)))
			return ERR(it, "names: '%s': a sysctl name has letters, digits, '_', '-' and "
				   "'/' or '.' separators ('*' and '?' as wildcards)", it->str);
		p->pat[i] = ch;
		literal += ch != '*' && ch != '?';
	}
	p->verdict = verdict;
	p->specificity = literal + (strpbrk(p->pat, "*?") ? 0 : 1000);
	p->line = it->line;
	p->col = it->col;
	return 0;
}

int pol_parse_sysctl(struct pctx *c, const struct yt_node *n)
{
	struct cgf_sysctl *s = &c->p->sysctl;
	const struct yt_node *rules;
	size_t cap = 0;
	int err = pol_default_and_rules(c, n, "sysctl", parse_verdict, "allow, read-only or deny",
					&s->def, &rules);

	if (err)
		return err;
	s->present = true;
	for (size_t i = 0; rules && i < rules->n; i++) {
		const struct yt_node *r = rules->items[i], *names = NULL;
		int verdict = -1;

		if (r->type != YT_MAP)
			return ERR(r, "a sysctl rule must be a mapping (action, names), not %s",
				   yt_type_name(r->type));
		for (size_t j = 0; j < r->n; j++) {
			const struct yt_node *k = yt_map_key(r, j), *v = yt_map_val(r, j);

			if (!strcmp(k->str, "action"))
				err = parse_verdict(c, v, "action", &verdict);
			else if (!strcmp(k->str, "names"))
				names = v;
			else
				err = ERR(k, "unknown key '%s' in a sysctl rule (expected action, names)",
					  k->str);
			if (err)
				return err;
		}
		if (verdict < 0)
			return ERR(r, "sysctl rule has no 'action' (allow, read-only or deny)");
		if (!names)
			return ERR(r, "sysctl rule has no 'names'");
		const struct yt_node *const *items, *one;
		size_t cnt;

		err = pol_list(c, names, "names", &items, &cnt, &one);
		for (size_t j = 0; !err && j < cnt; j++) {
			err = pol_want_scalar(c, items[j], "names");
			if (!err)
				err = add_pattern(c, items[j], verdict, &cap);
		}
		if (err)
			return err;
	}
	if (s->n)
		qsort(s->pats, s->n, sizeof(*s->pats), pat_cmp);
	return 0;
}
