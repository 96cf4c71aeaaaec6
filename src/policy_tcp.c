// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcp: congestion control, initial congestion window, SYN RTO. */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

int pol_parse_tcp(struct pctx *c, const struct yt_node *n)
{
	struct cgf_tcp *t = &c->p->tcp;
	int err = pol_want(c, n, YT_MAP, "tcp");

	if (err)
		return err;
	t->present = true;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "congestion")) {	/* available here? the compiler asks */
			err = pol_want_scalar(c, v, "congestion");
			if (err)
				return err;
			if (!v->len || v->len >= sizeof(t->congestion) ||
			    strspn(v->str, "abcdefghijklmnopqrstuvwxyz0123456789_") != v->len)
				return ERR(v, "congestion: '%s' is not a congestion control name", v->str);
			snprintf(t->congestion, sizeof(t->congestion), "%s", v->str);
			t->congestion_line = v->line;
			t->congestion_col = v->col;
		} else if (!strcmp(k->str, "initial_cwnd")) {
			err = pol_parse_uint(c, v, "initial_cwnd", 1, 1000, &t->initial_cwnd);
		} else if (!strcmp(k->str, "syn_rto_ms")) {
			err = pol_parse_uint(c, v, "syn_rto_ms", 1, 120000, &t->syn_rto_ms);
			t->syn_rto_line = v->line;
			t->syn_rto_col = v->col;
		} else {
			err = ERR(k, "unknown key '%s' in tcp (expected congestion, initial_cwnd, "
				  "syn_rto_ms)", k->str);
		}
		if (err)
			return err;
	}
	return 0;
}
