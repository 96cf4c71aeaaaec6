// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence oci-hook: an OCI runtime hook (createRuntime or prestart, and
 * poststop). The runtime passes the container's state on stdin: id, pid,
 * bundle, annotations. With the annotation cgfence.io/policy=NAME, the
 * container's cgroup (from the bundle's linux.cgroupsPath) joins the policy
 * DIR/NAME.yaml's one instance on the host, NAME-oci, before the container's
 * process runs; at poststop it leaves it, and the instance goes with its
 * last container. No annotation: nothing happens. Any failure exits 1 with the reason on
 * stderr, so the runtime refuses to start the container (fail closed).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "env.h"
#include "jsonout.h"
#include "loader.h"
#include "oci.h"
#include "pipeline.h"
#include "pins.h"
#include "target.h"
#include "util.h"

#include <stdbool.h>


static int oci_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int oci_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("cgfence: oci-hook: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

/* the bundle's config.json, or NULL */
static json_object *read_config(const char *bundle)
{
	char path[4096];

	if (!bundle)
		return NULL;
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	return json_object_from_file(path);
}

/* the id as it appears in instance names: its first 12 characters, lowercased,
 * anything else a policy name cannot hold as '-' */
static void id_tag(const char *id, char *tag, size_t len)
{
	snprintf(tag, len, "%.12s", id);
	for (char *p = tag; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '-';
}

/* poststop without the annotation (e.g. runc delete knows no bundle):
 * detach every instance of this container, NAME-<tag> */
static int detach_instances(const char *tag)
{
	DIR *d = opendir(CGF_PIN_ROOT);
	struct dirent *e;
	size_t tl = strlen(tag);
	int ret = EXIT_OK;

	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n > tl + 1 && e->d_name[n - tl - 1] == '-' && !strcmp(e->d_name + n - tl, tag) &&
		    cgf_detach(e->d_name) && !ret)
			ret = oci_fail("%s", cgf_last_error());
	}
	if (d)
		closedir(d);
	return ret;
}

/* The container's cgroup: linux.cgroupsPath of the bundle, else its pid's. */
static int container_cgroup(const char *id, json_object *config, int pid, char *abs, size_t len)
{
	json_object *linux_ = NULL;
	const char *cgpath = NULL, *why = NULL;
	char rel[512];

	if (config && json_object_object_get_ex(config, "linux", &linux_))
		cgpath = str_of(linux_, "cgroupsPath");
	if (cgpath) {
		if (cgf_oci_cgroup_path(cgpath, rel, sizeof(rel), &why))
			return oci_fail("container %.12s: linux.cgroupsPath '%s': %s", id, cgpath,
					why);
		if (cgf_cgroup_resolve(rel, abs, len))
			return oci_fail("container %.12s: %s", id, cgf_last_error());
		return 0;
	}
	if (pid <= 0 || cgf_cgroup_of_pid(pid, abs, len))
		return oci_fail("container %.12s: no linux.cgroupsPath in the bundle and no usable "
				"pid in the state", id);
	return 0;
}

/* The container's cgroup, quietly (-errno): from the bundle or pid, else by its id. */
static int container_cgroup_quiet(const char *id, json_object *config, int pid, char *abs,
				  size_t len)
{
	json_object *linux_ = NULL;
	const char *cgpath = NULL, *why = NULL;
	char rel[512];

	if (config && json_object_object_get_ex(config, "linux", &linux_))
		cgpath = str_of(linux_, "cgroupsPath");
	if (cgpath && !cgf_oci_cgroup_path(cgpath, rel, sizeof(rel), &why) &&
	    !cgf_cgroup_resolve(rel, abs, len))
		return 0;
	if (pid > 0 && !cgf_cgroup_of_pid(pid, abs, len))
		return 0;
	return cgf_container_cgroup(id, abs, len);
}

void cgf_oci_instance(const char *policy, char *name, size_t len)
{
	snprintf(name, len, "%.*s-oci", CGF_NAME_MAX - 4, policy);
}

size_t cgf_instance_paths(const char *name, const char *abs, bool containers_only,
			  char ***paths)
{
	struct cgf_meta m;
	uint64_t *ids = NULL;
	size_t n_ids = 0, n = 0;

	{
		CGF_DIAG_SCOPE(none);	/* no instance yet: just this cgroup */

		cgf_policy_state(name, &m, &ids, &n_ids);
	}
	*paths = xcalloc(n_ids + 1, sizeof(**paths));
	(*paths)[n++] = xstrdup(abs);
	for (size_t i = 0; i < n_ids; i++) {
		CGF_DIAG_SCOPE(gone);
		char p[600], id[130];
		const char *base;

		if (cgf_cgroup_path_by_id(ids[i], p, sizeof(p)) || !strcmp(p, abs))
			continue;
		base = strrchr(p, '/');
		if (!containers_only || (base && cgf_container_id_of(base + 1, id, sizeof(id))))
			(*paths)[n++] = xstrdup(p);
	}
	free(ids);
	return n;
}

/* The instance name holds the version of these very bytes. */
static bool in_force(const char *name, uint64_t digest)
{
	CGF_DIAG_SCOPE(none);	/* no instance yet: not in force */
	struct cgf_meta m;
	uint64_t *ids = NULL;
	size_t n = 0;
	bool yes = !cgf_policy_state(name, &m, &ids, &n) && m.digest == digest &&
		   (m.flags & CGF_META_OCI);

	free(ids);
	return yes;
}

/*
 * The cgroup abs of container id joins the policy's one instance on this
 * host (name, shared by every container that names the policy: one program
 * set, a link set per container). The same file as the instance's: the
 * programs in force are attached, nothing loaded. A changed file: a new
 * version for every container of the instance at once. 0, or -errno with
 * the error set.
 */
int cgf_oci_join(const char *dir, const char *policy, const char *abs)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_apply_result r;
	char file[4200], name[CGF_NAME_MAX + 1], *buf = NULL, **paths = NULL;
	const char *one = abs;
	size_t len = 0, n;
	uint64_t digest;
	int ret;

	if (!valid_name(policy) || strlen(policy) > CGF_NAME_MAX - 13)
		return cgf_error(-EINVAL, "annotation %s='%s' is not a policy name ([a-z0-9_-], at "
				 "most %d characters)", ANNOTATION, policy, CGF_NAME_MAX - 13);
	cgf_oci_instance(policy, name, sizeof(name));
	ret = cgf_env_check();
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "%s/%s.yaml", dir, policy);
	/* said without "No such file or directory": runtimes read that phrase in a
	 * hook's message as a hook that is not there (podman: exit 127) */
	if (access(file, F_OK) || read_file(file, &buf, &len))
		return cgf_error(-ENOENT, "annotation %s=%s names a policy that %s does not hold "
				 "(%s.yaml): add the policy or fix the annotation", ANNOTATION,
				 policy, dir, policy);
	digest = cgf_digest(buf, len);
	if (in_force(name, digest)) {
		free(buf);
		return cgf_attach_cgroups(name, &one, 1);
	}
	ret = cgf_pipeline_compile(file, buf, len, &p, &c);
	free(buf);
	if (ret)
		return cgf_error(ret, "policy %s: %s", policy, cgf_last_error());
	n = cgf_instance_paths(name, abs, false, &paths);
	struct cgf_apply_opts o = { .cgroups = (const char *const *)paths, .n_cgroups = n,
				    .mode = p->mode, .name = name, .source = file,
				    .digest = digest, .flags = CGF_META_OCI };

	ret = cgf_pipeline_apply(c, &o, &r);
	cgf_strv_free(paths, n);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return ret;
}

/* createRuntime / prestart: the container's cgroup joins the policy's instance. */
static int oci_apply(const char *id, const char *dir, const char *policy, json_object *config,
		     int pid)
{
	char abs[600];
	int ret = container_cgroup(id, config, pid, abs, sizeof(abs));

	if (ret)
		return ret;
	return cgf_oci_join(dir, policy, abs) ? oci_fail("container %.12s: %s", id,
							  cgf_last_error()) : EXIT_OK;
}

struct leave {
	uint64_t cg;
	int ret;
};

/* One policy: if it is an oci-hook instance holding the cgroup, the cgroup
 * leaves; an instance left with no container goes. */
static int leave_one(const char *dir, const char *name, void *arg)
{
	struct leave *l = arg;
	struct cgf_meta m;
	char cgdir[CGF_PATH_LEN];
	uint64_t *ids = NULL;
	size_t n;

	cgf_pin_cgroup_dir(dir, l->cg, cgdir, sizeof(cgdir));
	if (cgf_pin_meta(dir, &m) || !(m.flags & CGF_META_OCI))
		return 0;
	/* its pins may be gone already: the cgroup was removed and a settle
	 * (the daemon, any command) pruned them; the instance may be empty */
	if (!access(cgdir, F_OK) && cgf_detach_cgroup(name, l->cg) && !l->ret)
		l->ret = oci_fail("%s", cgf_last_error());
	n = cgf_pin_cgroup_ids(dir, &ids);
	free(ids);
	if (!n && cgf_detach(name) && !l->ret)	/* its last container went */
		l->ret = oci_fail("%s", cgf_last_error());
	return 0;
}

int cgf_oci_leave(uint64_t cg)
{
	struct leave l = { .cg = cg };

	if (cgf_lock())
		return -EAGAIN;
	cgf_pins_for_each_policy(leave_one, &l);
	return l.ret ? -EIO : 0;
}

/* The container's cgroup leaves every oci-hook instance it is in; an
 * instance goes with its last container. A cgroup already gone is left to
 * settle (the next command, the daemon). Before shared instances, each
 * container had its own, NAME-<tag>: those go too. */
static int oci_leave(const char *id, const char *tag, json_object *config, int pid)
{
	struct leave l = { .ret = detach_instances(tag) };
	char abs[600];

	{
		CGF_DIAG_SCOPE(gone);

		if (container_cgroup_quiet(id, config, pid, abs, sizeof(abs)) ||
		    cgf_cgroup_id(abs, &l.cg))
			return l.ret;
	}
	if (cgf_lock())
		return oci_fail("%s", cgf_last_error());
	cgf_pins_for_each_policy(leave_one, &l);
	return l.ret;
}

/* What the state says: the hook's stage, the container and its policy. */
static int oci_hook(const char *dir, const char *stage, json_object *state)
{
	json_object *config, *ann = NULL, *pid_o;
	const char *id = str_of(state, "id"), *status = str_of(state, "status"), *policy;
	char tag[16];
	int ret, pid = 0;
	bool poststop;

	if (!id || !*id)
		return oci_fail("the state has no container id");
	if (json_object_object_get_ex(state, "pid", &pid_o))
		pid = json_object_get_int(pid_o);
	config = read_config(str_of(state, "bundle"));
	/* annotations: the state's (OCI >= 1.0.2), else the bundle's */
	if (!json_object_object_get_ex(state, "annotations", &ann) && config)
		json_object_object_get_ex(config, "annotations", &ann);
	policy = str_of(ann, ANNOTATION);
	id_tag(id, tag, sizeof(tag));
	poststop = (stage && !strcmp(stage, "poststop")) ||
		   (!stage && status && !strcmp(status, "stopped"));
	if (poststop)	/* with or without the annotation (runc delete has no bundle) */
		ret = cgf_env_check() ? oci_fail("%s", cgf_last_error())
				      : oci_leave(id, tag, config, pid);
	else if (!policy)
		ret = EXIT_OK;	/* not ours */
	else
		ret = oci_apply(id, dir, policy, config, pid);
	json_object_put(config);
	return ret;
}

int cgf_do_oci_hook(int argc, char **argv)
{
	const char *dir = DEFAULT_POLICY_DIR, *stage = NULL;
	json_object *state;
	char *buf = NULL;
	size_t len;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--policy-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--stage") && i + 1 < argc)
			stage = argv[++i];
		else
			return cgf_usage_error("oci-hook: usage: oci-hook [--policy-dir DIR] "
					       "[--stage createRuntime|prestart|poststop] < state.json");
	}
	if (read_file("/dev/stdin", &buf, &len) || !len)
		return oci_fail("no container state on stdin");
	state = json_tokener_parse(buf);
	free(buf);
	if (!state || !json_object_is_type(state, json_type_object))
		ret = oci_fail("the state on stdin is not a JSON object");
	else
		ret = oci_hook(dir, stage, state);
	json_object_put(state);
	return ret;
}
