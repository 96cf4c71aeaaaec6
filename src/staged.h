/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Staged versions (abi.h: Staging; docs/design.md: Staging). */
#ifndef CGF_STAGED_H
#define CGF_STAGED_H

#include <stdbool.h>
#include <stdint.h>

#include "compile.h"

/* A compiled policy made a staged version beside a version in force with
 * the hooks enforced (cgfence apply --stage). */
void cgf_staged_compile(struct cgf_compiled *c, uint32_t enforced);

/* Policy name's staged version, if it has one, on exactly the policy's
 * cgroups: attached where the policy went (after its links), gone where
 * the policy left. Under the lock. */
int cgf_staged_follow(const char *name);

/* dir: a policy's pin directory. Its staged version is pinned. */
bool cgf_staged_exists(const char *dir);

/* Whether the versions of the policy in dir hand their verdicts over (the
 * pin "listen", bpf/lib/stage.h): on from apply --stage until the staged
 * version is gone. A policy of a layout before 7 has none, and its versions
 * always do: 0. The second form writes the map fd. */
int cgf_staged_listen(const char *dir, bool on);
int cgf_staged_listen_fd(int fd, bool on);

#endif
