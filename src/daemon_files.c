// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The daemon's policy directory: files come, change, break and go. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup.h"
#include "daemon_int.h"
#include "events.h"
#include "layout.h"
#include "loader.h"
#include "pipeline.h"
#include "target.h"
#include "util.h"

struct dpol *dmn_find_file(const char *file)
{
	for (size_t i = 0; i < D.n; i++)
		if (!strcmp(D.pols[i].file, file))
			return &D.pols[i];
	return NULL;
}

struct dpol *dmn_find_name(const char *name, const struct dpol *except)
{
	for (size_t i = 0; i < D.n; i++)
		if (&D.pols[i] != except && !strcmp(D.pols[i].name, name))
			return &D.pols[i];
	return NULL;
}

static void set_error(struct dpol *dp, const char *msg)
{
	char b[1200];

	snprintf(dp->error, sizeof(dp->error), "%s", msg);
	D.dirty = true;
	dmn_log(3, "policy-invalid", "file=%s error=%s%s", dp->file, dmn_q(msg, b, sizeof(b)),
	     dp->name[0] ? " kept=previous-version" : "");
}

/* Attach the version in force of dp to cgroups that match and are not attached yet,
 * drop the attached ones that no longer match. */
void dmn_reconcile(struct dpol *dp)
{
	char **paths = NULL;
	size_t n = 0, n_ids = 0;
	uint64_t *ids = NULL;
	struct cgf_meta m;
	CGF_DIAG_SCOPE(d);	/* one step of the daemon: what fails is logged here */

	if (!dp->name[0] || cgf_target_resolve(dp->p, &paths, &n) ||
	    cgf_policy_state(dp->name, &m, &ids, &n_ids)) {
		cgf_strv_free(paths, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t id;
		bool have = false;

		if (cgf_cgroup_id(paths[i], &id))
			continue;
		for (size_t j = 0; j < n_ids && !have; j++)
			if (ids[j] == id) {
				have = true;
				ids[j] = 0;	/* still wanted */
			}
		if (!have) {
			const char *one = paths[i];
			CGF_DIAG_SCOPE(a);

			if (cgf_attach_cgroups(dp->name, &one, 1)) {
				dmn_attach_failed(dp->name, paths[i], a.msg);
			} else {
				dmn_log(6, "attached", "policy=%s cgroup=%s", dp->name, paths[i]);
				dmn_attached(dp->name, paths[i]);
			}
		}
	}
	for (size_t j = 0; j < n_ids; j++)
		if (ids[j] && !cgf_detach_cgroup(dp->name, ids[j]))
			dmn_log(6, "detached", "policy=%s cgroup_id=%llu reason=no-longer-matches",
			     dp->name, (unsigned long long)ids[j]);
	cgf_unlock();
	free(ids);
	cgf_strv_free(paths, n);
	D.dirty = true;
}

/* A new or changed file: parse, compile, apply (or adopt what is pinned). */
/* Why a parsed policy cannot be followed from this file, or NULL. */
static const char *unfollowable(const struct dpol *dp, const char *path,
				const struct cgf_policy *p, char *msg, size_t len)
{
	const struct dpol *other = dmn_find_name(p->name, dp);

	if (other)
		snprintf(msg, len, "%s: policy name '%s' is already used by %s", path, p->name,
			 other->file);
	else if (p->target_kind == CGF_TARGET_NONE)
		snprintf(msg, len, "%s: a policy the daemon follows needs a target: "
			 "(cgroup, unit, container or pid)", path);
	else
		return NULL;
	return msg;
}

/* The file's policy is what is pinned: *p is followed from now on. */
static void follow(struct dpol *dp, struct cgf_policy **p)
{
	snprintf(dp->name, sizeof(dp->name), "%s", (*p)->name);
	cgf_policy_free(dp->p);
	dp->p = TAKE_PTR(*p);
	dp->error[0] = '\0';
}

/* Apply the file's version to what its target matches now. */
static void apply_file(struct dpol *dp, const char *path, struct cgf_policy **p,
		       const struct cgf_compiled *c, uint64_t digest, uint32_t old_layout)
{
	struct cgf_apply_result r;
	char **paths = NULL, msg[1500];
	size_t n = 0;
	struct cgf_apply_opts o = { .mode = (*p)->mode, .source = path, .digest = digest,
				    .flags = CGF_META_KEEP | CGF_META_DAEMON };

	if (cgf_target_resolve(*p, &paths, &n)) {
		set_error(dp, cgf_last_error());
		return;
	}
	o.cgroups = (const char *const *)paths;
	o.n_cgroups = n;
	if (cgf_pipeline_apply(c, &o, &r)) {
		snprintf(msg, sizeof(msg), "%s: %s", path, cgf_last_error());
		cgf_unlock();
		set_error(dp, msg);
		cgf_strv_free(paths, n);
		return;
	}
	if (dp->name[0] && strcmp(dp->name, (*p)->name)) {	/* renamed in the file */
		CGF_DIAG_SCOPE(renamed);

		if (cgf_detach(dp->name))
			dmn_log(3, "detach-failed", "policy=%s error=\"%s\"", dp->name, renamed.msg);
		else
			dmn_log(6, "detached", "policy=%s reason=renamed new=%s", dp->name,
				(*p)->name);
	}
	cgf_unlock();
	follow(dp, p);
	if (!r.replaced || !dp->events) {	/* a new ring buffer, or none followed yet */
		cgf_collector_close(dp->events);
		dp->events = cgf_collector_open(dp->name);
	}
	if (old_layout && old_layout != CGF_LAYOUT)
		dmn_log(6, "migrated", "policy=%s file=%s generation=%u cgroups=%zu layout=%u->%u",
			dp->name, dp->file, r.generation, n, old_layout, CGF_LAYOUT);
	else
		dmn_log(6, r.replaced ? "replaced" : "applied",
			"policy=%s file=%s generation=%u cgroups=%zu", dp->name, dp->file,
			r.generation, n);
	cgf_strv_free(paths, n);
}

/* A new or changed file: parse, compile, apply (or adopt what is pinned). */
static void load_file(struct dpol *dp, const char *buf, size_t len, uint64_t digest)
{
	char path[PATH_MAX + NAME_MAX + 2], msg[600];
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_meta m;
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	uint32_t old_layout = 0;
	CGF_DIAG_SCOPE(d);	/* one step of the daemon: its errors end in set_error */

	snprintf(path, sizeof(path), "%s/%s", D.dir_abs, dp->file);
	dp->digest = digest;
	D.dirty = true;
	if (cgf_pipeline_compile(path, buf, len, &p, &c)) {
		set_error(dp, cgf_last_error());
		return;
	}
	if (unfollowable(dp, path, p, msg, sizeof(msg))) {
		set_error(dp, msg);
	} else {
		/* adopt: the pinned version came from these very bytes, in this layout
		 * (an older layout's version is applied again: migrated, see design.md) */
		if (!cgf_policy_state(p->name, &m, &ids, &n_ids))
			old_layout = cgf_meta_layout(&m);
		if (old_layout == CGF_LAYOUT && m.digest == digest &&
		    (m.flags & CGF_META_DAEMON) && !dp->name[0]) {
			follow(dp, &p);
			dmn_log(6, "adopted", "policy=%s file=%s generation=%u cgroups=%zu",
				dp->name, dp->file, m.generation, n_ids);
			dp->events = cgf_collector_open(dp->name);
			dmn_reconcile(dp);
		} else {
			apply_file(dp, path, &p, c, digest, old_layout);
		}
	}
	free(ids);
	cgf_policy_free(p);
	cgf_compiled_free(c);
}

static bool policy_file_name(const char *s)
{
	size_t n = strlen(s);

	return s[0] != '.' && ((n > 5 && !strcmp(s + n - 5, ".yaml")) ||
			       (n > 4 && !strcmp(s + n - 4, ".yml")));
}

void dmn_drop(size_t i)
{
	struct dpol *dp = &D.pols[i];
	CGF_DIAG_SCOPE(d);

	if (dp->name[0]) {
		if (cgf_detach(dp->name))
			dmn_log(3, "detach-failed", "policy=%s error=\"%s\"", dp->name, d.msg);
		else
			dmn_log(6, "detached", "policy=%s file=%s reason=file-removed", dp->name,
			     dp->file);
		cgf_unlock();
	}
	cgf_policy_free(dp->p);
	cgf_collector_close(dp->events);
	D.pols[i] = D.pols[--D.n];
	D.dirty = true;
}

/* Read the directory; apply what is new or changed, detach what is gone. */
void dmn_rescan(bool force)
{
	DIR *d = opendir(D.dir_abs);
	struct dirent *e;

	if (!d) {
		dmn_log(3, "policy-dir", "dir=%s error=\"%m\"", D.dir_abs);
		return;
	}
	for (size_t i = 0; i < D.n; i++)
		D.pols[i].seen = false;
	while ((e = readdir(d))) {
		char path[PATH_MAX + NAME_MAX + 2], *buf = NULL;
		size_t len = 0;
		struct stat st;
		struct dpol *dp;
		uint64_t h;

		if (!policy_file_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", D.dir_abs, e->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))	/* follows symlinks */
			continue;
		dp = dmn_find_file(e->d_name);
		if (!dp) {
			GROW(D.pols, D.cap, D.n + 1);
			dp = &D.pols[D.n++];
			memset(dp, 0, sizeof(*dp));
			snprintf(dp->file, sizeof(dp->file), "%s", e->d_name);
		}
		dp->seen = true;
		if (st.st_size > 16 << 20) {
			char msg[600];

			snprintf(msg, sizeof(msg), "%s: larger than 16 MiB", path);
			set_error(dp, msg);
			continue;
		}
		if (read_file(path, &buf, &len)) {
			char msg[600];

			snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(errno));
			set_error(dp, msg);
			continue;
		}
		h = cgf_digest(buf, len);
		if (h != dp->digest)
			load_file(dp, buf, len, h);
		else if (force)
			dmn_reconcile(dp);	/* SIGHUP: targets looked up again */
		free(buf);
	}
	closedir(d);
	for (size_t i = D.n; i-- > 0;)
		if (!D.pols[i].seen)
			dmn_drop(i);
	if (D.dirty)
		dmn_write_status();
}
