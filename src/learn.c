// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Learning (learn.h). Each would-deny event of the observing policy is
 * something the workload did; it is counted under what a rule would have to
 * allow: an egress destination (an address, or the name a trusted answer
 * gave it) with a protocol, an ingress peer with a local port, a bind port,
 * a socket type, a device, a sysctl. Destinations with the same protocol
 * and ports share a rule. Rules come out sorted, each with a comment: how
 * often, by which processes, first and last seen.
 *
 * Everything in the events came from the workload, and is untrusted: a DNS
 * question name is learnt only when it is a host name (names.h), a sysctl
 * name only when it holds no glob character, every string the output quotes
 * is written by libyaml's emitter, and the comments hold printable ASCII
 * only. Replies to what the workload asked (a peer it sent to answering from
 * the port it sent to) need no ingress rule under network.state: on, and get
 * none.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "learn_int.h"
#include "names.h"
#include "policy.h"
#include "util.h"

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
	free(l->a);
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
void cgf_learn_add_comm(char list[][16], size_t *n, size_t *more, const char *comm)
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
		cgf_learn_add_comm(s->comms, &s->ncomms, &s->more, comm);
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

/* A DNS answer's question name for its address, if it is a host name: the
 * workload chose the question, and a name that is no host name (a label with
 * a quote, a bracket, a '*', a new line...) would be no rule of its own. The
 * address is then learnt by its number. */
static void learn_dns(struct cgf_learn *l, json_object *ev)
{
	const char *a = str(ev, "dst"), *n = str(ev, "name"), *why;
	char canon[CGF_NAME_TEXT_MAX];
	size_t col;

	if (!a || !n || !*n)
		return;
	if (strlen(n) >= sizeof(l->d[0].name) || cgf_name_parse(n, false, canon, &why, &col)) {
		l->bad_names++;
		return;
	}
	GROW(l->d, l->capd, l->nd + 1);
	snprintf(l->d[l->nd].addr, sizeof(l->d[0].addr), "%s", a);
	snprintf(l->d[l->nd++].name, sizeof(l->d[0].name), "%s", canon);
}

static void add_asked(struct cgf_learn *l, const char *addr, const char *proto, int64_t port)
{
	for (size_t i = 0; i < l->na; i++)
		if (l->a[i].port == port && !strcmp(l->a[i].addr, addr) &&
		    !strcmp(l->a[i].proto, proto))
			return;
	GROW(l->a, l->capa, l->na + 1);
	snprintf(l->a[l->na].addr, sizeof(l->a[0].addr), "%s", addr);
	snprintf(l->a[l->na].proto, sizeof(l->a[0].proto), "%s", proto);
	l->a[l->na++].port = port;
}

static bool was_asked(const struct cgf_learn *l, const char *addr, const char *proto, int64_t port)
{
	for (size_t i = 0; i < l->na; i++)
		if (l->a[i].port == port && !strcmp(l->a[i].addr, addr) &&
		    !strcmp(l->a[i].proto, proto))
			return true;
	return false;
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
			add_asked(l, dst, proto, num(ev, "dport"));
			/* its local port: the kernel's choice (bind's port 0), unless bound */
			struct seen *b = find(l, K_BIND, "", proto);

			add_port(b, 0);
			note(b, ev);
		} else {
			s->any_port = true;
		}
	} else if (!strcmp(dir, "inbound") && !strcmp(hook, "ingress")) {
		const char *src = str(ev, "src") ?: "";

		/* an answer from where the workload sent to (its resolver's reply to
		 * a datagram the observer did not let make a peer): a reply, which
		 * network.state: on lets in without a rule */
		if ((!strcmp(proto, "tcp") || !strcmp(proto, "udp")) &&
		    was_asked(l, src, proto, num(ev, "sport")))
			return;
		s = find(l, K_INGRESS, src, proto);	/* the peer, our port */
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

		const char *name = str(d, "name") ?: "";

		/* a glob character in a learnt name (an interface named "*") would
		 * widen the rule: refused; a truncated name ends in our own '*' */
		if (strpbrk(name, "*?[]\\") || strlen(name) + 2 > sizeof(what)) {
			l->bad_sysctls++;
			return;
		}
		snprintf(what, sizeof(what), "%s%s", name, trunc ? "*" : "");
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
