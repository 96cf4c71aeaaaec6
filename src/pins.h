/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pin layout (bpffs), with one owner: this file. One directory per policy:
 *
 *   CGF_PIN_ROOT/LAYOUT                  the newest pin layout present (layout.h)
 *   CGF_PIN_ROOT/NAME/meta               array map: struct cgf_meta per slot
 *   CGF_PIN_ROOT/NAME/active             the deciding slot (abi.h: Versions)
 *   CGF_PIN_ROOT/NAME/slot-HOOK          prog array: the hook's program per slot
 *   CGF_PIN_ROOT/NAME/cgroups            cgroup id -> slots it belongs to
 *   CGF_PIN_ROOT/NAME/rules-S, hits-S    the rule texts and hit counts of slot S
 *   CGF_PIN_ROOT/NAME/stats, pstats, events, acct, ratelimit, revnat,
 *                     backend_hits, rr   state kept across versions
 *   CGF_PIN_ROOT/NAME/cg-ID/HOOK         one bpf_link per hook and cgroup
 */
#ifndef CGF_PINS_H
#define CGF_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgfence/abi.h"

#define CGF_PIN_ROOT "/sys/fs/bpf/cgfence"
#define CGF_PATH_LEN 640

void cgf_pin_policy_dir(const char *name, char *buf, size_t len);
/* A staged version's directory or name (NAME@staged) gives its policy's (NAME);
 * any other is itself. buf: at least CGF_PATH_LEN. */
const char *cgf_pin_staged_of(const char *dir, char *buf, size_t len);
/* buf = name's staged version (NAME@staged, CGF_INSTANCE_MAX); true when it is pinned */
bool cgf_pin_staged_name(const char *name, char *buf, size_t len);
/* name (a directory's last part) is a staged version's: NAME@staged */
bool cgf_pin_is_staged(const char *name);
void cgf_pin_cgroup_dir(const char *dir, uint64_t id, char *buf, size_t len);
/* A directory entry "cg-ID" of a policy directory: its cgroup id. */
bool cgf_pin_parse_cgroup(const char *entry, uint64_t *id);
const char *cgf_pin_slot_name(int h, char *buf, size_t len);

/* An fd of the object pinned at dir/name, or -1 (errno set). */
int cgf_pin_get(const char *dir, const char *name);
int cgf_pin_remove_tree(const char *path);
/* The hooks with a link pinned in a cg-ID directory. */
uint32_t cgf_pin_hooks_in(const char *cgdir);
/* Attach prog_fd to the cgroup for hook h and pin the link at path. */
int cgf_pin_link_attach(int prog_fd, int cgfd, int h, const char *path);

/* fn for every policy directory / every cg-ID directory of one; the last
 * error of fn is returned, every one is visited. */
int cgf_pins_for_each_policy(int (*fn)(const char *dir, const char *name, void *arg), void *arg);
int cgf_pins_for_each_cgroup(const char *dir,
			     int (*fn)(const char *cgdir, uint64_t id, void *arg), void *arg);
/* The ids of the cg-ID directories of a policy (an array the caller frees). */
size_t cgf_pin_cgroup_ids(const char *dir, uint64_t **ids);

/* The version state: the deciding slot (0, 1 or CGF_SLOT_OFF; -errno with
 * none), a slot's meta (-ENOENT when empty), the meta in force. */
int cgf_pin_active(const char *dir);
int cgf_pin_set_active(int active_fd, uint32_t slot);
int cgf_pin_meta_slot(const char *dir, uint32_t slot, struct cgf_meta *m);
int cgf_pin_meta(const char *dir, struct cgf_meta *m);
/* The program of hook h in a slot: an fd, and its id in *id. */
int cgf_pin_slot_prog(const char *dir, int h, uint32_t slot, uint32_t *id);
/*
 * Maps kept across versions whose definition a newer pin layout may change
 * (layout 2: no preallocation). An apply that finds one pinned with another
 * definition creates it anew, copies what it holds, pins it as NAME-next and
 * switches; settle then puts NAME-next in NAME's place if the version in
 * force uses it, or drops it if the switch never came.
 */
extern const char *const cgf_pin_replaceable[6];
void cgf_pin_promote_next(const char *dir);

/* Entries of accounting and rate limit whose cgroup is gone: deleted (the
 * maps are not LRU: what goes must be taken out). */
void cgf_pin_prune_gone(const char *dir);

/* Empty the big per-version maps (tries) of slot's programs, an entry at a
 * time, so that freeing them holds no CPU long. Only for a slot not deciding. */
void cgf_pin_drain_slot(const char *dir, uint32_t slot);

/* to_names: the version in force's copy of learnt addresses in its egress
 * tries (abi.h: Names). Counts its entries into *held; with sweep, first
 * removes those whose address the learnt table does not hold alive (expired,
 * or evicted). Returns the entries removed, or -errno. */
int cgf_pin_names_copy(const char *dir, bool sweep, size_t *held);

/* The slots (a bit each) a cgroup belongs to, from the cgroups map. */
int cgf_pin_cgroup_slots(int cgroups_fd, uint64_t id);

#endif
