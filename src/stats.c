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

	{
		CGF_DIAG_SCOPE(d);	/* no visibility maps: nothing to add */

		if (ncpu <= 0 || cgf_vis_open(name, &v))
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

