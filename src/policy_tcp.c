// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcp: congestion control, initial congestion window, SYN RTO. */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

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
