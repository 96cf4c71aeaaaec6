// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The settle state machine (settle.c) against a pin store in memory: every
 * state an apply, a detach or an outside hand can leave, and what settle
 * makes of it. The same code runs over bpffs in cgfence (store_bpffs.c); the
 * kernel tests (t_crash.sh, t_daemon.sh) check that side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hook.h"
#include "layout.h"
#include "settle.h"
#include "store.h"
#include "util.h"

#define MAXCG 8

struct fake {
	int active;			/* slot, CGF_SLOT_OFF, or -ENOENT */
	struct cgf_meta meta[CGF_SLOTS];
	bool removed;			/* remove() was called */
	struct {
		uint64_t id;
		bool dir, alive;
		uint32_t slots;		/* in the cgroups map; 0: no entry */
		enum cgf_link_state link[CGF_H_MAX];
		uint32_t prog[CGF_H_MAX];
	} cg[MAXCG];
	uint32_t slot_prog[CGF_H_MAX][CGF_SLOTS];
	bool slot_pinned[CGF_H_MAX];
	bool slot_maps[CGF_SLOTS];
	int drained;			/* the slot drained last, -1 none */
	bool redirect_state;
	unsigned attaches, updates;
};

static struct fake *F(void *s)
{
	return s;
}

static int find(struct fake *f, uint64_t id)
{
	for (int i = 0; i < MAXCG; i++)
		if (f->cg[i].id == id)
			return i;
	fail_msg("no cgroup %llu", (unsigned long long)id);
	return -1;
}

static int f_active(void *s)
{
	return F(s)->active;
}

static int f_meta(void *s, uint32_t slot, struct cgf_meta *m)
{
	*m = F(s)->meta[slot];
	return m->magic == CGF_META_MAGIC ? 0 : -ENOENT;
}

static void f_clear_meta(void *s, uint32_t slot)
{
	memset(&F(s)->meta[slot], 0, sizeof(F(s)->meta[slot]));
}

static int f_remove(void *s)
{
	struct fake *f = s;

	f->removed = true;
	f->active = -ENOENT;
	memset(f->cg, 0, sizeof(f->cg));
	return 0;
}

static size_t list(struct fake *f, uint64_t **ids, bool dirs)
{
	size_t n = 0;

	*ids = xcalloc(MAXCG, sizeof(**ids));
	for (int i = 0; i < MAXCG; i++)
		if (f->cg[i].id && (dirs ? f->cg[i].dir : f->cg[i].slots != 0))
			(*ids)[n++] = f->cg[i].id;
	return n;
}

static size_t f_cgroup_dirs(void *s, uint64_t **ids)
{
	return list(s, ids, true);
}

static size_t f_recorded(void *s, uint64_t **ids)
{
	return list(s, ids, false);
}

static uint32_t f_slots_of(void *s, uint64_t id)
{
	return F(s)->cg[find(s, id)].slots;
}

static void f_record(void *s, uint64_t id, uint32_t slots)
{
	F(s)->cg[find(s, id)].slots = slots;
}

static bool f_cgroup_alive(void *s, uint64_t id)
{
	return F(s)->cg[find(s, id)].alive;
}

static void f_remove_cgroup(void *s, uint64_t id)
{
	int i = find(s, id);

	F(s)->cg[i].dir = false;
	memset(F(s)->cg[i].link, 0, sizeof(F(s)->cg[i].link));
	memset(F(s)->cg[i].prog, 0, sizeof(F(s)->cg[i].prog));
}

static enum cgf_link_state f_link(void *s, uint64_t id, int h, uint32_t *prog)
{
	int i = find(s, id);

	*prog = F(s)->cg[i].prog[h];
	return F(s)->cg[i].link[h];
}

static int f_link_update(void *s, uint64_t id, int h, uint32_t slot)
{
	struct fake *f = s;

	f->cg[find(f, id)].prog[h] = f->slot_prog[h][slot];
	f->updates++;
	return 0;
}

static int f_link_attach(void *s, uint64_t id, int h, uint32_t slot)
{
	struct fake *f = s;
	int i = find(f, id);

	assert_int_equal(f->cg[i].link[h], CGF_LINK_NONE);	/* a pin is never overwritten */
	f->cg[i].link[h] = CGF_LINK_ATTACHED;
	f->cg[i].prog[h] = f->slot_prog[h][slot];
	f->attaches++;
	return 0;
}

static void f_link_remove(void *s, uint64_t id, int h)
{
	int i = find(s, id);

	F(s)->cg[i].link[h] = CGF_LINK_NONE;
	F(s)->cg[i].prog[h] = 0;
}

static uint32_t f_slot_prog(void *s, int h, uint32_t slot)
{
	return F(s)->slot_prog[h][slot];
}

static bool f_slot_pinned(void *s, int h)
{
	return F(s)->slot_pinned[h];
}

static void f_slot_clear(void *s, int h, uint32_t slot)
{
	F(s)->slot_prog[h][slot] = 0;
}

static void f_slot_remove(void *s, int h)
{
	F(s)->slot_pinned[h] = false;
}

static void f_drain(void *s, uint32_t slot)
{
	struct fake *f = s;

	/* only a slot that does not decide, and while its programs are still there */
	assert_int_not_equal(slot, (uint32_t)f->active);
	f->drained = (int)slot;
}

static void f_drop_slot_maps(void *s, uint32_t slot)
{
	F(s)->slot_maps[slot] = false;
}

static void f_drop_redirect_state(void *s)
{
	F(s)->redirect_state = false;
}

static const char *f_where(void *s)
{
	(void)s;
	return "fake";
}

static void f_describe_link(void *s, uint64_t id, int h, char *buf, size_t len)
{
	(void)s;
	snprintf(buf, len, "cg-%llu/%s", (unsigned long long)id, cgf_hook_names[h]);
}

static const struct cgf_store_ops fake_ops = {
	.active = f_active, .meta = f_meta, .clear_meta = f_clear_meta, .remove = f_remove,
	.cgroup_dirs = f_cgroup_dirs, .recorded = f_recorded, .slots_of = f_slots_of,
	.record = f_record, .cgroup_alive = f_cgroup_alive, .remove_cgroup = f_remove_cgroup,
	.link = f_link, .link_update = f_link_update, .link_attach = f_link_attach,
	.link_remove = f_link_remove, .slot_prog = f_slot_prog, .slot_pinned = f_slot_pinned,
	.slot_clear = f_slot_clear, .slot_remove = f_slot_remove, .drain = f_drain,
	.drop_slot_maps = f_drop_slot_maps, .drop_redirect_state = f_drop_redirect_state,
	.where = f_where, .describe_link = f_describe_link,
};

#define C4 CGF_H_CONNECT4
#define B4 CGF_H_BIND4
#define SC CGF_H_SOCK_CREATE
#define BIT(h) CGF_HOOK_BIT(h)

static void version(struct fake *f, uint32_t slot, uint32_t hooks, uint32_t flags, uint32_t prog0)
{
	f->meta[slot] = (struct cgf_meta){ .magic = CGF_META_MAGIC, .hooks = hooks,
					   .flags = flags | cgf_meta_layout_flags(CGF_LAYOUT) };
	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & BIT(h)) {
			f->slot_prog[h][slot] = prog0 + (uint32_t)h;
			f->slot_pinned[h] = true;
		}
	f->slot_maps[slot] = true;
}

/* cgroup id, in slots, with a link to slot's program for each hook */
static void cgroup(struct fake *f, int i, uint64_t id, uint32_t slots, uint32_t hooks, uint32_t slot)
{
	f->cg[i].id = id;
	f->cg[i].dir = f->cg[i].alive = true;
	f->cg[i].slots = slots;
	for (int h = 0; h < CGF_H_MAX; h++)
		if (hooks & BIT(h)) {
			f->cg[i].link[h] = CGF_LINK_ATTACHED;
			f->cg[i].prog[h] = f->slot_prog[h][slot];
		}
}

static int settle(struct fake *f, struct cgf_gc_stats *gs)
{
	struct cgf_store st = { .ops = &fake_ops, .s = f };

	if (gs)
		memset(gs, 0, sizeof(*gs));
	return cgf_settle_store(&st, gs);
}

static void test_no_version_removes(void **state)
{
	struct fake f = { .active = -ENOENT };
	struct cgf_gc_stats gs;

	(void)state;
	assert_int_equal(settle(&f, &gs), 0);
	assert_true(f.removed);
	assert_int_equal(gs.removed_policies, 1);
	/* "off" (a detach cut short) and a slot without meta alike */
	f = (struct fake){ .active = CGF_SLOT_OFF };
	assert_int_equal(settle(&f, NULL), 0);
	assert_true(f.removed);
	f = (struct fake){ .active = 1 };
	version(&f, 0, BIT(C4), 0, 10);
	assert_int_equal(settle(&f, NULL), 0);
	assert_true(f.removed);
}

static void test_newer_layout_untouched(void **state)
{
	struct fake f = { .active = 0 }, before;

	(void)state;
	version(&f, 0, BIT(C4), 0, 10);
	f.meta[0].flags = cgf_meta_layout_flags(CGF_LAYOUT + 1);
	cgroup(&f, 0, 7, 1, BIT(C4) | BIT(SC), 0);	/* SC: not the version's, yet kept */
	before = f;
	cgf_clear_error();
	assert_int_equal(settle(&f, NULL), -EPROTO);
	assert_memory_equal(&f, &before, sizeof(f));
	assert_non_null(strstr(cgf_last_error(), "newer cgfence"));
}

/* after the switch: v2 (slot 1: connect4, bind4) replaced v1 (slot 0: connect4, sock_create) */
static void test_finish_after_switch(void **state)
{
	struct fake f = { .active = 1, .redirect_state = true, .drained = -1 };
	struct cgf_gc_stats gs;

	(void)state;
	version(&f, 0, BIT(C4) | BIT(SC), 0, 10);
	version(&f, 1, BIT(C4) | BIT(B4), 0, 100);
	cgroup(&f, 0, 7, 1 | 2, BIT(C4) | BIT(SC), 0);
	f.cg[0].link[B4] = CGF_LINK_ATTACHED;	/* attached before the switch */
	f.cg[0].prog[B4] = f.slot_prog[B4][1];
	assert_int_equal(settle(&f, &gs), 0);
	assert_false(f.removed);
	assert_int_equal(f.cg[0].prog[C4], 100 + C4);		/* updated in place */
	assert_int_equal(f.cg[0].link[SC], CGF_LINK_NONE);	/* the new version lacks it */
	assert_int_equal(f.cg[0].prog[B4], 100 + B4);
	assert_int_equal(f.cg[0].slots, 2);
	assert_int_equal(f.updates, 1);
	assert_int_equal(f.attaches, 0);
	assert_int_equal(f.slot_prog[C4][0], 0);		/* the old slot emptied */
	assert_int_equal(f.drained, 0);				/* and drained first */
	assert_false(f.slot_pinned[SC]);			/* its prog array gone */
	assert_true(f.slot_pinned[C4]);
	assert_false(f.slot_maps[0]);
	assert_true(f.slot_maps[1]);
	assert_int_equal(f.meta[0].magic, 0);
	assert_false(f.redirect_state);				/* no redirect in force */
	assert_int_equal(gs.repaired, 0);
}

/* killed before the switch: v1 (slot 0) in force, v2 half there in slot 1 */
static void test_undo_before_switch(void **state)
{
	struct fake f = { .active = 0 };
	struct cgf_gc_stats gs;

	(void)state;
	version(&f, 0, BIT(C4), 0, 10);
	version(&f, 1, BIT(C4) | BIT(B4), 0, 100);
	cgroup(&f, 0, 7, 1 | 2, BIT(C4), 0);
	f.cg[0].link[B4] = CGF_LINK_ATTACHED;	/* v2's link, deferring to v1 */
	f.cg[0].prog[B4] = 100 + B4;
	cgroup(&f, 1, 8, 2, BIT(C4) | BIT(B4), 1);	/* a cgroup only v2 named */
	assert_int_equal(settle(&f, &gs), 0);
	assert_int_equal(f.cg[0].prog[C4], 10 + C4);
	assert_int_equal(f.cg[0].link[B4], CGF_LINK_NONE);
	assert_int_equal(f.cg[0].slots, 1);
	assert_false(f.cg[1].dir);				/* v2's cgroup removed */
	assert_int_equal(f.cg[1].slots, 0);
	assert_int_equal(gs.removed_cgroups, 1);
	assert_int_equal(f.slot_prog[C4][1], 0);
	assert_false(f.slot_pinned[B4]);
	assert_false(f.slot_maps[1]);
}

static void test_gone_cgroups(void **state)
{
	struct fake f = { .active = 0 };
	struct cgf_gc_stats gs;

	(void)state;
	version(&f, 0, BIT(C4), 0, 10);
	cgroup(&f, 0, 7, 1, BIT(C4), 0);
	cgroup(&f, 1, 9, 1, BIT(C4), 0);
	f.cg[1].alive = false;
	f.cg[2].id = 11;			/* in the map, no directory */
	f.cg[2].slots = 1;
	assert_int_equal(settle(&f, &gs), 0);
	assert_false(f.removed);
	assert_false(f.cg[1].dir);
	assert_int_equal(f.cg[1].slots, 0);
	assert_int_equal(f.cg[2].slots, 0);	/* forgotten */
	assert_int_equal(gs.removed_cgroups, 1);
	/* the last one goes: so does the policy, unless it is kept for a pattern */
	f.cg[0].alive = false;
	assert_int_equal(settle(&f, &gs), 0);
	assert_true(f.removed);
	assert_int_equal(gs.removed_policies, 1);
	f = (struct fake){ .active = 0 };
	version(&f, 0, BIT(C4), CGF_META_KEEP, 10);
	assert_int_equal(settle(&f, &gs), 0);
	assert_false(f.removed);
}

static void test_repairs(void **state)
{
	struct fake f = { .active = 0 };
	struct cgf_gc_stats gs;

	(void)state;
	version(&f, 0, BIT(C4) | BIT(B4), 0, 10);
	cgroup(&f, 0, 7, 1, BIT(C4) | BIT(B4), 0);
	f.cg[0].link[C4] = CGF_LINK_DETACHED;	/* bpftool link detach */
	f.cg[0].link[B4] = CGF_LINK_NONE;	/* its pin removed */
	f.cg[0].prog[B4] = 0;
	assert_int_equal(settle(&f, &gs), 0);
	assert_int_equal(f.cg[0].link[C4], CGF_LINK_ATTACHED);
	assert_int_equal(f.cg[0].link[B4], CGF_LINK_ATTACHED);
	assert_int_equal(f.cg[0].prog[B4], 10 + B4);
	assert_int_equal(gs.repaired, 2);
	assert_string_equal(gs.last_repair, "cg-7/bind4");
}

static void test_idempotent(void **state)
{
	struct fake f = { .active = 1, .redirect_state = true }, once;
	struct cgf_gc_stats gs;

	(void)state;
	version(&f, 0, BIT(C4) | BIT(SC), 0, 10);
	version(&f, 1, BIT(C4) | CGF_REDIRECT_ONLY_HOOKS, 0, 100);
	cgroup(&f, 0, 7, 3, BIT(C4) | BIT(SC), 0);
	cgroup(&f, 1, 8, 2, BIT(C4), 1);
	assert_int_equal(settle(&f, &gs), 0);
	assert_true(f.redirect_state);		/* redirect in force: its state stays */
	assert_int_equal(gs.repaired, 8);	/* the four reverse-translation hooks of 7 and 8 */
	once = f;
	once.attaches = once.updates = 0;
	f.attaches = f.updates = 0;
	assert_int_equal(settle(&f, &gs), 0);
	assert_memory_equal(&f, &once, sizeof(f));
	assert_int_equal(gs.repaired, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_version_removes),
		cmocka_unit_test(test_newer_layout_untouched),
		cmocka_unit_test(test_finish_after_switch),
		cmocka_unit_test(test_undo_before_switch),
		cmocka_unit_test(test_gone_cgroups),
		cmocka_unit_test(test_repairs),
		cmocka_unit_test(test_idempotent),
	};

	return cmocka_run_group_tests_name("settle", tests, NULL, NULL);
}
