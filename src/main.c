// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence command line: a table of commands matched by unique prefix, as
 * bpftool does; every command prints plain text or, with --json, one JSON
 * document. Exit status: 0 success, 1 failure or invalid policy, 2 usage.
 */
#include <netinet/in.h>
#include <poll.h>
#include <bpf/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "container.h"
#include "eval.h"
#include "jsonout.h"
#include "layout.h"
#include "loader.h"
#include "pipeline.h"
#include "target.h"
#include "stats.h"
#include "policy.h"
#include "sockdefs.h"
#include "util.h"

static int fail(void)
{
	cgf_report_error(cgf_last_error());
	return EXIT_FAIL;
}

int cgf_usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cgf_report_error(msg);
	if (!cgf_json)
		fputs("Try 'cgfence help'.\n", stderr);
	return EXIT_USAGE;
}

/* Parse POLICY and compile it; errors are reported. */
int cgf_load_compile(const char *path, struct cgf_policy **p, struct cgf_compiled **c)
{
	return cgf_pipeline_compile(path, NULL, 0, p, c) ? fail() : 0;
}

static json_object *map_entries_json(const struct cgf_compiled *c)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "addr4", json_object_new_int64((int64_t)c->n_v4));
	json_object_object_add(e, "addr6", json_object_new_int64((int64_t)c->n_v6));
	json_object_object_add(e, "classes", json_object_new_int64(c->n_classes));
	json_object_object_add(e, "ports", json_object_new_int64((int64_t)c->n_ports));
	return e;
}

static json_object *apply_json(const char *name, const char *cgroup, int mode,
			       const struct cgf_apply_result *r, const struct cgf_compiled *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "cgroup", json_object_new_string(cgroup));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(r->cgroup_id));
	json_object_object_add(o, "mode", json_object_new_string(mode ? "audit" : "enforce"));
	json_object_object_add(o, "hooks", cgf_json_hooks(r->hooks));
	json_object_object_add(o, "replaced", json_object_new_boolean(r->replaced));
	json_object_object_add(o, "generation", json_object_new_int64(r->generation));
	json_object_object_add(o, "map_entries", map_entries_json(c));
	return o;
}

static void print_hooks(unsigned int hooks)
{
	bool first = true;

	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & (1u << h)) {
			printf("%s%s", first ? "" : ",", cgf_hook_names[h]);
			first = false;
		}
	if (first)
		printf("-");
}

/* The cgroup a policy goes to: --cgroup, else the policy's target. */
int cgf_target_cgroup(const struct cgf_policy *p, const char *arg, char *abs, size_t len)
{
	if (arg)
		return cgf_cgroup_resolve(arg, abs, len) ? fail() : 0;
	switch (p->target_kind) {
	case CGF_TARGET_CGROUP:
		if (cgf_cgroup_resolve(p->target_cgroup, abs, len)) {
			char msg[1200];

			snprintf(msg, sizeof(msg), "%s", cgf_last_error());
			cgf_clear_error();
			cgf_error_at(-ENOENT, p->file, p->target_line, p->target_col, "%s", msg);
			return fail();
		}
		return 0;
	case CGF_TARGET_PID:
		return cgf_cgroup_of_pid(p->target_pid, abs, len) ? fail() : 0;
	case CGF_TARGET_CONTAINER:
		return cgf_container_cgroup(p->target_cgroup, abs, len) ? fail() : 0;
	default:
		return cgf_usage_error("%s: no target: give --cgroup PATH or write target: in the "
				       "policy", p->file);
	}
}

static int do_apply(int argc, char **argv)
{
	const char *file = NULL, *cg = NULL, *ctr = NULL, *pid = NULL;
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_apply_result r;
	char abs[512], **paths = NULL;
	size_t n_paths = 0;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--cgroup")) {
			if (++i >= argc)
				return cgf_usage_error("--cgroup needs a PATH");
			cg = argv[i];
		} else if (!strcmp(argv[i], "--container")) {
			if (++i >= argc)
				return cgf_usage_error("--container needs an ID");
			ctr = argv[i];
		} else if (!strcmp(argv[i], "--pid")) {
			if (++i >= argc)
				return cgf_usage_error("--pid needs a PID");
			pid = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cgf_usage_error("apply: unknown option '%s'", argv[i]);
		} else if (!file) {
			file = argv[i];
		} else {
			return cgf_usage_error("apply: one POLICY file at a time ('%s')", argv[i]);
		}
	}
	if (!file)
		return cgf_usage_error("apply: which POLICY file?");
	if (cg && !*cg)
		return cgf_usage_error("--cgroup: empty path");
	if (!!cg + !!ctr + !!pid > 1)
		return cgf_usage_error("apply: give one of --cgroup, --container and --pid");
	if (pid && (strspn(pid, "0123456789") != strlen(pid) || !*pid || atol(pid) <= 0))
		return cgf_usage_error("--pid: '%s' is not a process id", pid);
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		return ret;
	if (ctr)
		ret = cgf_container_cgroup(ctr, abs, sizeof(abs)) ? fail() : 0;
	else if (pid)
		ret = cgf_cgroup_of_pid(atoi(pid), abs, sizeof(abs)) ? fail() : 0;
	else if (!cg && cgf_target_dynamic(p)) {	/* a glob or unit: what matches now */
		ret = cgf_target_resolve(p, &paths, &n_paths) ? fail() : 0;
		if (!ret && !n_paths) {
			cgf_error_at(-ENOENT, p->file, p->target_line, p->target_col,
				     "target '%s' matches no cgroup now (cgfence daemon attaches the "
				     "policy to cgroups as they appear)", p->target_cgroup);
			ret = fail();
		}
		if (!ret)
			snprintf(abs, sizeof(abs), "%s", paths[0]);
	} else
		ret = cgf_target_cgroup(p, cg, abs, sizeof(abs));
	if (!ret) {
		struct cgf_apply_opts o = { .cgroup = abs, .mode = p->mode, .source = file,
					    .cgroups = (const char *const *)paths,
					    .n_cgroups = n_paths };

		if (cgf_pipeline_apply(c, &o, &r))
			ret = fail();
	}
	if (!ret) {
		if (cgf_json) {
			cgf_json_emit(apply_json(p->name, abs, p->mode, &r, c));
		} else {
			printf("%s %s to %s", r.replaced ? "replaced" : "applied", p->name, abs);
			if (n_paths > 1)
				printf(" and %zu more cgroups", n_paths - 1);
			printf(" (%s; hooks ", p->mode ? "audit" : "enforce");
			print_hooks(r.hooks);
			printf("; %zu network rules, %zu prefixes)\n", p->n_rules, p->n_prefixes);
		}
	}
	cgf_strv_free(paths, n_paths);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return ret;
}

static int do_detach(int argc, char **argv)
{
	bool all = false;
	const char *name = NULL;
	json_object *arr;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cgf_usage_error("detach: unknown option '%s'", argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cgf_usage_error("detach: one NAME at a time ('%s')", argv[i]);
	}
	if (all == !!name)
		return cgf_usage_error("detach: give a policy NAME or --all");
	if (!valid_name(all ? "x" : name))
		return cgf_usage_error("detach: '%s' is not a policy name", name);
	if (cgf_env_check())
		return fail();
	if (all ? cgf_detach_all(&n) : cgf_detach(name))
		return fail();
	cgf_gc(NULL);
	if (cgf_json) {
		arr = json_object_new_object();
		if (all)
			json_object_object_add(arr, "detached", json_object_new_int(n));
		else
			json_object_object_add(arr, "detached", json_object_new_string(name));
		cgf_json_emit(arr);
	} else if (all) {
		printf("detached %d polic%s\n", n, n == 1 ? "y" : "ies");
	} else {
		printf("detached %s\n", name);
	}
	return 0;
}

static int no_args(const char *cmd, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		return cgf_usage_error("%s: unexpected argument '%s'", cmd, argv[i]);
	return 0;
}

static json_object *counters_json(const uint64_t v[CGF_H_MAX], unsigned int hooks)
{
	json_object *o = json_object_new_object();

	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & (1u << h))
			json_object_object_add(o, cgf_hook_names[h], json_object_new_uint64(v[h]));
	return o;
}

static uint64_t total(const uint64_t v[CGF_H_MAX])
{
	uint64_t t = 0;

	for (int h = 0; h < CGF_H_MAX; h++)
		t += v[h];
	return t;
}

static json_object *applied_json(const struct cgf_applied *a, bool counters)
{
	json_object *o = json_object_new_object(), *cgs = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(a->name));
	json_object_object_add(o, "mode",
			       json_object_new_string(a->meta.mode ? "audit" : "enforce"));
	json_object_object_add(o, "generation", json_object_new_int64(a->meta.generation));
	json_object_object_add(o, "layout", json_object_new_int64(cgf_meta_layout(&a->meta)));
	json_object_object_add(o, "applied_at", json_object_new_int64((int64_t)a->meta.applied_at));
	json_object_object_add(o, "source", json_object_new_string(a->meta.source));
	json_object_object_add(o, "managed_by", json_object_new_string(
		a->meta.flags & CGF_META_DAEMON ? "daemon" : "cli"));
	json_object_object_add(o, "rules", json_object_new_int64(a->meta.n_rules));
	json_object_object_add(o, "prefixes", json_object_new_int64((int64_t)a->meta.n_prefixes));
	for (size_t i = 0; i < a->n_cgs; i++) {
		json_object *cg = json_object_new_object();

		json_object_object_add(cg, "id", json_object_new_uint64(a->cgs[i].id));
		json_object_object_add(cg, "path", a->cgs[i].path[0]
							   ? json_object_new_string(a->cgs[i].path)
							   : NULL);
		json_object_object_add(cg, "hooks", cgf_json_hooks(a->cgs[i].hooks));
		json_object_array_add(cgs, cg);
	}
	json_object_object_add(o, "cgroups", cgs);
	json_object_object_add(o, "denied", json_object_new_uint64(total(a->denied)));
	json_object_object_add(o, "audit_would_deny", json_object_new_uint64(total(a->audit)));
	if (counters) {
		json_object *h = json_object_new_object();

		json_object_object_add(h, "denied", counters_json(a->denied, a->meta.hooks));
		json_object_object_add(h, "audit_would_deny", counters_json(a->audit, a->meta.hooks));
		json_object_object_add(o, "by_hook", h);
		json_object *bs = json_object_new_array();

		for (size_t i = 0; i < a->n_backends; i++) {
			json_object *b = json_object_new_object();

			json_object_object_add(b, "redirect", json_object_new_int64(a->backends[i].entry));
			json_object_object_add(b, "backend", json_object_new_int64(a->backends[i].backend));
			json_object_object_add(b, "connections",
					       json_object_new_uint64(a->backends[i].connections));
			json_object_array_add(bs, b);
		}
		json_object_object_add(o, "redirect_backends", bs);
	}
	return o;
}

/* list: what a running cgfence daemon follows, and the files it could not apply */
static void print_daemon_status(void)
{
	json_object *st = cgf_daemon_status(getenv("CGFENCE_RUN_DIR")), *files, *v;
	size_t n, errs = 0;

	if (!st)
		return;
	files = json_object_object_get(st, "files");
	n = json_object_array_length(files);
	for (size_t i = 0; i < n; i++)
		errs += json_object_object_get_ex(json_object_array_get_idx(files, i), "error", NULL);
	printf("\ndaemon: pid %d follows %s: %zu files, %zu with an error\n",
	       json_object_get_int(json_object_object_get(st, "pid")),
	       json_object_get_string(json_object_object_get(st, "policy_dir")), n, errs);
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(files, i);

		printf("  %-24s %-24s %s%s%s\n",
		       json_object_get_string(json_object_object_get(f, "file")),
		       json_object_object_get_ex(f, "policy", &v) && v ? json_object_get_string(v)
								       : "-",
		       json_object_get_string(json_object_object_get(f, "state")),
		       json_object_object_get_ex(f, "error", &v) ? ": " : "",
		       json_object_object_get_ex(f, "error", &v) ? json_object_get_string(v) : "");
	}
	json_object_put(st);
}

static int do_list(int argc, char **argv)
{
	struct cgf_applied *a;
	size_t n;
	int ret = no_args("list", argc, argv);

	if (ret)
		return ret;
	if (cgf_env_check() || cgf_list(&a, &n))
		return fail();
	if (cgf_json) {
		json_object *arr = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, applied_json(&a[i], false));
		cgf_json_emit(arr);
	} else {
		printf("%-24s %-8s %-5s %s\n", "NAME", "MODE", "GEN", "CGROUP / HOOKS");
		for (size_t i = 0; i < n; i++) {
			printf("%-24s %-8s %-5u", a[i].name, a[i].meta.mode ? "audit" : "enforce",
			       a[i].meta.generation);
			for (size_t j = 0; j < a[i].n_cgs; j++) {
				printf("%s%s ", j ? "\n                                        " : " ",
				       a[i].cgs[j].path[0] ? a[i].cgs[j].path : "(removed)");
				print_hooks(a[i].cgs[j].hooks);
			}
			printf("\n");
		}
		print_daemon_status();
	}
	cgf_applied_free(a, n);
	return 0;
}

/* `stats --json`: the list object, counters by hook, and what the policy counted
 * beyond (stats.c); name NULL for every policy. */
json_object *cgf_stats_doc(const char *name, bool gc, bool *found)
{
	struct cgf_applied *a;
	size_t n;
	json_object *arr = json_object_new_array();

	*found = false;
	if (gc ? cgf_list(&a, &n) : cgf_list_nogc(&a, &n)) {
		json_object_put(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o, *vis;

		if (name && strcmp(name, a[i].name))
			continue;
		*found = true;
		o = applied_json(&a[i], true);
		vis = cgf_vis_json(a[i].name);
		if (vis) {
			json_object_object_foreach(vis, k, v)
				json_object_object_add(o, k, json_object_get(v));
			json_object_put(vis);
		}
		json_object_array_add(arr, o);
	}
	cgf_applied_free(a, n);
	return arr;
}

json_object *cgf_stats_all(void)
{
	bool found;
	json_object *d = cgf_stats_doc(NULL, false, &found);

	cgf_clear_error();
	return d ? d : json_object_new_array();
}

static void print_stats_text(json_object *doc)
{
	printf("%-24s %-12s %12s %12s %12s %10s\n", "NAME", "HOOK", "DENIED", "AUDIT", "RUNS",
	       "NS/RUN");
	for (size_t i = 0; i < json_object_array_length(doc); i++) {
		json_object *p = json_object_array_get_idx(doc, i), *bh, *den, *aud, *progs, *x;
		const char *name = json_object_get_string(json_object_object_get(p, "name"));

		json_object_object_get_ex(p, "by_hook", &bh);
		den = json_object_object_get(bh, "denied");
		aud = json_object_object_get(bh, "audit_would_deny");
		progs = json_object_object_get(p, "programs");
		json_object_object_foreach(den, hook, dv) {
			uint64_t runs = 0, t = 0;

			for (size_t j = 0; progs && j < json_object_array_length(progs); j++) {
				json_object *g = json_object_array_get_idx(progs, j);

				if (!strcmp(json_object_get_string(json_object_object_get(g, "hook")),
					    hook)) {
					runs = (uint64_t)json_object_get_int64(
						json_object_object_get(g, "run_count"));
					t = (uint64_t)json_object_get_int64(
						json_object_object_get(g, "run_time_ns"));
				}
			}
			char per[32] = "-";

			if (runs)
				snprintf(per, sizeof(per), "%.0f", (double)t / (double)runs);
			printf("%-24s %-12s %12lld %12lld %12llu %10s\n", name, hook,
			       (long long)json_object_get_int64(dv),
			       (long long)json_object_get_int64(json_object_object_get(aud, hook)),
			       (unsigned long long)runs, per);
		}
		if (json_object_object_get_ex(p, "events", &x))
			printf("  events: %lld sent, %lld dropped (ring buffer full), %lld suppressed "
			       "(over the rule's rate); %lld connects refused by rate_limit\n",
			       (long long)json_object_get_int64(json_object_object_get(x, "sent")),
			       (long long)json_object_get_int64(json_object_object_get(x, "dropped")),
			       (long long)json_object_get_int64(json_object_object_get(x, "suppressed")),
			       (long long)json_object_get_int64(json_object_object_get(p, "rate_limited")));
		x = json_object_object_get(p, "accounting");
		for (size_t j = 0; x && j < json_object_array_length(x); j++) {
			json_object *c = json_object_array_get_idx(x, j);
#define U(k) ((unsigned long long)json_object_get_int64(json_object_object_get(c, k)))
			printf("  cgroup %s: out %llu bytes, %llu packets; in %llu bytes, %llu packets; "
			       "tcp %llu connects, %llu accepts; udp %llu flows; %llu new per "
			       "minute\n", json_object_get_string(json_object_object_get(c, "cgroup")) ?: "(gone)",
			       U("bytes_out"), U("packets_out"), U("bytes_in"), U("packets_in"),
			       U("tcp_connects"), U("tcp_accepts"), U("udp_flows"),
			       U("connections_per_minute"));
#undef U
		}
		x = json_object_object_get(p, "rule_hits");
		for (size_t j = 0; x && j < json_object_array_length(x); j++) {
			json_object *h = json_object_array_get_idx(x, j), *t;

			if (json_object_object_get_ex(h, "text", &t))
				printf("  rule line %d %s: %lld hits\n",
				       json_object_get_int(json_object_object_get(h, "line")),
				       json_object_get_string(t),
				       (long long)json_object_get_int64(json_object_object_get(h, "hits")));
			else
				printf("  %s: %lld hits\n",
				       json_object_get_string(json_object_object_get(h, "rule")),
				       (long long)json_object_get_int64(json_object_object_get(h, "hits")));
		}
	}
}

static volatile sig_atomic_t stats_stop;

static void stats_signal(int sig)
{
	(void)sig;
	stats_stop = 1;
}

static int do_stats(int argc, char **argv)
{
	const char *name = NULL;
	long watch = 0;
	bool found = false;
	int stats_fd = -1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--watch")) {
			char *end;

			if (++i >= argc)
				return cgf_usage_error("--watch needs a number of SECONDS");
			watch = strtol(argv[i], &end, 10);
			if (*end || watch < 1 || watch > 86400)
				return cgf_usage_error("--watch: '%s' is not a number of seconds from "
						       "1 to 86400", argv[i]);
			continue;
		}
		if (argv[i][0] == '-')
			return cgf_usage_error("stats: unknown option '%s'", argv[i]);
		if (name)
			return cgf_usage_error("stats: one NAME at a time");
		name = argv[i];
	}
	if (cgf_env_check())
		return fail();
	if (watch) {	/* the programs' run count and time, while we watch */
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		signal(SIGINT, stats_signal);
		signal(SIGTERM, stats_signal);
	}
	do {
		json_object *doc = cgf_stats_doc(name, true, &found);

		cgf_unlock();
		if (!doc)
			return fail();
		if (name && !found) {
			json_object_put(doc);
			cgf_error(-ENOENT, "no policy named '%s' is applied", name);
			if (stats_fd >= 0)
				close(stats_fd);
			return fail();
		}
		if (cgf_json) {
			if (watch) {	/* one document per line and interval */
				puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
				fflush(stdout);
				json_object_put(doc);
			} else {
				cgf_json_emit(doc);
			}
		} else {
			if (watch) {
				time_t t = time(NULL);
				char ts[64];

				strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
				printf("-- %s\n", ts);
			}
			print_stats_text(doc);
			if (!watch && !cgf_run_stats_enabled())
				printf("(RUNS and NS/RUN count only while kernel.bpf_stats_enabled is 1 "
				       "or a `stats --watch` runs)\n");
			fflush(stdout);
			json_object_put(doc);
		}
		for (long s = 0; watch && s < watch * 10 && !stats_stop; s++)
			usleep(100000);
	} while (watch && !stats_stop);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}

static int do_check(int argc, char **argv)
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
		json_object_object_add(o, "map_entries", map_entries_json(c));
		cgf_json_emit(o);
	} else {
		printf("%s: policy %s is valid (%s; hooks ", argv[0], p->name,
		       p->mode ? "audit" : "enforce");
		print_hooks(c->hooks);
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

static int do_explain(int argc, char **argv)
{
	const char *file = NULL, *hook = NULL, *ep = NULL, *why = NULL;
	struct cgf_policy *p;
	struct cgf_compiled *c;
	struct cgf_query q = { 0 };
	struct cgf_decision d;
	char addr[64];
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
		return cgf_usage_error("explain: usage: explain POLICY connect|sendmsg|bind|ingress "
				       "ADDR:PORT[/PROTO], or explain POLICY socket FAMILY/TYPE[/PROTO]");
	if (!strcmp(hook, "connect") || !strcmp(hook, "sendmsg")) {
		q.dir = CGF_DIR_EGRESS;
	} else if (!strcmp(hook, "ingress")) {
		q.dir = CGF_DIR_INGRESS;
	} else if (!strcmp(hook, "bind")) {
		q.dir = CGF_DIR_BIND;
	} else {
		return cgf_usage_error("explain: '%s' is not a hook (connect, sendmsg, bind, ingress)",
				       hook);
	}
	if (cgf_parse_endpoint(ep, &q.addr, &q.port, &proto, &why))
		return cgf_usage_error("explain: '%s': %s", ep, why);
	q.proto = proto >= 0 ? proto : !strcmp(hook, "sendmsg") ? CGF_P_UDP : CGF_P_TCP;
	ret = cgf_load_compile(file, &p, &c);
	if (ret)
		return ret;
	if (q.dir == CGF_DIR_EGRESS && p->sec[CGF_DIR_REDIRECT].present &&
	    !explain_redirect(p, &q)) {
		cgf_compiled_free(c);
		cgf_policy_free(p);
		return 0;
	}
	cgf_eval(p, &q, &d);
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
		cgf_json_emit(o);
	} else {
		printf("%s\n", cgf_action_name(d.verdict));
		print_rule_or_default(p, q.dir, &d);
		if (p->mode == CGF_MODE_AUDIT && d.verdict == CGF_DENY)
			printf("note: audit mode: counted as would-deny, not enforced\n");
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}

static int do_version(int argc, char **argv)
{
	int ret = no_args("version", argc, argv);

	if (ret)
		return ret;
	if (cgf_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "version", json_object_new_string(CGF_VERSION));
		json_object_object_add(o, "libbpf", json_object_new_string(libbpf_version_string()));
		json_object_object_add(o, "pin_layout", json_object_new_int(CGF_LAYOUT));
		cgf_json_emit(o);
	} else {
		printf("cgfence %s (libbpf %s, pin layout %d)\n", CGF_VERSION,
		       libbpf_version_string(), CGF_LAYOUT);
	}
	return 0;
}

static int do_help(int argc, char **argv);

/* cgfence metrics --listen HOST:PORT: /metrics in the Prometheus text format */
static int do_metrics(int argc, char **argv)
{
	const char *listen = NULL;
	struct cgf_metrics *m;
	int stats_fd;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
		else
			return cgf_usage_error("metrics: unexpected argument '%s' (metrics --listen "
					       "HOST:PORT)", argv[i]);
	}
	if (!listen)
		return cgf_usage_error("metrics: --listen HOST:PORT is required");
	if (cgf_env_check())
		return fail();
	m = cgf_metrics_start(listen, cgf_stats_all);
	if (!m)
		return fail();
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	signal(SIGINT, stats_signal);
	signal(SIGTERM, stats_signal);
	fprintf(stderr, "cgfence: serving http://%s/metrics\n", listen);
	while (!stats_stop) {
		struct pollfd p = { .fd = cgf_metrics_fd(m), .events = POLLIN };

		if (poll(&p, 1, 500) > 0)
			cgf_metrics_run(m);
	}
	cgf_metrics_stop(m);
	if (stats_fd >= 0)
		close(stats_fd);
	return 0;
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} cmds[] = {
	{ "apply", do_apply,
	  "apply POLICY.yaml [--cgroup PATH | --container ID | --pid PID] [--json]" },
	{ "detach", do_detach, "detach NAME | --all [--json]" },
	{ "list", do_list, "list [--json]" },
	{ "run", cgf_do_run,
	  "run -p POLICY.yaml [--audit] [--user USER] [--cgroup-parent PATH] -- CMD [ARG...]" },
	{ "check", do_check, "check POLICY.yaml [--json]" },
	{ "explain", do_explain,
	  "explain POLICY.yaml connect|sendmsg|bind|ingress ADDR:PORT[/tcp|udp|icmp] [--json]\n"
	  "  cgfence explain POLICY.yaml socket inet|inet6/stream|dgram|raw[/PROTO] [--json]" },
	{ "stats", do_stats, "stats [NAME] [--watch SECONDS] [--json]" },
	{ "metrics", do_metrics, "metrics --listen HOST:PORT" },
	{ "events", cgf_do_events, "events [--json] [--follow] [NAME]" },
	{ "tree", cgf_do_tree, "tree [CGROUP] [--json]" },
	{ "daemon", cgf_do_daemon, "daemon --policy-dir DIR [--repair-interval S] [--run-dir DIR] [--detach-on-exit]" },
	{ "oci-hook", cgf_do_oci_hook,
	  "oci-hook [--policy-dir DIR] [--stage createRuntime|prestart|poststop] < STATE.json" },
	{ "version", do_version, "version [--json]" },
	{ "help", do_help, "help" },
};

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: cgfence [-j|--json] [-p|--pretty] [-v|--verbose] COMMAND [ARGS]\n\n"
	       "Commands (any unique prefix works):\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		printf("  cgfence %s\n", cmds[i].usage);
	printf("\nExit status: 0 success, 1 failure or invalid policy, 2 bad usage.\n"
	       "See cgfence(8) (docs/cgfence.8.md) and cgfence-policy(5).\n");
	return 0;
}

static const struct cmd *find_cmd(const char *word)
{
	const struct cmd *found = NULL;
	size_t n = strlen(word);
	char alts[256] = "";

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(cmds[i].name, word))
			return &cmds[i];
		if (!strncmp(cmds[i].name, word, n)) {
			if (found) {
				snprintf(alts + strlen(alts), sizeof(alts) - strlen(alts), " %s",
					 cmds[i].name);
			} else {
				found = &cmds[i];
			}
		}
	}
	if (found && alts[0]) {
		cgf_usage_error("'%s' is ambiguous: %s%s", word, found->name, alts);
		return NULL;
	}
	if (!found)
		cgf_usage_error("unknown command '%s'", word);
	return found;
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	char **args;
	int n = 0, i = 1;
	bool verbose = false;

	/* leading global options */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			cgf_json = true;
		else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			cgf_json = cgf_json_pretty = true;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return do_help(0, NULL);
		else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return do_version(0, NULL);
		else
			return cgf_usage_error("unknown option '%s'", argv[i]);
	}
	if (i >= argc) {
		do_help(0, NULL);
		return EXIT_USAGE;
	}
	cgf_libbpf_setup(verbose);
	setlinebuf(stdout);
	cmd = find_cmd(argv[i]);
	if (!cmd)
		return EXIT_USAGE;
	/* --json/--pretty anywhere before "--" (run passes the rest on untouched) */
	args = xcalloc((size_t)argc, sizeof(*args));
	for (int j = i + 1; j < argc; j++) {
		if (!strcmp(argv[j], "--")) {
			while (j < argc)
				args[n++] = argv[j++];
			break;
		}
		if (!strcmp(argv[j], "--json") || !strcmp(argv[j], "-j"))
			cgf_json = true;
		else if (!strcmp(argv[j], "--pretty"))
			cgf_json = cgf_json_pretty = true;
		else
			args[n++] = argv[j];
	}
	int ret = cmd->fn(n, args);

	free(args);
	return ret;
}
