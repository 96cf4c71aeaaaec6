// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgfence check, cgfence explain */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "compile.h"
#include "eval.h"
#include "jsonout.h"
#include "names.h"
#include "policy.h"
#include "sockdefs.h"
#include "util.h"

int cgf_do_check(int argc, char **argv)
{
	struct cgf_policy *p;
	struct cgf_compiled *c;
	int ret;

	if (argc != 1 || argv[0][0] == '-')
		return cgf_usage_error("check: give one POLICY file");
	ret = cgf_load_compile(argv[0], &p, &c);
	if (ret)
		return ret;
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "valid", json_object_new_boolean(true));
		json_object_object_add(o, "mode", json_object_new_string(p->mode ? "audit" : "enforce"));
		json_object_object_add(o, "rules", json_object_new_int64((int64_t)p->n_rules));
		json_object_object_add(o, "prefixes", json_object_new_int64((int64_t)p->n_prefixes));
		json_object_object_add(o, "hooks", cgf_json_hooks(c->hooks));
		json_object_object_add(o, "map_entries", cgf_map_entries_json(c));
		cgf_json_emit(o);
	} else {
		printf("%s: policy %s is valid (%s; hooks ", argv[0], p->name,
		       p->mode ? "audit" : "enforce");
		cgf_print_hooks(c->hooks);
		printf("; %zu network rules, %zu prefixes; map entries: %zu IPv4, %zu IPv6, "
		       "%u classes, %zu port, %zu device)\n", p->n_rules, p->n_prefixes, c->n_v4,
		       c->n_v6, c->n_classes, c->n_ports, c->n_dev);
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}

/* explain POLICY socket FAMILY/TYPE[/PROTO] */
static int explain_socket(const char *file, const char *spec)
{
	char buf[64], *fam, *type, *proto, *save = NULL;
	int f, t, pr, line, verdict, ret;
	struct cgf_policy *p;
	struct cgf_compiled *c;

	snprintf(buf, sizeof(buf), "%s", spec);
	fam = strtok_r(buf, "/", &save);
	type = strtok_r(NULL, "/", &save);
	proto = strtok_r(NULL, "/", &save);
	if (!fam || !type || (strcmp(fam, "inet") && strcmp(fam, "inet6")) ||
	    (t = cgf_socktype_by_name(type)) < 0)
		return cgf_usage_error("explain socket: write FAMILY/TYPE[/PROTO], e.g. inet6/stream "
				       "or inet/raw/icmp (family inet or inet6)");
	f = !strcmp(fam, "inet") ? 4 : 6;
	if (proto)
		pr = cgf_ipproto_by_name(proto);
	else
		pr = t == SOCK_STREAM ? IPPROTO_TCP : t == SOCK_DGRAM ? IPPROTO_UDP
				      : f == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	if (pr < 0)
		return cgf_usage_error("explain socket: '%s' is not an IP protocol", proto);
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		return ret;
	verdict = cgf_eval_socket(p, f, t, pr, &line);
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "verdict", json_object_new_string(cgf_action_name(verdict)));
		json_object_object_add(o, "enforced", json_object_new_boolean(p->mode == CGF_MODE_ENFORCE));
		json_object_object_add(o, "hook", json_object_new_string("socket"));
		json_object_object_add(o, "family", json_object_new_string(fam));
		json_object_object_add(o, "type", json_object_new_string(cgf_socktype_name(t)));
		json_object_object_add(o, "protocol", json_object_new_string(cgf_ipproto_name(pr)));
		json_object_object_add(o, "file", json_object_new_string(p->file));
		json_object_object_add(o, "line", line ? json_object_new_int(line) : NULL);
		cgf_json_emit(o);
	} else {
		printf("%s\n", cgf_action_name(verdict));
		if (line)
			printf("rule: %s:%d: network.sockets\n", p->file, line);
		else if (p->sockets.present)
			printf("default (network.sockets allows it)\n");
		else
			printf("default (the policy has no network.sockets section)\n");
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}

static json_object *rule_json(const struct cgf_policy *p, uint32_t id)
{
	const struct cgf_rule *r = &p->rules[id];
	json_object *o = json_object_new_object();
	char text[512];

	cgf_rule_text(r, text, sizeof(text));
	json_object_object_add(o, "file", json_object_new_string(p->file));
	json_object_object_add(o, "line", json_object_new_int(r->line));
	json_object_object_add(o, "column", json_object_new_int(r->col));
	json_object_object_add(o, "index", json_object_new_int64(id - p->sec[r->dir].first));
	json_object_object_add(o, "text", json_object_new_string(text));
	return o;
}

static void print_rule_or_default(const struct cgf_policy *p, int dir, const struct cgf_decision *d)
{
	char text[512];

	if (d->rule != CGF_RULE_DEFAULT) {
		cgf_rule_text(&p->rules[d->rule], text, sizeof(text));
		printf("rule: %s:%d: %s\n", p->file, p->rules[d->rule].line, text);
	} else if (p->sec[dir].present) {
		printf("default (%s default: %s)\n", cgf_dir_name(dir), cgf_action_name(p->sec[dir].def));
	} else {
		printf("default (the policy has no %s section)\n", cgf_dir_name(dir));
	}
}

/*
 * connect/sendmsg with network.redirect: the entry that rewrites the
 * destination, then egress on every backend it may pick. The first word is
 * the outcome: "redirect A[|B...]" for the backends egress allows, "deny" if
 * it allows none. Returns 1 if there was no rewrite (the caller explains).
 */
static int explain_redirect(const struct cgf_policy *p, const struct cgf_query *q)
{
	struct cgf_query rq = *q;
	struct cgf_decision rd, ed[CGF_REDIR_BACKENDS_MAX];
	const struct cgf_redirect *re;
	char ep[96], line[2048] = "";
	size_t allowed = 0, off = 0;

	rq.dir = CGF_DIR_REDIRECT;
	cgf_eval(p, &rq, &rd);
	if (rd.verdict != CGF_ALLOW)
		return 1;
	re = &p->redirects[rd.rule - p->sec[CGF_DIR_REDIRECT].first];
	for (size_t i = 0; i < re->n; i++) {
		struct cgf_query bq = *q;

		bq.addr = re->backends[i].addr;
		bq.port = re->backends[i].port;
		cgf_eval(p, &bq, &ed[i]);
		if (ed[i].verdict != CGF_ALLOW)
			continue;
		cgf_endpoint_str(&re->backends[i], ep, sizeof(ep));
		off += (size_t)snprintf(line + off, off < sizeof(line) ? sizeof(line) - off : 0, "%s%s",
					allowed++ ? "|" : "", ep);
	}
	if (cgf_json) {
		json_object *o = json_object_new_object(), *bs = json_object_new_array();

		json_object_object_add(o, "verdict", json_object_new_string(allowed ? "redirect" : "deny"));
		json_object_object_add(o, "enforced", json_object_new_boolean(p->mode == CGF_MODE_ENFORCE));
		json_object_object_add(o, "select", json_object_new_string(cgf_select_name(re->select)));
		json_object_object_add(o, "rule", rule_json(p, rd.rule));
		for (size_t i = 0; i < re->n; i++) {
			json_object *b = json_object_new_object();

			cgf_endpoint_str(&re->backends[i], ep, sizeof(ep));
			json_object_object_add(b, "backend", json_object_new_string(ep));
			json_object_object_add(b, "egress",
					       json_object_new_string(cgf_action_name(ed[i].verdict)));
			json_object_object_add(b, "egress_rule", ed[i].rule == CGF_RULE_DEFAULT
									 ? NULL : rule_json(p, ed[i].rule));
			json_object_array_add(bs, b);
		}
		json_object_object_add(o, "backends", bs);
		cgf_json_emit(o);
		return 0;
	}
	if (allowed)
		printf("redirect %s%s%s\n", line, re->n > 1 ? " select " : "",
		       re->n > 1 ? cgf_select_name(re->select) : "");
	else
		printf("deny\n");
	print_rule_or_default(p, CGF_DIR_REDIRECT, &rd);
	for (size_t i = 0; i < re->n; i++) {
		cgf_endpoint_str(&re->backends[i], ep, sizeof(ep));
		printf("egress for %s: %s, ", ep, cgf_action_name(ed[i].verdict));
		print_rule_or_default(p, CGF_DIR_EGRESS, &ed[i]);
	}
	return 0;
}

/* What network.state means for the answer just given. */
static void explain_state_note(const struct cgf_policy *p, const char *hook)
{
	bool net = p->sec[CGF_DIR_EGRESS].present || p->sec[CGF_DIR_INGRESS].present;

	if (!strcmp(hook, "reply"))
		printf("note: state on: a reply from this address and port follows the verdict of "
		       "the connection or datagram the cgroup sent it (egress); a reply from "
		       "anywhere else is judged by ingress\n");
	else if (!strcmp(hook, "ingress") && net && !p->stateless)
		printf("note: state on: this judges what arrives unasked; replies to the cgroup's "
		       "own connections and datagrams pass (explain POLICY reply ADDR:PORT)\n");
	else if (!strcmp(hook, "ingress") && p->stateless)
		printf("note: state off: every packet in is judged so, replies included\n");
	else if (strcmp(hook, "bind") && p->stateless)
		printf("note: state off: every packet out is judged so, answers included\n");
	else if (strcmp(hook, "bind") && net)
		printf("note: state on: this judges what the cgroup starts; its answers to "
		       "connections it accepted follow ingress\n");
}

/* The verdict on an address and port, as text or JSON. */
static void explain_print(const struct cgf_policy *p, const char *hook, const struct cgf_query *qp,
			  const struct cgf_decision *dp)
{
	const struct cgf_query q = *qp;
	const struct cgf_decision d = *dp;
	char addr[64];

	cgf_prefix_str(&q.addr, addr, sizeof(addr));
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "verdict",
				       json_object_new_string(cgf_action_name(d.verdict)));
		json_object_object_add(o, "enforced", json_object_new_boolean(p->mode == CGF_MODE_ENFORCE));
		json_object_object_add(o, "hook", json_object_new_string(hook));
		json_object_object_add(o, "section", json_object_new_string(cgf_dir_name(q.dir)));
		json_object_object_add(o, "address", json_object_new_string(addr));
		json_object_object_add(o, "port", json_object_new_int(q.port));
		json_object_object_add(o, "protocol", json_object_new_string(cgf_proto_name(q.proto)));
		json_object_object_add(o, "rule",
				       d.rule == CGF_RULE_DEFAULT ? NULL : rule_json(p, d.rule));
		json_object_object_add(o, "default", json_object_new_boolean(d.rule == CGF_RULE_DEFAULT));
		json_object_object_add(o, "state", json_object_new_boolean(!p->stateless));
		cgf_json_emit(o);
	} else {
		printf("%s\n", cgf_action_name(d.verdict));
		print_rule_or_default(p, q.dir, &d);
		if (q.dir == CGF_DIR_EGRESS && d.rule == CGF_RULE_DEFAULT && d.verdict == CGF_DENY &&
		    p->n_name_rules)
			printf("note: unless an allowed name resolved to it: to_names rules allow the "
			       "addresses a trusted resolver answers for their names (explain POLICY "
			       "%s NAME:PORT)\n", hook);
		explain_state_note(p, hook);
		if (p->mode == CGF_MODE_AUDIT && d.verdict == CGF_DENY)
			printf("note: audit mode: counted as would-deny, not enforced\n");
	}
}

/* The resolvers whose answers count, as one line. */
static void dns_servers_str(const struct cgf_policy *p, char *buf, size_t len)
{
	char a[CGF_DNS_SERVERS_MAX][64];
	const char *list[CGF_DNS_SERVERS_MAX + 1];
	size_t off = 0;

	buf[0] = '\0';
	cgf_dns_server_strs(&p->dns, a, list);
	for (size_t i = 0; list[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", list[i]);
}

/*
 * connect/sendmsg NAME:PORT: the to_names rules of egress that allow the
 * name's addresses. The compiled names trie decides which patterns match
 * (the kernel's lookup), their rules which ports and protocols.
 */
static int explain_name(const struct cgf_policy *p, const struct cgf_compiled *c, const char *hook,
			const char *name, uint16_t port, int proto)
{
	size_t idx[CGF_NAME_IDS], n = cgf_compiled_names(c, name, idx);
	struct cgf_spec best = { 0 };
	bool found = false;
	const char *via = NULL;
	char servers[512], text[512];

	for (size_t i = 0; i < n; i++) {
		const struct cgf_section *s = &p->sec[CGF_DIR_EGRESS];

		for (size_t r = s->first; r < s->first + s->n; r++)
			for (size_t j = 0; j < p->rules[r].n_names; j++) {
				bool was = found;
				uint32_t prev = best.rule;

				if (strcmp(p->rules[r].names[j], c->pats[idx[i]].text))
					continue;
				cgf_pick(&best, &found, &p->rules[r], 128, proto, port);
				if (!was || prev != best.rule)
					via = c->pats[idx[i]].text;
			}
	}
	dns_servers_str(p, servers, sizeof(servers));
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "verdict", json_object_new_string(found ? "allow" : "deny"));
		json_object_object_add(o, "enforced", json_object_new_boolean(p->mode == CGF_MODE_ENFORCE));
		json_object_object_add(o, "hook", json_object_new_string(hook));
		json_object_object_add(o, "section", json_object_new_string("egress"));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "port", json_object_new_int(port));
		json_object_object_add(o, "protocol", json_object_new_string(cgf_proto_name(proto)));
		json_object_object_add(o, "rule", found ? rule_json(p, best.rule) : NULL);
		json_object_object_add(o, "pattern", via ? json_object_new_string(via) : NULL);
		json_object_object_add(o, "default", json_object_new_boolean(!found));
		json_object_object_add(o, "dns_servers", json_object_new_string(servers));
		json_object_object_add(o, "min_ttl", json_object_new_int64(p->dns.min_ttl));
		cgf_json_emit(o);
		return 0;
	}
	printf("%s\n", found ? "allow" : "deny");
	if (found) {
		cgf_rule_text(&p->rules[best.rule], text, sizeof(text));
		printf("rule: %s:%d: %s, through name %s\n", p->file, p->rules[best.rule].line, text,
		       via ? via : name);
		printf("note: allows the addresses in answers for %s from a trusted resolver (%s, port "
		       "53), from the moment the answer arrives, for max(TTL, %u s) and while a "
		       "connection to them is open; an address rule that covers such an address "
		       "decides first\n", name, servers, p->dns.min_ttl);
		printf("note: shared addresses: allowing a name allows its addresses for every name "
		       "they serve (a CDN address allows every site on it); addresses resolved any "
		       "other way (DNS over TCP or HTTPS, another resolver, a hosts file) are not "
		       "allowed\n");
	} else if (n) {
		printf("default (%s default: %s): the to_names rules for %s do not allow this port or "
		       "protocol\n", "egress", cgf_action_name(p->sec[CGF_DIR_EGRESS].def), name);
	} else {
		printf("default (egress default: %s): no to_names rule matches %s\n",
		       cgf_action_name(p->sec[CGF_DIR_EGRESS].present ? p->sec[CGF_DIR_EGRESS].def
								       : CGF_ALLOW), name);
	}
	return 0;
}

/* NAME:PORT[/PROTO]: a name where an address would be; 0 if it is one */
static int name_endpoint(const char *ep, char name[CGF_NAME_TEXT_MAX], uint16_t *port, int *proto)
{
	char buf[CGF_NAME_TEXT_MAX + 16], *colon, *slash, *end;
	const char *why;
	size_t col;
	unsigned long v;

	snprintf(buf, sizeof(buf), "%s", ep);
	colon = strrchr(buf, ':');
	if (!colon || strchr(buf, '[') || strchr(buf, ':') != colon)
		return -1;
	*colon = '\0';
	slash = strchr(colon + 1, '/');
	if (slash)
		*slash = '\0';
	v = strtoul(colon + 1, &end, 10);
	if (*end || end == colon + 1 || v > 65535 || cgf_name_parse(buf, false, name, &why, &col))
		return -1;
	*port = (uint16_t)v;
	*proto = -1;
	return slash && cgf_parse_proto(slash + 1, proto) ? -1 : 0;
}

/* connect|sendmsg NAME:PORT[/PROTO]; anything else that is no address is an error */
static int explain_by_name(const char *file, const char *hook, const char *ep, const char *why,
			   int dir)
{
	char name[CGF_NAME_TEXT_MAX];
	struct cgf_policy *p;
	struct cgf_compiled *c;
	uint16_t port;
	int proto, ret;

	if (dir != CGF_DIR_EGRESS || !strcmp(hook, "reply") ||
	    name_endpoint(ep, name, &port, &proto))
		return cgf_usage_error("explain: '%s': %s%s", ep, why,
				       dir == CGF_DIR_EGRESS && strcmp(hook, "reply")
					       ? " (or a domain name NAME:PORT[/PROTO])" : "");
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		return ret;
	explain_name(p, c, hook, name, port,
		     proto >= 0 ? proto : !strcmp(hook, "sendmsg") ? CGF_P_UDP : CGF_P_TCP);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}

int cgf_do_explain(int argc, char **argv)
{
	const char *file = NULL, *hook = NULL, *ep = NULL, *why = NULL;
	struct cgf_policy *p;
	struct cgf_compiled *c;
	struct cgf_query q = { 0 };
	struct cgf_decision d;
	int proto, ret;

	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1])
			return cgf_usage_error("explain: unknown option '%s'", argv[i]);
		if (!file)
			file = argv[i];
		else if (!hook)
			hook = argv[i];
		else if (!ep)
			ep = argv[i];
		else
			return cgf_usage_error("explain: unexpected argument '%s'", argv[i]);
	}
	if (hook && !strcmp(hook, "socket") && ep)
		return explain_socket(file, ep);
	if (!ep)
		return cgf_usage_error("explain: usage: explain POLICY connect|sendmsg|bind|ingress|reply "
				       "ADDR:PORT[/PROTO], or explain POLICY socket FAMILY/TYPE[/PROTO]");
	if (!strcmp(hook, "connect") || !strcmp(hook, "sendmsg") || !strcmp(hook, "reply")) {
		q.dir = CGF_DIR_EGRESS;
	} else if (!strcmp(hook, "ingress")) {
		q.dir = CGF_DIR_INGRESS;
	} else if (!strcmp(hook, "bind")) {
		q.dir = CGF_DIR_BIND;
	} else {
		return cgf_usage_error("explain: '%s' is not a hook (connect, sendmsg, bind, ingress, "
				       "reply)", hook);
	}
	if (cgf_parse_endpoint(ep, &q.addr, &q.port, &proto, &why))
		return explain_by_name(file, hook, ep, why, q.dir);
	q.proto = proto >= 0 ? proto : !strcmp(hook, "sendmsg") ? CGF_P_UDP : CGF_P_TCP;
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		return ret;
	if (!strcmp(hook, "reply") && p->stateless) {
		cgf_compiled_free(c);
		cgf_policy_free(p);
		return cgf_usage_error("explain reply: %s has network.state: off, so a reply is judged "
				       "by ingress alone: explain POLICY ingress ADDR:LOCALPORT", file);
	}
	if (strcmp(hook, "reply") && q.dir == CGF_DIR_EGRESS && p->sec[CGF_DIR_REDIRECT].present &&
	    !explain_redirect(p, &q)) {
		cgf_compiled_free(c);
		cgf_policy_free(p);
		return 0;
	}
	if (!strcmp(hook, "reply")) {	/* a reply follows the verdict of what it answers */
		struct cgf_flow f = { .origin = CGF_DIR_EGRESS, .dir = CGF_DIR_INGRESS,
				      .remote = q.addr, .proto = q.proto, .rport = q.port };

		cgf_eval_flow(p, &f, &d);
	} else {
		cgf_eval(p, &q, &d);
	}
	explain_print(p, hook, &q, &d);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}
