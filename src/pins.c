// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pin layout's one owner: where a policy's pins are and how they read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "hook.h"
#include "layout.h"
#include "pins.h"
#include "util.h"

void cgf_pin_policy_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", CGF_PIN_ROOT, name);
}

void cgf_pin_cgroup_dir(const char *dir, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cg-%llu", dir, (unsigned long long)id);
}

bool cgf_pin_parse_cgroup(const char *entry, uint64_t *id)
{
	unsigned long long v;
	char tail;

	if (strncmp(entry, "cg-", 3) || sscanf(entry + 3, "%llu%c", &v, &tail) != 1)
		return false;
	*id = v;
	return true;
}

struct id_list {
	uint64_t *ids;
	size_t n, cap;
};

static int add_id(const char *cgdir, uint64_t id, void *arg)
{
	struct id_list *l = arg;

	(void)cgdir;
	GROW(l->ids, l->cap, l->n + 1);
	l->ids[l->n++] = id;
	return 0;
}

size_t cgf_pin_cgroup_ids(const char *dir, uint64_t **ids)
{
	struct id_list l = { 0 };

	cgf_pins_for_each_cgroup(dir, add_id, &l);
	*ids = l.ids;
	return l.n;
}

int cgf_pins_for_each_cgroup(const char *dir,
			     int (*fn)(const char *cgdir, uint64_t id, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = 0;

	while (d && (e = readdir(d))) {
		char cgdir[CGF_PATH_LEN];
		uint64_t id;

		if (!cgf_pin_parse_cgroup(e->d_name, &id))
			continue;
		snprintf(cgdir, sizeof(cgdir), "%s/%s", dir, e->d_name);
		err = fn(cgdir, id, arg) ?: err;
	}
	if (d)
		closedir(d);
	return err;
}

int cgf_pin_remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char p[CGF_PATH_LEN];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			err = cgf_pin_remove_tree(p) ?: err;
		else if (unlink(p))
			err = -errno;
	}
	closedir(d);
	if (rmdir(path))
		err = -errno;
	return err;
}

uint32_t cgf_pin_hooks_in(const char *cgdir)
{
	uint32_t hooks = 0;
	char p[CGF_PATH_LEN];

	for (int h = 0; h < CGF_H_MAX; h++) {
		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		if (!access(p, F_OK))
			hooks |= 1u << h;
	}
	return hooks;
}

int cgf_pin_get(const char *dir, const char *name)
{
	char p[CGF_PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return bpf_obj_get(p);
}

const char *cgf_pin_slot_name(int h, char *buf, size_t len)
{
	snprintf(buf, len, "slot-%s", cgf_hook_names[h]);
	return buf;
}

/* The deciding slot of the policy in dir (0, 1 or CGF_SLOT_OFF), -errno without one. */
int cgf_pin_active(const char *dir)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "active");
	uint32_t zero = 0, v;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &v))
		return -errno;
	return (int)(v > CGF_SLOT_OFF ? CGF_SLOT_OFF : v);
}

int cgf_pin_set_active(int fd, uint32_t slot)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, &slot, BPF_ANY) ? -errno : 0;
}

int cgf_pin_meta_slot(const char *dir, uint32_t slot, struct cgf_meta *m)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "meta");

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, m))
		return -errno;
	return m->magic == CGF_META_MAGIC ? 0 : -ENOENT;
}

/* The meta of the version in force. */
int cgf_pin_meta(const char *dir, struct cgf_meta *m)
{
	int act = cgf_pin_active(dir);

	if (act < 0)
		return act;
	return act < CGF_SLOTS ? cgf_pin_meta_slot(dir, (uint32_t)act, m) : -ENOENT;
}

/* The program of hook h in a slot: a prog array answers a lookup with the program's id. */
int cgf_pin_slot_prog(const char *dir, int h, uint32_t slot, uint32_t *id)
{
	char n[32];
	_cleanup_close_ int fd = cgf_pin_get(dir, cgf_pin_slot_name(h, n, sizeof(n)));
	int pfd;

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, id))
		return -errno;
	pfd = bpf_prog_get_fd_by_id(*id);
	return pfd < 0 ? -errno : pfd;
}

int cgf_pin_cgroup_slots(int fd, uint64_t id)
{
	uint32_t mask = 0;

	if (fd >= 0)
		bpf_map_lookup_elem(fd, &id, &mask);
	return (int)mask;
}

int cgf_pin_link_attach(int prog_fd, int cgfd, int h, const char *path)
{
	int fd = bpf_link_create(prog_fd, cgfd, cgf_hook_attach[h], NULL), err = 0;

	if (fd < 0)
		return cgf_error(-errno, "bpf: failed to attach %s to the cgroup: %m",
				 cgf_hook_names[h]);
	if (bpf_obj_pin(fd, path))
		err = cgf_error(-errno, "bpf: failed to pin link '%s': %m", path);
	close(fd);	/* the pin keeps it attached */
	return err;
}

/*
 * Empty the big decision maps of a version's programs (address and port
 * tries, hashes), an entry at a time. The kernel frees a map in one go with
 * no break, which holds a CPU for hundreds of milliseconds at a million
 * prefixes; emptied first, the free is cheap, and each delete here is short
 * and preemptible. Only for a version no longer deciding: its programs then
 * only hand calls on (the gate), and touch none of these maps.
 */
#define DRAIN_MIN 4096	/* entries: smaller maps free quickly enough */

static bool per_version(const char *name)
{
	static const char *const names[] = { "cgf_egress", "cgf_ingress", "cgf_local",
					     "cgf_redir4", "cgf_redir6", "cgf_ports" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(name, names[i], strlen(names[i])))
			return true;
	return false;
}

static void drain_map(uint32_t id)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	uint8_t key[64];
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && per_version(info.name) &&
	    info.max_entries >= DRAIN_MIN && info.key_size <= sizeof(key) &&
	    (info.type == BPF_MAP_TYPE_LPM_TRIE || info.type == BPF_MAP_TYPE_HASH))
		while (!bpf_map_get_next_key(fd, NULL, key) && !bpf_map_delete_elem(fd, key))
			;
	close(fd);
}

const char *const cgf_pin_replaceable[4] = { "acct", "ratelimit", "cgroups", "stats" };

/*
 * An apply makes NAME-next only when the pinned NAME has an older layout's
 * definition; so NAME-next belongs to the version in force exactly when that
 * version is of this layout (the switch came), and to none otherwise.
 */
void cgf_pin_promote_next(const char *dir)
{
	struct cgf_meta m;
	bool in_force = !cgf_pin_meta(dir, &m) && cgf_meta_layout(&m) == CGF_LAYOUT;

	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable); i++) {
		char next[64], p[CGF_PATH_LEN], pn[CGF_PATH_LEN];
		int fd;

		snprintf(next, sizeof(next), "%s-next", cgf_pin_replaceable[i]);
		fd = cgf_pin_get(dir, next);
		if (fd < 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, cgf_pin_replaceable[i]);
		snprintf(pn, sizeof(pn), "%s/%s", dir, next);
		if (in_force) {
			unlink(p);	/* NAME-next goes last: a kill here is finished next time */
			if (bpf_obj_pin(fd, p))
				fprintf(stderr, "cgfence: warning: cannot pin %s: %m\n", p);
		}
		unlink(pn);
		close(fd);
	}
}

void cgf_pin_drain_slot(const char *dir, uint32_t slot)
{
	uint32_t seen[64], n_seen = 0;

	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t prog_id, ids[32] = { 0 }, n_ids = ARRAY_SIZE(ids);	/* the kernel fills ids */
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int pfd = cgf_pin_slot_prog(dir, h, slot, &prog_id);

		if (pfd < 0)
			continue;
		info.nr_map_ids = n_ids;
		info.map_ids = (uint64_t)(unsigned long)ids;
		if (!bpf_obj_get_info_by_fd(pfd, &info, &len)) {
			for (uint32_t i = 0; i < info.nr_map_ids && i < n_ids; i++) {
				bool done = false;

				for (uint32_t j = 0; j < n_seen && !done; j++)
					done = seen[j] == ids[i];
				if (done || n_seen == ARRAY_SIZE(seen))
					continue;
				seen[n_seen++] = ids[i];
				drain_map(ids[i]);
			}
		}
		close(pfd);
	}
}

void cgf_pin_prune_gone(const char *dir)
{
	static const char *const per_cgroup[] = { "acct", "ratelimit" };
	bool walk = true;	/* one walk of the cgroup tree for the whole prune */

	for (size_t i = 0; i < ARRAY_SIZE(per_cgroup); i++) {
		_cleanup_close_ int fd = cgf_pin_get(dir, per_cgroup[i]);
		uint64_t key, next, *gone = NULL;
		size_t n = 0, cap = 0;
		int more = fd < 0 ? -1 : bpf_map_get_next_key(fd, NULL, &next);

		for (; !more; more = bpf_map_get_next_key(fd, &key, &next)) {
			bool alive;

			key = next;
			alive = cgf_cgroup_alive_fresh(key, walk);
			walk = false;
			if (!alive) {
				GROW(gone, cap, n + 1);
				gone[n++] = key;
			}
		}
		for (size_t j = 0; j < n; j++)
			bpf_map_delete_elem(fd, &gone[j]);
		free(gone);
	}
}

/* Call fn for every policy directory under the pin root, in readdir order. */
int cgf_pins_for_each_policy(int (*fn)(const char *dir, const char *name, void *arg), void *arg)
{
	DIR *d = opendir(CGF_PIN_ROOT);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : cgf_error(-errno, "cannot open %s: %m", CGF_PIN_ROOT);
	while ((e = readdir(d))) {
		char p[CGF_PATH_LEN];

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(p, sizeof(p), "%s/%s", CGF_PIN_ROOT, e->d_name);
		err = fn(p, e->d_name, arg) ?: err;
	}
	closedir(d);
	return err;
}
