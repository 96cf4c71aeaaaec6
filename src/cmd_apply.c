// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgfence apply, cgfence detach */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "jsonout.h"
#include "layout.h"
#include "loader.h"
#include "oci.h"
#include "outside.h"
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

static void say_outside(const char *policy, const struct cgf_outside *s)
{
	char buf[1024];

	cgf_outside_str(s, buf, sizeof(buf));
	fprintf(stderr, "cgfence: warning: %s: a socket from outside the policy's cgroups, not "
		"filtered by it: %s\n", policy, buf);
}

/* Sockets the cgroups' processes hold that the policy cannot filter: said
 * (and destroyed, if the policy says so). */
static int outside_after_apply(const char *name, char **paths, size_t n, uint32_t flags)
{
	uint64_t *seen = NULL;
	size_t n_seen = 0;
	int found;

	{
		CGF_DIAG_SCOPE(d);	/* the policy is in force: a failed look is a warning */

		found = cgf_outside_act(name, (const char *const *)paths, n, flags, &seen,
					&n_seen, say_outside);
		if (found < 0)
			fprintf(stderr, "cgfence: warning: %s: cannot look for sockets from outside "
				"its cgroups: %s\n", name, d.msg);
	}
	free(seen);
	return found;
}

struct apply_args {
	const char *file, *cg, *ctr, *pid;
	bool stage;
};

/* POLICY [--cgroup PATH | --container ID | --pid PID]: 0 or a usage error */
static int parse_apply_args(struct apply_args *a, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char **opt = !strcmp(argv[i], "--cgroup")	   ? &a->cg
				   : !strcmp(argv[i], "--container") ? &a->ctr
				   : !strcmp(argv[i], "--pid")	     ? &a->pid : NULL;

		if (!strcmp(argv[i], "--stage")) {
			a->stage = true;
		} else if (opt) {
			if (++i >= argc)
				return cgf_usage_error("%s needs a %s", argv[i - 1],
						       opt == &a->cg ? "PATH" : opt == &a->ctr ? "ID"
											: "PID");
			*opt = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cgf_usage_error("apply: unknown option '%s'", argv[i]);
		} else if (!a->file) {
			a->file = argv[i];
		} else {
			return cgf_usage_error("apply: one POLICY file at a time ('%s')", argv[i]);
		}
	}
	if (!a->file)
		return cgf_usage_error("apply: which POLICY file?");
	if (a->cg && !*a->cg)
		return cgf_usage_error("--cgroup: empty path");
	if (a->stage && (a->cg || a->ctr || a->pid))
		return cgf_usage_error("apply --stage: the staged version goes on the cgroups of "
				       "the version in force (no --cgroup, --container or --pid)");
	if (!!a->cg + !!a->ctr + !!a->pid > 1)
		return cgf_usage_error("apply: give one of --cgroup, --container and --pid");
	if (a->pid && (strspn(a->pid, "0123456789") != strlen(a->pid) || !*a->pid ||
		       atol(a->pid) <= 0))
		return cgf_usage_error("--pid: '%s' is not a process id", a->pid);
	return 0;
}

/* Where the policy goes: abs, or with a glob or unit target every cgroup it
 * matches now (*paths, abs the first). Errors are reported. */
static int apply_targets(const struct apply_args *a, const struct cgf_policy *p, char *abs,
			 size_t len, char ***paths, size_t *n)
{
	if (a->ctr)
		return cgf_container_cgroup(a->ctr, abs, len) ? cgf_fail() : 0;
	if (a->pid)
		return cgf_cgroup_of_pid(atoi(a->pid), abs, len) ? cgf_fail() : 0;
	if (a->cg || !cgf_target_dynamic(p))
		return cgf_target_cgroup(p, a->cg, abs, len);
	if (cgf_target_resolve(p, paths, n))	/* a glob or unit: what matches now */
		return cgf_fail();
	if (!*n) {
		cgf_error_at(-ENOENT, p->file, p->target_line, p->target_col,
			     "target '%s' matches no cgroup now (cgfence daemon attaches the "
			     "policy to cgroups as they appear)", p->target_cgroup);
		return cgf_fail();
	}
	snprintf(abs, len, "%s", (*paths)[0]);
	return 0;
}

/* The policy's version in force came from these very bytes, and holds the
 * same mode: a container joins it without loading anything. */
static bool same_in_force(const char *name, uint64_t digest, int mode, struct cgf_meta *m)
{
	CGF_DIAG_SCOPE(none);
	uint64_t *ids = NULL;
	size_t n = 0;
	bool yes = !cgf_policy_state(name, m, &ids, &n) && m->digest == digest &&
		   (int)m->mode == mode && cgf_meta_layout(m) == CGF_LAYOUT;

	free(ids);
	return yes;
}

int cgf_do_apply(int argc, char **argv)
{
	struct apply_args a = { 0 };
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_apply_result r;
	char abs[512], **paths = NULL;
	size_t n_paths = 0;
	int ret = parse_apply_args(&a, argc, argv);

	if (!ret && a.stage)
		return cgf_do_stage(a.file);
	ret = ret ?: cgf_load_compile(a.file, &p, &c);
	if (ret)
		return ret;
	ret = apply_targets(&a, p, abs, sizeof(abs), &paths, &n_paths);
	uint64_t digest = 0;
	struct cgf_meta m;
	bool joined = false;

	if (!ret && a.ctr) {	/* containers of one policy file share its instance */
		char *buf = NULL;
		size_t len = 0;

		if (!read_file(a.file, &buf, &len))
			digest = cgf_digest(buf, len);
		free(buf);
		/* the container joins the containers the policy is on, one
		 * instance for all of them; other cgroups it was on are left */
		n_paths = cgf_instance_paths(p->name, abs, true, &paths);
		if (digest && same_in_force(p->name, digest, p->mode, &m)) {
			const char *one_path = abs;

			joined = true;
			if (cgf_env_check() || cgf_attach_cgroups(p->name, &one_path, 1) ||
			    cgf_cgroup_id(abs, &r.cgroup_id))
				ret = cgf_fail();
			r.replaced = false;
			r.generation = m.generation;
			r.hooks = m.hooks;
		}
	}
	if (!ret && !joined) {
		struct cgf_apply_opts o = { .cgroup = abs, .mode = p->mode, .source = a.file,
					    .cgroups = (const char *const *)paths,
					    .n_cgroups = n_paths, .digest = digest };

		if (cgf_pipeline_apply(c, &o, &r))
			ret = cgf_fail();
	}
	char *one[] = { abs };
	int outside = ret ? 0 : outside_after_apply(p->name, n_paths ? paths : one,
						    n_paths ? n_paths : 1, c->meta_flags);

	if (joined)
		r.replaced = false;

	if (!ret && cgf_json) {
		json_object *j = apply_json(p->name, abs, p->mode, &r, c);

		json_object_object_add(j, "outside_sockets", json_object_new_int(outside));
		cgf_json_emit(j);
	} else if (!ret) {
		printf("%s %s to %s", joined ? "attached" : r.replaced ? "replaced" : "applied",
		       p->name, abs);
		if (n_paths > 1)
			printf(" and %zu more %s", n_paths - 1, a.ctr ? "containers" : "cgroups");
		if (joined)
			printf(" (its version in force, generation %u", r.generation);
		else
			printf(" (");
		printf("%s%s; hooks ", joined ? ", " : "", p->mode ? "audit" : "enforce");
		cgf_print_hooks(r.hooks);
		printf("; %zu network rules, %zu prefixes)\n", p->n_rules, p->n_prefixes);
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
