// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockopt: socket options the cgroup may not set (deny_set) or read (deny_get). */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "sockdefs.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

int pol_parse_sockopt(struct pctx *c, const struct yt_node *n)
{
	struct cgf_policy *p = c->p;
	int err = pol_want(c, n, YT_MAP, "sockopt");
	size_t cap = 0;

	if (err)
		return err;
	p->sockopt_present = true;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i), *one;
		const struct yt_node *const *items;
		size_t cnt;
		int op;

		if (!strcmp(k->str, "deny_set"))
			op = CGF_SOCKOPT_SET;
		else if (!strcmp(k->str, "deny_get"))
			op = CGF_SOCKOPT_GET;
		else
			return ERR(k, "unknown key '%s' in sockopt (expected deny_set, deny_get)", k->str);
		err = pol_list(c, v, k->str, &items, &cnt, &one);
		if (err)
			return err;
		for (size_t j = 0; j < cnt; j++) {
			struct cgf_sockopt_rule *r;
			int level, optname;

			err = pol_want_scalar(c, items[j], k->str);
			if (err)
				return err;
			if (cgf_sockopt_by_name(items[j]->str, &level, &optname))
				return ERR(items[j], "%s: '%s' is not a socket option this version knows; "
					   "write it as LEVEL:OPTNAME (e.g. SOL_SOCKET:15 or 1:15)",
					   k->str, items[j]->str);
			if (p->n_sockopts >= CGF_SOCKOPT_MAX)
				return ERR(items[j], "sockopt: more than %u options", CGF_SOCKOPT_MAX);
			GROW(p->sockopts, cap, p->n_sockopts + 1);
			r = &p->sockopts[p->n_sockopts++];
			memset(r, 0, sizeof(*r));
			r->op = op;
			r->level = level;
			r->optname = optname;
			r->line = items[j]->line;
			r->col = items[j]->col;
			snprintf(r->name, sizeof(r->name), "%s", items[j]->str);
		}
	}
	return 0;
}
