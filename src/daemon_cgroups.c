// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The daemon's cgroup tree: new cgroups attached, removed ones dropped, repairs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroup.h"
#include "daemon_int.h"
#include "outside.h"
#include "pins.h"
#include "events.h"
#include "layout.h"
#include "loader.h"
#include "pipeline.h"
#include "stats.h"
#include "target.h"
#include "util.h"

/* a cgroup appeared: attach every policy whose target names it */
static void cgroup_new(const char *rel)
{
	char abs[1024];

	snprintf(abs, sizeof(abs), "%s/%s", D.mnt, rel);
	for (size_t i = 0; i < D.n; i++) {
		struct dpol *dp = &D.pols[i];
		const char *one = abs;
		CGF_DIAG_SCOPE(d);

		if (!dp->name[0] || !dp->p || !cgf_target_matches(dp->p, rel))
			continue;
		if (cgf_attach_cgroups(dp->name, &one, 1)) {
			dmn_attach_failed(dp->name, abs, d.msg);
		} else {
			dmn_log(6, "attached", "policy=%s cgroup=%s", dp->name, abs);
			dmn_attached(dp->name, abs);
		}
		cgf_unlock();
		D.dirty = true;
	}
}

void dmn_add_watch(const char *rel, bool announce)
{
	char abs[1024];
	int wd;
	DIR *d;
	struct dirent *e;

	snprintf(abs, sizeof(abs), "%s%s%s", D.mnt, *rel ? "/" : "", rel);
	wd = inotify_add_watch(D.ino_cg, abs, IN_CREATE | IN_DELETE | IN_ONLYDIR);
	if (wd < 0) {
		if (errno != ENOENT)
			dmn_log(4, "watch-failed", "cgroup=%s error=\"%m\"", abs);
		return;
	}
	if ((size_t)wd >= D.n_w) {
		size_t n = (size_t)wd * 2 + 64;

		D.w = xrealloc(D.w, n * sizeof(*D.w));
		memset(D.w + D.n_w, 0, (n - D.n_w) * sizeof(*D.w));
		D.n_w = n;
	}
	free(D.w[wd].rel);
	D.w[wd].rel = xstrdup(rel);
	if (announce)
		cgroup_new(rel);
	/* children made before the watch was in place */
	d = opendir(abs);
	while (d && (e = readdir(d))) {
		char sub[1024];

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		dmn_add_watch(sub, announce);
	}
	if (d)
		closedir(d);
}

int dmn_freeze(const char *path, bool on)
{
	char p[1100];

	snprintf(p, sizeof(p), "%s/cgroup.freeze", path);
	return write_string(p, on ? "1" : "0");
}

#define FROZEN_XATTR "trusted.cgfence.frozen"	/* the policy that froze it: a new daemon thaws it too */

void dmn_attach_failed(const char *policy, const char *path, const char *why)
{
	char q[1200];
	int err = dmn_freeze(path, true);

	cgf_stats_count(policy, CGF_PC_ATTACH_FAILED);
	if (err) {	/* it cannot be frozen either: the last resort */
		char p[1100];

		snprintf(p, sizeof(p), "%s/cgroup.kill", path);
		dmn_log(2, "attach-failed", "policy=%s cgroup=%s error=%s action=%s", policy, path,
			dmn_q(why, q, sizeof(q)), write_string(p, "1") ? "none" : "killed");
		return;
	}
	setxattr(path, FROZEN_XATTR, policy, strlen(policy), 0);
	for (size_t i = 0; i < D.n_frozen; i++)
		if (!strcmp(D.frozen[i].path, path) && !strcmp(D.frozen[i].policy, policy))
			return;		/* frozen already (a retry failed) */
	D.frozen = xrealloc(D.frozen, (D.n_frozen + 1) * sizeof(*D.frozen));
	snprintf(D.frozen[D.n_frozen].policy, sizeof(D.frozen[0].policy), "%s", policy);
	D.frozen[D.n_frozen++].path = xstrdup(path);
	dmn_log(3, "attach-failed", "policy=%s cgroup=%s error=%s action=frozen", policy, path,
		dmn_q(why, q, sizeof(q)));
	D.dirty = true;
}

void dmn_attached(const char *policy, const char *path)
{
	char by[CGF_NAME_MAX + 1] = "";
	ssize_t n = getxattr(path, FROZEN_XATTR, by, sizeof(by) - 1);

	if (n <= 0 || strcmp(by, policy))
		return;		/* not frozen by this policy's daemon */
	dmn_freeze(path, false);
	removexattr(path, FROZEN_XATTR);
	dmn_log(5, "thawed", "policy=%s cgroup=%s reason=attached", policy, path);
	D.dirty = true;
}

/* the frozen cgroups: attached now (then thawed), or gone */
static void retry_frozen(void)
{
	size_t k = 0;

	for (size_t i = 0; i < D.n_frozen; i++) {
		struct frozen *f = &D.frozen[i];
		const char *one = f->path;
		struct stat st;
		CGF_DIAG_SCOPE(d);

		if (stat(f->path, &st)) {
			free(f->path);	/* removed while frozen */
			continue;
		}
		if (!dmn_find_name(f->policy, NULL)) {	/* its policy file is gone */
			dmn_freeze(f->path, false);
			removexattr(f->path, FROZEN_XATTR);
			dmn_log(5, "thawed", "policy=%s cgroup=%s reason=policy-gone", f->policy,
				f->path);
			free(f->path);
			continue;
		}
		if (!cgf_attach_cgroups(f->policy, &one, 1)) {
			dmn_attached(f->policy, f->path);
			free(f->path);
			continue;
		}
		D.frozen[k++] = *f;
	}
	cgf_unlock();
	D.n_frozen = k;
}

void dmn_repair(const char *why)
{
	struct cgf_gc_stats st;
	CGF_DIAG_SCOPE(d);

	if (D.n_frozen)
		retry_frozen();
	if (cgf_gc(&st))
		dmn_log(3, "check-failed", "error=\"%s\"", d.msg);
	cgf_unlock();
	if (st.repaired)
		dmn_log(4, "repaired", "links=%u last=%s reason=%s", st.repaired, st.last_repair, why);
	if (st.removed_cgroups) {
		dmn_log(6, "cgroups-removed", "count=%u", st.removed_cgroups);
		D.dirty = true;
	}
}

void dmn_cgroup_events(void)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t len;

	while ((len = read(D.ino_cg, buf, sizeof(buf))) > 0) {
		for (char *ptr = buf; ptr < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)ptr;

			ptr += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {	/* lost events: look at everything */
				dmn_log(4, "cgroup-overflow", NULL);
				dmn_add_watch("", true);
				gone = true;
				continue;
			}
			if (ev->wd < 0 || (size_t)ev->wd >= D.n_w || !D.w[ev->wd].rel)
				continue;
			if (ev->mask & IN_IGNORED) {	/* its directory is gone */
				free(D.w[ev->wd].rel);
				D.w[ev->wd].rel = NULL;
				continue;
			}
			if (!(ev->mask & IN_ISDIR) || !ev->len)
				continue;
			if (ev->mask & IN_CREATE) {
				char rel[1024];
				const char *parent = D.w[ev->wd].rel;

				snprintf(rel, sizeof(rel), "%s%s%s", parent, *parent ? "/" : "",
					 ev->name);
				dmn_add_watch(rel, true);
			} else if (ev->mask & IN_DELETE) {
				gone = true;
			}
		}
	}
	if (gone)
		dmn_repair("cgroup-removed");
	if (D.dirty)
		dmn_write_status();
}

/* Policies this daemon applied from files that are gone (removed while it was not running). */
void dmn_drop_orphans(void)
{
	struct cgf_applied *a = NULL;
	size_t n = 0, dl = strlen(D.dir_abs);
	CGF_DIAG_SCOPE(d);	/* what fails here is tried again at the next start */

	if (cgf_list(&a, &n)) {
		cgf_unlock();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cgf_meta *m = &a[i].meta;

		if (!(m->flags & CGF_META_DAEMON) || strncmp(m->source, D.dir_abs, dl) ||
		    m->source[dl] != '/' || dmn_find_name(a[i].name, NULL))
			continue;
		if (!cgf_detach(a[i].name))
			dmn_log(6, "detached", "policy=%s file=%s reason=file-removed", a[i].name,
			     m->source + dl + 1);
	}
	cgf_unlock();
	cgf_applied_free(a, n);
}

static void say_outside(const char *policy, const struct cgf_outside *s)
{
	char buf[1024], q[1100];

	cgf_outside_str(s, buf, sizeof(buf));
	dmn_log(4, "outside-socket", "policy=%s socket=%s", policy, dmn_q(buf, q, sizeof(q)));
}

void dmn_outside(void)
{
	struct cgf_applied *a = NULL;
	size_t n = 0;
	struct seen_outside *now;

	{
		CGF_DIAG_SCOPE(d);	/* nothing listed: nothing to look at */

		if (cgf_list_nogc(&a, &n))
			return;
	}
	now = xcalloc(n + 1, sizeof(*now));
	for (size_t i = 0; i < n; i++) {
		size_t np;
		const char **paths = cgf_applied_paths(&a[i], &np);

		snprintf(now[i].name, sizeof(now[i].name), "%s", a[i].name);
		for (size_t j = 0; j < D.n_outside; j++)
			if (!strcmp(D.outside[j].name, a[i].name)) {
				now[i].cookies = TAKE_PTR(D.outside[j].cookies);
				now[i].n = D.outside[j].n;
			}
		CGF_DIAG_SCOPE(d);
		if (np && cgf_outside_act(a[i].name, paths, np, a[i].meta.flags, &now[i].cookies,
					  &now[i].n, say_outside) < 0)
			dmn_log(4, "outside-socket", "policy=%s error=\"%s\"", a[i].name, d.msg);
		free(paths);
	}
	for (size_t j = 0; j < D.n_outside; j++)
		free(D.outside[j].cookies);
	free(D.outside);
	D.outside = now;
	D.n_outside = n;
	cgf_applied_free(a, n);
}
