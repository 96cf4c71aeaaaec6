/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's insides, shared by its three files: daemon.c (options, set-up,
 * the event loop, status), daemon_files.c (the policy directory) and
 * daemon_cgroups.c (the cgroup tree and repairs).
 */
#ifndef CGF_DAEMON_INT_H
#define CGF_DAEMON_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cgfence/abi.h"
#include "policy.h"

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

struct seen_outside {			/* sockets from outside already said, by policy */
	char name[CGF_NAME_MAX + 1];
	uint64_t *cookies;
	size_t n;
};

struct frozen;

struct daemon {
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
	struct seen_outside *outside;
	size_t n_outside;
	/* the second line for containers (daemon_oci.c) */
	const char *oci_dir;		/* the policies annotations name */
	const char *rt[8];		/* runtime state roots (runc format) */
	int rt_wd[8];			/* each root's watch; 0: not watched */
	int rt_pwd[8];			/* ... its nearest existing parent's, while it is missing */
	size_t n_rt;
	bool rt_given;			/* --runtime-root given: no defaults */
	int ino_rt;			/* inotify on them, 0 when off */
	time_t started;
	struct frozen *frozen;		/* followed cgroups that could not be attached */
	size_t n_frozen;
};

struct frozen {
	char policy[CGF_NAME_MAX + 1];
	char *path;			/* absolute */
};

extern struct daemon D;


/* one logfmt line per event on stderr; <N> priorities for journald */
void dmn_log(int prio, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* a logfmt value: quoted when it has spaces, quotes or '=' */
const char *dmn_q(const char *s, char *buf, size_t len);
void dmn_write_status(void);


/* daemon_files.c: the policy directory */
struct dpol *dmn_find_name(const char *name, const struct dpol *except);
struct dpol *dmn_find_file(const char *file);
void dmn_reconcile(struct dpol *dp);
void dmn_drop(size_t i);
void dmn_rescan(bool force);

/* daemon_cgroups.c: the cgroup tree, repairs */
void dmn_add_watch(const char *rel, bool announce);
void dmn_repair(const char *why);
void dmn_cgroup_events(void);
void dmn_drop_orphans(void);
/* A cgroup a followed policy's target names could not be attached (why):
 * frozen, counted and logged, never left to run unconfined; each repair
 * tries again and thaws it once it is attached. */
void dmn_attach_failed(const char *policy, const char *path, const char *why);
/* cgroup.freeze of the cgroup at path: 0 or -errno */
int dmn_freeze(const char *path, bool on);
/* path is attached to policy now: thawed if its daemon froze it (this one
 * or one before it: an extended attribute of the cgroup says) */
void dmn_attached(const char *policy, const char *path);
/* daemon_oci.c: annotated containers no hook confined */
void dmn_oci_setup(void);
void dmn_oci_events(void);
void dmn_oci_free(void);

/* every applied policy: sockets from outside its cgroups said, destroyed if
 * its policy says so */
void dmn_outside(void);

#endif
