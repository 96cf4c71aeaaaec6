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
#include "staged.h"
#include "store.h"
#include "util.h"

const char *cgf_settle_stage;	/* tests: the stage name of a settle's middle */

/* Take a policy out of force at once (every hook allows), then remove its pins. */
int cgf_policy_remove(const char *dir)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "active");
	int err, act = cgf_pin_active(dir);

	if (fd >= 0 && (err = cgf_pin_set_active(fd, CGF_SLOT_OFF)))
		return cgf_error(err, "bpf: failed to switch %s off: %s", dir, strerror(-err));
	cgf_fault_point("detach-off");
	for (uint32_t s = 0; s < CGF_SLOTS; s++)	/* off: no slot decides any more */
		if (act >= 0)
			cgf_pin_drain_slot(dir, s);
	err = cgf_pin_remove_tree(dir);
	return err ? cgf_error(err, "failed to remove %s: %s", dir, strerror(-err)) : 0;
}

/* One cgroup of the version in force: every hook's link runs the active
 * slot's program; hooks the version lacks lose theirs. */
static void settle_links(const struct cgf_store *st, uint64_t id, const struct cgf_meta *m,
			 uint32_t act, struct cgf_gc_stats *gs)
{
	const struct cgf_store_ops *o = st->ops;

	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t want = 0, have = 0;
		enum cgf_link_state ls;
		CGF_DIAG_SCOPE(d);	/* a link that cannot be repaired now: the next settle tries */

		if (!(m->hooks & CGF_HOOK_BIT(h))) {
			o->link_remove(st->s, id, h);
			continue;
		}
		want = o->slot_prog(st->s, h, act);
		if (!want)
			continue;	/* nothing to point it at */
		ls = o->link(st->s, id, h, &have);
		if (ls == CGF_LINK_DETACHED) {	/* detached from outside: attach anew */
			o->link_remove(st->s, id, h);
			ls = CGF_LINK_NONE;
		}
		if (ls == CGF_LINK_ATTACHED) {
			if (have != want && o->link_update(st->s, id, h, act))
				fprintf(stderr, "cgfence: warning: %s: cgroup %llu: %s: failed to "
					"update: %s\n", o->where(st->s), (unsigned long long)id,
					cgf_hook_names[h], d.msg);
			continue;
		}
		if (!o->link_attach(st->s, id, h, act) && gs) {
			gs->repaired++;
			o->describe_link(st->s, id, h, gs->last_repair, sizeof(gs->last_repair));
		}
	}
}

/* The cgroups: those of the version in force settled, the others removed;
 * map entries without a directory forgotten. Returns how many are left. */
static unsigned settle_cgroups(const struct cgf_store *st, const struct cgf_meta *m,
			       uint32_t act, struct cgf_gc_stats *gs)
{
	const struct cgf_store_ops *o = st->ops;
	uint64_t *ids = NULL, *rec = NULL;
	size_t n = o->cgroup_dirs(st->s, &ids), nrec;
	unsigned left = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(o->slots_of(st->s, ids[i]) & (1u << act)) || !o->cgroup_alive(st->s, ids[i])) {
			o->remove_cgroup(st->s, ids[i]);	/* not this version's, or gone */
			o->record(st->s, ids[i], 0);
			if (gs)
				gs->removed_cgroups++;
			continue;
		}
		settle_links(st, ids[i], m, act, gs);
		o->record(st->s, ids[i], 1u << act);
		left++;
		if (cgf_settle_stage)
			cgf_fault_point(cgf_settle_stage);
	}
	nrec = o->recorded(st->s, &rec);
	for (size_t i = 0; i < nrec; i++) {
		bool has_dir = false;

		for (size_t j = 0; j < n && !has_dir; j++)
			has_dir = ids[j] == rec[i];
		if (!has_dir)
			o->record(st->s, rec[i], 0);
	}
	free(rec);
	free(ids);
	return left;
}

int cgf_settle_store(const struct cgf_store *st, struct cgf_gc_stats *gs)
{
	const struct cgf_store_ops *o = st->ops;
	int act = o->active(st->s);
	struct cgf_meta m;
	uint32_t other;
	unsigned left;

	if (act < 0 || act >= CGF_SLOTS || o->meta(st->s, (uint32_t)act, &m)) {
		/* no version in force: a first apply or a detach cut short */
		if (gs)
			gs->removed_policies++;
		return o->remove(st->s);
	}
	if (cgf_meta_layout(&m) > CGF_LAYOUT)
		return cgf_error(-EPROTO, "%s: applied by a newer cgfence (pin layout %u, this "
				 "cgfence knows up to %u): left as it is", o->where(st->s),
				 cgf_meta_layout(&m), CGF_LAYOUT);
	other = (uint32_t)act ^ 1;
	left = settle_cgroups(st, &m, (uint32_t)act, gs);
	/* the other slot: its big maps drained while no link runs it, then empty;
	 * hooks the version does not have: gone */
	o->drain(st->s, other);
	for (int h = 0; h < CGF_H_MAX; h++) {
		if (!o->slot_pinned(st->s, h))
			continue;
		o->slot_clear(st->s, h, other);
		if (!(m.hooks & CGF_HOOK_BIT(h))) {
			o->slot_clear(st->s, h, (uint32_t)act);
			o->slot_remove(st->s, h);
		}
	}
	o->drop_slot_maps(st->s, other);
	if (!(m.hooks & CGF_REDIRECT_ONLY_HOOKS))	/* no redirect in force: no state for it */
		o->drop_redirect_state(st->s);
	o->clear_meta(st->s, other);
	if (!left && !(m.flags & CGF_META_KEEP)) {
		if (gs)
			gs->removed_policies++;
		return o->remove(st->s);	/* its last cgroup is gone */
	}
	return 0;
}

int cgf_settle(const char *dir, struct cgf_gc_stats *gs)
{
	struct cgf_store st;
	int err;

	cgf_pin_promote_next(dir);	/* maps an apply replaced (pins.h) */
	cgf_store_bpffs_open(&st, dir);
	err = cgf_settle_store(&st, gs);
	cgf_store_bpffs_close(&st);
	if (!err && !access(dir, F_OK))
		cgf_pin_prune_gone(dir);
	return err;
}

int cgf_detach_cgroup(const char *name, uint64_t id)
{
	char dir[CGF_PATH_LEN], cgdir[CGF_PATH_LEN];
	_cleanup_close_ int mapfd = -1;
	int err = cgf_lock();

	if (err)
		return err;
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	cgf_pin_cgroup_dir(dir, id, cgdir, sizeof(cgdir));
	mapfd = cgf_pin_get(dir, "cgroups");
	if (mapfd >= 0)
		bpf_map_delete_elem(mapfd, &id);	/* first: a cut-short removal is finished by settle */
	err = cgf_pin_remove_tree(cgdir);
	if (err)
		return cgf_error(err, "failed to remove %s: %s", cgdir, strerror(-err));
	return cgf_staged_follow(name);	/* its staged version leaves the cgroup too */
}

int cgf_staged_remove(const char *name)
{
	char staged[CGF_INSTANCE_MAX], dir[CGF_PATH_LEN];

	if (!cgf_pin_staged_name(name, staged, sizeof(staged)))
		return 0;
	cgf_pin_policy_dir(staged, dir, sizeof(dir));
	int err = cgf_policy_remove(dir);

	if (err)
		return err;
	/* nobody listens any more: the version in force stops handing over */
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	return cgf_staged_listen(dir, false);
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
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	if (access(dir, F_OK))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	err = cgf_staged_remove(name) ?: cgf_policy_remove(dir);	/* the staged one first */
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}

static int detach_one(const char *dir, const char *name, void *arg)
{
	if (cgf_policy_remove(dir))
		return -EIO;
	*(int *)arg += !cgf_pin_is_staged(name);	/* policies, not their staged versions */
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
	char enforced[CGF_PATH_LEN];
	size_t held;

	if (cgf_pin_is_staged(name) && access(cgf_pin_staged_of(dir, enforced, sizeof(enforced)),
					      F_OK))
		return cgf_policy_remove(dir);	/* its policy is gone */
	cgf_pin_names_copy(dir, true, &held);	/* to_names: what the learnt table let go */
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
