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
#include "daemon_int.h"
#include "cli.h"
#include "compile.h"
#include "events.h"
#include "layout.h"
#include "oci.h"
#include "loader.h"
#include "pipeline.h"
#include "policy.h"
#include "report.h"
#include "rundir.h"
#include "target.h"
#include "stats.h"
#include "util.h"

struct daemon D;

/* ---- logs: one logfmt line per event on stderr; <N> priorities for journald ---- */

void dmn_log(int prio, const char *event, const char *fmt, ...)
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
const char *dmn_q(const char *s, char *buf, size_t len)
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


/* ---- the status file ---- */

void dmn_write_status(void)
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
	arr = json_object_new_array();	/* followed, not attached: frozen until they are */
	for (size_t i = 0; i < D.n_frozen; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "policy", json_object_new_string(D.frozen[i].policy));
		json_object_object_add(e, "cgroup", json_object_new_string(D.frozen[i].path));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "frozen", arr);
	snprintf(path, sizeof(path), "%s/daemon.json", D.run_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY) || rename(tmp, path))
		dmn_log(4, "status", "file=%s error=\"cannot write\"", path);
	json_object_put(o);
	D.dirty = false;
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
			dmn_log(4, "lock", "error=\"cannot write the pid\"");
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
	if (D.n_rt) {	/* the second line for annotated containers */
		for (size_t r = 0; r < D.n_rt; r++)
			D.rt_wd[r] = -1;
		D.ino_rt = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (D.ino_rt < 0 || ep_add(D.ino_rt))
			return cgf_error(-errno, "cannot watch the runtimes' state: %m");
	}
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
			"[--run-dir DIR] [--detach-on-exit] [--metrics HOST:PORT] "
			"[--oci-policy-dir DIR] [--runtime-root DIR]... [--no-oci]\n");
}

/* --policy-dir DIR, --repair-interval S, --run-dir DIR, --metrics HOST:PORT
 * (also as --opt=value), --detach-on-exit: into D; > 0 an exit status,
 * -1 after --help */
static int parse_args(int argc, char **argv)
{
#define IS(opt) (klen == strlen(opt) && !strncmp(a, opt, klen))
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '='), *val;
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		bool takes = IS("--policy-dir") || IS("--repair-interval") ||
			     IS("--run-dir") || IS("--metrics") || IS("--oci-policy-dir") ||
			     IS("--runtime-root");

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
		} else if (IS("--oci-policy-dir")) {
			D.oci_dir = val;
		} else if (IS("--runtime-root")) {
			if (!D.rt_given)
				D.n_rt = 0;
			D.rt_given = true;
			if (D.n_rt == ARRAY_SIZE(D.rt))
				return cgf_usage_error("daemon: at most %zu --runtime-root",
						       ARRAY_SIZE(D.rt));
			D.rt[D.n_rt++] = val;
		} else if (IS("--no-oci")) {
			D.n_rt = 0;
			D.rt_given = true;
		} else {
			usage_daemon();
			return IS("--help") ? -1 : cgf_usage_error("daemon: unknown option '%s'", a);
		}
	}
#undef IS
	return D.dir ? 0 : cgf_usage_error("daemon: --policy-dir DIR is required");
}

/* SIGHUP reloads; SIGTERM and SIGINT end the loop (false) */
static bool on_signals(void)
{
	struct signalfd_siginfo si;
	bool running = true;

	while (read(D.sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			dmn_log(6, "reload", "signal=SIGHUP");
			sd_notify(0, "RELOADING=1");
			dmn_repair("reload");
			dmn_add_watch("", true);
			dmn_rescan(true);
			sd_notify(0, "READY=1");
		} else {
			dmn_log(6, "stop", "signal=%s detach=%s",
				si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
				D.detach_on_exit ? "yes" : "no");
			running = false;
		}
	}
	return running;
}

/* One ready file descriptor; false when the daemon is to stop. */
static bool on_ready(int fd)
{
	uint64_t ticks;

	if (D.m && fd == cgf_metrics_fd(D.m)) {
		cgf_metrics_run(D.m);
	} else if (fd == D.ino_cg) {
		dmn_cgroup_events();
	} else if (fd == D.ino_pol) {
		policy_events();
	} else if (D.ino_rt && fd == D.ino_rt) {
		dmn_oci_events();
	} else if (fd == D.tfd_rescan) {
		if (read(fd, &ticks, sizeof(ticks)) > 0)
			dmn_rescan(false);
	} else if (fd == D.tfd_events) {
		if (read(fd, &ticks, sizeof(ticks)) > 0)
			for (size_t k = 0; k < D.n; k++)
				cgf_collector_poll(D.pols[k].events);
	} else if (fd == D.tfd_repair) {
		if (read(fd, &ticks, sizeof(ticks)) > 0) {
			dmn_repair("periodic");
			dmn_oci_setup();
			dmn_outside();
		}
		if (D.dirty)
			dmn_write_status();
	} else if (fd == D.sfd) {
		return on_signals();
	}
	return true;
}

static void shut_down(void)
{
	char path[PATH_MAX];

	sd_notify(0, "STOPPING=1");
	cgf_metrics_stop(D.m);
	if (D.stats_fd > 0)
		close(D.stats_fd);
	if (D.detach_on_exit)
		while (D.n)
			dmn_drop(D.n - 1);
	for (size_t i = 0; i < D.n; i++) {
		cgf_policy_free(D.pols[i].p);
		cgf_collector_close(D.pols[i].events);
	}
	free(D.pols);
	for (size_t i = 0; i < D.n_outside; i++)
		free(D.outside[i].cookies);
	free(D.outside);
	dmn_oci_free();
	for (size_t i = 0; i < D.n_frozen; i++)	/* they stay frozen: the next daemon thaws them */
		free(D.frozen[i].path);
	free(D.frozen);
	for (size_t i = 0; i < D.n_w; i++)
		free(D.w[i].rel);
	free(D.w);
	snprintf(path, sizeof(path), "%s/daemon.json", D.run_dir);
	unlink(path);
}

int cgf_do_daemon(int argc, char **argv)
{
	int ret;
	bool running = true;

	memset(&D, 0, sizeof(D));
	D.run_dir = CGF_RUN_DIR_DEFAULT;
	D.repair_s = 10;
	D.lock_fd = -1;
	D.oci_dir = DEFAULT_POLICY_DIR;
	{	/* runc's state, alone and under podman, Docker, containerd */
		static const char *const roots[] = { "/run/runc", "/run/docker/runtime-runc/moby",
						     "/run/containerd/runc/k8s.io",
						     "/run/containerd/runc/default" };

		for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
			D.rt[D.n_rt++] = roots[i];
	}
	D.stats_fd = -1;
	ret = parse_args(argc, argv);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	cgf_set_run_dir(D.run_dir);	/* the event logs go there too */
	if (cgf_env_check() || take_lock() || setup()) {
		fprintf(stderr, "cgfence: %s\n", cgf_last_error());
		return EXIT_FAIL;
	}
	D.started = time(NULL);
	dmn_log(6, "start", "pid=%d policy_dir=%s repair_interval=%ds%s%s oci_policy_dir=%s "
		"runtime_roots=%zu", getpid(), D.dir_abs, D.repair_s, D.metrics ? " metrics=" : "",
		D.metrics ? D.metrics : "", D.oci_dir, D.n_rt);
	/* pins first (finish anything cut short), then the tree, then the files */
	dmn_repair("start");
	dmn_add_watch("", false);
	dmn_rescan(false);
	dmn_drop_orphans();
	dmn_oci_setup();
	dmn_outside();
	dmn_write_status();
	sd_notify(0, "READY=1");
	dmn_log(6, "ready", "policies=%zu", D.n);
	while (running) {
		struct epoll_event evs[8];
		int n = epoll_wait(D.ep, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dmn_log(3, "epoll", "error=\"%m\"");
			ret = EXIT_FAIL;
			break;
		}
		for (int i = 0; i < n; i++)
			running = on_ready(evs[i].data.fd) && running;
	}
	shut_down();
	return ret;
}
