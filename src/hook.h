/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The hook registry (include/cgfence/hooks.h) as user-space tables. */
#ifndef CGF_HOOK_H
#define CGF_HOOK_H

#include <linux/bpf.h>
#include <stdint.h>

#include "cgfence/abi.h"

extern const char *const cgf_hook_names[CGF_H_MAX];
extern const enum bpf_attach_type cgf_hook_attach[CGF_H_MAX];

/* The hooks a policy with these features (CGF_F_*) attaches. */
uint32_t cgf_hooks_for(uint32_t features);

/* CGF_H_* of a hook name, or -1. */
int cgf_hook_by_name(const char *name);

#endif
