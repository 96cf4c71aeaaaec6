// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Versions in force: settle (finish, undo or repair), detach, gc. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "env.h"
#include "fault.h"
#include "layout.h"
#include "loader.h"
#include "pins.h"
#include "settle.h"
#include "util.h"

static const char *const redirect_pins[] = { "revnat", "backend_hits", "rr" };

const char *cgf_settle_stage;	/* tests: the stage name of a settle's middle */

/* Take a policy out of force at once (every hook allows), then remove its pins. */
int cgf_policy_remove(const char *dir)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "active");
	int err;

	if (fd >= 0 && (err = cgf_pin_set_active(fd, CGF_SLOT_OFF)))
		return cgf_error(err, "bpf: failed to switch %s off: %s", dir, strerror(-err));
	cgf_fault_point("detach-off");
	err = cgf_pin_remove_tree(dir);
	return err ? cgf_error(err, "failed to remove %s: %s", dir, strerror(-err)) : 0;
}

int cgf_settle(const char *dir, struct cgf_gc_stats *st)
{
	int act = cgf_pin_active(dir), progs[CGF_H_MAX], mapfd = -1, left = 0;
	uint32_t ids[CGF_H_MAX], other;
	struct cgf_meta m, none = {};
	char p[CGF_PATH_LEN], n[32];
	DIR *d;
	struct dirent *e;

	if (act < 0 || act >= CGF_SLOTS || cgf_pin_meta_slot(dir, (uint32_t)act, &m)) {
		/* no version in force: a first apply or a detach cut short */
		if (st)
			st->removed_policies++;
		return cgf_policy_remove(dir);
	}
	if (cgf_meta_layout(&m) > CGF_LAYOUT)
		return cgf_error(-EPROTO, "%s: applied by a newer cgfence (pin layout %u, this "
				 "cgfence knows up to %u): left as it is", dir, cgf_meta_layout(&m),
				 CGF_LAYOUT);
	other = (uint32_t)act ^ 1;
	for (int h = 0; h < CGF_H_MAX; h++)
		progs[h] = m.hooks & (1u << h) ? cgf_pin_slot_prog(dir, h, (uint32_t)act, &ids[h]) : -1;
	mapfd = cgf_pin_get(dir, "cgroups");

	d = opendir(dir);
	while (d && (e = readdir(d))) {
		unsigned long long id;
		char path[512], cgdir[CGF_PATH_LEN];
		uint32_t bit = 1u << act;
		_cleanup_close_ int cgfd = -1;

		if (strncmp(e->d_name, "cg-", 3) || sscanf(e->d_name + 3, "%llu", &id) != 1)
			continue;
		snprintf(cgdir, sizeof(cgdir), "%s/%s", dir, e->d_name);
		if (!(cgf_pin_cgroup_slots(mapfd, id) & bit) || cgf_cgroup_path_by_id(id, path, sizeof(path)) ||
		    (cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			cgf_pin_remove_tree(cgdir);	/* not this version's, or gone */
			if (mapfd >= 0)
				bpf_map_delete_elem(mapfd, &id);
			if (st)
				st->removed_cgroups++;
			continue;
		}
		for (int h = 0; h < CGF_H_MAX; h++) {
			struct bpf_link_info info = {};
			uint32_t len = sizeof(info);
			int lfd;

			snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
			if (!(m.hooks & (1u << h))) {
				unlink(p);
				continue;
			}
			if (progs[h] < 0)
				continue;
			lfd = bpf_obj_get(p);
			if (lfd >= 0 && !bpf_obj_get_info_by_fd(lfd, &info, &len) &&
			    info.cgroup.cgroup_id == 0) {
				close(lfd);	/* detached from outside: attach anew */
				lfd = -1;
				unlink(p);
			}
			if (lfd >= 0) {
				if (info.prog_id != ids[h] && bpf_link_update(lfd, progs[h], NULL))
					fprintf(stderr, "cgfence: warning: %s: failed to update: %m\n",
						p);
				close(lfd);
				continue;
			}
			if (!cgf_pin_link_attach(progs[h], cgfd, h, p) && st) {
				st->repaired++;
				snprintf(st->last_repair, sizeof(st->last_repair), "%s", p);
			}
			cgf_clear_error();
		}
		if (mapfd >= 0)
			bpf_map_update_elem(mapfd, &id, &bit, BPF_ANY);
		left++;
		if (cgf_settle_stage)
			cgf_fault_point(cgf_settle_stage);
	}
	if (d)
		closedir(d);
	/* cgroup ids whose directory is gone */
	if (mapfd >= 0) {
		uint64_t key, next, *gone = NULL;
		size_t ngone = 0, cap = 0;
		int more = bpf_map_get_next_key(mapfd, NULL, &next);

		while (!more) {
			key = next;
			snprintf(p, sizeof(p), "%s/cg-%llu", dir, (unsigned long long)key);
			if (access(p, F_OK)) {
				GROW(gone, cap, ngone + 1);
				gone[ngone++] = key;
			}
			more = bpf_map_get_next_key(mapfd, &key, &next);
		}
		for (size_t i = 0; i < ngone; i++)
			bpf_map_delete_elem(mapfd, &gone[i]);
		free(gone);
		close(mapfd);
	}
	/* the other slot: empty; hooks the version does not have: gone */
	for (int h = 0; h < CGF_H_MAX; h++) {
		_cleanup_close_ int fd = cgf_pin_get(dir, cgf_pin_slot_name(h, n, sizeof(n)));

		if (progs[h] >= 0)
			close(progs[h]);
		if (fd < 0)
			continue;
		bpf_map_delete_elem(fd, &other);
		if (!(m.hooks & (1u << h))) {
			bpf_map_delete_elem(fd, &act);
			snprintf(p, sizeof(p), "%s/%s", dir, n);
			unlink(p);
		}
	}
	snprintf(p, sizeof(p), "%s/rules-%u", dir, other);
	unlink(p);
	snprintf(p, sizeof(p), "%s/hits-%u", dir, other);
	unlink(p);
	if (!(m.hooks & CGF_REDIRECT_ONLY_HOOKS))	/* no redirect in force: no state for it */
		for (size_t i = 0; i < ARRAY_SIZE(redirect_pins); i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, redirect_pins[i]);
			unlink(p);
		}
	{
		_cleanup_close_ int fd = cgf_pin_get(dir, "meta");

		if (fd >= 0)
			bpf_map_update_elem(fd, &other, &none, BPF_ANY);
	}
	if (!left && !(m.flags & CGF_META_KEEP)) {
		if (st)
			st->removed_policies++;
		return cgf_policy_remove(dir);	/* its last cgroup is gone */
	}
	return 0;
}

int cgf_detach_cgroup(const char *name, uint64_t id)
{
	char dir[CGF_PATH_LEN], cgdir[CGF_PATH_LEN];
	_cleanup_close_ int mapfd = -1;
	int err = cgf_lock();

	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)id);
	mapfd = cgf_pin_get(dir, "cgroups");
	if (mapfd >= 0)
		bpf_map_delete_elem(mapfd, &id);	/* first: a cut-short removal is finished by settle */
	err = cgf_pin_remove_tree(cgdir);
	return err ? cgf_error(err, "failed to remove %s: %s", cgdir, strerror(-err)) : 0;
}

int cgf_detach(const char *name)
{
	char dir[CGF_PATH_LEN];
	int err;

	if (!valid_name(name))
		return cgf_error(-EINVAL, "'%s' is not a policy name", name);
	err = cgf_lock();
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	if (access(dir, F_OK))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	err = cgf_policy_remove(dir);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}

static int detach_one(const char *dir, const char *name, void *arg)
{
	(void)name;
	if (cgf_policy_remove(dir))
		return -EIO;
	(*(int *)arg)++;
	return 0;
}

int cgf_detach_all(int *count)
{
	int err = cgf_lock();

	*count = 0;
	if (err)
		return err;
	err = cgf_pins_for_each_policy(detach_one, count);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}

static int gc_one(const char *dir, const char *name, void *arg)
{
	(void)name;
	return cgf_settle(dir, arg);
}

int cgf_gc(struct cgf_gc_stats *st)
{
	int err = cgf_lock();

	if (st)
		memset(st, 0, sizeof(*st));
	if (err)
		return err;
	err = cgf_pins_for_each_policy(gc_one, st);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}
