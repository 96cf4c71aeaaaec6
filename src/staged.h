/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Staged versions (abi.h: Staging; docs/design.md: Staging). */
#ifndef CGF_STAGED_H
#define CGF_STAGED_H

#include <stdint.h>

#include "compile.h"

/* A compiled policy made a staged version beside a version in force with
 * the hooks enforced (cgfence apply --stage). */
void cgf_staged_compile(struct cgf_compiled *c, uint32_t enforced);

/* Policy name's staged version, if it has one, on exactly the policy's
 * cgroups: attached where the policy went (after its links), gone where
 * the policy left. Under the lock. */
int cgf_staged_follow(const char *name);

#endif
