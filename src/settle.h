/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_SETTLE_H
#define CGF_SETTLE_H

#include "loader.h"

/*
 * Make the pins of the policy in dir say exactly what its version in force
 * says: finish an apply, undo one that failed or was killed before its
 * switch, finish a detach, drop cgroups that are gone, re-attach links that
 * were detached or unpinned from outside. Idempotent; needs the lock.
 */
int cgf_settle(const char *dir, struct cgf_gc_stats *st);

/* The same over any store of a policy's pins (store.h). */
struct cgf_store;
int cgf_settle_store(const struct cgf_store *st, struct cgf_gc_stats *gs);

/* The store of the policy in dir, on bpffs (store_bpffs.c). */
void cgf_store_bpffs_open(struct cgf_store *st, const char *dir);
void cgf_store_bpffs_close(struct cgf_store *st);

/* Take a policy out of force at once (every hook allows), then remove its pins. */
int cgf_policy_remove(const char *dir);
/* Remove policy name's staged version (NAME@staged), if it has one. */
int cgf_staged_remove(const char *name);

/* Tests: the fault point in the middle of a settle (NULL: none). */
extern const char *cgf_settle_stage;

#endif
