// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgfence list */
#include <stdio.h>

#include "cli.h"
#include "jsonout.h"
#include "loader.h"
#include "report.h"
#include "rundir.h"
#include "stats.h"
#include "util.h"

/* list: what a running cgfence daemon follows, and the files it could not apply */
static void print_daemon_status(void)
{
	json_object *st = cgf_daemon_status(), *files, *v;
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

/* Sockets the policy cannot filter: made outside its cgroups. */
static void print_outside(const struct cgf_applied *a)
{
	json_object *arr = cgf_applied_outside_json(a);

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
#define S(k) (json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "")
		printf("%-24s outside socket, not filtered: pid %s (%s) %s %s%s%s from cgroup %s\n",
		       "", S("pid"), S("comm"), S("protocol"), S("local"), *S("remote") ? " -> " : "",
		       S("remote"), *S("socket_cgroup") ? S("socket_cgroup") : S("socket_cgroup_id"));
#undef S
	}
	json_object_put(arr);
}

int cgf_do_list(int argc, char **argv)
{
	struct cgf_applied *a;
	size_t n;
	int ret = cgf_no_args("list", argc, argv);

	if (ret)
		return ret;
	if (cgf_env_check() || cgf_list(&a, &n))
		return cgf_fail();
	if (cgf_json) {
		json_object *arr = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, cgf_applied_json(&a[i], false));
		cgf_json_emit(arr);
	} else {
		printf("%-24s %-8s %-5s %s\n", "NAME", "MODE", "GEN", "CGROUP / HOOKS");
		for (size_t i = 0; i < n; i++) {
			printf("%-24s %-8s %-5u", a[i].name, a[i].meta.mode ? "audit" : "enforce",
			       a[i].meta.generation);
			for (size_t j = 0; j < a[i].n_cgs; j++) {
				printf("%s%s ", j ? "\n                                        " : " ",
				       a[i].cgs[j].path[0] ? a[i].cgs[j].path : "(removed)");
				cgf_print_hooks(a[i].cgs[j].hooks);
			}
			printf("\n");
			print_outside(&a[i]);
			{
				json_object *nm = cgf_names_json(a[i].name);

				cgf_print_names(nm, "  ");
				json_object_put(nm);
			}
		}
		print_daemon_status();
	}
	cgf_applied_free(a, n);
	return 0;
}
