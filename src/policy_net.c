// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* network: egress, ingress, bind, redirect, sockets (policy_sock.c), rate_limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "names.h"
#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

/* A list (or a single scalar) of address words and prefixes. */
static int parse_prefix_list(struct pctx *c, const struct yt_node *n, const char *what,
			     struct cgf_prefix **out, size_t *nout)
{
	const struct yt_node *const *items = &n;
	size_t count = 1, cap = 0, k = 0;
	struct cgf_prefix *arr = NULL;

	if (n->type == YT_SEQ) {
		items = (const struct yt_node *const *)n->items;
		count = n->n;
		if (count == 0)
			return ERR(n, "%s: empty list (omit the key to mean any)", what);
	} else if (n->type != YT_SCALAR) {
		return ERR(n, "%s must be a list of addresses, not %s", what,
			   yt_type_name(n->type));
	}
	for (size_t i = 0; i < count; i++) {
		const struct yt_node *it = items[i];
		struct cgf_prefix pf[CGF_WORD_MAX];
		const char *why = NULL;
		int np;

		if (it->type != YT_SCALAR) {
			free(arr);
			return ERR(it, "%s: each entry must be an address or prefix, not %s", what,
				   yt_type_name(it->type));
		}
		np = cgf_parse_prefixes(it->str, pf, &why);
		if (np < 0) {
			free(arr);
			return ERR(it, "%s: '%s': %s", what, it->str, why);
		}
		GROW(arr, cap, k + np);
		memcpy(arr + k, pf, np * sizeof(*pf));
		k += np;
	}
	*out = arr;
	*nout = k;
	c->p->n_prefixes += k;
	return 0;
}

static int parse_ports(struct pctx *c, const struct yt_node *n, struct cgf_rule *r)
{
	const struct yt_node *const *items = &n;
	size_t count = 1;

	if (n->type == YT_SEQ) {
		items = (const struct yt_node *const *)n->items;
		count = n->n;
		if (count == 0)
			return ERR(n, "ports: empty list (omit the key to mean all ports)");
	} else if (n->type != YT_SCALAR) {
		return ERR(n, "ports must be a list of ports and ranges, not %s",
			   yt_type_name(n->type));
	}
	r->ports = xcalloc(count, sizeof(*r->ports));
	for (size_t i = 0; i < count; i++) {
		const char *why = NULL;

		if (items[i]->type != YT_SCALAR)
			return ERR(items[i], "ports: each entry must be a port or a range, not %s",
				   yt_type_name(items[i]->type));
		if (cgf_parse_port_range(items[i]->str, &r->ports[i], &why))
			return ERR(items[i], "ports: '%s': %s", items[i]->str, why);
		r->n_ports++;
	}
	return 0;
}

/* to_names: a list (or one) of names and "*." patterns, kept canonical */
static int parse_names(struct pctx *c, const struct yt_node *n, struct cgf_rule *r)
{
	const struct yt_node *const *items;
	const struct yt_node *one;
	size_t count;
	int err = pol_list(c, n, "to_names", &items, &count, &one);

	if (err)
		return err;
	if (!count)
		return ERR(n, "to_names: empty list");
	r->names = xcalloc(count, sizeof(*r->names));
	for (size_t i = 0; i < count; i++) {
		const struct yt_node *it = items[i];
		char canon[CGF_NAME_TEXT_MAX];
		const char *why = NULL;
		size_t col = 0;

		if (it->type != YT_SCALAR)
			return ERR(it, "to_names: each entry must be a name, not %s",
				   yt_type_name(it->type));
		if (cgf_name_parse(it->str, true, canon, &why, &col))
			return cgf_error_at(-EINVAL, c->file, it->line,
					    it->col + (int)col + (it->plain ? 0 : 1),
					    "to_names: '%s': %s", it->str, why);
		r->names[r->n_names++] = xstrdup(canon);
	}
	return 0;
}

/* What a rule with to_names may not have, each with its reason. */
static int check_name_rule(struct pctx *c, const struct yt_node *n, const struct yt_node *names,
			   int dir, struct cgf_rule *r)
{
	if (dir != CGF_DIR_EGRESS)
		return ERR(names, "to_names is for egress rules (the destinations the cgroup "
			   "connects to)");
	if (r->action != CGF_ALLOW)
		return ERR(names, "to_names: names only allow; a deny by name cannot be kept: the "
			   "addresses learnt from DNS answers are never all of a name's addresses "
			   "(deny by address instead)");
	if (r->to_given || r->n_except)
		return ERR(n, "a rule names its destinations by address (to, except) or by name "
			   "(to_names), not both: write two rules");
	c->p->n_name_rules++;
	return 0;
}

static int parse_rule(struct pctx *c, const struct yt_node *n, int dir, struct cgf_rule *r)
{
	static const char *const addr_keys[CGF_DIR_MAX] = { "to", "from", "address", "to" };
	const char *addr_key = addr_keys[dir];
	const char *wrong_key = dir == CGF_DIR_EGRESS ? "from" : "to";
	const struct yt_node *proto_node = NULL, *names = NULL;
	bool have_action = false;
	int err;

	if (n->type != YT_MAP)
		return ERR(n, "a rule must be a mapping (action, %s, ports, ...), not %s",
			   addr_key, yt_type_name(n->type));
	r->dir = dir;
	r->proto = -1;
	r->line = n->line;
	r->col = n->col;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "action") && dir != CGF_DIR_REDIRECT) {
			err = pol_parse_action(c, v, "action", &r->action);
			have_action = true;
		} else if (!strcmp(k->str, addr_key)) {
			err = parse_prefix_list(c, v, addr_key, &r->to, &r->n_to);
			r->to_given = true;
		} else if (!strcmp(k->str, "except")) {
			err = parse_prefix_list(c, v, "except", &r->except, &r->n_except);
		} else if (!strcmp(k->str, "to_names") && dir != CGF_DIR_REDIRECT) {
			names = k;
			err = parse_names(c, v, r);
		} else if (!strcmp(k->str, "ports")) {
			err = parse_ports(c, v, r);
		} else if (!strcmp(k->str, "protocol")) {
			proto_node = v;
			err = pol_want_scalar(c, v, "protocol");
			if (!err && cgf_parse_proto(v->str, &r->proto))
				err = ERR(v, "protocol must be tcp, udp, icmp or any, not '%s'", v->str);
		} else if (!strcmp(k->str, wrong_key) ||
			   (dir == CGF_DIR_BIND && !strcmp(k->str, "from"))) {
			err = ERR(k, "%s rules match by '%s', not '%s'", cgf_dir_name(dir),
				  addr_key, k->str);
		} else {
			err = dir == CGF_DIR_REDIRECT
				      ? ERR(k, "unknown key '%s' in match (expected to, except, ports, "
					    "protocol)", k->str)
				      : ERR(k, "unknown key '%s' in a rule (expected action, %s, except, "
					    "ports, protocol%s)", k->str, addr_key,
					    dir == CGF_DIR_EGRESS ? ", to_names" : "");
		}
		if (err)
			return err;
	}
	if (dir == CGF_DIR_REDIRECT)
		r->action = CGF_ALLOW;	/* "this entry applies" */
	else if (!have_action)
		return ERR(n, "rule has no 'action' (allow or deny)");
	if (r->n_ports && proto_node && r->proto == CGF_P_ICMP)
		return ERR(proto_node, "ports need protocol tcp, udp or any; icmp has no ports");
	if (names)
		return check_name_rule(c, n, names, dir, r);
	if (!r->to_given) {
		const char *why;

		r->to = xcalloc(CGF_WORD_MAX, sizeof(*r->to));
		r->n_to = cgf_parse_prefixes("any", r->to, &why);
	}
	return 0;
}

static int parse_section(struct pctx *c, const struct yt_node *n, int dir)
{
	struct cgf_section *s = &c->p->sec[dir];
	const struct yt_node *rules;
	int err = pol_default_and_rules(c, n, cgf_dir_name(dir), pol_parse_action, "allow or deny",
					&s->def, &rules);

	if (err)
		return err;
	s->present = true;
	s->line = n->line;
	s->col = n->col;
	s->first = c->p->n_rules;
	for (size_t i = 0; rules && i < rules->n; i++) {
		struct cgf_rule *r;

		GROW(c->p->rules, c->rules_cap, c->p->n_rules + 1);
		r = &c->p->rules[c->p->n_rules];
		memset(r, 0, sizeof(*r));
		r->id = (uint32_t)c->p->n_rules++;
		s->n++;
		err = parse_rule(c, rules->items[i], dir, r);
		if (err)
			return err;
	}
	return 0;
}

static int parse_endpoint(struct pctx *c, const struct yt_node *v, struct cgf_endpoint *e)
{
	const char *why = NULL;
	int proto;

	if (v->type != YT_SCALAR)
		return ERR(v, "a backend must be ADDR:PORT (or [ADDR]:PORT), not %s",
			   yt_type_name(v->type));
	if (cgf_parse_endpoint(v->str, &e->addr, &e->port, &proto, &why) || proto >= 0)
		return ERR(v, "'%s': %s", v->str, why ? why : "write ADDR:PORT without a protocol");
	cgf_prefix_unmap(&e->addr);
	if (!e->port)
		return ERR(v, "'%s': a backend needs a port", v->str);
	return 0;
}

static int parse_select(struct pctx *c, const struct yt_node *v, int *out)
{
	static const char *const names[] = { [CGF_SELECT_RANDOM] = "random",
					     [CGF_SELECT_ROUND_ROBIN] = "round-robin",
					     [CGF_SELECT_HASH] = "hash" };
	int err = pol_want_scalar(c, v, "select");

	for (int i = 0; !err && i < (int)ARRAY_SIZE(names); i++)
		if (!strcmp(v->str, names[i])) {
			*out = i;
			return 0;
		}
	return err ?: ERR(v, "select must be random, round-robin or hash, not '%s'", v->str);
}

/* to: ADDR:PORT, or backends: [ADDR:PORT, ...] */
static int parse_targets(struct pctx *c, const struct yt_node *e, const struct yt_node *to,
			 const struct yt_node *backends, struct cgf_redirect *rd)
{
	int err;

	if (!to == !backends)
		return ERR(e, "a redirect names one target ('to: ADDR:PORT') or a set "
			   "('backends: [ADDR:PORT, ...]')");
	if (to) {
		rd->n = 1;
		return parse_endpoint(c, to, &rd->backends[0]);
	}
	err = pol_want(c, backends, YT_SEQ, "backends");
	if (!err && (!backends->n || backends->n > CGF_REDIR_BACKENDS_MAX))
		err = ERR(backends, "backends: 1 to %d endpoints", CGF_REDIR_BACKENDS_MAX);
	for (size_t j = 0; !err && j < backends->n; j++)
		err = parse_endpoint(c, backends->items[j], &rd->backends[rd->n++]);
	return err;
}

/* One redirect entry: its target(s) and selection, and its match as a rule. */
static int parse_redirect_entry(struct pctx *c, const struct yt_node *e, struct cgf_redirect *rd)
{
	struct cgf_policy *p = c->p;
	const struct yt_node *match = NULL, *to = NULL, *backends = NULL;
	struct cgf_rule *r;
	bool have_v4 = false;
	int err = 0;

	if (e->type != YT_MAP)
		return ERR(e, "a redirect must be a mapping (match, to or backends, select)");
	rd->line = e->line;
	rd->col = e->col;
	for (size_t j = 0; j < e->n && !err; j++) {
		const struct yt_node *k = yt_map_key(e, j), *v = yt_map_val(e, j);

		if (!strcmp(k->str, "match"))
			match = v;
		else if (!strcmp(k->str, "to"))
			to = v;
		else if (!strcmp(k->str, "backends"))
			backends = v;
		else if (!strcmp(k->str, "select"))
			err = parse_select(c, v, &rd->select);
		else
			err = ERR(k, "unknown key '%s' in a redirect (expected match, to, "
				  "backends, select)", k->str);
	}
	if (err)
		return err;
	if (!match)
		return ERR(e, "redirect has no 'match' (to, ports, protocol)");
	err = parse_targets(c, e, to, backends, rd);
	if (err)
		return err;
	GROW(p->rules, c->rules_cap, p->n_rules + 1);
	r = &p->rules[p->n_rules];
	memset(r, 0, sizeof(*r));
	r->id = (uint32_t)p->n_rules++;
	p->sec[CGF_DIR_REDIRECT].n++;
	err = parse_rule(c, match, CGF_DIR_REDIRECT, r);
	if (err)
		return err;
	for (size_t j = 0; j < r->n_to; j++)
		have_v4 |= r->to[j].family == 4;
	for (size_t j = 0; have_v4 && j < rd->n; j++)
		if (rd->backends[j].addr.family == 6)
			return ERR(to ? to : backends->items[j], "an IPv6 backend cannot serve "
				   "IPv4 destinations (connect4 cannot change the family); "
				   "match IPv6 destinations only, or use an IPv4 backend");
	return 0;
}

static int parse_redirect(struct pctx *c, const struct yt_node *n)
{
	struct cgf_policy *p = c->p;
	struct cgf_section *s = &p->sec[CGF_DIR_REDIRECT];
	int err = pol_want(c, n, YT_SEQ, "network.redirect");

	if (err)
		return err;
	if (n->n > CGF_REDIR_ENTRIES_MAX)
		return ERR(n, "network.redirect: at most %d entries", CGF_REDIR_ENTRIES_MAX);
	s->present = true;
	s->def = CGF_DENY;	/* no entry matches: no rewrite */
	s->first = p->n_rules;
	s->line = n->line;
	s->col = n->col;
	p->redirects = xcalloc(n->n ? n->n : 1, sizeof(*p->redirects));
	for (size_t i = 0; i < n->n && !err; i++)
		err = parse_redirect_entry(c, n->items[i], &p->redirects[i]);
	return err;
}

/* network.state: on (YAML's on/true) or off (off/false) */
static int parse_state(struct pctx *c, const struct yt_node *v)
{
	int err = pol_want_scalar(c, v, "network.state");

	if (err)
		return err;
	if (!strcmp(v->str, "on") || !strcmp(v->str, "true"))
		c->p->stateless = false;
	else if (!strcmp(v->str, "off") || !strcmp(v->str, "false"))
		c->p->stateless = true;
	else
		return ERR(v, "network.state must be on or off, not '%s'", v->str);
	c->p->state_line = v->line;
	return 0;
}

/* network.dns: {servers: [ADDR, ...], min_ttl: SECONDS, max_addresses: N} */
static int parse_dns(struct pctx *c, const struct yt_node *n)
{
	struct cgf_dns *d = &c->p->dns;
	int err = pol_want(c, n, YT_MAP, "network.dns");

	d->present = true;
	d->line = n->line;
	d->col = n->col;
	for (size_t i = 0; !err && i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		if (!strcmp(k->str, "servers")) {
			struct cgf_prefix *pf = NULL;
			size_t np = 0;

			err = parse_prefix_list(c, v, "servers", &pf, &np);
			c->p->n_prefixes -= err ? 0 : np;	/* no rule's prefixes */
			for (size_t j = 0; !err && j < np; j++) {
				cgf_prefix_unmap(&pf[j]);
				if (pf[j].len != (pf[j].family == 4 ? 32 : 128))
					err = ERR(v, "servers: a resolver is one address, not a prefix");
				else if (d->n_servers >= CGF_DNS_SERVERS_MAX)
					err = ERR(v, "servers: at most %d resolvers",
						  CGF_DNS_SERVERS_MAX);
				else
					d->servers[d->n_servers++] = pf[j];
			}
			free(pf);
		} else if (!strcmp(k->str, "min_ttl")) {
			err = pol_parse_uint(c, v, "min_ttl", 0, CGF_TTL_CAP_S, &d->min_ttl);
		} else if (!strcmp(k->str, "max_addresses")) {
			err = pol_parse_uint(c, v, "max_addresses", 16, CGF_LEARNT_MAX,
					     &d->max_addresses);
		} else {
			err = ERR(k, "unknown key '%s' in network.dns (expected servers, min_ttl, "
				  "max_addresses)", k->str);
		}
	}
	return err;
}

/* The resolvers network.dns leaves out: systemd-resolved's, and loopback's. */
const char *const cgf_dns_default_servers[] = { "127.0.0.53", "127.0.0.1", "::1", NULL };

void pol_dns_defaults(struct cgf_dns *d)
{
	if (d->n_servers)
		return;
	for (size_t j = 0; cgf_dns_default_servers[j]; j++) {
		struct cgf_prefix pf[CGF_WORD_MAX];
		const char *why;

		if (cgf_parse_prefixes(cgf_dns_default_servers[j], pf, &why) == 1)
			d->servers[d->n_servers++] = pf[0];
	}
}

size_t cgf_dns_server_strs(const struct cgf_dns *d, char buf[][64], const char **list)
{
	size_t n = 0;

	for (; n < d->n_servers && n < CGF_DNS_SERVERS_MAX; n++) {
		cgf_prefix_str(&d->servers[n], buf[n], 64);
		list[n] = buf[n];
	}
	list[n] = NULL;
	return n;
}

/* network.outside_sockets: report (default) or destroy */
static int parse_outside(struct pctx *c, const struct yt_node *v)
{
	int err = pol_want_scalar(c, v, "network.outside_sockets");

	if (err)
		return err;
	if (!strcmp(v->str, "report"))
		c->p->destroy_outside = false;
	else if (!strcmp(v->str, "destroy"))
		c->p->destroy_outside = true;
	else
		return ERR(v, "network.outside_sockets must be report or destroy, not '%s'", v->str);
	return 0;
}

int pol_parse_network(struct pctx *c, const struct yt_node *n)
{
	int err = pol_want(c, n, YT_MAP, "network");

	if (err)
		return err;
	/* parse egress before ingress so that rule ids follow that order */
	for (int dir = 0; dir < CGF_DIR_REDIRECT; dir++)
		for (size_t i = 0; i < n->n; i++)
			if (!strcmp(yt_map_key(n, i)->str, cgf_dir_name(dir))) {
				err = parse_section(c, yt_map_val(n, i), dir);
				if (err)
					return err;
			}
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i);

		if (!strcmp(k->str, "egress") || !strcmp(k->str, "ingress") ||
		    !strcmp(k->str, "bind"))
			continue;
		if (!strcmp(k->str, "sockets")) {
			err = pol_parse_sockets(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		if (!strcmp(k->str, "redirect"))
			continue;	/* after the sections: its rules come last */
		if (!strcmp(k->str, "state")) {
			err = parse_state(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		if (!strcmp(k->str, "dns")) {
			err = parse_dns(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		if (!strcmp(k->str, "outside_sockets")) {
			err = parse_outside(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		if (!strcmp(k->str, "rate_limit")) {
			err = pol_parse_rate_limit(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		return ERR(k, "unknown key '%s' in network (expected state, egress, ingress, bind, "
			   "sockets, redirect, rate_limit, outside_sockets, dns)", k->str);
	}
	for (size_t i = 0; i < n->n; i++)
		if (!strcmp(yt_map_key(n, i)->str, "redirect")) {
			err = parse_redirect(c, yt_map_val(n, i));
			if (err)
				return err;
		}
	return 0;
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
