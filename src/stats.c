// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a policy counted beyond its denials: events, the rate limit, the
 * hits of each rule, the accounting of each cgroup, and what its programs
 * cost (the kernel's run-time statistics). Read from the maps as they are;
 * per-CPU values are summed here, so reading never slows the data path.
 * Also the Prometheus text rendering of the same numbers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "cgroup.h"
#include "loader.h"
#include "stats.h"
#include "util.h"

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* accounting: one object per cgroup seen */
static json_object *acct_json(int fd, int ncpu)
{
	json_object *arr = json_object_new_array();
	struct cgf_acct *vals = xcalloc((size_t)ncpu, sizeof(*vals));
	uint64_t key, next;
	struct timespec ts;
	uint32_t now_m;
	double frac;
	int more = bpf_map_get_next_key(fd, NULL, &next);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now_m = (uint32_t)(ts.tv_sec / 60);
	frac = (double)(ts.tv_sec % 60) / 60.0;	/* of this minute, gone */

	while (!more) {
		struct cgf_acct t = {};
		uint64_t cur = 0, prev = 0;
		char path[512];
		json_object *o;

		key = next;
		more = bpf_map_get_next_key(fd, &key, &next);
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			const struct cgf_acct *a = &vals[c];

			t.bytes_out += a->bytes_out;
			t.bytes_in += a->bytes_in;
			t.packets_out += a->packets_out;
			t.packets_in += a->packets_in;
			t.tcp_connects += a->tcp_connects;
			t.tcp_accepts += a->tcp_accepts;
			t.udp_flows += a->udp_flows;
			t.rate_limited += a->rate_limited;
			t.denied += a->denied;
			for (int i = 0; i < 2; i++) {
				if (a->minute_of[i] == now_m)
					cur += a->minute[i];
				else if (a->minute_of[i] == now_m - 1)
					prev += a->minute[i];
			}
		}
		o = json_object_new_object();
		json_object_object_add(o, "cgroup_id", u64(key));
		json_object_object_add(o, "cgroup", cgf_cgroup_path_by_id(key, path, sizeof(path))
							    ? NULL : json_object_new_string(path));
		json_object_object_add(o, "bytes_out", u64(t.bytes_out));
		json_object_object_add(o, "bytes_in", u64(t.bytes_in));
		json_object_object_add(o, "packets_out", u64(t.packets_out));
		json_object_object_add(o, "packets_in", u64(t.packets_in));
		json_object_object_add(o, "tcp_connects", u64(t.tcp_connects));
		json_object_object_add(o, "tcp_accepts", u64(t.tcp_accepts));
		json_object_object_add(o, "udp_flows", u64(t.udp_flows));
		json_object_object_add(o, "denied", u64(t.denied));
		json_object_object_add(o, "rate_limited", u64(t.rate_limited));
		/* a sliding minute: this one so far, and the part of the last one it covers */
		json_object_object_add(o, "connections_per_minute",
				       u64(cur + (uint64_t)((double)prev * (1.0 - frac) + 0.5)));
		json_object_array_add(arr, o);
	}
	free(vals);
	return arr;
}

json_object *cgf_vis_json(const char *name)
{
	struct cgf_vis v;
	int ncpu = libbpf_num_possible_cpus();
	json_object *o, *ev, *hits, *progs;

	if (ncpu <= 0 || cgf_vis_open(name, &v)) {
		cgf_clear_error();
		return NULL;
	}
	o = json_object_new_object();
	ev = json_object_new_object();
	if (v.pstats >= 0) {
		uint32_t k;

		k = CGF_PC_EV_SENT;
		json_object_object_add(ev, "sent", u64(cgf_percpu_sum(v.pstats, k)));
		k = CGF_PC_EV_DROPPED;
		json_object_object_add(ev, "dropped", u64(cgf_percpu_sum(v.pstats, k)));
		k = CGF_PC_EV_SUPPRESSED;
		json_object_object_add(ev, "suppressed", u64(cgf_percpu_sum(v.pstats, k)));
		k = CGF_PC_RATE_LIMITED;
		json_object_object_add(o, "rate_limited", u64(cgf_percpu_sum(v.pstats, k)));
	}
	json_object_object_add(o, "events", ev);
	hits = json_object_new_array();
	for (uint32_t i = 0; v.rule_hits >= 0 && v.rule_info >= 0 && i < v.n_rule_slots; i++) {
		struct cgf_rule_info ri = {};
		json_object *h;

		if (bpf_map_lookup_elem(v.rule_info, &i, &ri))
			continue;
		h = json_object_new_object();
		json_object_object_add(h, "rule", i + 2 < v.n_rule_slots ? json_object_new_int64(i)
									 : json_object_new_string(ri.text));
		if (i + 2 < v.n_rule_slots) {
			json_object_object_add(h, "line", json_object_new_int64(ri.line));
			json_object_object_add(h, "text", json_object_new_string(ri.text));
		}
		json_object_object_add(h, "hits", u64(cgf_percpu_sum(v.rule_hits, i)));
		json_object_array_add(hits, h);
	}
	json_object_object_add(o, "rule_hits", hits);
	json_object_object_add(o, "accounting", v.acct >= 0 ? acct_json(v.acct, ncpu)
							  : json_object_new_array());
	progs = json_object_new_array();
	for (int h = 0; h < CGF_H_MAX; h++) {
		struct bpf_prog_info pi = {};
		uint32_t len = sizeof(pi);
		int fd;
		json_object *p;

		if (!v.prog_id[h] || (fd = bpf_prog_get_fd_by_id(v.prog_id[h])) < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &pi, &len)) {
			close(fd);
			continue;
		}
		close(fd);
		p = json_object_new_object();
		json_object_object_add(p, "hook", json_object_new_string(cgf_hook_names[h]));
		json_object_object_add(p, "id", json_object_new_int64(pi.id));
		json_object_object_add(p, "run_count", u64(pi.run_cnt));
		json_object_object_add(p, "run_time_ns", u64(pi.run_time_ns));
		json_object_object_add(p, "xlated_bytes", u64(pi.xlated_prog_len));
		json_object_array_add(progs, p);
	}
	json_object_object_add(o, "programs", progs);
	cgf_vis_close(&v);
	return o;
}

bool cgf_run_stats_enabled(void)
{
	char *buf = NULL;
	bool on = false;

	if (!read_file("/proc/sys/kernel/bpf_stats_enabled", &buf, NULL))
		on = buf[0] == '1';
	free(buf);
	return on;
}

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

struct metric {
	const char *name, *type, *help;
};

/* every sample of one metric over all policies: families stay together */
char *cgf_prometheus(json_object *stats)
{
	static const struct metric m[] = {
		{ "cgfence_policy_info", "gauge", "An applied policy (value 1) and its mode and generation." },
		{ "cgfence_denied_total", "counter", "Calls and packets denied, per hook." },
		{ "cgfence_audit_would_deny_total", "counter", "Calls and packets that would have been denied (audit mode), per hook." },
		{ "cgfence_events_total", "counter", "Events put into the ring buffer." },
		{ "cgfence_events_dropped_total", "counter", "Events lost because the ring buffer was full." },
		{ "cgfence_events_suppressed_total", "counter", "Denial events not sent: over their rule's rate." },
		{ "cgfence_rate_limited_total", "counter", "Connects refused by network.rate_limit." },
		{ "cgfence_rule_hits_total", "counter", "Decisions per rule (accounting: true)." },
		{ "cgfence_cgroup_bytes_total", "counter", "Bytes of packets that passed, per cgroup and direction (accounting: true)." },
		{ "cgfence_cgroup_packets_total", "counter", "Packets that passed, per cgroup and direction (accounting: true)." },
		{ "cgfence_cgroup_connections_total", "counter", "New connections per cgroup: tcp_connect (SYN sent), tcp_accept (SYN-ACK sent), udp_connect." },
		{ "cgfence_cgroup_denied_total", "counter", "Calls and packets of the cgroup denied (or that would be, in audit mode) (accounting: true)." },
		{ "cgfence_program_runs_total", "counter", "Runs of the policy's program per hook (kernel run-time statistics)." },
		{ "cgfence_program_run_seconds_total", "counter", "Time spent in the policy's program per hook (kernel run-time statistics)." },
	};
	struct prom p = { 0 };
	size_t n = json_object_array_length(stats);
	char a[600], b[600];

	p.cap = 4096;
	p.buf = xmalloc(p.cap);
	p.buf[0] = '\0';
	for (size_t mi = 0; mi < ARRAY_SIZE(m); mi++) {
		out(&p, "# HELP %s %s\n# TYPE %s %s\n", m[mi].name, m[mi].help, m[mi].name,
		    m[mi].type);
		for (size_t i = 0; i < n; i++) {
			json_object *pol = json_object_array_get_idx(stats, i), *x, *arr;
			const char *name = lv(jstr(pol, "name"), a, sizeof(a));

			switch (mi) {
			case 0:
				out(&p, "%s{policy=\"%s\",mode=\"%s\",generation=\"%llu\"} 1\n",
				    m[mi].name, name, jstr(pol, "mode"),
				    (unsigned long long)ju(pol, "generation"));
				break;
			case 1:
			case 2:
				if (!json_object_object_get_ex(pol, "by_hook", &x) ||
				    !json_object_object_get_ex(x, mi == 1 ? "denied" : "audit_would_deny",
							       &x))
					break;
				json_object_object_foreach(x, hook, hv) {
					out(&p, "%s{policy=\"%s\",hook=\"%s\"} %llu\n", m[mi].name, name,
					    hook, (unsigned long long)json_object_get_int64(hv));
				}
				break;
			case 3:
			case 4:
			case 5:
				if (json_object_object_get_ex(pol, "events", &x))
					out(&p, "%s{policy=\"%s\"} %llu\n", m[mi].name, name,
					    (unsigned long long)ju(x, mi == 3 ? "sent" : mi == 4
									   ? "dropped" : "suppressed"));
				break;
			case 6:
				out(&p, "%s{policy=\"%s\"} %llu\n", m[mi].name, name,
				    (unsigned long long)ju(pol, "rate_limited"));
				break;
			case 7:
				if (!json_object_object_get_ex(pol, "rule_hits", &arr))
					break;
				for (size_t j = 0; j < json_object_array_length(arr); j++) {
					json_object *h = json_object_array_get_idx(arr, j);

					out(&p, "%s{policy=\"%s\",rule=\"%s\",line=\"%llu\"} %llu\n",
					    m[mi].name, name, lv(jstr(h, "rule"), b, sizeof(b)),
					    (unsigned long long)ju(h, "line"),
					    (unsigned long long)ju(h, "hits"));
				}
				break;
			case 8:
			case 9:
			case 10:
			case 11:
				if (!json_object_object_get_ex(pol, "accounting", &arr))
					break;
				for (size_t j = 0; j < json_object_array_length(arr); j++) {
					json_object *c = json_object_array_get_idx(arr, j);
					const char *cg = lv(jstr(c, "cgroup"), b, sizeof(b));

					if (mi == 11) {
						out(&p, "%s{policy=\"%s\",cgroup=\"%s\"} %llu\n", m[mi].name,
						    name, cg, (unsigned long long)ju(c, "denied"));
						continue;
					}
					if (mi == 10) {
						out(&p, "%s{policy=\"%s\",cgroup=\"%s\",kind=\"tcp_connect\"} %llu\n",
						    m[mi].name, name, cg, (unsigned long long)ju(c, "tcp_connects"));
						out(&p, "%s{policy=\"%s\",cgroup=\"%s\",kind=\"tcp_accept\"} %llu\n",
						    m[mi].name, name, cg, (unsigned long long)ju(c, "tcp_accepts"));
						out(&p, "%s{policy=\"%s\",cgroup=\"%s\",kind=\"udp_connect\"} %llu\n",
						    m[mi].name, name, cg, (unsigned long long)ju(c, "udp_flows"));
						continue;
					}
					out(&p, "%s{policy=\"%s\",cgroup=\"%s\",direction=\"out\"} %llu\n",
					    m[mi].name, name, cg, (unsigned long long)ju(c, mi == 8
						? "bytes_out" : "packets_out"));
					out(&p, "%s{policy=\"%s\",cgroup=\"%s\",direction=\"in\"} %llu\n",
					    m[mi].name, name, cg, (unsigned long long)ju(c, mi == 8
						? "bytes_in" : "packets_in"));
				}
				break;
			default:
				if (!json_object_object_get_ex(pol, "programs", &arr))
					break;
				for (size_t j = 0; j < json_object_array_length(arr); j++) {
					json_object *g = json_object_array_get_idx(arr, j);

					if (mi == 12)
						out(&p, "%s{policy=\"%s\",hook=\"%s\"} %llu\n", m[mi].name,
						    name, jstr(g, "hook"),
						    (unsigned long long)ju(g, "run_count"));
					else
						out(&p, "%s{policy=\"%s\",hook=\"%s\"} %.9f\n", m[mi].name,
						    name, jstr(g, "hook"),
						    (double)ju(g, "run_time_ns") / 1e9);
				}
			}
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
