// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's second line for containers: a runtime that finds no hook file
 * ignores the annotation cgfence.io/policy, and the container would run
 * unconfined. So the daemon watches the state directories of runc-format
 * runtimes (ROOT/ID/state.json: runc itself, and runc under podman, Docker
 * and containerd). A container whose state carries the annotation (runc
 * copies annotations into config.labels), whose config runs no cgfence hook
 * and whose cgroup is in no instance yet joins the policy's instance, as the
 * hook would have done; it is logged and an event says how. One whose policy
 * cannot be had is killed (cgroup.kill): the runtime would have refused it.
 * When the container's state directory goes, its cgroup leaves the instance.
 * A root that does not exist yet (runc makes its own on first use) is
 * watched for through its nearest existing parent, and a root removed is
 * watched for again the same way (its containers keep their instance until
 * their cgroups go). Every container id runc accepts is taken, one that
 * starts with a dot too.
 *
 * The hook acts before the container's first instruction; the daemon acts
 * when runc has written the state. It freezes the container's cgroup
 * (cgroup.freeze) first, joins it to its instance - which for the first
 * container of a policy loads the policy, a few hundred milliseconds - and
 * thaws it: what runs unconfined is what the container did between runc
 * writing its state and the daemon reading it. It is a second line, not a
 * replacement for the hook.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup.h"
#include "container.h"
#include "daemon_int.h"
#include "env.h"
#include "events.h"
#include "oci.h"
#include "pins.h"
#include "util.h"

struct ctr {
	int root;		/* index in D.rt */
	int wd;
	char id[NAME_MAX + 1];
	bool decided;		/* nothing more to do until it goes */
	bool joined;		/* we put it into instance */
	uint64_t cg;
	char instance[CGF_NAME_MAX + 1];
};

static struct ctr *ctrs;
static size_t n_ctrs, cap_ctrs;

static const char *label_value(json_object *labels, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; labels && i < json_object_array_length(labels); i++) {
		const char *l = json_object_get_string(json_object_array_get_idx(labels, i));

		if (l && !strncmp(l, key, kl) && l[kl] == '=')
			return l + kl + 1;
	}
	return NULL;
}

/* Does the container's config run cgfence's hook (any stage but poststop)? */
static bool runs_our_hook(json_object *config)
{
	json_object *hooks, *stage;
	static const char *const stages[] = { "prestart", "createRuntime", "createContainer",
					       "startContainer" };

	if (!json_object_object_get_ex(config, "Hooks", &hooks) || !hooks)
		return false;
	for (size_t s = 0; s < ARRAY_SIZE(stages); s++) {
		if (!json_object_object_get_ex(hooks, stages[s], &stage) || !stage)
			continue;
		for (size_t i = 0; i < json_object_array_length(stage); i++) {
			json_object *h = json_object_array_get_idx(stage, i), *args;

			if (!json_object_object_get_ex(h, "args", &args) || !args)
				continue;
			for (size_t j = 0; j < json_object_array_length(args); j++)
				if (!strcmp(json_object_get_string(json_object_array_get_idx(args, j))
					    ?: "", "oci-hook"))
					return true;
		}
	}
	return false;
}

static bool in_instance(const char *instance, uint64_t cg)
{
	char dir[CGF_PATH_LEN], cgdir[CGF_PATH_LEN];

	cgf_pin_policy_dir(instance, dir, sizeof(dir));
	cgf_pin_cgroup_dir(dir, cg, cgdir, sizeof(cgdir));
	return !access(cgdir, F_OK);
}

static void confined_event(const struct ctr *c, const char *policy, const char *abs)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("confined"));
	json_object_object_add(o, "policy", json_object_new_string(c->instance));
	json_object_object_add(o, "by", json_object_new_string("daemon"));
	json_object_object_add(o, "reason", json_object_new_string(
		"the container carries the annotation " ANNOTATION " but no oci-hook ran for it"));
	json_object_object_add(o, "annotation", json_object_new_string(policy));
	json_object_object_add(o, "container", json_object_new_string(c->id));
	json_object_object_add(o, "cgroup", json_object_new_string(abs));
	cgf_event_append(c->instance, o);
	json_object_put(o);
}

/* Freeze (on) or thaw the container's cgroup while it joins its instance;
 * false: not frozen by us (it was frozen already - paused - or cannot be). */
static bool hold(const char *abs, bool on)
{
	char p[700], *cur = NULL;
	bool paused;

	snprintf(p, sizeof(p), "%s/cgroup.freeze", abs);
	paused = on && !read_file(p, &cur, NULL) && cur[0] == '1';
	free(cur);
	return !paused && !dmn_freeze(abs, on);	/* paused by its owner: left as it is */
}

/* What a container's state says, acted on. */
static void handle(struct ctr *c)
{
	char path[PATH_MAX], abs[600], q[700];
	json_object *st, *config = NULL, *labels = NULL, *paths = NULL, *v;
	const char *policy;

	if (c->decided)
		return;
	snprintf(path, sizeof(path), "%s/%s/state.json", D.rt[c->root], c->id);
	st = json_object_from_file(path);
	if (!st)
		return;		/* not written yet: its IN_MOVED_TO comes */
	c->decided = true;
	if (json_object_object_get_ex(st, "config", &config) && config)
		json_object_object_get_ex(config, "labels", &labels);
	policy = label_value(labels, ANNOTATION);
	if (!policy || runs_our_hook(config))
		goto out;	/* not ours, or the hook's */
	abs[0] = '\0';
	if (json_object_object_get_ex(st, "cgroup_paths", &paths) && paths &&
	    json_object_object_get_ex(paths, "", &v) && json_object_get_string(v))
		snprintf(abs, sizeof(abs), "%s", json_object_get_string(v));
	{
		CGF_DIAG_SCOPE(d);

		if (!abs[0] && json_object_object_get_ex(st, "init_process_pid", &v) &&
		    cgf_cgroup_of_pid(json_object_get_int(v), abs, sizeof(abs)))
			abs[0] = '\0';
		if (!abs[0] || cgf_cgroup_id(abs, &c->cg)) {
			dmn_log(3, "oci-confine-failed", "container=%.12s policy=%s error=\"no "
				"cgroup in its state\"", c->id, policy);
			goto out;
		}
	}
	cgf_oci_instance(policy, c->instance, sizeof(c->instance));
	if (in_instance(c->instance, c->cg))
		goto out;	/* a hook of another name did it */
	{
		CGF_DIAG_SCOPE(d);
		struct timespec t0, t1;
		bool held = hold(abs, true);
		int err;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = cgf_oci_join(D.oci_dir, policy, abs);
		cgf_unlock();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!err) {
			if (held)
				hold(abs, false);
			c->joined = true;
			dmn_log(4, "oci-confined", "container=%.12s policy=%s cgroup=%s how=daemon "
				"held_ms=%s%ld reason=\"no oci-hook ran for the annotated container\"",
				c->id, c->instance, abs, held ? "" : "none:",
				(long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
			confined_event(c, policy, abs);
		} else {
			snprintf(path, sizeof(path), "%s/cgroup.kill", abs);
			bool killed = !write_string(path, "1");

			dmn_log(3, "oci-confine-failed", "container=%.12s policy=%s error=%s "
				"killed=%s", c->id, policy, dmn_q(d.msg, q, sizeof(q)),
				killed ? "yes" : "no");
		}
	}
out:
	json_object_put(st);
}

static struct ctr *add_ctr(int root, const char *id)
{
	char path[PATH_MAX];
	struct ctr *c;

	if (!strcmp(id, ".") || !strcmp(id, "..") || strlen(id) >= sizeof(c->id))
		return NULL;	/* runc accepts ids that start with a dot: those are taken */
	for (size_t i = 0; i < n_ctrs; i++)
		if (ctrs[i].root == root && !strcmp(ctrs[i].id, id))
			return &ctrs[i];
	snprintf(path, sizeof(path), "%s/%s", D.rt[root], id);
	GROW(ctrs, cap_ctrs, n_ctrs + 1);
	c = &ctrs[n_ctrs++];
	memset(c, 0, sizeof(*c));
	c->root = root;
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->wd = inotify_add_watch(D.ino_rt, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
	return c;
}

static void gone(size_t i)
{
	struct ctr *c = &ctrs[i];

	if (c->joined) {
		CGF_DIAG_SCOPE(d);
		int err = cgf_oci_leave(c->cg);

		cgf_unlock();
		dmn_log(6, "oci-left", "container=%.12s policy=%s%s", c->id, c->instance,
			err ? " error=\"see above\"" : "");
	}
	ctrs[i] = ctrs[--n_ctrs];
}

/* Root r's containers, watched from now on (root r is watched). */
static void scan_root(size_t r)
{
	DIR *d = opendir(D.rt[r]);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		struct ctr *c = e->d_type == DT_DIR ? add_ctr((int)r, e->d_name) : NULL;

		if (c)
			handle(c);
	}
	if (d)
		closedir(d);
}

/* Watch root r, or, while it does not exist, its nearest existing parent
 * for what is made in it (each level that appears brings the next). */
static void watch_root(size_t r)
{
	for (int tries = 0; tries < 64 && D.rt_wd[r] <= 0; tries++) {
		char p[PATH_MAX], next[PATH_MAX], *slash;
		size_t at;

		D.rt_wd[r] = inotify_add_watch(D.ino_rt, D.rt[r], IN_CREATE | IN_DELETE |
					       IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD);
		if (D.rt_wd[r] > 0) {
			scan_root(r);
			return;
		}
		snprintf(p, sizeof(p), "%s", D.rt[r]);
		do {		/* up to the nearest that exists */
			slash = strrchr(p, '/');
			if (!slash)
				return;
			slash[slash == p] = '\0';	/* "/" stays */
		} while (slash != p && access(p, F_OK));
		D.rt_pwd[r] = inotify_add_watch(D.ino_rt, p, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR |
						IN_MASK_ADD);
		if (D.rt_pwd[r] < 0)
			return;
		/* the next level may have come before the watch: then look again */
		at = strlen(p) + (strcmp(p, "/") != 0);
		snprintf(next, sizeof(next), "%s", D.rt[r]);
		slash = strchr(next + at, '/');
		if (slash)
			*slash = '\0';
		if (access(next, F_OK))
			return;		/* an event brings it */
	}
}

void dmn_oci_setup(void)
{
	if (!D.ino_rt)
		return;
	for (size_t r = 0; r < D.n_rt; r++)
		watch_root(r);
}

/* Root r was removed: its containers are forgotten (they keep their
 * instance until their cgroups go), and it is watched for again. */
static void root_gone(size_t r)
{
	for (size_t i = 0; i < n_ctrs;)
		if (ctrs[i].root == (int)r)
			ctrs[i] = ctrs[--n_ctrs];
		else
			i++;
	D.rt_wd[r] = 0;
	dmn_log(4, "runtime-root-gone", "root=%s", D.rt[r]);
	watch_root(r);
}

void dmn_oci_events(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(D.ino_rt, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			for (size_t r = 0; r < D.n_rt; r++) {
				if (ev->wd == D.rt_pwd[r] && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
					watch_root(r);	/* a level of a missing root, maybe */
				if (ev->wd == D.rt_wd[r] && (ev->mask & IN_IGNORED)) {
					root_gone(r);
					continue;
				}
				if (ev->wd != D.rt_wd[r] || !ev->len)
					continue;
				if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
					struct ctr *c = add_ctr((int)r, ev->name);

					if (c)
						handle(c);
				} else if (ev->mask & IN_DELETE) {
					for (size_t i = 0; i < n_ctrs; i++)
						if (ctrs[i].root == (int)r &&
						    !strcmp(ctrs[i].id, ev->name)) {
							gone(i);
							break;
						}
				}
			}
			for (size_t i = 0; i < n_ctrs; i++)
				if (ev->wd == ctrs[i].wd && ev->len &&
				    !strcmp(ev->name, "state.json"))
					handle(&ctrs[i]);
		}
	}
}

void dmn_oci_free(void)
{
	free(ctrs);
	ctrs = NULL;
	n_ctrs = cap_ctrs = 0;
}
