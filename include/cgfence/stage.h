/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Part of abi.h (included there): what a policy hands a staged version. */
#ifndef CGFENCE_STAGE_H
#define CGFENCE_STAGE_H

/*
 * Staging. A staged version is a policy instance of its own, pinned as
 * "NAME@staged", in audit mode, attached to NAME's cgroups after NAME's links
 * (so it runs right after them). While one listens (NAME's pinned one-entry
 * array "listen" holds 1: apply --stage sets it before attaching the staged
 * version, its removal clears it; layouts before 7 have none and always
 * write), every verdict program of a policy writes what it returned, and for
 * which call (the context's address), into the per-CPU "handoff" map
 * (pinned, kept across versions); the staged version uses NAME's map, reads
 * it for the same call and reports where it decides otherwise. One entry
 * for the hooks that run in a process's context, one each for egress and
 * ingress (which softirqs may run in between).
 */
struct cgf_handoff {
	__u64 ctx;          /* the call: its context's address */
	__u32 verdict;      /* what the version in force returned: 1 allow, 0 deny */
	__u32 seen;         /* the staged version's reading (CGF_HO_*) */
};
#define CGF_HANDOFF_ENTRIES 3
#define CGF_HO_DENIED 0
#define CGF_HO_ALLOWED 1
#define CGF_HO_UNKNOWN 2	/* another call's, or a packet not compared */
#define CGF_STAGED_SUFFIX "@staged"

#endif
