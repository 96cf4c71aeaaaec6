// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <linux/magic.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "cgroup.h"
#include "util.h"

int cgf_cgroup2_mount(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m;
	int err = -ENOENT;

	if (!f)
		return cgf_error(-errno, "cannot read /proc/mounts: %m");
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	endmntent(f);
	if (err)
		return cgf_error(err, "no cgroup2 file system is mounted "
				 "(mount -t cgroup2 none /sys/fs/cgroup/unified)");
	return 0;
}

static bool is_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return !statfs(path, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC && !stat(path, &st) &&
	       S_ISDIR(st.st_mode);
}

int cgf_cgroup_resolve(const char *arg, char *abs, size_t len)
{
	char mnt[512];
	size_t ml;
	int err;

	if (!*arg)
		return cgf_error(-EINVAL, "cgroup path is empty");
	if (strstr(arg, "/../") || !strncmp(arg, "../", 3) || !strcmp(arg, "..") ||
	    (strlen(arg) >= 3 && !strcmp(arg + strlen(arg) - 3, "/..")))
		return cgf_error(-EINVAL, "cgroup '%s': '..' is not allowed in a cgroup path", arg);
	err = cgf_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	ml = strlen(mnt);
	if (!strncmp(arg, mnt, ml) && (arg[ml] == '/' || arg[ml] == '\0'))
		snprintf(abs, len, "%s", arg);
	else
		snprintf(abs, len, "%s%s%s", mnt, arg[0] == '/' ? "" : "/", arg);
	/* strip trailing slashes */
	for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
		abs[n - 1] = '\0';
	if (!is_cgroup2_dir(abs))
		return cgf_error(-ENOENT, "cgroup '%s': no such cgroup (looked for %s)", arg, abs);
	return 0;
}

int cgf_cgroup_of_pid(int pid, char *abs, size_t len)
{
	char path[64], *buf = NULL, *line, *save = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	err = read_file(path, &buf, NULL);
	if (err)
		return cgf_error(err, "pid %d: no such process", pid);
	err = 1;
	for (line = strtok_r(buf, "\n", &save); line && err == 1; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "0::", 3))
			err = cgf_cgroup_resolve(line + 3, abs, len);
	free(buf);
	return err == 1 ? cgf_error(-ENOENT, "pid %d: not in a cgroup2 cgroup", pid) : err;
}

int cgf_cgroup_id(const char *abs, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, abs, &h.fh, &mount_id, 0))
		return cgf_error(-errno, "cgroup %s: cannot get its id: %m", abs);
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

/*
 * Paths by cgroup id: one walk of the cgroup2 tree fills a table that later
 * lookups use (gc and list ask for every pinned cgroup). An entry is checked
 * against the file system before it is trusted; a miss or a stale entry
 * walks the tree once more.
 */
static struct cg_entry {
	uint64_t id;
	char *path;
} *cache;
static size_t n_cache, cap_cache;
static bool cache_filled;

/* one directory, then those below it; path has room for PATH_MAX */
static void walk(char *path, uint64_t ino, int level, cgf_walk_fn *fn, void *arg)
{
	size_t len = strlen(path);
	struct dirent *e;
	DIR *d;

	fn(path, ino, level, arg);
	if (level >= 64 || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    len + 1 + strlen(e->d_name) >= PATH_MAX)
			continue;
		snprintf(path + len, PATH_MAX - len, "/%s", e->d_name);
		walk(path, e->d_ino, level + 1, fn, arg);
		path[len] = '\0';
	}
	closedir(d);
}

void cgf_cgroup_walk(const char *root, cgf_walk_fn *fn, void *arg)
{
	char path[PATH_MAX];
	struct stat st;

	if (stat(root, &st))
		return;
	snprintf(path, sizeof(path), "%s", root);
	walk(path, (uint64_t)st.st_ino, 0, fn, arg);
}

static void fill_fn(const char *p, uint64_t ino, int level, void *arg)
{
	(void)level;
	(void)arg;
	GROW(cache, cap_cache, n_cache + 1);
	cache[n_cache].id = ino;
	cache[n_cache++].path = xstrdup(p);
}

static int refill(void)
{
	char mnt[512];
	int err = cgf_cgroup2_mount(mnt, sizeof(mnt));

	if (err)
		return err;
	while (n_cache)
		free(cache[--n_cache].path);
	cgf_cgroup_walk(mnt, fill_fn, NULL);
	cache_filled = true;
	return 0;
}

static bool lookup(uint64_t id, char *abs, size_t len)
{
	struct stat st;

	for (size_t i = 0; i < n_cache; i++)
		if (cache[i].id == id) {
			if (stat(cache[i].path, &st) || (uint64_t)st.st_ino != id)
				return false;	/* gone or replaced since the walk */
			snprintf(abs, len, "%s", cache[i].path);
			return true;
		}
	return false;
}

bool cgf_cgroup_alive_fresh(uint64_t id, bool walk)
{
	char abs[512];

	if ((walk || !cache_filled) && refill())
		return true;	/* cannot tell: keep it */
	return lookup(id, abs, sizeof(abs));
}

int cgf_cgroup_path_by_id(uint64_t id, char *abs, size_t len)
{
	bool fresh = !cache_filled;
	int err;

	if (fresh && (err = refill()))
		return err;
	if (lookup(id, abs, len))
		return 0;
	if (!fresh && !refill() && lookup(id, abs, len))
		return 0;
	return -ENOENT;
}
