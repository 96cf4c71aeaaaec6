// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* network.sockets and sockopt: parsing and validation. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_int.h"
#include "sockdefs.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

int pol_parse_sockets(struct pctx *c, const struct yt_node *n)
{
	struct cgf_sockets *s = &c->p->sockets;
	int err = pol_want(c, n, YT_MAP, "network.sockets");

	if (err)
		return err;
	s->present = true;
	s->line = n->line;
	s->col = n->col;
	s->families = CGF_FAM_INET | CGF_FAM_INET6;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i), *one;
		const struct yt_node *const *items;
		size_t cnt;

		if (strcmp(k->str, "families") && strcmp(k->str, "deny_types"))
			return ERR(k, "unknown key '%s' in network.sockets (expected families, "
				   "deny_types)", k->str);
		err = pol_list(c, v, k->str, &items, &cnt, &one);
		if (err)
			return err;
		if (!strcmp(k->str, "families")) {
			s->families = 0;
			s->families_line = k->line;
		}
		for (size_t j = 0; j < cnt; j++) {
			const struct yt_node *it = items[j];
			int type, proto;

			err = pol_want_scalar(c, it, k->str);
			if (err)
				return err;
			if (!strcmp(k->str, "families")) {
				if (!strcmp(it->str, "inet"))
					s->families |= CGF_FAM_INET;
				else if (!strcmp(it->str, "inet6"))
					s->families |= CGF_FAM_INET6;
				else if (cgf_family_known(it->str))
					return ERR(it, "families: '%s': the cgroup sock_create hook sees only "
						   "inet and inet6 sockets; restrict other address families "
						   "with seccomp (e.g. systemd's RestrictAddressFamilies=)",
						   it->str);
				else
					return ERR(it, "families: '%s' is not an address family (inet, inet6)",
						   it->str);
			} else if ((type = cgf_socktype_by_name(it->str)) > 0) {
				s->deny_types |= (uint8_t)(1u << type);
				s->type_line[type] = it->line;
			} else if ((proto = cgf_ipproto_by_name(it->str)) >= 0) {
				int bit = proto == IPPROTO_MPTCP ? CGF_PROTO_MPTCP_BIT : proto;

				s->deny_protos[bit / 32] |= 1u << (bit % 32);
				s->proto_line[bit] = it->line;
			} else {
				return ERR(it, "deny_types: '%s' is not a socket type (raw, dgram, stream) "
					   "or an IP protocol (name or number 0-255)", it->str);
			}
		}
	}
	return 0;
}

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
