// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "hook.h"

const char *const cgf_hook_names[CGF_H_MAX] = {
#define X(E, n, a, f, by) [CGF_H_##E] = #n,
	CGF_HOOKS(X)
#undef X
};

const enum bpf_attach_type cgf_hook_attach[CGF_H_MAX] = {
#define X(E, n, a, f, by) [CGF_H_##E] = BPF_##a,
	CGF_HOOKS(X)
#undef X
};

static const uint32_t needed_by[CGF_H_MAX] = {
#define X(E, n, a, f, by) [CGF_H_##E] = (by),
	CGF_HOOKS(X)
#undef X
};

uint32_t cgf_hooks_for(uint32_t features)
{
	uint32_t hooks = 0;

	for (int h = 0; h < CGF_H_MAX; h++)
		if (needed_by[h] & features)
			hooks |= CGF_HOOK_BIT(h);
	return hooks;
}

int cgf_hook_by_name(const char *name)
{
	for (int h = 0; h < CGF_H_MAX; h++)
		if (!strcmp(cgf_hook_names[h], name))
			return h;
	return -1;
}
