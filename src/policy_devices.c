// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * devices: parsing and validation. A rule names devices by path (the
 * compiler resolves it to type/major/minor on the host; a glob expands, and
 * one that matches nothing adds nothing) or by type/major/minor with "*"
 * wildcards.
 */
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

#define ERR(n, ...) PERR(c, n, __VA_ARGS__)

struct devrule_ctx {
	struct pctx *c;
	size_t cap;
};

static struct cgf_dev_rule *add_rule(struct devrule_ctx *d, const struct cgf_dev_rule *r)
{
	struct cgf_devices *dv = &d->c->p->devices;

	if (dv->n >= CGF_DEVICES_MAX)
		return NULL;
	GROW(dv->rules, d->cap, dv->n + 1);
	dv->rules[dv->n] = *r;
	return &dv->rules[dv->n++];
}

static int parse_access(struct pctx *c, const struct yt_node *v, uint8_t *out)
{
	int err = pol_want_scalar(c, v, "access");

	if (err)
		return err;
	*out = 0;
	if (!v->len)
		return ERR(v, "access: empty (write a combination of r, w and m)");
	for (const char *p = v->str; *p; p++) {
		uint8_t bit = *p == 'm' ? 1 : *p == 'r' ? 2 : *p == 'w' ? 4 : 0;

		if (!bit)
			return ERR(v, "access: '%s': use r (read), w (write) and m (mknod)", v->str);
		*out |= bit;
	}
	return 0;
}

/* "*" or a number; -> CGF_DEV_ANY or the number */
static int parse_num(struct pctx *c, const struct yt_node *v, const char *what, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (v->type != YT_SCALAR)
		return ERR(v, "%s must be a number or \"*\"", what);
	if (!strcmp(v->str, "*")) {
		*out = CGF_DEV_ANY;
		return 0;
	}
	if (!(v->str[0] >= '0' && v->str[0] <= '9'))
		return ERR(v, "%s: '%s' is not a number or \"*\"", what, v->str);
	n = strtoul(v->str, &end, 10);
	if (*end || n >= CGF_DEV_ANY)
		return ERR(v, "%s: '%s' is not a device number", what, v->str);
	*out = (uint32_t)n;
	return 0;
}

/* A path or glob: kept as written; the compiler finds its devices. */
static int add_path(struct devrule_ctx *d, const struct yt_node *v, struct cgf_dev_rule *r)
{
	struct pctx *c = d->c;
	struct cgf_dev_rule *added;

	if (v->str[0] != '/')
		return ERR(v, "path: '%s' must be absolute (e.g. /dev/null)", v->str);
	r->line = v->line;
	r->col = v->col;
	added = add_rule(d, r);
	if (!added)
		return ERR(v, "devices: more than %u device patterns", CGF_DEVICES_MAX);
	added->path = xstrdup(v->str);
	return 0;
}

static int parse_dev_rule(struct devrule_ctx *d, const struct yt_node *n)
{
	struct pctx *c = d->c;
	struct cgf_dev_rule r = { .type = 0, .major = CGF_DEV_ANY, .minor = CGF_DEV_ANY,
				  .access = 7, .line = n->line, .col = n->col };
	const struct yt_node *path = NULL, *type = NULL, *maj = NULL, *min = NULL;
	bool have_action = false;
	int err;

	if (n->type != YT_MAP)
		return ERR(n, "a device rule must be a mapping (action, path or type/major/minor, "
			   "access), not %s", yt_type_name(n->type));
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = yt_map_key(n, i), *v = yt_map_val(n, i);

		err = 0;
		if (!strcmp(k->str, "action")) {
			err = pol_parse_action(c, v, "action", &r.action);
			have_action = true;
		} else if (!strcmp(k->str, "path")) {
			path = v;
			err = pol_want_scalar(c, v, "path");
		} else if (!strcmp(k->str, "type")) {
			type = v;
			err = pol_want_scalar(c, v, "type");
		} else if (!strcmp(k->str, "major")) {
			maj = v;
		} else if (!strcmp(k->str, "minor")) {
			min = v;
		} else if (!strcmp(k->str, "access")) {
			err = parse_access(c, v, &r.access);
		} else {
			err = ERR(k, "unknown key '%s' in a device rule (expected action, path, type, "
				  "major, minor, access)", k->str);
		}
		if (err)
			return err;
	}
	if (!have_action)
		return ERR(n, "device rule has no 'action' (allow or deny)");
	if (path && (type || maj || min))
		return ERR(path, "a device rule names a path or type/major/minor, not both");
	if (path)
		return add_path(d, path, &r);
	if (!type)
		return ERR(n, "device rule needs a path or a type (c, b or a)");
	if (!strcmp(type->str, "c"))
		r.type = 2;
	else if (!strcmp(type->str, "b"))
		r.type = 1;
	else if (strcmp(type->str, "a"))
		return ERR(type, "type must be c (character), b (block) or a (all), not '%s'",
			   type->str);
	if (maj && (err = parse_num(c, maj, "major", &r.major)))
		return err;
	if (min && (err = parse_num(c, min, "minor", &r.minor)))
		return err;
	if (r.minor != CGF_DEV_ANY && r.major == CGF_DEV_ANY)
		return ERR(min, "minor needs a major");
	if (!add_rule(d, &r))
		return ERR(n, "devices: more than %u device patterns", CGF_DEVICES_MAX);
	return 0;
}

int pol_parse_devices(struct pctx *c, const struct yt_node *n)
{
	struct cgf_devices *dv = &c->p->devices;
	struct devrule_ctx d = { .c = c };
	const struct yt_node *rules;
	int err = pol_default_and_rules(c, n, "devices", pol_parse_action, "allow or deny",
					&dv->def, &rules);

	if (err)
		return err;
	dv->present = true;
	for (size_t i = 0; rules && i < rules->n; i++) {
		err = parse_dev_rule(&d, rules->items[i]);
		if (err)
			return err;
	}
	return 0;
}
