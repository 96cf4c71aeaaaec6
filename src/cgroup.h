/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_CGROUP_H
#define CGF_CGROUP_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* The cgroup2 mount point from /proc/mounts (e.g. /sys/fs/cgroup/unified). */
int cgf_cgroup2_mount(char *buf, size_t len);

/*
 * A user's cgroup argument -> absolute path of an existing cgroup2 directory.
 * Accepted: a path under the mount, a cgroup path as /proc/PID/cgroup shows
 * it ("/system.slice/x"), or a path relative to the mount. ".." is refused.
 */
int cgf_cgroup_resolve(const char *arg, char *abs, size_t len);

/* The cgroup a process is in (cgroup2 entry of /proc/PID/cgroup). */
int cgf_cgroup_of_pid(int pid, char *abs, size_t len);

int cgf_cgroup_id(const char *abs, uint64_t *id);

/* Every directory of the tree below root, root first, depth first: its
 * path, inode (the cgroup id) and depth. Reads directories only (no stat of
 * each entry, as nftw would do for every file of every cgroup). */
typedef void cgf_walk_fn(const char *path, uint64_t ino, int level, void *arg);
void cgf_cgroup_walk(const char *root, cgf_walk_fn *fn, void *arg);
/* Path of the live cgroup with this id; -ENOENT when it is gone. */
/* Does cgroup id exist, by one walk of the tree (walk: anew) and the ids it
 * found: for many ids at once, where cgf_cgroup_path_by_id would walk again
 * for every id it misses. */
bool cgf_cgroup_alive_fresh(uint64_t id, bool walk);
int cgf_cgroup_path_by_id(uint64_t id, char *abs, size_t len);

#endif
