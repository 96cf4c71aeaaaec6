/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internal to the policy parser: shared by policy.c and the section parsers. */
#ifndef CGF_POLICY_INT_H
#define CGF_POLICY_INT_H

#include "policy.h"
#include "util.h"
#include "yamltree.h"

struct pctx {
	const char *file;
	struct cgf_policy *p;
	size_t rules_cap;
};

#define PERR(c, n, ...) cgf_error_at(-EINVAL, (c)->file, (n)->line, (n)->col, __VA_ARGS__)

int pol_want(struct pctx *c, const struct yt_node *n, enum yt_type t, const char *what);
int pol_want_scalar(struct pctx *c, const struct yt_node *n, const char *what);
/* A list, or a single scalar taken as a list of one (kept in *one). */
int pol_list(struct pctx *c, const struct yt_node *n, const char *what,
	     const struct yt_node *const **items, size_t *count, const struct yt_node **one);

/* A section of the form {default: V, rules: [...]}: *def through parse_value,
 * *rules the list (NULL when absent). values names what default accepts. */
typedef int (*pol_value_fn)(struct pctx *c, const struct yt_node *n, const char *what, int *out);
int pol_default_and_rules(struct pctx *c, const struct yt_node *n, const char *what,
			  pol_value_fn parse_value, const char *values, int *def,
			  const struct yt_node **rules);

int pol_parse_network(struct pctx *c, const struct yt_node *n);
int pol_parse_sockets(struct pctx *c, const struct yt_node *n);
int pol_parse_sockopt(struct pctx *c, const struct yt_node *n);
int pol_parse_devices(struct pctx *c, const struct yt_node *n);
int pol_parse_tcp(struct pctx *c, const struct yt_node *n);
int pol_parse_uint(struct pctx *c, const struct yt_node *v, const char *what, uint32_t lo,
		   uint32_t hi, uint32_t *out);
int pol_parse_bool(struct pctx *c, const struct yt_node *v, const char *what, bool *out);
int pol_parse_log(struct pctx *c, const struct yt_node *n);
int pol_parse_rate_limit(struct pctx *c, const struct yt_node *n);
int pol_parse_sysctl(struct pctx *c, const struct yt_node *n);
void pol_dns_defaults(struct cgf_dns *d);
int pol_parse_action(struct pctx *c, const struct yt_node *n, const char *what, int *out);

#endif
