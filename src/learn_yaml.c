// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Learning (learn.h), the output: what learn.c gathered, as a policy. Rules
 * come out sorted, each with a comment: how often, by which processes, first
 * and last seen. Every string of the workload's the output quotes is written
 * by libyaml's emitter; the comments hold printable ASCII only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "learn_int.h"
#include "policy.h"
#include "util.h"

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

static int yq_write(void *data, unsigned char *buf, size_t n)
{
	put(data, "%.*s", (int)n, (const char *)buf);
	return 1;
}

/* s as a YAML double-quoted scalar, written by libyaml's emitter (escapes
 * included), no line break */
static void put_q(struct out *o, const char *s)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct out q = { 0 };
	int ok;

	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, yq_write, &q);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_unicode(&em, 0);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&em, &ev) &&
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
					  YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
	     yaml_emitter_emit(&em, &ev) && yaml_document_end_event_initialize(&ev, 1) &&
	     yaml_emitter_emit(&em, &ev) && yaml_stream_end_event_initialize(&ev) &&
	     yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
	yaml_emitter_delete(&em);
	while (ok && q.len && (q.buf[q.len - 1] == '\n' || q.buf[q.len - 1] == ' '))
		q.len--;
	if (!ok || q.len < 2 || q.buf[0] != '"')
		abort();	/* the emitter refused a string: out of memory */
	put(o, "%.*s", (int)q.len, q.buf);
	free(q.buf);
}

/* what a comment may hold of a string of the workload's: printable ASCII */
static void printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
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
			cgf_learn_add_comm(list, &nl, &more, g[i]->comms[c]);
		more += g[i]->more;
	}
	for (size_t c = 0; c < nl; c++)
		snprintf(comms + strlen(comms), sizeof(comms) - strlen(comms), "%s%s", c ? ", " : "",
			 list[c]);
	printable(comms);
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
				put(o, "%s", nl++ ? ", " : "");
				put_q(o, a);
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
			put(o, "        - ");
			put_q(o, s->what);
			put(o, "\n");
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
	if (l->bad_names)
		put(&o, "# note: %llu answers to questions that are no host names taught no name "
			"(their addresses are learnt by number)\n", (unsigned long long)l->bad_names);
	if (l->bad_sysctls)
		put(&o, "# note: %llu sysctl accesses with a glob character in the name were not "
			"learnt\n", (unsigned long long)l->bad_sysctls);
	put(&o, "version: 1\nname: %s\nnetwork:\n", op->name);	/* a valid name (util.h) */
	if (has_kind(l, K_EGRESS, true) && op->dns && op->dns[0]) {
		put(&o, "  dns:\n    servers: [");
		for (size_t i = 0; op->dns[i]; i++) {
			put(&o, "%s", i ? ", " : "");
			put_q(&o, op->dns[i]);
		}
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
	for (size_t i = 0; dns[i]; i++) {
		put(&o, "%s", i ? ", " : "");
		put_q(&o, dns[i]);
	}
	put(&o, "]\n  sockets:\n    deny_types: [stream, dgram, raw, seqpacket]\n"
		"  egress: {default: deny}\n  ingress: {default: deny}\n  bind: {default: deny}\n"
		"devices: {default: deny}\nsysctl: {default: deny}\n"
		"log: {denials: true, denials_per_second: 0, dns: true}\n");
	return o.buf;
}
