// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What every section parser shares: node types, lists, default+rules, values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

int pol_want(struct pctx *c, const struct yt_node *n, enum yt_type t, const char *what)
{
	if (n->type != t)
		return ERR(n, "%s must be %s, not %s", what, yt_type_name(t), yt_type_name(n->type));
	return 0;
}

int pol_want_scalar(struct pctx *c, const struct yt_node *n, const char *what)
{
	return pol_want(c, n, YT_SCALAR, what);
}

int pol_list(struct pctx *c, const struct yt_node *n, const char *what,
	     const struct yt_node *const **items, size_t *count, const struct yt_node **one)
{
	if (n->type == YT_SCALAR) {
		*one = n;
		*items = one;
		*count = 1;
		return 0;
	}
	if (n->type != YT_SEQ)
		return ERR(n, "%s must be a list, not %s", what, yt_type_name(n->type));
	if (!n->n)
		return ERR(n, "%s: empty list", what);
	*items = (const struct yt_node *const *)n->items;
	*count = n->n;
	return 0;
}

int pol_default_and_rules(struct pctx *c, const struct yt_node *n, const char *what,
			  pol_value_fn parse_value, const char *values, int *def,
			  const struct yt_node **rules)
{
	bool have_default = false;
	int err = pol_want(c, n, YT_MAP, what);

	*rules = NULL;
	if (err)
		return err;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "default")) {
			err = parse_value(c, v, "default", def);
			have_default = true;
		} else if (!strcmp(k->str, "rules")) {
			*rules = v;
			err = pol_want(c, v, YT_SEQ, "rules");
		} else {
			err = ERR(k, "unknown key '%s' in %s (expected default, rules)", k->str, what);
		}
		if (err)
			return err;
	}
	if (!have_default)
		return ERR(n, "%s has no 'default' (%s)", what, values);
	return 0;
}

int pol_parse_action(struct pctx *c, const struct yt_node *n, const char *what, int *out)
{
	int err = pol_want_scalar(c, n, what);

	if (err)
		return err;
	if (!strcmp(n->str, "allow"))
		*out = CGF_ALLOW;
	else if (!strcmp(n->str, "deny"))
		*out = CGF_DENY;
	else
		return ERR(n, "%s must be allow or deny, not '%s'", what, n->str);
	return 0;
}

int pol_parse_uint(struct pctx *c, const struct yt_node *v, const char *what, uint32_t lo,
		   uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long n;
	int err = pol_want_scalar(c, v, what);

	if (err)
		return err;
	if (!(v->str[0] >= '0' && v->str[0] <= '9'))
		return ERR(v, "%s must be a number from %u to %u", what, lo, hi);
	n = strtoul(v->str, &end, 10);
	if (*end || n < lo || n > hi)
		return ERR(v, "%s must be a number from %u to %u", what, lo, hi);
	*out = (uint32_t)n;
	return 0;
}

int pol_parse_bool(struct pctx *c, const struct yt_node *v, const char *what, bool *out)
{
	int err = pol_want_scalar(c, v, what);

	if (err)
		return err;
	if (!strcmp(v->str, "true"))
		*out = true;
	else if (!strcmp(v->str, "false"))
		*out = false;
	else
		return ERR(v, "%s must be true or false, not '%s'", what, v->str);
	return 0;
}
