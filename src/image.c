// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The compiler's front: a policy and the host's facts -> one image
 * (compile.h). The address and port tables come from compile.c; this file
 * makes the rest: the .rodata configuration, the rule texts, the socket
 * option, sysctl, redirect and device tables, and the hooks.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "util.h"

uint32_t cgf_policy_features(const struct cgf_policy *p)
{
	uint32_t f = 0;

	f |= p->sec[CGF_DIR_EGRESS].present ? CGF_F_EGRESS : 0;
	f |= p->sec[CGF_DIR_INGRESS].present ? CGF_F_INGRESS : 0;
	f |= p->sec[CGF_DIR_BIND].present ? CGF_F_BIND : 0;
	f |= p->sec[CGF_DIR_REDIRECT].present ? CGF_F_REDIRECT : 0;
	f |= p->sockets.present ? CGF_F_SOCKETS : 0;
	f |= p->devices.present ? CGF_F_DEVICES : 0;
	f |= p->sysctl.present ? CGF_F_SYSCTL : 0;
	f |= p->tcp.present ? CGF_F_TCP : 0;
	f |= p->vis.accounting ? CGF_F_ACCOUNTING : 0;
	f |= p->vis.rate_cps ? CGF_F_RATE_LIMIT : 0;
	f |= p->vis.log_connections ? CGF_F_LOG_CONNS : 0;
	f |= !p->stateless && (f & (CGF_F_EGRESS | CGF_F_INGRESS | CGF_F_BIND)) ? CGF_F_STATE : 0;
	f |= p->n_name_rules || p->vis.log_dns ? CGF_F_NAMES : 0;
	for (size_t i = 0; i < p->n_sockopts; i++)
		f |= p->sockopts[i].op == CGF_SOCKOPT_SET ? CGF_F_SOCKOPT_SET : CGF_F_SOCKOPT_GET;
	return f;
}

static bool cc_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *s = list; (s = strstr(s, name)); s += n)
		if ((s == list || s[-1] == ' ') && (!s[n] || s[n] == ' ' || s[n] == '\n'))
			return true;
	return false;
}

static int config_tcp(const struct cgf_policy *p, const struct cgf_host *h, struct cgf_config *cfg)
{
	const struct cgf_tcp *t = &p->tcp;

	if (t->congestion[0] && h->congestion && !cc_listed(h->congestion, t->congestion))
		return cgf_error_at(-EINVAL, p->file, t->congestion_line, t->congestion_col,
				    "congestion: '%s' is not available in this kernel (available: "
				    "%.*s); load its module first (modprobe tcp_%s)", t->congestion,
				    (int)strcspn(h->congestion, "\n"), h->congestion, t->congestion);
	memcpy(cfg->tcp_cc, t->congestion, sizeof(cfg->tcp_cc));
	cfg->tcp_iw = t->initial_cwnd;
	if (t->syn_rto_ms) {
		if (h->hz <= 0)
			return cgf_error_at(-ENOENT, p->file, t->syn_rto_line, t->syn_rto_col,
					    "syn_rto_ms: cannot find the kernel's HZ (no "
					    "/proc/config.gz or /boot/config-*)");
		cfg->tcp_syn_rto_jiffies = (int32_t)((t->syn_rto_ms * (uint64_t)h->hz + 999) / 1000);
	}
	return 0;
}

/* The .rodata configuration (all but the slot, which is the loader's). */
static int compile_config(const struct cgf_policy *p, const struct cgf_host *h,
			  struct cgf_config *cfg)
{
	const struct cgf_visibility *v = &p->vis;

	memset(cfg, 0, sizeof(*cfg));
	cfg->audit = p->mode == CGF_MODE_AUDIT;
	cfg->sock_families = CGF_FAM_INET | CGF_FAM_INET6;
	cfg->dev_default = CGF_ALLOW;
	cfg->sysctl_default = CGF_SYSCTL_ALLOW;
	if (p->sockets.present) {
		cfg->sock_families = p->sockets.families;
		cfg->sock_deny_types = p->sockets.deny_types;
		_Static_assert(sizeof(cfg->sock_deny_protos) >= sizeof(p->sockets.deny_protos),
			       "protocol bitmap fits");
		memcpy(cfg->sock_deny_protos, p->sockets.deny_protos,
		       sizeof(p->sockets.deny_protos));
	}
	if (p->devices.present)
		cfg->dev_default = (uint8_t)p->devices.def;
	if (p->sysctl.present) {
		cfg->sysctl_default = (uint32_t)p->sysctl.def;
		cfg->sysctl_n = (uint32_t)p->sysctl.n;
	}
	cfg->has_egress = p->sec[CGF_DIR_EGRESS].present;
	cfg->has_ingress = p->sec[CGF_DIR_INGRESS].present;
	cfg->has_redirect = p->sec[CGF_DIR_REDIRECT].present;
	cfg->has_bind = p->sec[CGF_DIR_BIND].present;
	cfg->state = !p->stateless && (cfg->has_egress || cfg->has_ingress || cfg->has_bind);
	/* bind rules' port 0: a port the kernel chooses from the range of this
	 * (the host's) network namespace, not one a container set for its own */
	cfg->eph_lo = h->eph_lo ? h->eph_lo : 32768;
	cfg->eph_hi = h->eph_lo ? h->eph_hi : 60999;
	/* the datagram peers' window in jiffies: no clock read per datagram */
	cfg->peer_window_jiffies = h->hz > 0 ? (uint32_t)(CGF_PEER_WINDOW_S * h->hz) : 0;
	cfg->redir_first = (uint32_t)p->sec[CGF_DIR_REDIRECT].first;
	cfg->n_rules = (uint32_t)p->n_rules;
	cfg->has_names = p->n_name_rules > 0;
	cfg->log_dns = p->vis.log_dns;
	cfg->dns_min_ttl_s = p->dns.min_ttl;
	cfg->hz = cfg->has_names && h->hz > 0 ? (uint32_t)h->hz : 0;	/* the version's copy */
	cfg->accounting = v->accounting;
	cfg->log_denials = v->log_denials;
	cfg->log_conns = v->log_connections;
	if (v->rate_cps) {
		cfg->rl_interval_ns = 1000000000ull / v->rate_cps;
		cfg->rl_burst_ns = (uint64_t)(v->rate_burst - 1) * cfg->rl_interval_ns;
	}
	if (v->denials_per_second) {	/* a burst of a second's worth */
		cfg->ev_interval_ns = 1000000000ull / v->denials_per_second;
		cfg->ev_burst_ns = (uint64_t)(v->denials_per_second - 1) * cfg->ev_interval_ns;
	}
	return p->tcp.present ? config_tcp(p, h, cfg) : 0;
}

static const char *const access_names[8] = { "", "m", "r", "rm", "w", "mw", "rw", "rwm" };

static void dev_rule_text(const struct cgf_dev_rule *r, char *buf, size_t len)
{
	const char *act = r->action == CGF_DENY ? "deny" : "allow";
	char maj[16] = "*", min[16] = "*";

	if (r->path) {
		snprintf(buf, len, "devices: %s %s %s", act, r->path, access_names[r->access & 7]);
		return;
	}
	if (r->major != CGF_DEV_ANY)
		snprintf(maj, sizeof(maj), "%u", r->major);
	if (r->minor != CGF_DEV_ANY)
		snprintf(min, sizeof(min), "%u", r->minor);
	snprintf(buf, len, "devices: %s %c %s:%s %s", act, "abc"[r->type % 3], maj, min,
		 access_names[r->access & 7]);
}

/*
 * rule id -> line and text, for events and stats (abi.h: rule ids): the
 * network rules, "default", "rate_limit", then the devices rules, sysctl
 * patterns and sockopt rules, whose first ids go into the configuration.
 */
static void compile_rule_info(const struct cgf_policy *p, struct cgf_compiled *o)
{
	static const char *const sysctl_verdicts[] = { [CGF_SYSCTL_ALLOW] = "allow",
						       [CGF_SYSCTL_DENY] = "deny",
						       [CGF_SYSCTL_READ_ONLY] = "read-only" };
	uint32_t n = (uint32_t)p->n_rules + 2;
	struct cgf_rule_info *ri;

	o->cfg.dev_rule_first = n;
	o->cfg.sysctl_rule_first = n += (uint32_t)p->devices.n;
	o->cfg.sockopt_rule_first = n += (uint32_t)p->sysctl.n;
	o->cfg.name_rule_first = n += (uint32_t)p->n_sockopts;
	o->n_rule_slots = n += (uint32_t)o->n_pats;
	o->rule_info = ri = xcalloc(n, sizeof(*o->rule_info));
	for (uint32_t i = 0; i < p->n_rules; i++, ri++) {
		ri->line = (uint32_t)p->rules[i].line;
		cgf_rule_text(&p->rules[i], ri->text, sizeof(ri->text));
	}
	snprintf((ri++)->text, sizeof(ri->text), "default");
	snprintf((ri++)->text, sizeof(ri->text), "rate_limit");
	for (size_t i = 0; i < p->devices.n; i++, ri++) {
		ri->line = (uint32_t)p->devices.rules[i].line;
		dev_rule_text(&p->devices.rules[i], ri->text, sizeof(ri->text));
	}
	for (size_t i = 0; i < p->sysctl.n; i++, ri++) {
		const struct cgf_sysctl_pat *sp = &p->sysctl.pats[i];

		ri->line = (uint32_t)sp->line;
		snprintf(ri->text, sizeof(ri->text), "sysctl: %s %s",
			 sysctl_verdicts[(unsigned)sp->verdict < 3 ? sp->verdict : CGF_SYSCTL_DENY],
			 sp->pat);
	}
	for (size_t i = 0; i < p->n_sockopts; i++, ri++) {
		ri->line = (uint32_t)p->sockopts[i].line;
		snprintf(ri->text, sizeof(ri->text), "sockopt: %s %s",
			 p->sockopts[i].op == CGF_SOCKOPT_SET ? "deny_set" : "deny_get",
			 p->sockopts[i].name);
	}
	for (size_t i = 0; i < o->n_pats; i++, ri++) {	/* to_names patterns */
		o->pats[i].val.idx = o->cfg.name_rule_first + (uint32_t)i;	/* events' name - 1 */
		ri->line = (uint32_t)p->rules[o->pats[i].rule].line;
		snprintf(ri->text, sizeof(ri->text), "%s", o->pats[i].text);
	}
}

/* The resolvers whose answers count, as cgf_dns_servers keys (IPv4 mapped). */
static void compile_dns(const struct cgf_policy *p, struct cgf_compiled *o)
{
	o->learnt_max = p->n_name_rules ? p->dns.max_addresses : 1;
	o->dns_servers = xcalloc(p->dns.n_servers ?: 1, sizeof(*o->dns_servers));
	for (size_t i = 0; (p->n_name_rules || p->vis.log_dns) && i < p->dns.n_servers; i++) {
		const struct cgf_prefix *s = &p->dns.servers[i];
		uint8_t *a = (uint8_t *)o->dns_servers[o->n_dns_servers++].addr;

		if (s->family == 4) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, s->addr, 4);
		} else {
			memcpy(a, s->addr, 16);
		}
	}
}

static void compile_tables(const struct cgf_policy *p, struct cgf_compiled *o)
{
	o->n_sockopt = p->n_sockopts;
	o->sockopt = xcalloc(o->n_sockopt ?: 1, sizeof(*o->sockopt));
	o->sockopt_rule = xcalloc(o->n_sockopt ?: 1, sizeof(*o->sockopt_rule));
	for (size_t i = 0; i < p->n_sockopts; i++) {
		o->sockopt[i] = (struct cgf_sockopt_key){ .op = (uint32_t)p->sockopts[i].op,
							  .level = p->sockopts[i].level,
							  .optname = p->sockopts[i].optname };
		o->sockopt_rule[i] = (uint32_t)i;
	}
	o->n_sysctl = p->sysctl.n;
	o->sysctl = xcalloc(o->n_sysctl ?: 1, sizeof(*o->sysctl));
	for (size_t i = 0; i < p->sysctl.n; i++) {
		struct cgf_sysctl_rule *r = &o->sysctl[i];

		r->len = (uint32_t)strlen(p->sysctl.pats[i].pat);
		r->verdict = (uint32_t)p->sysctl.pats[i].verdict;
		memcpy(r->pat, p->sysctl.pats[i].pat, sizeof(r->pat));
	}
	o->n_redir = p->sec[CGF_DIR_REDIRECT].n;
	o->redir = xcalloc(o->n_redir ?: 1, sizeof(*o->redir));
	for (size_t i = 0; i < o->n_redir; i++) {
		const struct cgf_redirect *rd = &p->redirects[i];
		struct cgf_redir_entry *e = &o->redir[i];

		e->n = (uint32_t)rd->n;
		e->select = (uint32_t)rd->select;
		for (size_t j = 0; j < rd->n; j++) {
			const struct cgf_endpoint *be = &rd->backends[j];

			memcpy(e->b[j].addr, be->addr.addr, be->addr.family == 4 ? 4 : 16);
			e->b[j].port = htons(be->port);
			e->b[j].v6 = be->addr.family == 6;
		}
	}
}

/* One device pattern's access bits, allowed and denied (deny wins within it). */
static int add_device(struct cgf_compiled *o, const struct cgf_dev_rule *r, uint32_t rule,
		      uint32_t type, uint32_t major, uint32_t minor)
{
	struct cgf_dev_key k = { .type = type, .major = major, .minor = minor };
	struct cgf_dev_entry *e = NULL;

	for (size_t j = 0; j < o->n_dev && !e; j++)
		if (!memcmp(&o->dev[j].key, &k, sizeof(k)))
			e = &o->dev[j];
	if (!e) {
		if (o->n_dev >= CGF_DEVICES_MAX)
			return -E2BIG;
		GROW(o->dev, o->cap_dev, o->n_dev + 1);
		e = &o->dev[o->n_dev++];
		memset(e, 0, sizeof(*e));
		e->key = k;
		e->val.rule = rule;
	}
	if (r->action == CGF_DENY)
		e->val.deny |= r->access;
	else
		e->val.allow |= r->access;
	return 0;
}

struct dev_walk {
	struct cgf_compiled *o;
	const struct cgf_dev_rule *r;
	uint32_t rule;
	size_t devices, others;
	int err;
};

static int dev_found(void *arg, uint32_t type, uint32_t major, uint32_t minor)
{
	struct dev_walk *w = arg;

	if (!type) {
		w->others++;
		return 0;
	}
	w->devices++;
	if (!w->err)
		w->err = add_device(w->o, w->r, w->rule, type, major, minor);
	return 0;
}

/* A rule naming a path or glob: the device nodes it names on this host. */
static int device_path(const struct cgf_policy *p, const struct cgf_host *h,
		       const struct cgf_dev_rule *r, uint32_t rule, struct cgf_compiled *o)
{
	struct dev_walk w = { .o = o, .r = r, .rule = rule };
	bool glob = strpbrk(r->path, "*?[") != NULL;
	int n = h->devices ? h->devices(h, r->path, dev_found, &w) : -ENOSYS;

	if (n == -ENOSYS)
		return cgf_error_at(-ENOSYS, p->file, r->line, r->col, "path: '%s': this host's "
				    "devices are not known here", r->path);
	if (n < 0)
		return cgf_error_at(n, p->file, r->line, r->col, "path: '%s': cannot expand",
				    r->path);
	if (w.err)
		return cgf_error_at(w.err, p->file, r->line, r->col,
				    "devices: more than %u device patterns", CGF_DEVICES_MAX);
	if (!glob && !n)
		return cgf_error_at(-ENOENT, p->file, r->line, r->col, "path: '%s': no such device",
				    r->path);
	if (!glob && w.others)
		return cgf_error_at(-EINVAL, p->file, r->line, r->col,
				    "path: '%s' is not a character or block device", r->path);
	if (glob && !w.devices)
		fprintf(stderr, "cgfence: %s:%d:%d: warning: path '%s' matches no device\n",
			p->file, r->line, r->col, r->path);
	return 0;
}

/* Device rules -> one entry per (type, major, minor) pattern. */
static int compile_devices(const struct cgf_policy *p, const struct cgf_host *h,
			   struct cgf_compiled *o)
{
	for (size_t i = 0; i < p->devices.n; i++) {
		const struct cgf_dev_rule *r = &p->devices.rules[i];
		int err = r->path ? device_path(p, h, r, (uint32_t)i, o)
				  : add_device(o, r, (uint32_t)i, r->type, r->major, r->minor);

		if (err == -E2BIG && !r->path)
			err = cgf_error_at(err, p->file, r->line, r->col,
					   "devices: more than %u device patterns", CGF_DEVICES_MAX);
		if (err)
			return err;
	}
	return 0;
}

/*
 * to_names: what the guarantee needs that the policy does not say. A
 * warning each (the policy is valid; check, apply and the daemon print them).
 */
static void names_warnings(const struct cgf_policy *p)
{
	const struct cgf_section *eg = &p->sec[CGF_DIR_EGRESS];
	const struct cgf_rule *first = NULL;

	for (size_t i = eg->first; i < eg->first + eg->n && !first; i++)
		if (p->rules[i].n_names)
			first = &p->rules[i];
	if (!first)
		return;
	if (eg->def == CGF_ALLOW)
		fprintf(stderr, "cgfence: %s:%d:%d: warning: to_names under egress default: allow "
			"changes nothing (names only allow)\n", p->file, first->line, first->col);
	for (size_t i = 0; i < p->dns.n_servers; i++) {
		struct cgf_query q = { .dir = CGF_DIR_EGRESS, .addr = p->dns.servers[i],
				       .proto = CGF_P_UDP, .port = 53 };
		struct cgf_decision d;
		char a[64];

		cgf_eval(p, &q, &d);
		cgf_prefix_str(&p->dns.servers[i], a, sizeof(a));
		if (d.verdict != CGF_ALLOW)
			fprintf(stderr, "cgfence: %s:%d:%d: warning: egress denies the resolver %s "
				"(udp port 53): lookups through it fail and teach no name (allow it: "
				"{action: allow, to: [%s], ports: [53], protocol: udp})\n", p->file,
				p->dns.present ? p->dns.line : first->line,
				p->dns.present ? p->dns.col : first->col, a, a);
	}
	if (!p->sockets.present || !(p->sockets.deny_types & (1u << 3 /* SOCK_RAW */)))
		fprintf(stderr, "cgfence: %s:%d:%d: warning: to_names trusts answers from the "
			"resolvers' address and port 53, which a raw socket can forge: add "
			"network.sockets.deny_types: [raw] (and keep CAP_NET_RAW from the workload, "
			"which AF_PACKET sockets need; cgroup hooks cannot see those)\n", p->file,
			first->line, first->col);
}

int cgf_compile(const struct cgf_policy *p, const struct cgf_host *host,
		struct cgf_compiled **out)
{
	static const struct cgf_host unknown = { .hz = -1 };
	struct cgf_compiled *o = xcalloc(1, sizeof(*o));
	const struct cgf_host *h = host ? host : &unknown;
	int err;

	snprintf(o->name, sizeof(o->name), "%s", p->name);
	o->mode = p->mode;
	o->n_rules = (uint32_t)p->n_rules;
	o->n_prefixes = p->n_prefixes;
	err = cgf_compile_addresses(p, o);
	err = err ?: p->n_name_rules ? cgf_compile_names(p, o) : 0;
	err = err ?: compile_config(p, h, &o->cfg);
	err = err ?: p->devices.present ? compile_devices(p, h, o) : 0;
	if (err) {
		cgf_compiled_free(o);
		return err;
	}
	compile_rule_info(p, o);
	compile_tables(p, o);
	compile_dns(p, o);
	names_warnings(p);
	o->features = cgf_policy_features(p);
	o->hooks = cgf_hooks_for(o->features);
	o->meta_flags = p->destroy_outside ? CGF_META_DESTROY_OUTSIDE : 0;
	*out = o;
	return 0;
}

void cgf_compiled_free(struct cgf_compiled *c)
{
	if (!c)
		return;
	free(c->v4);
	free(c->v6);
	free(c->classes);
	free(c->fast);
	free(c->dev);
	free(c->ports);
	free(c->rule_info);
	free(c->sockopt);
	free(c->sockopt_rule);
	free(c->sysctl);
	free(c->redir);
	free(c->names);
	for (size_t i = 0; i < c->n_pats; i++)
		free(c->pats[i].text);
	free(c->pats);
	free(c->dns_servers);
	free(c);
}
