// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What every command shares: errors, usage, loading a policy, targets. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "jsonout.h"
#include "pipeline.h"
#include "util.h"

int cgf_fail(void)
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
	return cgf_pipeline_compile(path, NULL, 0, p, c) ? cgf_fail() : 0;
}

void cgf_print_hooks(unsigned int hooks)
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
/* The policy's target cgroup, an error placed at the target's position */
static int target_cgroup(const struct cgf_policy *p, char *abs, size_t len)
{
	char msg[1200];

	{
		CGF_DIAG_SCOPE(d);
		if (!cgf_cgroup_resolve(p->target_cgroup, abs, len))
			return 0;
		snprintf(msg, sizeof(msg), "%s", d.msg);
	}
	return cgf_error_at(-ENOENT, p->file, p->target_line, p->target_col, "%s", msg);
}

int cgf_target_cgroup(const struct cgf_policy *p, const char *arg, char *abs, size_t len)
{
	if (arg)
		return cgf_cgroup_resolve(arg, abs, len) ? cgf_fail() : 0;
	switch (p->target_kind) {
	case CGF_TARGET_CGROUP:
		return target_cgroup(p, abs, len) ? cgf_fail() : 0;
	case CGF_TARGET_PID:
		return cgf_cgroup_of_pid(p->target_pid, abs, len) ? cgf_fail() : 0;
	case CGF_TARGET_CONTAINER:
		return cgf_container_cgroup(p->target_cgroup, abs, len) ? cgf_fail() : 0;
	default:
		return cgf_usage_error("%s: no target: give --cgroup PATH or write target: in the "
				       "policy", p->file);
	}
}

int cgf_no_args(const char *cmd, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		return cgf_usage_error("%s: unexpected argument '%s'", cmd, argv[i]);
	return 0;
}

json_object *cgf_map_entries_json(const struct cgf_compiled *c)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "addr4", json_object_new_int64((int64_t)c->n_v4));
	json_object_object_add(e, "addr6", json_object_new_int64((int64_t)c->n_v6));
	json_object_object_add(e, "classes", json_object_new_int64(c->n_classes));
	json_object_object_add(e, "ports", json_object_new_int64((int64_t)c->n_ports));
	return e;
}

void cgf_print_names(json_object *names, const char *indent)
{
	json_object *pats, *v;

	if (!names || !json_object_object_get_ex(names, "patterns", &pats))
		return;
#define U(o, k) (json_object_object_get_ex(o, k, &v) ? (long long)json_object_get_int64(v) : 0)
	printf("%snames: %lld addresses learnt (limit %lld, %lld evicted), %lld answers read, "
	       "%lld ignored, %lld resolver-port uses refused\n", indent, U(names, "addresses"),
	       U(names, "limit"), U(names, "evicted"), U(names, "answers"),
	       U(names, "answers_ignored"), U(names, "resolver_guard_refused"));
	for (size_t i = 0; i < json_object_array_length(pats); i++) {
		json_object *p = json_object_array_get_idx(pats, i), *as;

		printf("%s  %s (line %lld):", indent,
		       json_object_get_string(json_object_object_get(p, "pattern")), U(p, "line"));
		as = json_object_object_get(p, "addresses");
		for (size_t j = 0; as && j < json_object_array_length(as); j++) {
			json_object *a = json_object_array_get_idx(as, j);
			double e = json_object_get_double(json_object_object_get(a, "expires_in_s"));

			printf(" %s (%s %.0f s)", json_object_get_string(json_object_object_get(a, "address")),
			       e < 0 ? "expired" : "expires in", e < 0 ? -e : e);
		}
		printf("%s\n", as && json_object_array_length(as) ? "" : " none learnt");
	}
#undef U
}
