// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Metrics: the Prometheus text format of `stats --json`, served over HTTP. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "stats.h"
#include "util.h"

/* ---- Prometheus text format ---- */

struct prom {
	char *buf;
	size_t len, cap;
};

static void out(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct prom *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < p->cap - p->len) {
			p->len += (size_t)n;
			return;
		}
		p->cap = p->cap * 2 + (size_t)n + 256;
		p->buf = xrealloc(p->buf, p->cap);
	}
}

/* a label value: backslash, quote and newline escaped */
static const char *lv(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "";
}

static uint64_t ju(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? (uint64_t)json_object_get_int64(v) : 0;
}

/* One metric's samples for one policy (its JSON object from `stats --json`). */
typedef void emit_fn(struct prom *p, const char *metric, const char *policy, json_object *pol);

static void emit_info(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	out(p, "%s{policy=\"%s\",mode=\"%s\",generation=\"%llu\"} 1\n", m, policy,
	    jstr(pol, "mode"), (unsigned long long)ju(pol, "generation"));
}

static void emit_by_hook(struct prom *p, const char *m, const char *policy, json_object *pol,
			 const char *key)
{
	json_object *x;

	if (!json_object_object_get_ex(pol, "by_hook", &x) || !json_object_object_get_ex(x, key, &x))
		return;
	json_object_object_foreach(x, hook, hv)
		out(p, "%s{policy=\"%s\",hook=\"%s\"} %llu\n", m, policy, hook,
		    (unsigned long long)json_object_get_int64(hv));
}

static void emit_denied(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	emit_by_hook(p, m, policy, pol, "denied");
}

static void emit_audit(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	emit_by_hook(p, m, policy, pol, "audit_would_deny");
}

/* A metric that is one number of the policy's object, or of one of its
 * objects (obj; absent: no sample, e.g. "names" without to_names rules). */
static void emit_key(struct prom *p, const char *m, const char *policy, json_object *pol,
		     const char *obj, const char *key)
{
	json_object *x = pol;

	if (!obj || (json_object_object_get_ex(pol, obj, &x) && x))
		out(p, "%s{policy=\"%s\"} %llu\n", m, policy, (unsigned long long)ju(x, key));
}

static void emit_rule_hits(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	json_object *arr;
	char b[600];

	if (!json_object_object_get_ex(pol, "rule_hits", &arr))
		return;
	for (size_t j = 0; j < json_object_array_length(arr); j++) {
		json_object *h = json_object_array_get_idx(arr, j);

		out(p, "%s{policy=\"%s\",rule=\"%s\",line=\"%llu\"} %llu\n", m, policy,
		    lv(jstr(h, "rule"), b, sizeof(b)), (unsigned long long)ju(h, "line"),
		    (unsigned long long)ju(h, "hits"));
	}
}

/* per cgroup: each (label=value, key) pair of what is a sample */
static void emit_cgroups(struct prom *p, const char *m, const char *policy, json_object *pol,
			 const char *const (*pairs)[2], size_t n)
{
	json_object *arr;
	char b[600];

	if (!json_object_object_get_ex(pol, "accounting", &arr))
		return;
	for (size_t j = 0; j < json_object_array_length(arr); j++) {
		json_object *c = json_object_array_get_idx(arr, j);
		const char *cg = lv(jstr(c, "cgroup"), b, sizeof(b));

		for (size_t k = 0; k < n; k++)
			out(p, "%s{policy=\"%s\",cgroup=\"%s\"%s%s} %llu\n", m, policy, cg,
			    pairs[k][0][0] ? "," : "", pairs[k][0], (unsigned long long)ju(c, pairs[k][1]));
	}
}

static void emit_outside(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	json_object *arr;

	if (json_object_object_get_ex(pol, "outside_sockets", &arr))
		out(p, "%s{policy=\"%s\"} %zu\n", m, policy, json_object_array_length(arr));
}

static void emit_bytes(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	static const char *const kv[][2] = { { "direction=\"out\"", "bytes_out" },
					     { "direction=\"in\"", "bytes_in" } };

	emit_cgroups(p, m, policy, pol, kv, ARRAY_SIZE(kv));
}

static void emit_packets(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	static const char *const kv[][2] = { { "direction=\"out\"", "packets_out" },
					     { "direction=\"in\"", "packets_in" } };

	emit_cgroups(p, m, policy, pol, kv, ARRAY_SIZE(kv));
}

static void emit_connections(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	static const char *const kv[][2] = { { "kind=\"tcp_connect\"", "tcp_connects" },
					     { "kind=\"tcp_accept\"", "tcp_accepts" },
					     { "kind=\"udp_connect\"", "udp_flows" } };

	emit_cgroups(p, m, policy, pol, kv, ARRAY_SIZE(kv));
}

static void emit_cgroup_denied(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	static const char *const kv[][2] = { { "", "denied" } };

	emit_cgroups(p, m, policy, pol, kv, ARRAY_SIZE(kv));
}

static void emit_programs(struct prom *p, const char *m, const char *policy, json_object *pol,
			  bool seconds)
{
	json_object *arr;

	if (!json_object_object_get_ex(pol, "programs", &arr))
		return;
	for (size_t j = 0; j < json_object_array_length(arr); j++) {
		json_object *g = json_object_array_get_idx(arr, j);

		if (seconds)
			out(p, "%s{policy=\"%s\",hook=\"%s\"} %.9f\n", m, policy, jstr(g, "hook"),
			    (double)ju(g, "run_time_ns") / 1e9);
		else
			out(p, "%s{policy=\"%s\",hook=\"%s\"} %llu\n", m, policy, jstr(g, "hook"),
			    (unsigned long long)ju(g, "run_count"));
	}
}

static void emit_runs(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	emit_programs(p, m, policy, pol, false);
}

static void emit_run_seconds(struct prom *p, const char *m, const char *policy, json_object *pol)
{
	emit_programs(p, m, policy, pol, true);
}

static const struct metric {
	const char *name, *type, *help;
	emit_fn *emit;		/* NULL: the number at obj.key (emit_key) */
	const char *obj, *key;
} metrics[] = {
	{ "cgfence_policy_info", "gauge", "An applied policy (value 1) and its mode and generation.", emit_info },
	{ "cgfence_denied_total", "counter", "Calls and packets denied, per hook.", emit_denied },
	{ "cgfence_audit_would_deny_total", "counter", "Calls and packets that would have been denied (audit mode), per hook.", emit_audit },
	{ "cgfence_events_total", "counter", "Events put into the ring buffer.", NULL, "events", "sent" },
	{ "cgfence_events_dropped_total", "counter", "Events lost because the ring buffer was full.", NULL, "events", "dropped" },
	{ "cgfence_events_suppressed_total", "counter", "Denial events not sent: over their rule's rate.", NULL, "events", "suppressed" },
	{ "cgfence_rate_limited_total", "counter", "Connects refused by network.rate_limit.", NULL, NULL, "rate_limited" },
	{ "cgfence_attach_failed_total", "counter", "Cgroups the daemon followed but could not attach, frozen instead (cgroup.freeze) until it can.", NULL, NULL, "attach_failed" },
	{ "cgfence_source_refused_total", "counter", "Datagrams refused for a source address of their own choosing (IP_PKTINFO) that egress does not allow (network.state: on).", NULL, NULL, "source_refused" },
	{ "cgfence_staged_would_deny_total", "counter", "A staged version (policy NAME@staged): calls and packets it would deny that the version in force allows.", NULL, "staged", "would_deny" },
	{ "cgfence_staged_would_allow_total", "counter", "A staged version (policy NAME@staged): calls and packets it would allow that the version in force denies.", NULL, "staged", "would_allow" },
	{ "cgfence_rule_hits_total", "counter", "Decisions per rule (accounting: true).", emit_rule_hits },
	{ "cgfence_cgroup_bytes_total", "counter", "Bytes of packets that passed, per cgroup and direction (accounting: true).", emit_bytes },
	{ "cgfence_cgroup_packets_total", "counter", "Packets that passed, per cgroup and direction (accounting: true).", emit_packets },
	{ "cgfence_cgroup_connections_total", "counter", "New connections per cgroup: tcp_connect (SYN sent), tcp_accept (SYN-ACK sent), udp_connect.", emit_connections },
	{ "cgfence_cgroup_denied_total", "counter", "Calls and packets of the cgroup denied (or that would be, in audit mode) (accounting: true).", emit_cgroup_denied },
	{ "cgfence_outside_sockets", "gauge", "Sockets held by the policy's processes that were made outside its cgroups (not filtered by it).", emit_outside },
	{ "cgfence_names_addresses", "gauge", "Addresses learnt from DNS answers for to_names rules, held now (expired ones too, until evicted).", NULL, "names", "addresses" },
	{ "cgfence_names_learnt_total", "counter", "Addresses learnt from DNS answers for to_names rules.", NULL, "names", "learnt_total" },
	{ "cgfence_names_evicted_total", "counter", "Learnt addresses evicted past network.dns.max_addresses (least recently used).", NULL, "names", "evicted" },
	{ "cgfence_dns_answers_total", "counter", "DNS answers from a trusted resolver read by the ingress program.", NULL, "names", "answers" },
	{ "cgfence_dns_answers_ignored_total", "counter", "DNS answers that taught nothing: malformed, or to a name no to_names rule allows.", NULL, "names", "answers_ignored" },
	{ "cgfence_program_runs_total", "counter", "Runs of the policy's program per hook (kernel run-time statistics).", emit_runs },
	{ "cgfence_program_run_seconds_total", "counter", "Time spent in the policy's program per hook (kernel run-time statistics).", emit_run_seconds },
};

/* every sample of one metric over all policies: families stay together */
char *cgf_prometheus(json_object *stats)
{
	struct prom p = { 0 };
	size_t n = json_object_array_length(stats);
	char a[600];

	p.cap = 4096;
	p.buf = xmalloc(p.cap);
	p.buf[0] = '\0';
	for (size_t mi = 0; mi < ARRAY_SIZE(metrics); mi++) {
		const struct metric *m = &metrics[mi];

		out(&p, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
		for (size_t i = 0; i < n; i++) {
			json_object *pol = json_object_array_get_idx(stats, i);

			const char *policy = lv(jstr(pol, "name"), a, sizeof(a));

			if (m->emit)
				m->emit(&p, m->name, policy, pol);
			else
				emit_key(&p, m->name, policy, pol, m->obj, m->key);
		}
	}
	return p.buf;
}

/* ---- /metrics over HTTP ---- */

struct cgf_metrics {
	struct MHD_Daemon *d;
	json_object *(*collect)(void);
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **state)
{
	struct cgf_metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	char *body;

	(void)version;
	(void)data;
	(void)size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		body = xstrdup("only GET\n");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		json_object *stats = m->collect();

		body = cgf_prometheus(stats);
		json_object_put(stats);
	} else {
		body = xstrdup("cgfence: see /metrics\n");
		status = MHD_HTTP_NOT_FOUND;
	}
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", status == MHD_HTTP_OK
					? "text/plain; version=0.0.4; charset=utf-8" : "text/plain");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

struct cgf_metrics *cgf_metrics_start(const char *listen, json_object *(*collect)(void))
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;
	struct cgf_metrics *m;

	if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
		cgf_error(-EINVAL, "'%s' is not HOST:PORT", listen);
		return NULL;
	}
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 1 || port > 65535) {
		cgf_error(-EINVAL, "'%s': the port must be 1 to 65535", listen);
		return NULL;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (!*host)
		snprintf(host, sizeof(host), "127.0.0.1");	/* loopback by default */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		cgf_error(-EINVAL, "'%s': '%s' is not an IPv4 or IPv6 address", listen, host);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->collect = collect;
	m->d = MHD_start_daemon(MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				(uint16_t)port, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	if (!m->d) {
		cgf_error(-EADDRNOTAVAIL, "cannot listen on %s: %m", listen);
		free(m);
		return NULL;
	}
	return m;
}

int cgf_metrics_fd(struct cgf_metrics *m)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void cgf_metrics_run(struct cgf_metrics *m)
{
	MHD_run(m->d);
}

void cgf_metrics_stop(struct cgf_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
