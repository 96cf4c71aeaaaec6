// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A policy's pins on bpffs, as the settle state machine sees them (store.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "hook.h"
#include "pins.h"
#include "settle.h"
#include "store.h"
#include "util.h"

struct bpffs {
	char dir[CGF_PATH_LEN];
	int cgroups;				/* the cgroups map, -1 without */
	int prog[CGF_H_MAX][CGF_SLOTS];		/* slot programs, opened on first use */
	uint32_t prog_id[CGF_H_MAX][CGF_SLOTS];
};

static const char *const redirect_pins[] = { "revnat", "backend_hits", "rr" };

static int b_active(void *s)
{
	return cgf_pin_active(((struct bpffs *)s)->dir);
}

static int b_meta(void *s, uint32_t slot, struct cgf_meta *m)
{
	return cgf_pin_meta_slot(((struct bpffs *)s)->dir, slot, m);
}

static void b_clear_meta(void *s, uint32_t slot)
{
	_cleanup_close_ int fd = cgf_pin_get(((struct bpffs *)s)->dir, "meta");
	struct cgf_meta none = {};

	if (fd >= 0)
		bpf_map_update_elem(fd, &slot, &none, BPF_ANY);
}

static int b_remove(void *s)
{
	return cgf_policy_remove(((struct bpffs *)s)->dir);
}

static size_t b_cgroup_dirs(void *s, uint64_t **ids)
{
	return cgf_pin_cgroup_ids(((struct bpffs *)s)->dir, ids);
}

static size_t b_recorded(void *s, uint64_t **ids)
{
	struct bpffs *b = s;
	uint64_t key, next;
	size_t n = 0, cap = 0;
	int more = b->cgroups < 0 ? -1 : bpf_map_get_next_key(b->cgroups, NULL, &next);

	*ids = NULL;
	while (!more) {
		key = next;
		GROW(*ids, cap, n + 1);
		(*ids)[n++] = key;
		more = bpf_map_get_next_key(b->cgroups, &key, &next);
	}
	return n;
}

static uint32_t b_slots_of(void *s, uint64_t id)
{
	return (uint32_t)cgf_pin_cgroup_slots(((struct bpffs *)s)->cgroups, id);
}

static void b_record(void *s, uint64_t id, uint32_t slots)
{
	struct bpffs *b = s;

	if (b->cgroups < 0)
		return;
	if (slots)
		bpf_map_update_elem(b->cgroups, &id, &slots, BPF_ANY);
	else
		bpf_map_delete_elem(b->cgroups, &id);
}

static int open_cgroup(uint64_t id)
{
	char path[512];

	if (cgf_cgroup_path_by_id(id, path, sizeof(path)))
		return -ENOENT;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool b_cgroup_alive(void *s, uint64_t id)
{
	int fd = open_cgroup(id);

	(void)s;
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void b_remove_cgroup(void *s, uint64_t id)
{
	char cgdir[CGF_PATH_LEN];

	cgf_pin_cgroup_dir(((struct bpffs *)s)->dir, id, cgdir, sizeof(cgdir));
	cgf_pin_remove_tree(cgdir);
}

static void b_describe_link(void *s, uint64_t id, int h, char *buf, size_t len)
{
	char cgdir[CGF_PATH_LEN];

	cgf_pin_cgroup_dir(((struct bpffs *)s)->dir, id, cgdir, sizeof(cgdir));
	snprintf(buf, len, "%s/%s", cgdir, cgf_hook_names[h]);
}

static enum cgf_link_state b_link(void *s, uint64_t id, int h, uint32_t *prog_id)
{
	char p[CGF_PATH_LEN];
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	int fd;

	b_describe_link(s, id, h, p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd < 0)
		return CGF_LINK_NONE;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return CGF_LINK_NONE;
	}
	close(fd);
	*prog_id = info.prog_id;
	return info.cgroup.cgroup_id == 0 ? CGF_LINK_DETACHED : CGF_LINK_ATTACHED;
}

/* The program of hook h in a slot: an fd kept for the store's life, or -1. */
static int slot_fd(struct bpffs *b, int h, uint32_t slot)
{
	if (b->prog[h][slot] < 0) {
		int fd = cgf_pin_slot_prog(b->dir, h, slot, &b->prog_id[h][slot]);

		b->prog[h][slot] = fd < 0 ? -1 : fd;
		if (fd < 0)
			b->prog_id[h][slot] = 0;
	}
	return b->prog[h][slot];
}

static int b_link_update(void *s, uint64_t id, int h, uint32_t slot)
{
	char p[CGF_PATH_LEN];
	int fd, pfd = slot_fd(s, h, slot), err = 0;

	b_describe_link(s, id, h, p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd < 0 || pfd < 0 || bpf_link_update(fd, pfd, NULL))
		err = cgf_error(-errno, "%s: failed to update: %m", p);
	if (fd >= 0)
		close(fd);
	return err;
}

static int b_link_attach(void *s, uint64_t id, int h, uint32_t slot)
{
	char p[CGF_PATH_LEN];
	int pfd = slot_fd(s, h, slot), cgfd = open_cgroup(id), err;

	b_describe_link(s, id, h, p, sizeof(p));
	if (pfd < 0 || cgfd < 0)
		err = cgf_error(-ENOENT, "%s: no program or no cgroup to attach", p);
	else
		err = cgf_pin_link_attach(pfd, cgfd, h, p);
	if (cgfd >= 0)
		close(cgfd);
	return err;
}

static void b_link_remove(void *s, uint64_t id, int h)
{
	char p[CGF_PATH_LEN];

	b_describe_link(s, id, h, p, sizeof(p));
	unlink(p);
}

static uint32_t b_slot_prog(void *s, int h, uint32_t slot)
{
	return slot_fd(s, h, slot) < 0 ? 0 : ((struct bpffs *)s)->prog_id[h][slot];
}

static bool b_slot_pinned(void *s, int h)
{
	char n[32], p[CGF_PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", ((struct bpffs *)s)->dir,
		 cgf_pin_slot_name(h, n, sizeof(n)));
	return !access(p, F_OK);
}

static void b_slot_clear(void *s, int h, uint32_t slot)
{
	char n[32];
	_cleanup_close_ int fd = cgf_pin_get(((struct bpffs *)s)->dir,
					     cgf_pin_slot_name(h, n, sizeof(n)));

	if (fd >= 0)
		bpf_map_delete_elem(fd, &slot);
}

static void b_slot_remove(void *s, int h)
{
	char n[32], p[CGF_PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", ((struct bpffs *)s)->dir,
		 cgf_pin_slot_name(h, n, sizeof(n)));
	unlink(p);
}

static void b_drain(void *s, uint32_t slot)
{
	cgf_pin_drain_slot(((struct bpffs *)s)->dir, slot);
}

static void b_drop_slot_maps(void *s, uint32_t slot)
{
	char p[CGF_PATH_LEN];

	snprintf(p, sizeof(p), "%s/rules-%u", ((struct bpffs *)s)->dir, slot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/hits-%u", ((struct bpffs *)s)->dir, slot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/names-%u", ((struct bpffs *)s)->dir, slot);
	unlink(p);
}

static void b_drop_redirect_state(void *s)
{
	char p[CGF_PATH_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(redirect_pins); i++) {
		snprintf(p, sizeof(p), "%s/%s", ((struct bpffs *)s)->dir, redirect_pins[i]);
		unlink(p);
	}
}

static const char *b_where(void *s)
{
	return ((struct bpffs *)s)->dir;
}

static const struct cgf_store_ops bpffs_ops = {
	.active = b_active, .meta = b_meta, .clear_meta = b_clear_meta, .remove = b_remove,
	.cgroup_dirs = b_cgroup_dirs, .recorded = b_recorded, .slots_of = b_slots_of,
	.record = b_record, .cgroup_alive = b_cgroup_alive, .remove_cgroup = b_remove_cgroup,
	.link = b_link, .link_update = b_link_update, .link_attach = b_link_attach,
	.link_remove = b_link_remove, .slot_prog = b_slot_prog, .slot_pinned = b_slot_pinned,
	.slot_clear = b_slot_clear, .slot_remove = b_slot_remove, .drain = b_drain,
	.drop_slot_maps = b_drop_slot_maps, .drop_redirect_state = b_drop_redirect_state,
	.where = b_where, .describe_link = b_describe_link,
};

void cgf_store_bpffs_open(struct cgf_store *st, const char *dir)
{
	struct bpffs *b = xcalloc(1, sizeof(*b));

	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	b->cgroups = cgf_pin_get(dir, "cgroups");
	for (int h = 0; h < CGF_H_MAX; h++)
		for (int s = 0; s < CGF_SLOTS; s++)
			b->prog[h][s] = -1;
	st->ops = &bpffs_ops;
	st->s = b;
}

void cgf_store_bpffs_close(struct cgf_store *st)
{
	struct bpffs *b = st->s;

	if (!b)
		return;
	if (b->cgroups >= 0)
		close(b->cgroups);
	for (int h = 0; h < CGF_H_MAX; h++)
		for (int s = 0; s < CGF_SLOTS; s++)
			if (b->prog[h][s] >= 0)
				close(b->prog[h][s]);
	free(b);
	st->s = NULL;
}
