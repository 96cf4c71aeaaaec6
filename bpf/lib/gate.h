/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Versions (abi.h): the policy's meta and active slot, the cgroups it is
 * attached to, one prog array per hook, and the gate every program starts with. */
#ifndef CGF_BPF_GATE_H
#define CGF_BPF_GATE_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_meta);
	__uint(max_entries, CGF_SLOTS);
} cgf_meta SEC(".maps");

/* The switch: the pinned one-entry array "active" (abi.h: Versions), read as
 * a global: one load from the address the verifier puts in the program, no
 * lookup. User space gives this section's map the pinned one's fd and
 * definition (array, 4-B key and value, 1 entry, no flags). */
__u32 cgf_active SEC(".data.active");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* costs what the cgroups attached cost */
	__type(key, __u64);
	__type(value, __u32);
	__uint(max_entries, CGF_CGROUPS_MAX);
} cgf_cgroups SEC(".maps");		/* user space: cgroup id -> bit per slot */

/* one prog array per hook: a prog array holds programs of one type */
#define SLOTS(hook)							\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);			\
		__uint(key_size, sizeof(__u32));			\
		__uint(value_size, sizeof(__u32));			\
		__uint(max_entries, CGF_SLOTS);				\
	} cgf_slot_##hook SEC(".maps")
#define X(E, n, a, f, by) SLOTS(n);
CGF_HOOKS(X)
#undef X

/*
 * First thing in every program: am I the deciding version? If not, the
 * active slot's program of this hook decides; with none (CGF_SLOT_OFF, or a
 * version without this hook) the hook allows, as if it were not attached.
 */
#define GATE(ctx, hook)							\
	do {								\
		__u32 act_ = *(volatile __u32 *)&cgf_active;		\
		if (act_ != cfg.slot) {					\
			bpf_tail_call(ctx, &cgf_slot_##hook, act_);	\
			return 1;					\
		}							\
	} while (0)

#endif
