/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A policy's pins as settle sees them: a small interface, so that the
 * settle state machine runs the same over bpffs (store_bpffs.c) and over a
 * store in memory (tests/unit/test_settle.c).
 */
#ifndef CGF_STORE_H
#define CGF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgfence/abi.h"

enum cgf_link_state {
	CGF_LINK_NONE = 0,	/* no link pinned for this (cgroup, hook) */
	CGF_LINK_DETACHED,	/* pinned, but detached from outside (bpftool link detach) */
	CGF_LINK_ATTACHED,
};

struct cgf_store_ops {
	/* the version state: the deciding slot (0, 1, CGF_SLOT_OFF; -errno: none),
	 * a slot's meta (-ENOENT: empty), and emptying one */
	int (*active)(void *s);
	int (*meta)(void *s, uint32_t slot, struct cgf_meta *m);
	void (*clear_meta)(void *s, uint32_t slot);
	/* switch the policy off (every hook allows), then remove every pin */
	int (*remove)(void *s);
	/* the cgroups with a cg-ID directory, and those the cgroups map records
	 * (each an array the caller frees) */
	size_t (*cgroup_dirs)(void *s, uint64_t **ids);
	size_t (*recorded)(void *s, uint64_t **ids);
	uint32_t (*slots_of)(void *s, uint64_t id);	/* bit per slot, from the map */
	void (*record)(void *s, uint64_t id, uint32_t slots);	/* 0: forget */
	bool (*cgroup_alive)(void *s, uint64_t id);
	void (*remove_cgroup)(void *s, uint64_t id);	/* its directory and links */
	/* links: state (and program id), update to / attach the slot's program, remove */
	enum cgf_link_state (*link)(void *s, uint64_t id, int h, uint32_t *prog_id);
	int (*link_update)(void *s, uint64_t id, int h, uint32_t slot);
	int (*link_attach)(void *s, uint64_t id, int h, uint32_t slot);
	void (*link_remove)(void *s, uint64_t id, int h);
	/* the hooks' prog arrays: a slot's program id (0: none), whether the hook
	 * has one pinned, emptying a slot, removing the array */
	uint32_t (*slot_prog)(void *s, int h, uint32_t slot);
	bool (*slot_pinned)(void *s, int h);
	void (*slot_clear)(void *s, int h, uint32_t slot);
	void (*slot_remove)(void *s, int h);
	/* empty a slot's big decision maps before its programs go (pins.c) */
	void (*drain)(void *s, uint32_t slot);
	/* a slot's own maps (rule texts, hits) and redirect state kept across versions */
	void (*drop_slot_maps)(void *s, uint32_t slot);
	void (*drop_redirect_state)(void *s);
	/* for messages: the policy's directory */
	const char *(*where)(void *s);
	/* the link a repair attached, for the daemon's log */
	void (*describe_link)(void *s, uint64_t id, int h, char *buf, size_t len);
};

struct cgf_store {
	const struct cgf_store_ops *ops;
	void *s;
};

#endif
