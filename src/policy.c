// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)


static int parse_target(struct pctx *c, const struct yt_node *n)
{
	struct cgf_policy *p = c->p;
	int err = pol_want(c, n, YT_MAP, "target");

	if (err)
		return err;
	if (n->n != 1)
		return ERR(n, "target names exactly one of cgroup, pid, unit, container");
	const struct yt_node *k = yt_map_key(n, 0), *v = yt_map_val(n, 0);

	err = pol_want_scalar(c, v, k->str);
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

static int parse_accounting(struct pctx *c, const struct yt_node *v)
{
	return pol_parse_bool(c, v, "accounting", &c->p->vis.accounting);
}

/* The sections of a policy after version, name and mode: adding a section is
 * a row here, its parser in a policy_*.c of its own (docs/design.md). */
static const struct section {
	const char *key;
	int (*parse)(struct pctx *c, const struct yt_node *n);
} sections[] = {
	{ "target", parse_target },	    { "network", pol_parse_network },
	{ "sockopt", pol_parse_sockopt },   { "devices", pol_parse_devices },
	{ "tcp", pol_parse_tcp },	    { "sysctl", pol_parse_sysctl },
	{ "accounting", parse_accounting }, { "log", pol_parse_log },
};

static const struct section *find_section(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (!strcmp(sections[i].key, key))
			return &sections[i];
	return NULL;
}

static const char *section_keys(void)
{
	static char keys[256];

	if (!keys[0])
		for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
			snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), ", %s",
				 sections[i].key);
	return keys;
}

static int parse_top(struct pctx *c, const struct yt_node *root)
{
	struct cgf_policy *p = c->p;
	const struct yt_node *version = NULL, *name = NULL;
	const struct section *sec;
	int err;

	if (!root)
		return cgf_error_at(-EINVAL, c->file, 1, 1, "empty policy");
	err = pol_want(c, root, YT_MAP, "a policy");
	if (err)
		return err;
	for (size_t i = 0; i < root->n; i++) {
		const struct yt_node *k = yt_map_key(root, i), *v = yt_map_val(root, i);

		if (!strcmp(k->str, "version")) {
			version = v;
			err = pol_want_scalar(c, v, "version");
			if (!err && strcmp(v->str, "1"))
				err = ERR(v, "unsupported policy version '%s' (this cgfence reads 1)",
					  v->str);
		} else if (!strcmp(k->str, "name")) {
			name = v;
			err = pol_want_scalar(c, v, "name");
			if (!err && !valid_name(v->str))
				err = ERR(v, "name '%s' must be 1 to 48 of a-z, 0-9, '_' and '-'",
					  v->str);
			if (!err)
				snprintf(p->name, sizeof(p->name), "%s", v->str);
		} else if (!strcmp(k->str, "mode")) {
			err = pol_want_scalar(c, v, "mode");
			if (!err && !strcmp(v->str, "enforce"))
				p->mode = CGF_MODE_ENFORCE;
			else if (!err && !strcmp(v->str, "audit"))
				p->mode = CGF_MODE_AUDIT;
			else if (!err)
				err = ERR(v, "mode must be enforce or audit, not '%s'", v->str);
		} else if ((sec = find_section(k->str))) {
			err = sec->parse(c, v);
		} else {
			err = ERR(k, "unknown key '%s' (expected version, name, mode%s)", k->str,
				  section_keys());
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
	c.p->dns.min_ttl = CGF_DNS_MIN_TTL_DEFAULT;
	c.p->dns.max_addresses = CGF_DNS_MAX_ADDRESSES_DEFAULT;
	err = yt_load_string(name, buf, len, &doc);
	if (!err)
		err = parse_top(&c, doc.root);
	if (!err)
		pol_dns_defaults(&c.p->dns);
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
		for (size_t j = 0; j < p->rules[i].n_names; j++)
			free(p->rules[i].names[j]);
		free(p->rules[i].names);
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
	for (size_t i = 0; i < r->n_names; i++)
		append(buf, len, &off, "%s%s", i ? ", " : ", to_names: [", r->names[i]);
	if (r->n_names)
		append(buf, len, &off, "]");
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
