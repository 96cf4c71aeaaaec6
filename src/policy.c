// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
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

#define want pol_want
#define want_scalar pol_want_scalar

int pol_default_and_rules(struct pctx *c, const struct yt_node *n, const char *what,
			  pol_value_fn parse_value, const char *values, int *def,
			  const struct yt_node **rules)
{
	bool have_default = false;
	int err = want(c, n, YT_MAP, what);

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
			err = want(c, v, YT_SEQ, "rules");
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
	int err = want_scalar(c, n, what);

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

static int parse_rule(struct pctx *c, const struct yt_node *n, int dir, struct cgf_rule *r)
{
	static const char *const addr_keys[CGF_DIR_MAX] = { "to", "from", "address", "to" };
	const char *addr_key = addr_keys[dir];
	const char *wrong_key = dir == CGF_DIR_EGRESS ? "from" : "to";
	const struct yt_node *proto_node = NULL;
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
		} else if (!strcmp(k->str, "ports")) {
			err = parse_ports(c, v, r);
		} else if (!strcmp(k->str, "protocol")) {
			proto_node = v;
			err = want_scalar(c, v, "protocol");
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
					    "ports, protocol)", k->str, addr_key);
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

static int parse_redirect(struct pctx *c, const struct yt_node *n)
{
	struct cgf_policy *p = c->p;
	struct cgf_section *s = &p->sec[CGF_DIR_REDIRECT];
	int err = want(c, n, YT_SEQ, "network.redirect");

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
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *e = n->items[i], *match = NULL, *to = NULL, *backends = NULL;
		struct cgf_redirect *rd = &p->redirects[i];
		struct cgf_rule *r;
		bool have_v4 = false;

		if (e->type != YT_MAP)
			return ERR(e, "a redirect must be a mapping (match, to or backends, select)");
		rd->line = e->line;
		rd->col = e->col;
		for (size_t j = 0; j < e->n; j++) {
			const struct yt_node *k = yt_map_key(e, j), *v = yt_map_val(e, j);

			err = 0;
			if (!strcmp(k->str, "match"))
				match = v;
			else if (!strcmp(k->str, "to"))
				to = v;
			else if (!strcmp(k->str, "backends"))
				backends = v;
			else if (!strcmp(k->str, "select")) {
				err = want_scalar(c, v, "select");
				if (!err && !strcmp(v->str, "random"))
					rd->select = CGF_SELECT_RANDOM;
				else if (!err && !strcmp(v->str, "round-robin"))
					rd->select = CGF_SELECT_ROUND_ROBIN;
				else if (!err && !strcmp(v->str, "hash"))
					rd->select = CGF_SELECT_HASH;
				else if (!err)
					err = ERR(v, "select must be random, round-robin or hash, not '%s'",
						  v->str);
			} else {
				err = ERR(k, "unknown key '%s' in a redirect (expected match, to, "
					  "backends, select)", k->str);
			}
			if (err)
				return err;
		}
		if (!match)
			return ERR(e, "redirect has no 'match' (to, ports, protocol)");
		if (!to == !backends)
			return ERR(e, "a redirect names one target ('to: ADDR:PORT') or a set "
				   "('backends: [ADDR:PORT, ...]')");
		if (to) {
			err = parse_endpoint(c, to, &rd->backends[0]);
			rd->n = 1;
		} else {
			err = want(c, backends, YT_SEQ, "backends");
			if (!err && (!backends->n || backends->n > CGF_REDIR_BACKENDS_MAX))
				err = ERR(backends, "backends: 1 to %d endpoints", CGF_REDIR_BACKENDS_MAX);
			for (size_t j = 0; !err && j < backends->n; j++)
				err = parse_endpoint(c, backends->items[j], &rd->backends[rd->n++]);
		}
		if (err)
			return err;
		GROW(p->rules, c->rules_cap, p->n_rules + 1);
		r = &p->rules[p->n_rules];
		memset(r, 0, sizeof(*r));
		r->id = (uint32_t)p->n_rules++;
		s->n++;
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
	}
	return 0;
}

static int parse_network(struct pctx *c, const struct yt_node *n)
{
	int err = want(c, n, YT_MAP, "network");

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
		if (!strcmp(k->str, "rate_limit")) {
			err = pol_parse_rate_limit(c, yt_map_val(n, i));
			if (err)
				return err;
			continue;
		}
		return ERR(k, "unknown key '%s' in network (expected egress, ingress, bind, sockets, "
			   "redirect, rate_limit)", k->str);
	}
	for (size_t i = 0; i < n->n; i++)
		if (!strcmp(yt_map_key(n, i)->str, "redirect")) {
			err = parse_redirect(c, yt_map_val(n, i));
			if (err)
				return err;
		}
	return 0;
}

static int parse_target(struct pctx *c, const struct yt_node *n)
{
	struct cgf_policy *p = c->p;
	int err = want(c, n, YT_MAP, "target");

	if (err)
		return err;
	if (n->n != 1)
		return ERR(n, "target names exactly one of cgroup, pid, unit, container");
	const struct yt_node *k = yt_map_key(n, 0), *v = yt_map_val(n, 0);

	err = want_scalar(c, v, k->str);
	if (err)
		return err;
	p->target_line = v->line;
	p->target_col = v->col;
	if (!strcmp(k->str, "cgroup")) {
		if (!v->len)
			return ERR(v, "target.cgroup is empty");
		if (strstr(v->str, "..") || strstr(v->str, "***"))
			return ERR(v, "target.cgroup: '%s': '..' and '***' are not allowed", v->str);
		p->target_kind = CGF_TARGET_CGROUP;
		p->target_cgroup = xstrdup(v->str);
	} else if (!strcmp(k->str, "pid")) {
		char *end;
		long pid = strtol(v->str, &end, 10);

		if (!v->len || *end || pid <= 0 || pid > 4194304)
			return ERR(v, "target.pid must be a process id, not '%s'", v->str);
		p->target_kind = CGF_TARGET_PID;
		p->target_pid = (int)pid;
	} else if (!strcmp(k->str, "container")) {
		if (v->len < 4 || strspn(v->str, "0123456789abcdef") != v->len)
			return ERR(v, "target.container: '%s' is not a container id (4 or more hex "
				   "digits)", v->str);
		p->target_kind = CGF_TARGET_CONTAINER;
		p->target_cgroup = xstrdup(v->str);
	} else if (!strcmp(k->str, "unit")) {
		size_t dot = v->len;

		while (dot && v->str[dot - 1] != '.')
			dot--;
		if (!v->len || v->len > 255 ||
		    strspn(v->str, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789:_.\\@-") != v->len || dot < 2 ||
		    (strcmp(v->str + dot, "service") && strcmp(v->str + dot, "scope") &&
		     strcmp(v->str + dot, "slice")))
			return ERR(v, "target.unit: '%s' is not a systemd unit with a cgroup "
				   "(NAME.service, NAME.scope or NAME.slice)", v->str);
		p->target_kind = CGF_TARGET_UNIT;
		p->target_cgroup = xstrdup(v->str);
	} else {
		return ERR(k, "unknown target '%s' (expected cgroup, pid, unit, container)",
			   k->str);
	}
	return 0;
}

static int parse_top(struct pctx *c, const struct yt_node *root)
{
	struct cgf_policy *p = c->p;
	const struct yt_node *version = NULL, *name = NULL;
	int err;

	if (!root)
		return cgf_error_at(-EINVAL, c->file, 1, 1, "empty policy");
	err = want(c, root, YT_MAP, "a policy");
	if (err)
		return err;
	for (size_t i = 0; i < root->n; i++) {
		const struct yt_node *k = yt_map_key(root, i), *v = yt_map_val(root, i);

		if (!strcmp(k->str, "version")) {
			version = v;
			err = want_scalar(c, v, "version");
			if (!err && strcmp(v->str, "1"))
				err = ERR(v, "unsupported policy version '%s' (this cgfence reads 1)",
					  v->str);
		} else if (!strcmp(k->str, "name")) {
			name = v;
			err = want_scalar(c, v, "name");
			if (!err && !valid_name(v->str))
				err = ERR(v, "name '%s' must be 1 to 48 of a-z, 0-9, '_' and '-'",
					  v->str);
			if (!err)
				snprintf(p->name, sizeof(p->name), "%s", v->str);
		} else if (!strcmp(k->str, "mode")) {
			err = want_scalar(c, v, "mode");
			if (!err && !strcmp(v->str, "enforce"))
				p->mode = CGF_MODE_ENFORCE;
			else if (!err && !strcmp(v->str, "audit"))
				p->mode = CGF_MODE_AUDIT;
			else if (!err)
				err = ERR(v, "mode must be enforce or audit, not '%s'", v->str);
		} else if (!strcmp(k->str, "target")) {
			err = parse_target(c, v);
		} else if (!strcmp(k->str, "network")) {
			err = parse_network(c, v);
		} else if (!strcmp(k->str, "sockopt")) {
			err = pol_parse_sockopt(c, v);
		} else if (!strcmp(k->str, "devices")) {
			err = pol_parse_devices(c, v);
		} else if (!strcmp(k->str, "tcp")) {
			err = pol_parse_tcp(c, v);
		} else if (!strcmp(k->str, "sysctl")) {
			err = pol_parse_sysctl(c, v);
		} else if (!strcmp(k->str, "accounting")) {
			err = pol_parse_bool(c, v, "accounting", &p->vis.accounting);
		} else if (!strcmp(k->str, "log")) {
			err = pol_parse_log(c, v);
		} else {
			err = ERR(k, "unknown key '%s' (expected version, name, mode, target, network, "
				  "sockopt, devices, tcp, sysctl, accounting, log)", k->str);
		}
		if (err)
			return err;
	}
	if (!version)
		return ERR(root, "missing 'version: 1'");
	if (!name)
		return ERR(root, "missing 'name'");
	return 0;
}

int cgf_policy_parse_string(const char *name, const char *buf, size_t len,
			    struct cgf_policy **out)
{
	struct yt_doc doc;
	struct pctx c = { .file = name };
	int err;

	c.p = xcalloc(1, sizeof(*c.p));
	c.p->file = xstrdup(name);
	c.p->vis.log_denials = true;
	c.p->vis.denials_per_second = 100;
	err = yt_load_string(name, buf, len, &doc);
	if (!err)
		err = parse_top(&c, doc.root);
	yt_free(&doc);
	if (err) {
		cgf_policy_free(c.p);
		return err;
	}
	*out = c.p;
	return 0;
}

int cgf_policy_load(const char *path, struct cgf_policy **out)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int err = read_file(path, &buf, &len);

	if (err)
		return cgf_error(err, "%s: cannot read: %s", path, strerror(-err));
	return cgf_policy_parse_string(path, buf, len, out);
}

void cgf_policy_free(struct cgf_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].to);
		free(p->rules[i].except);
		free(p->rules[i].ports);
	}
	free(p->rules);
	free(p->sockopts);
	for (size_t i = 0; i < p->devices.n; i++)
		free(p->devices.rules[i].path);
	free(p->devices.rules);
	free(p->sysctl.pats);
	free(p->redirects);
	free(p->target_cgroup);
	free(p->file);
	free(p);
}

const char *cgf_dir_name(int dir)
{
	static const char *const names[CGF_DIR_MAX] = { "egress", "ingress", "bind", "redirect" };

	return dir >= 0 && dir < CGF_DIR_MAX ? names[dir] : "?";
}

const char *cgf_select_name(int s)
{
	return s == CGF_SELECT_ROUND_ROBIN ? "round-robin" : s == CGF_SELECT_HASH ? "hash" : "random";
}

void cgf_endpoint_str(const struct cgf_endpoint *e, char *buf, size_t len)
{
	char a[64];

	cgf_prefix_str(&e->addr, a, sizeof(a));
	snprintf(buf, len, e->addr.family == 6 ? "[%s]:%u" : "%s:%u", a, e->port);
}

const char *cgf_action_name(int action)
{
	return action == CGF_ALLOW ? "allow" : "deny";
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

static void append_prefixes(char *buf, size_t len, size_t *off, const char *key,
			    const struct cgf_prefix *pf, size_t n)
{
	char a[64];

	append(buf, len, off, ", %s: [", key);
	for (size_t i = 0; i < n && i < 4; i++) {
		cgf_prefix_str(&pf[i], a, sizeof(a));
		append(buf, len, off, "%s%s", i ? ", " : "", a);
	}
	if (n > 4)
		append(buf, len, off, ", ... %zu more", n - 4);
	append(buf, len, off, "]");
}

void cgf_rule_text(const struct cgf_rule *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (r->dir == CGF_DIR_REDIRECT)
		append(buf, len, &off, "{match");
	else
		append(buf, len, &off, "{action: %s", cgf_action_name(r->action));
	if (r->to_given)
		append_prefixes(buf, len, &off,
				r->dir == CGF_DIR_INGRESS ? "from" : r->dir == CGF_DIR_BIND ? "address"
											    : "to",
				r->to, r->n_to);
	if (r->n_except)
		append_prefixes(buf, len, &off, "except", r->except, r->n_except);
	if (r->n_ports) {
		append(buf, len, &off, ", ports: [");
		for (size_t i = 0; i < r->n_ports && i < 8; i++) {
			if (r->ports[i].lo == r->ports[i].hi)
				append(buf, len, &off, "%s%u", i ? ", " : "", r->ports[i].lo);
			else
				append(buf, len, &off, "%s%u-%u", i ? ", " : "", r->ports[i].lo,
				       r->ports[i].hi);
		}
		if (r->n_ports > 8)
			append(buf, len, &off, ", ... %zu more", r->n_ports - 8);
		append(buf, len, &off, "]");
	}
	if (r->proto >= 0)
		append(buf, len, &off, ", protocol: %s", cgf_proto_name(r->proto));
	append(buf, len, &off, "}");
}
