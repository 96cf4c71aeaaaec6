// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence apply --stage, promote, unstage: a new version of a policy beside
 * the one in force, in audit, reporting where it would decide otherwise
 * (abi.h: Staging; docs/design.md: Staging).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "env.h"
#include "jsonout.h"
#include "layout.h"
#include "loader.h"
#include "pins.h"
#include "pipeline.h"
#include "settle.h"
#include "staged.h"
#include "target.h"
#include "util.h"

/* The cgroups policy name is on now (paths); *m its version in force. */
static int policy_paths(const char *name, struct cgf_meta *m, char ***paths, size_t *n)
{
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	int err = cgf_policy_state(name, m, &ids, &n_ids);

	*paths = NULL;
	*n = 0;
	if (err == -ENOENT)
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	if (err)
		return err;
	*paths = xcalloc(n_ids + 1, sizeof(**paths));
	for (size_t i = 0; i < n_ids; i++) {
		CGF_DIAG_SCOPE(gone);	/* a cgroup removed meanwhile */
		char p[600];

		if (!cgf_cgroup_path_by_id(ids[i], p, sizeof(p)))
			(*paths)[(*n)++] = xstrdup(p);
	}
	free(ids);
	return 0;
}

static int stage(const char *file, struct cgf_policy *p, struct cgf_compiled *c)
{
	char sname[CGF_INSTANCE_MAX], src[PATH_MAX], *buf = NULL, **paths = NULL;
	struct cgf_apply_result r;
	struct cgf_meta m;
	size_t n = 0, len = 0;
	int err = cgf_env_check() ?: cgf_lock() ?: policy_paths(p->name, &m, &paths, &n);

	if (!err && cgf_meta_layout(&m) < CGF_LAYOUT_HANDOFF)
		err = cgf_error(-EPROTO, "%s: its version in force was applied by an older cgfence "
				"(pin layout %u): apply it again, then stage", p->name,
				cgf_meta_layout(&m));
	if (!err && !n)
		err = cgf_error(-ENOENT, "%s is on no cgroup now: nothing to stage beside",
				p->name);
	if (!err && (!realpath(file, src) || read_file(src, &buf, &len)))
		err = cgf_error(-errno, "%s: %m", file);
	if (!err) {
		struct cgf_apply_opts o = { .cgroups = (const char *const *)paths, .n_cgroups = n,
					    .mode = CGF_MODE_AUDIT, .name = sname, .source = src,
					    .digest = cgf_digest(buf, len),
					    .flags = CGF_META_STAGED };

		char dir[CGF_PATH_LEN];

		cgf_pin_staged_name(p->name, sname, sizeof(sname));
		cgf_pin_policy_dir(p->name, dir, sizeof(dir));
		cgf_staged_compile(c, m.hooks);
		/* the version in force hands over before the staged one runs */
		err = cgf_staged_listen(dir, true) ?: cgf_pipeline_apply(c, &o, &r);
		if (err)
			cgf_staged_listen(dir, cgf_staged_exists(dir));
	}
	free(buf);
	if (!err && cgf_json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(p->name));
		json_object_object_add(j, "staged", json_object_new_string(sname));
		json_object_object_add(j, "cgroups", json_object_new_int64((int64_t)n));
		json_object_object_add(j, "generation", json_object_new_int64(r.generation));
		json_object_object_add(j, "hooks", cgf_json_hooks(r.hooks));
		cgf_json_emit(j);
	} else if (!err) {
		printf("staged %s beside its version in force (generation %u) on %zu cgroup%s, in "
		       "audit; hooks ", p->name, m.generation, n, n == 1 ? "" : "s");
		cgf_print_hooks(r.hooks);
		printf("\ndifferences: cgfence events %s, cgfence stats %s; then cgfence promote %s "
		       "or cgfence unstage %s\n", p->name, p->name, p->name, p->name);
	}
	cgf_strv_free(paths, n);
	return err ? cgf_fail() : 0;
}

/* apply --stage POLICY */
int cgf_do_stage(const char *file)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	int ret = cgf_load_compile(file, &p, &c) ?: stage(file, p, c);

	cgf_compiled_free(c);
	cgf_policy_free(p);
	return ret;
}

/* NAME: a policy name, with a staged version (*m its meta) */
static int staged_arg(const char *cmd, int argc, char **argv, const char **name,
		      struct cgf_meta *m)
{
	char sname[CGF_INSTANCE_MAX], dir[CGF_PATH_LEN];

	if (argc != 1 || argv[0][0] == '-')
		return cgf_usage_error("%s: give one policy NAME", cmd);
	*name = argv[0];
	if (!valid_name(*name))
		return cgf_usage_error("%s: '%s' is not a policy name", cmd, *name);
	if (cgf_env_check() || cgf_lock())
		return cgf_fail();
	bool staged = cgf_pin_staged_name(*name, sname, sizeof(sname));

	cgf_pin_policy_dir(sname, dir, sizeof(dir));
	if (!staged || cgf_pin_meta(dir, m)) {
		cgf_error(-ENOENT, "%s: %s has no staged version (cgfence apply --stage POLICY.yaml)",
			  cmd, *name);
		return cgf_fail();
	}
	return 0;
}

static int done(const char *what, const char *name, uint32_t generation)
{
	if (cgf_json) {
		json_object *j = json_object_new_object();

		json_object_object_add(j, what, json_object_new_string(name));
		if (generation)
			json_object_object_add(j, "generation", json_object_new_int64(generation));
		cgf_json_emit(j);
	} else if (generation) {
		printf("%s %s (generation %u)\n", what, name, generation);
	} else {
		printf("%s %s\n", what, name);
	}
	return 0;
}

int cgf_do_unstage(int argc, char **argv)
{
	const char *name;
	struct cgf_meta m;
	int ret = staged_arg("unstage", argc, argv, &name, &m);

	if (ret)
		return ret;
	return cgf_staged_remove(name) ? cgf_fail() : done("unstaged", name, 0);
}

/* The staged file again, as it was staged: its bytes unchanged. */
static int staged_again(const char *name, const struct cgf_meta *sm, struct cgf_policy **p,
			struct cgf_compiled **c)
{
	char *buf = NULL;
	size_t len = 0;
	int err = read_file(sm->source, &buf, &len) ? cgf_error(-errno, "%s: %m", sm->source) : 0;

	if (!err && cgf_digest(buf, len) != sm->digest)
		err = cgf_error(-ESTALE, "%s changed since it was staged: stage it again "
				"(cgfence apply --stage %s)", sm->source, sm->source);
	err = err ?: cgf_pipeline_compile(sm->source, buf, len, p, c);
	if (!err && strcmp((*p)->name, name))
		err = cgf_error(-EINVAL, "%s now names policy '%s', not '%s'", sm->source,
				(*p)->name, name);
	free(buf);
	return err;
}

int cgf_do_promote(int argc, char **argv)
{
	const char *name;
	struct cgf_meta sm, m;
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_apply_result r = { 0 };
	char **paths = NULL;
	size_t n = 0;
	int ret = staged_arg("promote", argc, argv, &name, &sm);

	if (ret)
		return ret;
	int err = policy_paths(name, &m, &paths, &n);

	if (!err && (m.flags & (CGF_META_DAEMON | CGF_META_OCI)))
		err = cgf_error(-EPERM, "%s follows %s (%s): put the staged file there instead, "
				"it applies it", name, m.source,
				m.flags & CGF_META_DAEMON ? "cgfence daemon" : "oci-hook");
	err = err ?: staged_again(name, &sm, &p, &c);
	if (!err) {
		struct cgf_apply_opts o = { .cgroups = (const char *const *)paths, .n_cgroups = n,
					    .mode = p->mode, .source = sm.source,
					    .digest = sm.digest,
					    .flags = m.flags & (CGF_META_KEEP | CGF_META_OCI) };

		/* the same switch as a re-apply; the staged version goes after it */
		err = cgf_pipeline_apply(c, &o, &r) ?: cgf_staged_remove(name);
	}
	cgf_strv_free(paths, n);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return err ? cgf_fail() : done("promoted", name, r.generation);
}
