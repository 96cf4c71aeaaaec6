// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* accounting, log and network.rate_limit. */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

int pol_parse_log(struct pctx *c, const struct yt_node *n)
{
	struct cgf_visibility *vis = &c->p->vis;
	int err = pol_want(c, n, YT_MAP, "log");

	for (size_t i = 0; !err && i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "denials"))
			err = pol_parse_bool(c, v, "log.denials", &vis->log_denials);
		else if (!strcmp(k->str, "connections"))
			err = pol_parse_bool(c, v, "log.connections", &vis->log_connections);
		else if (!strcmp(k->str, "dns"))
			err = pol_parse_bool(c, v, "log.dns", &vis->log_dns);
		else if (!strcmp(k->str, "denials_per_second"))
			err = pol_parse_uint(c, v, "log.denials_per_second", 0, 1000000,
					     &vis->denials_per_second);
		else
			err = ERR(k, "unknown key '%s' in log (expected denials, connections, "
				  "denials_per_second, dns)", k->str);
	}
	return err;
}
