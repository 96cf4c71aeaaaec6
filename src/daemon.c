// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence daemon: makes the policy files of a directory true and keeps them
 * true. One event loop (epoll) over
 *   - inotify on the policy directory: any change -> a rescan shortly after
 *     (files written in place, renamed over, or swapped through a symlink as
 *     Kubernetes ConfigMap volumes do: "..data" -> "..2026_...");
 *   - inotify on every directory of the cgroup2 tree: a new cgroup that a
 *     target names is attached at once; a removed one has its pins removed;
 *   - a timer: every --repair-interval seconds each policy's pins are
 *     checked and links detached from outside are attached again;
 *   - signals: SIGHUP re-reads everything, SIGTERM/SIGINT exit (policies stay
 *     in force unless --detach-on-exit).
 * The daemon holds the pin lock only while it changes something, so the CLI
 * works next to it. State for `cgfence list`: RUN_DIR/daemon.json.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include <bpf/bpf.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "events.h"
#include "layout.h"
#include "loader.h"
#include "pipeline.h"
#include "policy.h"
#include "report.h"
#include "rundir.h"
#include "target.h"
#include "stats.h"
#include "util.h"

struct dpol {
	char file[NAME_MAX + 1];	/* name in the policy directory */
	uint64_t digest;		/* of the bytes last read */
	bool seen;
	char name[CGF_NAME_MAX + 1];	/* the policy in force from this file, "" none */
	struct cgf_policy *p;		/* its parsed form (targets) */
	char error[1024];		/* why the file's last version is not in force */
	struct cgf_collector *events;	/* we move its events to the log */
};

struct watch {
	char *rel;			/* "" for the cgroup2 root */
};

static struct {
	const char *dir, *run_dir, *metrics;
	struct cgf_metrics *m;
	int stats_fd;
	char dir_abs[PATH_MAX], mnt[512];
	bool detach_on_exit;
	int repair_s;
	struct dpol *pols;
	size_t n, cap;
	int ino_pol, ino_cg, sfd, tfd_repair, tfd_rescan, tfd_events, ep, lock_fd;
	struct watch *w;
	size_t n_w;
	bool dirty;			/* status file to rewrite */
	time_t started;
} D;

/* ---- logs: one logfmt line per event on stderr; <N> priorities for journald ---- */

static void dlog(int prio, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dlog(int prio, const char *event, const char *fmt, ...)
{
	static const char *const lv[] = { [3] = "error", [4] = "warning", [6] = "info" };
	char msg[2048] = "";
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (getenv("JOURNAL_STREAM"))	/* journald stamps time itself */
		fprintf(stderr, "<%d>level=%s event=%s%s%s\n", prio, lv[prio], event,
			*msg ? " " : "", msg);
	else
		fprintf(stderr, "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s%s%s\n",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, lv[prio], event, *msg ? " " : "", msg);
	fflush(stderr);
}

/* a logfmt value: quoted when it has spaces, quotes or '=' */
static const char *q(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (*s && !strpbrk(s, " \"=\t\n\\"))
		return s;
	buf[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s == '\n' ? ' ' : *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static uint64_t fnv1a(const char *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)b[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/* ---- the status file ---- */

static void write_status(void)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char path[PATH_MAX], tmp[PATH_MAX + 8];

	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "policy_dir", json_object_new_string(D.dir_abs));
	json_object_object_add(o, "started_at", json_object_new_int64(D.started));
	for (size_t i = 0; i < D.n; i++) {
		json_object *e = json_object_new_object();
		const struct dpol *dp = &D.pols[i];

		json_object_object_add(e, "file", json_object_new_string(dp->file));
		json_object_object_add(e, "policy",
				       dp->name[0] ? json_object_new_string(dp->name) : NULL);
		json_object_object_add(e, "state", json_object_new_string(
			dp->error[0] ? (dp->name[0] ? "error, previous version in force" : "error")
				     : "in force"));
		struct cgf_meta m;
		uint64_t *ids = NULL;
		size_t n = 0;

		if (dp->name[0])	/* the pins say how many: no count kept here */
			cgf_policy_state(dp->name, &m, &ids, &n);
		free(ids);
		json_object_object_add(e, "cgroups", json_object_new_int64((int64_t)n));
		if (dp->error[0])
			json_object_object_add(e, "error", json_object_new_string(dp->error));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "files", arr);
	snprintf(path, sizeof(path), "%s/daemon.json", D.run_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) || rename(tmp, path))
		dlog(4, "status", "file=%s error=\"cannot write\"", path);
	json_object_put(o);
	D.dirty = false;
}

/* ---- policies ---- */

static struct dpol *find_file(const char *file)
{
	for (size_t i = 0; i < D.n; i++)
		if (!strcmp(D.pols[i].file, file))
			return &D.pols[i];
	return NULL;
}

static struct dpol *find_name(const char *name, const struct dpol *except)
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
	dlog(3, "policy-invalid", "file=%s error=%s%s", dp->file, q(msg, b, sizeof(b)),
	     dp->name[0] ? " kept=previous-version" : "");
	cgf_clear_error();
}

/* Attach the version in force of dp to cgroups that match and are not attached yet,
 * drop the attached ones that no longer match. */
static void reconcile(struct dpol *dp)
{
	char **paths = NULL;
	size_t n = 0, n_ids = 0;
	uint64_t *ids = NULL;
	struct cgf_meta m;

	if (!dp->name[0] || cgf_target_resolve(dp->p, &paths, &n) ||
	    cgf_policy_state(dp->name, &m, &ids, &n_ids)) {
		cgf_clear_error();
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

			if (cgf_attach_cgroups(dp->name, &one, 1))
				dlog(3, "attach-failed", "policy=%s cgroup=%s error=\"%s\"", dp->name,
				     paths[i], cgf_last_error());
			else
				dlog(6, "attached", "policy=%s cgroup=%s", dp->name, paths[i]);
		}
	}
	for (size_t j = 0; j < n_ids; j++)
		if (ids[j] && !cgf_detach_cgroup(dp->name, ids[j]))
			dlog(6, "detached", "policy=%s cgroup_id=%llu reason=no-longer-matches",
			     dp->name, (unsigned long long)ids[j]);
	cgf_clear_error();
	cgf_unlock();
	free(ids);
	cgf_strv_free(paths, n);
	D.dirty = true;
}

/* A new or changed file: parse, compile, apply (or adopt what is pinned). */
static void load_file(struct dpol *dp, const char *buf, size_t len, uint64_t digest)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;
	struct cgf_apply_result r;
	struct cgf_meta m;
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	char **paths = NULL;
	size_t n = 0;
	const struct dpol *other;
	uint32_t old_layout = 0;

	snprintf(path, sizeof(path), "%s/%s", D.dir_abs, dp->file);
	dp->digest = digest;
	if (cgf_pipeline_compile(path, buf, len, &p, &c)) {
		set_error(dp, cgf_last_error());
		cgf_policy_free(p);
		return;
	}
	if ((other = find_name(p->name, dp))) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: policy name '%s' is already used by %s", path,
			 p->name, other->file);
		set_error(dp, msg);
		goto out;
	}
	if (p->target_kind == CGF_TARGET_NONE) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: a policy the daemon follows needs a target: "
			 "(cgroup, unit, container or pid)", path);
		set_error(dp, msg);
		goto out;
	}
	/* adopt: the pinned version came from these very bytes, in this layout
	 * (an older layout's version is applied again: migrated, see design.md) */
	if (!cgf_policy_state(p->name, &m, &ids, &n_ids))
		old_layout = cgf_meta_layout(&m);
	if (old_layout && m.digest == digest && (m.flags & CGF_META_DAEMON) && !dp->name[0] &&
	    old_layout == CGF_LAYOUT) {
		snprintf(dp->name, sizeof(dp->name), "%s", p->name);
		cgf_policy_free(dp->p);
		dp->p = TAKE_PTR(p);
		dp->error[0] = '\0';
		dlog(6, "adopted", "policy=%s file=%s generation=%u cgroups=%zu", dp->name,
		     dp->file, m.generation, n_ids);
		dp->events = cgf_collector_open(dp->name);
		reconcile(dp);
		goto out;
	}
	if (cgf_target_resolve(p, &paths, &n)) {
		set_error(dp, cgf_last_error());
		goto out;
	}
	struct cgf_apply_opts o = {
		.cgroups = (const char *const *)paths, .n_cgroups = n, .mode = p->mode,
		.source = path, .flags = CGF_META_KEEP | CGF_META_DAEMON, .digest = digest,
	};
	if (cgf_pipeline_apply(c, &o, &r)) {
		char msg[1500];

		snprintf(msg, sizeof(msg), "%s: %s", path, cgf_last_error());
		cgf_unlock();
		set_error(dp, msg);
		goto out;
	}
	if (dp->name[0] && strcmp(dp->name, p->name)) {	/* renamed in the file */
		cgf_detach(dp->name);
		dlog(6, "detached", "policy=%s reason=renamed new=%s", dp->name, p->name);
	}
	cgf_unlock();
	cgf_clear_error();
	snprintf(dp->name, sizeof(dp->name), "%s", p->name);
	cgf_policy_free(dp->p);
	dp->p = TAKE_PTR(p);
	dp->error[0] = '\0';
	if (!r.replaced || !dp->events) {	/* a new ring buffer, or none followed yet */
		cgf_collector_close(dp->events);
		dp->events = cgf_collector_open(dp->name);
	}
	if (old_layout && old_layout != CGF_LAYOUT)
		dlog(6, "migrated", "policy=%s file=%s generation=%u cgroups=%zu layout=%u->%u",
		     dp->name, dp->file, r.generation, n, old_layout, CGF_LAYOUT);
	else
		dlog(6, r.replaced ? "replaced" : "applied",
		     "policy=%s file=%s generation=%u cgroups=%zu", dp->name, dp->file,
		     r.generation, n);
out:
	D.dirty = true;
	free(ids);
	cgf_strv_free(paths, n);
	cgf_policy_free(p);
	cgf_compiled_free(c);
}

static bool policy_file_name(const char *s)
{
	size_t n = strlen(s);

	return s[0] != '.' && ((n > 5 && !strcmp(s + n - 5, ".yaml")) ||
			       (n > 4 && !strcmp(s + n - 4, ".yml")));
}

static void drop(size_t i)
{
	struct dpol *dp = &D.pols[i];

	if (dp->name[0]) {
		if (cgf_detach(dp->name))
			dlog(3, "detach-failed", "policy=%s error=\"%s\"", dp->name,
			     cgf_last_error());
		else
			dlog(6, "detached", "policy=%s file=%s reason=file-removed", dp->name,
			     dp->file);
		cgf_unlock();
		cgf_clear_error();
	}
	cgf_policy_free(dp->p);
	cgf_collector_close(dp->events);
	D.pols[i] = D.pols[--D.n];
	D.dirty = true;
}

/* Read the directory; apply what is new or changed, detach what is gone. */
static void rescan(bool force)
{
	DIR *d = opendir(D.dir_abs);
	struct dirent *e;

	if (!d) {
		dlog(3, "policy-dir", "dir=%s error=\"%m\"", D.dir_abs);
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
		dp = find_file(e->d_name);
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
		h = fnv1a(buf, len);
		if (h != dp->digest)
			load_file(dp, buf, len, h);
		else if (force)
			reconcile(dp);	/* SIGHUP: targets looked up again */
		free(buf);
	}
	closedir(d);
	for (size_t i = D.n; i-- > 0;)
		if (!D.pols[i].seen)
			drop(i);
	if (D.dirty)
		write_status();
}

/* ---- the cgroup tree ---- */

static void add_watch(const char *rel, bool announce);

/* a cgroup appeared: attach every policy whose target names it */
static void cgroup_new(const char *rel)
{
	char abs[1024];

	snprintf(abs, sizeof(abs), "%s/%s", D.mnt, rel);
	for (size_t i = 0; i < D.n; i++) {
		struct dpol *dp = &D.pols[i];
		const char *one = abs;

		if (!dp->name[0] || !dp->p || !cgf_target_matches(dp->p, rel))
			continue;
		if (cgf_attach_cgroups(dp->name, &one, 1))
			dlog(3, "attach-failed", "policy=%s cgroup=%s error=\"%s\"", dp->name, abs,
			     cgf_last_error());
		else
			dlog(6, "attached", "policy=%s cgroup=%s", dp->name, abs);
		cgf_unlock();
		cgf_clear_error();
		D.dirty = true;
	}
}

static void add_watch(const char *rel, bool announce)
{
	char abs[1024];
	int wd;
	DIR *d;
	struct dirent *e;

	snprintf(abs, sizeof(abs), "%s%s%s", D.mnt, *rel ? "/" : "", rel);
	wd = inotify_add_watch(D.ino_cg, abs, IN_CREATE | IN_DELETE | IN_ONLYDIR);
	if (wd < 0) {
		if (errno != ENOENT)
			dlog(4, "watch-failed", "cgroup=%s error=\"%m\"", abs);
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
		add_watch(sub, announce);
	}
	if (d)
		closedir(d);
}

static void repair(const char *why)
{
	struct cgf_gc_stats st;

	if (cgf_gc(&st))
		dlog(3, "check-failed", "error=\"%s\"", cgf_last_error());
	cgf_unlock();
	cgf_clear_error();
	if (st.repaired)
		dlog(4, "repaired", "links=%u last=%s reason=%s", st.repaired, st.last_repair, why);
	if (st.removed_cgroups) {
		dlog(6, "cgroups-removed", "count=%u", st.removed_cgroups);
		D.dirty = true;
	}
}

static void cgroup_events(void)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t len;

	while ((len = read(D.ino_cg, buf, sizeof(buf))) > 0) {
		for (char *ptr = buf; ptr < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)ptr;

			ptr += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {	/* lost events: look at everything */
				dlog(4, "cgroup-overflow", NULL);
				add_watch("", true);
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
				add_watch(rel, true);
			} else if (ev->mask & IN_DELETE) {
				gone = true;
			}
		}
	}
	if (gone)
		repair("cgroup-removed");
	if (D.dirty)
		write_status();
}

static void policy_events(void)
{
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct itimerspec soon = { .it_value = { .tv_nsec = 50 * 1000000 } };

	while (read(D.ino_pol, buf, sizeof(buf)) > 0)
		;
	/* let a burst of writes and renames settle, then read the directory */
	timerfd_settime(D.tfd_rescan, 0, &soon, NULL);
}

/* Policies this daemon applied from files that are gone (removed while it was not running). */
static void drop_orphans(void)
{
	struct cgf_applied *a = NULL;
	size_t n = 0, dl = strlen(D.dir_abs);

	if (cgf_list(&a, &n)) {
		cgf_unlock();
		cgf_clear_error();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cgf_meta *m = &a[i].meta;

		if (!(m->flags & CGF_META_DAEMON) || strncmp(m->source, D.dir_abs, dl) ||
		    m->source[dl] != '/' || find_name(a[i].name, NULL))
			continue;
		if (!cgf_detach(a[i].name))
			dlog(6, "detached", "policy=%s file=%s reason=file-removed", a[i].name,
			     m->source + dl + 1);
		cgf_clear_error();
	}
	cgf_unlock();
	cgf_applied_free(a, n);
}

/* ---- setup ---- */

static int take_lock(void)
{
	char path[PATH_MAX], pid[32];

	if (mkdir(D.run_dir, 0700) && errno != EEXIST)
		return cgf_error(-errno, "cannot create %s: %m", D.run_dir);
	snprintf(path, sizeof(path), "%s/daemon.lock", D.run_dir);
	D.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (D.lock_fd < 0)
		return cgf_error(-errno, "cannot open %s: %m", path);
	if (flock(D.lock_fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = pread(D.lock_fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return cgf_error(-EBUSY, "another cgfence daemon is running (pid %s, lock %s)",
				 *pid ? pid : "?", path);
	}
	if (ftruncate(D.lock_fd, 0) == 0) {
		int n = snprintf(pid, sizeof(pid), "%d\n", getpid());

		if (pwrite(D.lock_fd, pid, (size_t)n, 0) != n)
			dlog(4, "lock", "error=\"cannot write the pid\"");
	}
	return 0;
}

static int ep_add(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(D.ep, EPOLL_CTL_ADD, fd, &ev);
}

static int setup(void)
{
	sigset_t mask;
	struct itimerspec every = { .it_interval = { .tv_sec = D.repair_s },
				    .it_value = { .tv_sec = D.repair_s } };
	struct stat st;

	if (!realpath(D.dir, D.dir_abs) || stat(D.dir_abs, &st) || !S_ISDIR(st.st_mode))
		return cgf_error(-ENOENT, "--policy-dir %s: not a directory", D.dir);
	if (cgf_cgroup2_mount(D.mnt, sizeof(D.mnt)))
		return -ENOENT;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	D.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	D.ino_pol = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	D.ino_cg = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	D.tfd_repair = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	D.tfd_rescan = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	D.tfd_events = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	D.ep = epoll_create1(EPOLL_CLOEXEC);
	if (D.sfd < 0 || D.ino_pol < 0 || D.ino_cg < 0 || D.tfd_repair < 0 || D.tfd_rescan < 0 ||
	    D.tfd_events < 0 || D.ep < 0)
		return cgf_error(-errno, "cannot set up the event loop: %m");
	/* the directory itself: also symlink swaps (IN_MOVED_TO of "..data") */
	if (inotify_add_watch(D.ino_pol, D.dir_abs, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF) < 0)
		return cgf_error(-errno, "cannot watch %s: %m", D.dir_abs);
	/* events: moved from the ring buffers to the logs four times a second */
	struct itimerspec quarter = { .it_interval = { .tv_nsec = 250000000 },
				      .it_value = { .tv_nsec = 250000000 } };

	if (timerfd_settime(D.tfd_repair, 0, &every, NULL) ||
	    timerfd_settime(D.tfd_events, 0, &quarter, NULL))
		return cgf_error(-errno, "timerfd: %m");
	if (ep_add(D.sfd) || ep_add(D.ino_pol) || ep_add(D.ino_cg) || ep_add(D.tfd_repair) ||
	    ep_add(D.tfd_rescan) || ep_add(D.tfd_events))
		return cgf_error(-errno, "epoll: %m");
	if (D.metrics) {	/* /metrics, served from this loop: no second thread */
		D.m = cgf_metrics_start(D.metrics, cgf_stats_all);
		if (!D.m || ep_add(cgf_metrics_fd(D.m)))
			return D.m ? cgf_error(-errno, "epoll: %m") : -EADDRNOTAVAIL;
		D.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	}
	return 0;
}

static void usage_daemon(void)
{
	fprintf(stderr, "usage: cgfence daemon --policy-dir DIR [--repair-interval SECONDS] "
			"[--run-dir DIR] [--detach-on-exit] [--metrics HOST:PORT]\n");
}

int cgf_do_daemon(int argc, char **argv)
{
	int ret = EXIT_OK;
	bool running = true;

	memset(&D, 0, sizeof(D));
	D.run_dir = "/run/cgfence";
	D.repair_s = 10;
	D.lock_fd = -1;
	D.stats_fd = -1;
#define IS(opt) (klen == strlen(opt) && !strncmp(a, opt, klen))
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '='), *val;
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		bool takes = IS("--policy-dir") || IS("--repair-interval") ||
			     IS("--run-dir") || IS("--metrics");

		if (strncmp(a, "--", 2) || klen < 3) {
			usage_daemon();
			return cgf_usage_error("daemon: unexpected argument '%s'", a);
		}
		val = eq ? eq + 1 : takes && i + 1 < argc ? argv[++i] : NULL;
		if (takes && !val)
			return cgf_usage_error("daemon: %.*s needs a value", (int)klen, a);
		if (!takes && eq)
			return cgf_usage_error("daemon: %.*s takes no value", (int)klen, a);
		if (IS("--policy-dir")) {
			D.dir = val;
		} else if (IS("--repair-interval")) {
			char *end;
			long v = strtol(val, &end, 10);

			if (*end || v < 1 || v > 86400)
				return cgf_usage_error("--repair-interval: '%s' is not a number of "
						       "seconds from 1 to 86400", val);
			D.repair_s = (int)v;
		} else if (IS("--run-dir")) {
			D.run_dir = val;
		} else if (IS("--metrics")) {
			D.metrics = val;
		} else if (IS("--detach-on-exit")) {
			D.detach_on_exit = true;
		} else if (IS("--help")) {
			usage_daemon();
			return EXIT_OK;
		} else {
			usage_daemon();
			return cgf_usage_error("daemon: unknown option '%s'", a);
		}
	}
	if (!D.dir)
		return cgf_usage_error("daemon: --policy-dir DIR is required");
	cgf_set_run_dir(D.run_dir);	/* the event logs go there too */
	if (cgf_env_check() || take_lock() || setup()) {
		fprintf(stderr, "cgfence: %s\n", cgf_last_error());
		return EXIT_FAIL;
	}
	D.started = time(NULL);
	dlog(6, "start", "pid=%d policy_dir=%s repair_interval=%ds%s%s", getpid(), D.dir_abs,
	     D.repair_s, D.metrics ? " metrics=" : "", D.metrics ? D.metrics : "");
	/* pins first (finish anything cut short), then the tree, then the files */
	repair("start");
	add_watch("", false);
	rescan(false);
	drop_orphans();
	write_status();
	sd_notify(0, "READY=1");
	dlog(6, "ready", "policies=%zu", D.n);

	while (running) {
		struct epoll_event evs[8];
		int n = epoll_wait(D.ep, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dlog(3, "epoll", "error=\"%m\"");
			ret = EXIT_FAIL;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t ticks;

			if (D.m && fd == cgf_metrics_fd(D.m)) {
				cgf_metrics_run(D.m);
			} else if (fd == D.ino_cg) {
				cgroup_events();
			} else if (fd == D.ino_pol) {
				policy_events();
			} else if (fd == D.tfd_rescan) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					rescan(false);
			} else if (fd == D.tfd_events) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					for (size_t k = 0; k < D.n; k++)
						cgf_collector_poll(D.pols[k].events);
			} else if (fd == D.tfd_repair) {
				if (read(fd, &ticks, sizeof(ticks)) > 0)
					repair("periodic");
				if (D.dirty)
					write_status();
			} else if (fd == D.sfd) {
				struct signalfd_siginfo si;

				while (read(D.sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						dlog(6, "reload", "signal=SIGHUP");
						sd_notify(0, "RELOADING=1");
						repair("reload");
						add_watch("", true);
						rescan(true);
						sd_notify(0, "READY=1");
					} else {
						dlog(6, "stop", "signal=%s detach=%s",
						     si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
						     D.detach_on_exit ? "yes" : "no");
						running = false;
					}
				}
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	cgf_metrics_stop(D.m);
	if (D.stats_fd > 0)
		close(D.stats_fd);
	if (D.detach_on_exit)
		while (D.n)
			drop(D.n - 1);
	for (size_t i = 0; i < D.n; i++) {
		cgf_policy_free(D.pols[i].p);
		cgf_collector_close(D.pols[i].events);
	}
	free(D.pols);
	for (size_t i = 0; i < D.n_w; i++)
		free(D.w[i].rel);
	free(D.w);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/daemon.json", D.run_dir);
		unlink(path);
	}
	return ret;
}
