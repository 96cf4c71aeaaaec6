// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Apply a compiled policy: load a version beside the one in force, switch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgfence/abi.h"	/* before the skeleton: its .rodata is a struct cgf_config */
#include "cgfence.skel.h"
#include "cgroup.h"
#include "env.h"
#include "fault.h"
#include "hook.h"
#include "layout.h"
#include "loader.h"
#include "pins.h"
#include "settle.h"
#include "staged.h"
#include "util.h"
#include "version.h"

/* Links for the cgroup at path (id) to the programs of this slot, where missing. */
static int attach_cgroup(const char *dir, const char *path, uint64_t id, uint32_t hooks,
			 const int *prog_fds, int mapfd, uint32_t slot)
{
	char cgdir[CGF_PATH_LEN], p[CGF_PATH_LEN];
	_cleanup_close_ int cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t mask;
	int err = 0;

	if (cgfd < 0)
		return cgf_error(-errno, "cgroup %s: cannot open: %m", path);
	cgf_pin_cgroup_dir(dir, id, cgdir, sizeof(cgdir));
	if (mkdir(cgdir, 0700) && errno != EEXIST)
		return cgf_error(-errno, "cannot create %s: %m", cgdir);
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		if (!(hooks & CGF_HOOK_BIT(h)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		if (!access(p, F_OK))
			continue;	/* the version in force's link: switched later */
		err = cgf_pin_link_attach(prog_fds[h], cgfd, h, p);
		cgf_fault_point("attaching");
	}
	/* the cgroup belongs to this slot's version only once all its links are there */
	mask = (uint32_t)cgf_pin_cgroup_slots(mapfd, id) | 1u << slot;
	if (!err && bpf_map_update_elem(mapfd, &id, &mask, BPF_ANY))
		err = errno == E2BIG
			      ? cgf_error(-E2BIG, "cgroup %s: the policy is attached to %u cgroups, "
					  "the most one policy can be", path, CGF_CGROUPS_MAX)
			      : cgf_error(-errno, "bpf: failed to record cgroup %s: %m", path);
	return err;
}

/* One apply in progress: the new version and where it goes. */
struct apply {
	const struct cgf_compiled *c;
	const struct cgf_apply_opts *o;
	const char *const *paths;
	size_t n;
	uint64_t *ids;
	char dir[CGF_PATH_LEN];
	struct cgfence_bpf *s;
	struct cgf_meta old;
	bool replaced;
	uint32_t slot, generation;
	int prog_fds[CGF_H_MAX];
	bool replace[ARRAY_SIZE(cgf_pin_replaceable)];	/* pinned anew at the switch */
};

/* Lock, find the cgroups, settle what a cut-short run left, pick the free slot. */
static int apply_prepare(struct apply *a)
{
	const char *name = a->o->name ? a->o->name : a->c->name;
	int err = cgf_lock(), act;

	for (size_t i = 0; i < a->n && !err; i++)
		err = cgf_cgroup_id(a->paths[i], &a->ids[i]);
	if (err)
		return err;
	cgf_pin_policy_dir(name, a->dir, sizeof(a->dir));
	if (!a->o->settled && !access(a->dir, F_OK)) {
		err = cgf_settle(a->dir, NULL);	/* finish or undo a run that was cut short */
		if (err)
			return err;
	}
	err = cgf_layout_claim(CGF_PIN_ROOT);	/* this version is of our layout */
	if (err)
		return err;
	act = cgf_pin_active(a->dir);
	a->replaced = act >= 0 && act < CGF_SLOTS &&
		      !cgf_pin_meta_slot(a->dir, (uint32_t)act, &a->old);
	a->slot = a->replaced ? (uint32_t)act ^ 1 : 0;
	return 0;
}

static uint32_t next_generation(const struct apply *a)
{
	return a->replaced ? a->old.generation + 1 : 1;
}

/* A new version in the free slot: open, size, load and fill; nothing attached. */
static int apply_load(struct apply *a)
{
	int err = cgf_version_load(a->c, a->o->mode, a->slot, next_generation(a), a->dir,
				   a->replace, &a->s);

	if (!err && !a->replaced)
		err = cgf_pin_set_active(bpf_map__fd(a->s->maps.data_active), CGF_SLOT_OFF);
	return err;
}

static int write_meta(struct apply *a)
{
	struct cgf_meta m = {
		.magic = CGF_META_MAGIC,
		.mode = (uint32_t)a->o->mode,
		.hooks = a->c->hooks,
		.flags = ((a->o->flags | a->c->meta_flags) & ~CGF_META_LAYOUT_MASK) |
			 cgf_meta_layout_flags(CGF_LAYOUT),
		.digest = a->o->digest,
		.generation = next_generation(a),
		.applied_at = (uint64_t)time(NULL),
		.n_prefixes = a->c->n_prefixes,
		.n_rules = a->c->n_rules,
	};

	snprintf(m.name, sizeof(m.name), "%s", a->o->name ? a->o->name : a->c->name);
	snprintf(m.source, sizeof(m.source), "%s", a->o->source ? a->o->source : "");
	if (bpf_map_update_elem(bpf_map__fd(a->s->maps.cgf_meta), &a->slot, &m, BPF_ANY))
		return cgf_error(-errno, "bpf: failed to write the policy's metadata: %m");
	a->generation = m.generation;
	return 0;
}

/* Pin the new version's maps, its meta, its programs in their slots, its rule maps. */
static int apply_pin(struct apply *a)
{
	char rp[CGF_PATH_LEN], hp[CGF_PATH_LEN];
	int err = cgf_version_pin_shared(a->s, a->dir, a->c, a->replace);

	if (err)
		return err;
	cgf_fault_point("pinned");
	err = write_meta(a);
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		int fd = bpf_program__fd(cgf_version_prog(a->s, h));

		a->prog_fds[h] = fd;
		if ((a->c->hooks & CGF_HOOK_BIT(h)) &&
		    bpf_map_update_elem(bpf_map__fd(cgf_version_slots(a->s, h)), &a->slot, &fd, BPF_ANY))
			err = cgf_error(-errno, "bpf: failed to fill slot %u of %s: %m", a->slot,
					cgf_hook_names[h]);
	}
	if (err)
		return err;
	/* this version's rule texts and hit counts, found by slot */
	snprintf(rp, sizeof(rp), "%s/rules-%u", a->dir, a->slot);
	snprintf(hp, sizeof(hp), "%s/hits-%u", a->dir, a->slot);
	unlink(rp);
	unlink(hp);
	if (bpf_map__pin(a->s->maps.cgf_rule_info, rp) || bpf_map__pin(a->s->maps.cgf_rule_hits, hp))
		return cgf_error(-EIO, "bpf: failed to pin %s or %s", rp, hp);
	snprintf(rp, sizeof(rp), "%s/names-%u", a->dir, a->slot);	/* to_names' patterns */
	unlink(rp);
	if ((a->c->features & CGF_F_NAMES) && bpf_map__pin(a->s->maps.cgf_name_pats, rp))
		return cgf_error(-EIO, "bpf: failed to pin %s", rp);
	cgf_fault_point("slots");
	return 0;
}

/* Links where there are none yet (they defer to the version in force), then
 * the switch: one map write puts the new version in force on every hook. */
static int apply_attach_switch(struct apply *a)
{
	int err = 0;

	for (size_t i = 0; i < a->n && !err; i++)
		err = attach_cgroup(a->dir, a->paths[i], a->ids[i], a->c->hooks, a->prog_fds,
				    bpf_map__fd(a->s->maps.cgf_cgroups), a->slot);
	if (!err && cgf_fault_fail("CGF_TEST_FAIL_AFTER_ATTACH"))	/* tests: a late failure */
		err = cgf_error(-EIO, "failing after attach (CGF_TEST_FAIL_AFTER_ATTACH)");
	if (err)
		return err;
	cgf_fault_point("attached");
	err = cgf_pin_set_active(bpf_map__fd(a->s->maps.data_active), a->slot);
	if (err)
		return cgf_error(err, "bpf: failed to switch to the new version: %s", strerror(-err));
	cgf_fault_point("switched");
	return 0;
}

int cgf_apply(const struct cgf_compiled *c, const struct cgf_apply_opts *o,
	      struct cgf_apply_result *res)
{
	struct apply a = { .c = c, .o = o };
	int err;

	a.paths = o->n_cgroups ? o->cgroups : &o->cgroup;
	a.n = o->n_cgroups ? o->n_cgroups : o->cgroup ? 1 : 0;
	a.ids = xcalloc(a.n ? a.n : 1, sizeof(*a.ids));
	memset(res, 0, sizeof(*res));
	err = apply_prepare(&a);
	err = err ?: apply_load(&a);
	if (!err) {
		cgf_fault_point("loaded");
		if (mkdir(a.dir, 0700) && errno != EEXIST)
			err = cgf_error(-errno, "cannot create %s: %m", a.dir);
		else if ((err = apply_pin(&a) ?: apply_attach_switch(&a)))
			cgf_settle(a.dir, NULL);	/* the old version (or none) is still in
							 * force: drop what the new one added */
	}
	if (!err) {
		CGF_DIAG_SCOPE(d);	/* the new version is in force: the rest is repair */

		cgf_settle_stage = "settling";
		if (cgf_settle(a.dir, NULL))	/* links to the new programs, old version dropped */
			fprintf(stderr, "cgfence: warning: %s\n", d.msg);
		cgf_settle_stage = NULL;
		res->replaced = a.replaced;
		res->cgroup_id = a.ids[0];
		res->generation = a.generation;
		res->hooks = c->hooks;
		err = cgf_staged_follow(a.o->name ? a.o->name : c->name);
	}
	cgfence_bpf__destroy(a.s);
	free(a.ids);
	return err;
}

/* ---- what the daemon needs: a version in force, more or fewer cgroups ---- */

int cgf_attach_cgroups(const char *name, const char *const *paths, size_t n)
{
	char dir[CGF_PATH_LEN];
	struct cgf_meta m;
	int progs[CGF_H_MAX], act, err;
	_cleanup_close_ int mapfd = -1;

	err = cgf_lock();
	if (err)
		return err;
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	act = cgf_pin_active(dir);
	if (act < 0 || act >= CGF_SLOTS || cgf_pin_meta_slot(dir, (uint32_t)act, &m))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	mapfd = cgf_pin_get(dir, "cgroups");
	if (mapfd < 0)
		return cgf_error(-errno, "%s/cgroups: %m", dir);
	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t id;

		progs[h] = m.hooks & (1u << h) ? cgf_pin_slot_prog(dir, h, (uint32_t)act, &id) : -1;
		if ((m.hooks & (1u << h)) && progs[h] < 0)
			err = cgf_error(progs[h], "%s: no program for %s", dir, cgf_hook_names[h]);
	}
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t id = 0;

		err = cgf_cgroup_id(paths[i], &id);
		err = err ?: attach_cgroup(dir, paths[i], id, m.hooks, progs, mapfd, (uint32_t)act);
		if (err && id) {	/* a half-attached cgroup is not recorded: drop it */
			char cgdir[CGF_PATH_LEN];

			cgf_pin_cgroup_dir(dir, id, cgdir, sizeof(cgdir));
			if (!(cgf_pin_cgroup_slots(mapfd, id) & (1 << act)))
				cgf_pin_remove_tree(cgdir);
		}
	}
	for (int h = 0; h < CGF_H_MAX; h++)
		if (progs[h] >= 0)
			close(progs[h]);
	return err ?: cgf_staged_follow(name);	/* its links after the policy's */
}

