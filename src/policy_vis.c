// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* accounting, log and network.rate_limit. */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

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
		else if (!strcmp(k->str, "denials_per_second"))
			err = pol_parse_uint(c, v, "log.denials_per_second", 0, 1000000,
					     &vis->denials_per_second);
		else
			err = ERR(k, "unknown key '%s' in log (expected denials, connections, "
				  "denials_per_second)", k->str);
	}
	return err;
}

int pol_parse_rate_limit(struct pctx *c, const struct yt_node *n)
{
	struct cgf_visibility *vis = &c->p->vis;
	bool burst = false;
	int err = pol_want(c, n, YT_MAP, "network.rate_limit");

	for (size_t i = 0; !err && i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "connections_per_second"))
			err = pol_parse_uint(c, v, "connections_per_second", 1, 1000000,
					     &vis->rate_cps);
		else if (!strcmp(k->str, "burst"))
			err = pol_parse_uint(c, v, "burst", 1, 10000000, &vis->rate_burst), burst = true;
		else
			err = ERR(k, "unknown key '%s' in network.rate_limit (expected "
				  "connections_per_second, burst)", k->str);
	}
	if (!err && !vis->rate_cps)
		err = ERR(n, "network.rate_limit needs connections_per_second");
	if (!err && !burst)
		vis->rate_burst = vis->rate_cps;	/* one second's worth */
	return err;
}
