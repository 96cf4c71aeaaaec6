// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* network.sockets: parsing and validation. */
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
				else if (cgf_family_known(it->str)) {	/* run: seccomp allows it */
					s->families_other |= 1ull << cgf_family_by_name(it->str);
					fprintf(stderr, "cgfence: %s:%d:%d: note: families: '%s': the "
						"cgroup sock_create hook sees only inet and inet6 sockets, "
						"so it neither allows nor denies other families; `cgfence "
						"run` restricts them with seccomp, elsewhere pair it with "
						"systemd's RestrictAddressFamilies= or the runtime's seccomp\n",
						c->file, it->line, it->col, it->str);
				}
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
