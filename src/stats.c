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
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "loader.h"
#include "pins.h"
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

struct name_pat {
	uint64_t id;
	struct cgf_rule_info ri;
	json_object *addrs;
};

static void learnt_add(struct name_pat *pats, size_t n, const struct cgf_learnt_at *k,
		       const struct cgf_learnt *l, uint64_t now)
{
	char a[INET6_ADDRSTRLEN];
	const uint8_t *b = (const uint8_t *)k->addr;
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(b, mapped, 12))
		inet_ntop(AF_INET, b + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, b, a, sizeof(a));
	for (int i = 0; i < CGF_NAME_IDS; i++)
		for (size_t j = 0; l->n[i].id && j < n; j++) {
			json_object *o;

			if (pats[j].id != l->n[i].id)
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "address", json_object_new_string(a));
			json_object_object_add(o, "expires_in_s", json_object_new_double(
				((double)l->n[i].expires - (double)now) / 1e9));
			json_object_object_add(o, "expired",
					       json_object_new_boolean(l->n[i].expires < now));
			json_object_object_add(o, "learnt_s_ago", json_object_new_double(
				((double)now - (double)l->learnt) / 1e9));
			/* the network namespace it was learnt in (its cookie); null:
			 * learnt by an older layout, for any */
			json_object_object_add(o, "netns", k->netns ? json_object_new_int64(
					       (int64_t)k->netns) : NULL);
			json_object_array_add(pats[j].addrs, o);
		}
}

/* to_names: each pattern of the version in force with the addresses learnt
 * for it and their expiry; the counters of answers read and addresses learnt */
static json_object *names_json(const struct cgf_vis *v)
{
	json_object *o, *arr;
	struct name_pat *pats = NULL;
	size_t n = 0, cap = 0, count = 0;
	uint64_t id = 0, next, learnt_total;
	struct cgf_learnt_at k = { 0 }, nk = { 0 };	/* (a layout-7 table's key: its first 16 B) */
	struct cgf_name_pat np;
	struct cgf_learnt l;
	struct bpf_map_info mi = {};
	uint32_t mlen = sizeof(mi);
	struct timespec ts;
	uint64_t now;
	int more;

	if (v->name_pats < 0 || v->learnt < 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* the programs' bpf_ktime_get_coarse_ns() */
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (more = bpf_map_get_next_key(v->name_pats, NULL, &next); !more;
	     more = bpf_map_get_next_key(v->name_pats, &id, &next)) {
		id = next;
		if (bpf_map_lookup_elem(v->name_pats, &id, &np))
			continue;
		GROW(pats, cap, n + 1);
		memset(&pats[n], 0, sizeof(pats[n]));
		pats[n].id = id;
		if (v->rule_info >= 0)
			bpf_map_lookup_elem(v->rule_info, &np.idx, &pats[n].ri);
		pats[n++].addrs = json_object_new_array();
	}
	for (more = bpf_map_get_next_key(v->learnt, NULL, &nk); !more;
	     more = bpf_map_get_next_key(v->learnt, &k, &nk)) {
		k = nk;
		if (bpf_map_lookup_elem(v->learnt, &k, &l))
			continue;
		count++;
		learnt_add(pats, n, &k, &l, now);
	}
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "pattern", json_object_new_string(pats[i].ri.text));
		json_object_object_add(p, "line", json_object_new_int64(pats[i].ri.line));
		json_object_object_add(p, "addresses", pats[i].addrs);
		json_object_array_add(arr, p);
	}
	free(pats);
	json_object_object_add(o, "patterns", arr);
	learnt_total = cgf_percpu_sum(v->pstats, CGF_PC_DNS_LEARNT);
	json_object_object_add(o, "addresses", u64(count));
	json_object_object_add(o, "limit", u64(bpf_obj_get_info_by_fd(v->learnt, &mi, &mlen)
						       ? 0 : mi.max_entries));
	json_object_object_add(o, "learnt_total", u64(learnt_total));
	json_object_object_add(o, "evicted", u64(learnt_total > count ? learnt_total - count : 0));
	json_object_object_add(o, "answers", u64(cgf_percpu_sum(v->pstats, CGF_PC_DNS_ANSWERS)));
	json_object_object_add(o, "answers_ignored",
			       u64(cgf_percpu_sum(v->pstats, CGF_PC_DNS_IGNORED)));
	json_object_object_add(o, "resolver_guard_refused",
			       u64(cgf_percpu_sum(v->pstats, CGF_PC_DNS_GUARD)));
	json_object_object_add(o, "copy_full",	/* design.md: the version's copy */
			       u64(cgf_percpu_sum(v->pstats, CGF_PC_NAMES_COPY_FULL)));
	return o;
}

json_object *cgf_names_json(const char *name)
{
	struct cgf_vis v;
	json_object *o;

	{
		CGF_DIAG_SCOPE(d);	/* no such policy: no names */

		if (cgf_vis_open(name, &v))
			return NULL;
	}
	o = names_json(&v);
	cgf_vis_close(&v);
	if (o) {	/* the version's copy in its egress tries (design.md: Names) */
		char dir[CGF_PATH_LEN];
		size_t held = 0;

		cgf_pin_policy_dir(name, dir, sizeof(dir));
		cgf_pin_names_copy(dir, false, &held);
		json_object_object_add(o, "copy", u64(held));
	}
	return o;
}

/* a staged version's differences from the version in force */
static json_object *staged_json(int pstats)
{
	json_object *st = json_object_new_object();

	json_object_object_add(st, "would_deny", u64(cgf_percpu_sum(pstats, CGF_PC_STAGED_DENY)));
	json_object_object_add(st, "would_allow", u64(cgf_percpu_sum(pstats, CGF_PC_STAGED_ALLOW)));
	return st;
}

/* the policy's counters (pstats) that cgf_vis_json shows, and where */
static const struct {
	uint32_t pc;
	const char *key;
	bool events;		/* in "events", else at the top */
} policy_counters[] = {
	{ CGF_PC_EV_SENT, "sent", true },
	{ CGF_PC_EV_DROPPED, "dropped", true },
	{ CGF_PC_EV_SUPPRESSED, "suppressed", true },
	{ CGF_PC_RATE_LIMITED, "rate_limited", false },
	{ CGF_PC_SRC_REFUSED, "source_refused", false },
	{ CGF_PC_ATTACH_FAILED, "attach_failed", false },
};

json_object *cgf_vis_json(const char *name)
{
	struct cgf_vis v;
	int ncpu = libbpf_num_possible_cpus();
	json_object *o, *ev, *hits, *progs;

	{
		CGF_DIAG_SCOPE(d);	/* no visibility maps: nothing to add */

		if (ncpu <= 0 || cgf_vis_open(name, &v))
			return NULL;
	}
	o = json_object_new_object();
	ev = json_object_new_object();
	for (size_t i = 0; v.pstats >= 0 && i < ARRAY_SIZE(policy_counters); i++)
		json_object_object_add(policy_counters[i].events ? ev : o, policy_counters[i].key,
				       u64(cgf_percpu_sum(v.pstats, policy_counters[i].pc)));
	if (v.pstats >= 0 && (v.meta.flags & CGF_META_STAGED))
		json_object_object_add(o, "staged", staged_json(v.pstats));
	json_object_object_add(o, "events", ev);
	hits = json_object_new_array();
	for (uint32_t i = 0; v.rule_hits >= 0 && v.rule_info >= 0 && i < v.n_rule_slots; i++) {
		struct cgf_rule_info ri = {};
		json_object *h;

		if (bpf_map_lookup_elem(v.rule_info, &i, &ri))
			continue;
		h = json_object_new_object();
		bool named = i < v.meta.n_rules || i >= v.meta.n_rules + 2;	/* not default, rate_limit */

		json_object_object_add(h, "rule", named ? json_object_new_int64(i)
							: json_object_new_string(ri.text));
		if (named) {
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

int cgf_stats_count(const char *name, uint32_t key)
{
	char dir[CGF_PATH_LEN];
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	_cleanup_close_ int fd = -1;
	uint64_t *v;

	cgf_pin_policy_dir(name, dir, sizeof(dir));
	fd = cgf_pin_get(dir, "pstats");
	if (fd < 0 || ncpu <= 0)
		return -ENOENT;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	if (bpf_map_lookup_elem(fd, &key, v))
		err = -errno;
	v[0]++;		/* no program writes it: no race with the kernel */
	if (!err && bpf_map_update_elem(fd, &key, v, BPF_EXIST))
		err = -errno;
	free(v);
	return err;
}
