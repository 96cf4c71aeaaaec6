// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgfence apply, cgfence detach */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "jsonout.h"
#include "loader.h"
#include "pipeline.h"
#include "target.h"
#include "util.h"

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
	json_object_object_add(o, "map_entries", cgf_map_entries_json(c));
	return o;
}

int cgf_do_apply(int argc, char **argv)
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
		ret = cgf_container_cgroup(ctr, abs, sizeof(abs)) ? cgf_fail() : 0;
	else if (pid)
		ret = cgf_cgroup_of_pid(atoi(pid), abs, sizeof(abs)) ? cgf_fail() : 0;
	else if (!cg && cgf_target_dynamic(p)) {	/* a glob or unit: what matches now */
		ret = cgf_target_resolve(p, &paths, &n_paths) ? cgf_fail() : 0;
		if (!ret && !n_paths) {
			cgf_error_at(-ENOENT, p->file, p->target_line, p->target_col,
				     "target '%s' matches no cgroup now (cgfence daemon attaches the "
				     "policy to cgroups as they appear)", p->target_cgroup);
			ret = cgf_fail();
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
			ret = cgf_fail();
	}
	if (!ret) {
		if (cgf_json) {
			cgf_json_emit(apply_json(p->name, abs, p->mode, &r, c));
		} else {
			printf("%s %s to %s", r.replaced ? "replaced" : "applied", p->name, abs);
			if (n_paths > 1)
				printf(" and %zu more cgroups", n_paths - 1);
			printf(" (%s; hooks ", p->mode ? "audit" : "enforce");
			cgf_print_hooks(r.hooks);
			printf("; %zu network rules, %zu prefixes)\n", p->n_rules, p->n_prefixes);
		}
	}
	cgf_strv_free(paths, n_paths);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return ret;
}

int cgf_do_detach(int argc, char **argv)
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
		return cgf_fail();
	if (all ? cgf_detach_all(&n) : cgf_detach(name))
		return cgf_fail();
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
