// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Learning (learn.h). Each would-deny event of the observing policy is
 * something the workload did; it is counted under what a rule would have to
 * allow: an egress destination (an address, or the name a trusted answer
 * gave it) with a protocol, an ingress peer with a local port, a bind port,
 * a socket type, a device, a sysctl. Destinations with the same protocol
 * and ports share a rule. Rules come out sorted, each with a comment: how
 * often, by which processes, first and last seen.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "learn.h"
#include "policy.h"
#include "util.h"

enum { K_EGRESS, K_INGRESS, K_BIND, K_DEVICE, K_SYSCTL, K_MAX };
#define CGF_LEARN_COMMS 4

/* One thing seen: a (kind, what, protocol) and the ports it was seen with. */
struct seen {
	int kind;
	char what[300];		/* address, name, device "c 1:9", sysctl name */
	bool is_name;
	char proto[16];		/* tcp, udp, icmp, or "" */
	uint32_t ports[2048];	/* bit per port (65536 bits) */
	bool any_port;
	uint8_t access;		/* devices: m 1, r 2, w 4; sysctl: 1 read, 2 write */
	uint64_t count;
	char comms[CGF_LEARN_COMMS][16];	/* the processes, each once */
	size_t ncomms, more;		/* ... and how many more did not fit */
	char first[40], last[40];
};

struct dns_map {
	char addr[64], name[256];
};

struct cgf_learn {
	struct seen *s;
	size_t n, cap;
	struct dns_map *d;
	size_t nd, capd;
	uint8_t types;		/* socket types seen (bit per SOCK_*) */
	bool any_socket;
	uint64_t lost, used;
};

struct cgf_learn *cgf_learn_new(void)
{
	return xcalloc(1, sizeof(struct cgf_learn));
}

void cgf_learn_free(struct cgf_learn *l)
{
	if (!l)
		return;
	free(l->s);
	free(l->d);
	free(l);
}

uint64_t cgf_learn_lost(const struct cgf_learn *l)
{
	return l->lost;
}

uint64_t cgf_learn_used(const struct cgf_learn *l)
{
	return l->used;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static int64_t num(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v) : 0;
}

static struct seen *find(struct cgf_learn *l, int kind, const char *what, const char *proto)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->s[i].kind == kind && !strcmp(l->s[i].what, what) &&
		    !strcmp(l->s[i].proto, proto))
			return &l->s[i];
	GROW(l->s, l->cap, l->n + 1);
	memset(&l->s[l->n], 0, sizeof(l->s[0]));
	l->s[l->n].kind = kind;
	snprintf(l->s[l->n].what, sizeof(l->s[0].what), "%s", what);
	snprintf(l->s[l->n].proto, sizeof(l->s[0].proto), "%s", proto);
	return &l->s[l->n++];
}

/* comm into a rule's list of processes, once; past CGF_LEARN_COMMS, counted */
static void add_comm(char list[][16], size_t *n, size_t *more, const char *comm)
{
	for (size_t i = 0; i < *n; i++)
		if (!strncmp(list[i], comm, 15))
			return;
	if (*n < CGF_LEARN_COMMS)
		snprintf(list[(*n)++], 16, "%s", comm);
	else
		(*more)++;
}

static void note(struct seen *s, json_object *ev)
{
	const char *comm = str(ev, "comm"), *t = str(ev, "time");

	s->count++;
	char sec[40] = "";

	if (t)
		snprintf(sec, sizeof(sec), "%.19sZ", t);	/* to the second */
	if (t && (!s->first[0] || strcmp(sec, s->first) < 0))
		snprintf(s->first, sizeof(s->first), "%s", sec);
	if (t && strcmp(sec, s->last) > 0)
		snprintf(s->last, sizeof(s->last), "%s", sec);
	if (comm && *comm)
		add_comm(s->comms, &s->ncomms, &s->more, comm);
}

static void add_port(struct seen *s, int64_t port)
{
	if (port < 0 || port > 65535)
		return;
	s->ports[port / 32] |= 1u << (port % 32);
}

static const char *name_of(const struct cgf_learn *l, const char *addr)
{
	for (size_t i = l->nd; i-- > 0;)
		if (!strcmp(l->d[i].addr, addr))
			return l->d[i].name;
	return NULL;
}

static void learn_dns(struct cgf_learn *l, json_object *ev)
{
	const char *a = str(ev, "dst"), *n = str(ev, "name");

	if (!a || !n || !*n)
		return;
	GROW(l->d, l->capd, l->nd + 1);
	snprintf(l->d[l->nd].addr, sizeof(l->d[0].addr), "%s", a);
	snprintf(l->d[l->nd++].name, sizeof(l->d[0].name), "%s", n);
}

/* An address event: which rule it asks for. */
static void learn_addr(struct cgf_learn *l, json_object *ev, const char *hook)
{
	const char *proto = str(ev, "protocol") ?: "", *dir = str(ev, "direction") ?: "";
	bool call = !strncmp(hook, "connect", 7) || !strncmp(hook, "sendmsg", 7);
	struct seen *s;

	if (!strncmp(hook, "bind", 4) || !strncmp(hook, "post_bind", 9)) {
		s = find(l, K_BIND, str(ev, "src") ?: "", proto);
		add_port(s, num(ev, "sport"));
	} else if (call || (!strcmp(dir, "outbound") && strcmp(proto, "tcp") && strcmp(proto, "udp") &&
			    !strcmp(hook, "egress"))) {
		/* what the cgroup starts (TCP and UDP through their calls; the
		 * rest, ICMP say, by their first packet out) */
		const char *dst = str(ev, "dst") ?: "", *n = name_of(l, dst);

		s = find(l, K_EGRESS, n ? n : dst, proto);
		s->is_name = n != NULL;
		if (!strcmp(proto, "tcp") || !strcmp(proto, "udp")) {
			add_port(s, num(ev, "dport"));
			/* its local port: the kernel's choice (bind's port 0), unless bound */
			struct seen *b = find(l, K_BIND, "", proto);

			add_port(b, 0);
			note(b, ev);
		} else {
			s->any_port = true;
		}
	} else if (!strcmp(dir, "inbound") && !strcmp(hook, "ingress")) {
		s = find(l, K_INGRESS, str(ev, "src") ?: "", proto);	/* the peer, our port */
		if (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))
			add_port(s, num(ev, "dport"));
		else
			s->any_port = true;
	} else {
		return;		/* the later packets of a flow its first event covers */
	}
	note(s, ev);
	l->used++;
}

static void learn_detail(struct cgf_learn *l, json_object *ev, const char *hook)
{
	json_object *d;
	struct seen *s;
	char what[300];

	if (!strcmp(hook, "sock_create") && json_object_object_get_ex(ev, "socket", &d)) {
		const char *t = str(d, "type") ?: "";
		static const char *const types[] = { "", "stream", "dgram", "raw", "rdm", "seqpacket" };

		for (unsigned i = 1; i < ARRAY_SIZE(types); i++)
			if (!strcmp(t, types[i]))
				l->types |= 1u << i;
		l->any_socket = true;
		l->used++;
	} else if (!strcmp(hook, "dev") && json_object_object_get_ex(ev, "device", &d)) {
		const char *acc = str(d, "access") ?: "";

		snprintf(what, sizeof(what), "%s %lld:%lld", str(d, "type") ?: "c",
			 (long long)num(d, "major"), (long long)num(d, "minor"));
		s = find(l, K_DEVICE, what, "");
		s->access |= (strchr(acc, 'm') ? 1 : 0) | (strchr(acc, 'r') ? 2 : 0) |
			     (strchr(acc, 'w') ? 4 : 0);
		note(s, ev);
		l->used++;
	} else if (!strcmp(hook, "sysctl") && json_object_object_get_ex(ev, "sysctl", &d)) {
		json_object *t, *w;
		bool trunc = json_object_object_get_ex(d, "truncated", &t) && json_object_get_boolean(t);

		snprintf(what, sizeof(what), "%s%s", str(d, "name") ?: "", trunc ? "*" : "");
		s = find(l, K_SYSCTL, what, "");
		s->access |= json_object_object_get_ex(d, "write", &w) && json_object_get_boolean(w)
				     ? 2 : 1;
		note(s, ev);
		l->used++;
	}
}

void cgf_learn_event(struct cgf_learn *l, json_object *ev)
{
	const char *type = str(ev, "type") ?: "", *hook = str(ev, "hook") ?: "";

	if (!strcmp(type, "lost")) {
		l->lost += (uint64_t)num(ev, "dropped") + (uint64_t)num(ev, "suppressed");
		return;
	}
	if (!strcmp(type, "dns")) {
		learn_dns(l, ev);
		return;
	}
	if (strcmp(type, "would-deny") && strcmp(type, "deny"))
		return;
	if (!strcmp(hook, "sock_create") || !strcmp(hook, "dev") || !strcmp(hook, "sysctl"))
		learn_detail(l, ev, hook);
	else if (str(ev, "src") || str(ev, "dst") || !strncmp(hook, "bind", 4))
		learn_addr(l, ev, hook);
}

/* ---- output ---- */

struct out {
	char *buf;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len)
			break;
		o->cap = o->cap * 2 + (size_t)n + 256;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf)
			abort();
	}
	o->len += (size_t)n;
}

/* "80, 443, 8000-8002" from a port bitmap; ports in eph_lo..eph_hi are port 0 */
static void ports_str(const struct seen *s, const struct cgf_learn_opts *op, char *buf, size_t len)
{
	size_t off = 0;
	bool eph = false;

	buf[0] = '\0';
	for (uint32_t p = 0; p < 65536; p++) {
		uint32_t q = p;

		if (!(s->ports[p / 32] & (1u << (p % 32))))
			continue;
		if (s->kind == K_BIND && p >= op->eph_lo && p <= op->eph_hi && op->eph_lo) {
			eph = true;
			continue;
		}
		while (q + 1 < 65536 && (s->ports[(q + 1) / 32] & (1u << ((q + 1) % 32))))
			q++;
		if (q > p + 1)
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s\"%u-%u\"",
						off ? ", " : "", p, q);
		else
			off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%u",
						off ? ", " : "", p);
		if (q > p + 1)
			p = q;
	}
	if (eph && !(s->ports[0] & 1))	/* the kernel chose it: port 0 */
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s0", off ? ", " : "");
}

/* Rules of one kind: destinations with the same protocol and ports share one. */
static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = *(const struct seen *const *)a, *y = *(const struct seen *const *)b;
	int r = strcmp(x->proto, y->proto);

	if (r)
		return r;
	r = memcmp(x->ports, y->ports, sizeof(x->ports));
	if (r)
		return r;
	if (x->is_name != y->is_name)
		return x->is_name ? 1 : -1;
	return strcmp(x->what, y->what);
}

static bool same_rule(const struct seen *a, const struct seen *b)
{
	return !strcmp(a->proto, b->proto) && !memcmp(a->ports, b->ports, sizeof(a->ports)) &&
	       a->any_port == b->any_port && a->is_name == b->is_name;
}

/* --group N: an IPv4 address as its /N prefix when another of the rule shares it */
static void fold(struct seen **g, size_t n, size_t i, int group, char *buf, size_t len)
{
	struct in_addr a, b;
	uint32_t mask = group >= 32 ? 0xffffffffu : ~(0xffffffffu >> group);

	snprintf(buf, len, "%s", g[i]->what);
	if (!group || g[i]->is_name || inet_pton(AF_INET, g[i]->what, &a) != 1)
		return;
	for (size_t j = 0; j < n; j++)
		if (j != i && inet_pton(AF_INET, g[j]->what, &b) == 1 &&
		    (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask)) {
			a.s_addr = htonl(ntohl(a.s_addr) & mask);
			inet_ntop(AF_INET, &a, buf, (socklen_t)len);
			snprintf(buf + strlen(buf), len - strlen(buf), "/%d", group);
			return;
		}
}

static void comment(struct out *o, struct seen *const *g, size_t n, const char *indent)
{
	uint64_t count = 0;
	const char *first = g[0]->first, *last = g[0]->last;
	char list[CGF_LEARN_COMMS][16], comms[CGF_LEARN_COMMS * 18 + 32] = "";
	size_t nl = 0, more = 0;

	for (size_t i = 0; i < n; i++) {
		count += g[i]->count;
		if (strcmp(g[i]->first, first) < 0)
			first = g[i]->first;
		if (strcmp(g[i]->last, last) > 0)
			last = g[i]->last;
		for (size_t c = 0; c < g[i]->ncomms; c++)
			add_comm(list, &nl, &more, g[i]->comms[c]);
		more += g[i]->more;
	}
	for (size_t c = 0; c < nl; c++)
		snprintf(comms + strlen(comms), sizeof(comms) - strlen(comms), "%s%s", c ? ", " : "",
			 list[c]);
	if (more)
		snprintf(comms + strlen(comms), sizeof(comms) - strlen(comms), " and others");
	put(o, "%s# seen %llu time%s, by %s; first %s, last %s\n", indent, (unsigned long long)count,
	    count == 1 ? "" : "s", comms[0] ? comms : "?", first, last);
}

static void addr_rules(struct out *o, const struct cgf_learn *l, int kind,
		       const struct cgf_learn_opts *op)
{
	struct seen **g = xcalloc(l->n + 1, sizeof(*g));
	size_t n = 0;
	char ports[1024], a[300];

	for (size_t i = 0; i < l->n; i++)
		if (l->s[i].kind == kind)
			g[n++] = &l->s[i];
	qsort(g, n, sizeof(*g), cmp_seen);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && same_rule(g[i], g[j]); j++)
			;
		comment(o, g + i, j - i, "      ");
		put(o, "      - action: allow\n        %s: [", kind == K_INGRESS ? "from"
						       : g[i]->is_name ? "to_names" : "to");
		char (*list)[300] = xcalloc(j - i, sizeof(*list));
		size_t nl = 0;

		for (size_t k = i; k < j; k++) {	/* each address or its fold, once */
			bool dup = false;

			fold(g + i, j - i, k - i, op->group, a, sizeof(a));
			for (size_t m = 0; m < nl && !dup; m++)
				dup = !strcmp(list[m], a);
			if (!dup) {
				snprintf(list[nl], sizeof(list[0]), "%s", a);
				put(o, "%s\"%s\"", nl++ ? ", " : "", a);
			}
		}
		free(list);
		put(o, "]\n");
		ports_str(g[i], op, ports, sizeof(ports));
		if (ports[0] && !g[i]->any_port)
			put(o, "        ports: [%s]\n", ports);
		if (g[i]->proto[0])
			put(o, "        protocol: %s\n", g[i]->proto);
	}
	free(g);
}

static void bind_rules(struct out *o, const struct cgf_learn *l, const struct cgf_learn_opts *op)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct seen *s = &l->s[i];
		char ports[1024];

		if (s->kind != K_BIND)
			continue;
		ports_str(s, op, ports, sizeof(ports));
		comment(o, (struct seen *const *)&s, 1, "      ");
		put(o, "      - {action: allow, ports: [%s]%s%s}\n", ports, s->proto[0] ? ", protocol: " : "",
		    s->proto);
	}
}

static const char *access_str(uint8_t a, char *buf)
{
	snprintf(buf, 4, "%s%s%s", a & 2 ? "r" : "", a & 4 ? "w" : "", a & 1 ? "m" : "");
	return buf;
}

static void device_rules(struct out *o, const struct cgf_learn *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct seen *s = &l->s[i];
		char t[4], acc[4];
		unsigned maj, min;

		if (s->kind != K_DEVICE || sscanf(s->what, "%1s %u:%u", t, &maj, &min) != 3)
			continue;
		comment(o, (struct seen *const *)&s, 1, "    ");
		put(o, "    - {action: allow, type: %s, major: %u, minor: %u, access: %s}\n", t, maj, min,
		    access_str(s->access, acc));
	}
}

static void sysctl_rules(struct out *o, const struct cgf_learn *l)
{
	for (int w = 2; w >= 1; w--) {	/* written: allow; only read: read-only */
		bool any = false;

		for (size_t i = 0; i < l->n; i++) {
			const struct seen *s = &l->s[i];

			if (s->kind != K_SYSCTL || ((s->access & 2) ? 2 : 1) != w)
				continue;
			if (!any)
				put(o, "    - action: %s\n      names:\n", w == 2 ? "allow" : "read-only");
			any = true;
			comment(o, (struct seen *const *)&s, 1, "        ");
			put(o, "        - \"%s\"\n", s->what);
		}
	}
}

static bool has_kind(const struct cgf_learn *l, int kind, bool names)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->s[i].kind == kind && (!names || l->s[i].is_name))
			return true;
	return false;
}

char *cgf_learn_yaml(const struct cgf_learn *l, const struct cgf_learn_opts *op)
{
	static const char *const types[] = { "", "stream", "dgram", "raw", "rdm", "seqpacket" };
	struct out o = { 0 };
	char deny[80] = "";

	put(&o, "# Learnt by cgfence: allows what the workload did, and nothing else.\n");
	if (op->note)
		put(&o, "# %s\n", op->note);
	if (l->lost)
		put(&o, "# warning: %llu events were lost while learning: this may be incomplete\n",
		    (unsigned long long)l->lost);
	put(&o, "version: 1\nname: %s\nnetwork:\n", op->name);
	if (has_kind(l, K_EGRESS, true) && op->dns && op->dns[0]) {
		put(&o, "  dns:\n    servers: [");
		for (size_t i = 0; op->dns[i]; i++)
			put(&o, "%s\"%s\"", i ? ", " : "", op->dns[i]);
		put(&o, "]\n");
	}
	for (unsigned t = 1; t < ARRAY_SIZE(types); t++)	/* the socket types never made */
		if (t != 4 && !(l->types & (1u << t)))
			snprintf(deny + strlen(deny), sizeof(deny) - strlen(deny), "%s%s",
				 deny[0] ? ", " : "", types[t]);
	if (deny[0])
		put(&o, "  sockets:\n    deny_types: [%s]\n", deny);
	put(&o, "  egress:\n    default: deny\n");
	if (has_kind(l, K_EGRESS, false)) {
		put(&o, "    rules:\n");
		addr_rules(&o, l, K_EGRESS, op);
	}
	put(&o, "  ingress:\n    default: deny\n");
	if (has_kind(l, K_INGRESS, false)) {
		put(&o, "    rules:\n");
		addr_rules(&o, l, K_INGRESS, op);
	}
	put(&o, "  bind:\n    default: deny\n");
	if (has_kind(l, K_BIND, false)) {
		put(&o, "    rules:\n");
		bind_rules(&o, l, op);
	}
	put(&o, "devices:\n  default: deny\n");
	if (has_kind(l, K_DEVICE, false)) {
		put(&o, "  rules:\n");
		device_rules(&o, l);
	}
	put(&o, "sysctl:\n  default: deny\n");
	if (has_kind(l, K_SYSCTL, false)) {
		put(&o, "  rules:\n");
		sysctl_rules(&o, l);
	}
	return o.buf;
}

char *cgf_learn_observer(const char *name, const char *const *dns)
{
	struct out o = { 0 };

	if (!dns || !dns[0])
		dns = cgf_dns_default_servers;
	put(&o, "version: 1\nname: %s\nmode: audit\nnetwork:\n  dns:\n    servers: [", name);
	for (size_t i = 0; dns[i]; i++)
		put(&o, "%s\"%s\"", i ? ", " : "", dns[i]);
	put(&o, "]\n  sockets:\n    deny_types: [stream, dgram, raw, seqpacket]\n"
		"  egress: {default: deny}\n  ingress: {default: deny}\n  bind: {default: deny}\n"
		"devices: {default: deny}\nsysctl: {default: deny}\n"
		"log: {denials: true, denials_per_second: 0, dns: true}\n");
	return o.buf;
}
