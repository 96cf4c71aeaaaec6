// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The hook registry (include/cgfence/hooks.h) against the BPF object: every
 * hook's program exists as cgf_<name> with the registry's attach type, its
 * slot map exists, and no program of the object is missing from the
 * registry. Opening a skeleton reads the ELF only: no root needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/libbpf.h>

#include "cgfence/abi.h"
#include "cgfence.skel.h"
#include "hook.h"

static void test_programs_match_the_registry(void **state)
{
	struct cgfence_bpf *s = cgfence_bpf__open();
	struct bpf_program *prog;
	unsigned n = 0;

	(void)state;
	assert_non_null(s);
	for (int h = 0; h < CGF_H_MAX; h++) {
		char want[64], map[64];

		snprintf(want, sizeof(want), "cgf_%s", cgf_hook_names[h]);
		prog = bpf_object__find_program_by_name(s->obj, want);
		if (!prog)
			fail_msg("hook %s: no program %s", cgf_hook_names[h], want);
		if (bpf_program__expected_attach_type(prog) != cgf_hook_attach[h])
			fail_msg("hook %s: the program attaches as %d, the registry says %d",
				 cgf_hook_names[h], bpf_program__expected_attach_type(prog),
				 cgf_hook_attach[h]);
		snprintf(map, sizeof(map), "cgf_slot_%s", cgf_hook_names[h]);
		if (!bpf_object__find_map_by_name(s->obj, map))
			fail_msg("hook %s: no slot map %s", cgf_hook_names[h], map);
		assert_int_equal(cgf_hook_by_name(cgf_hook_names[h]), h);
	}
	bpf_object__for_each_program(prog, s->obj) {
		const char *name = bpf_program__name(prog);

		if (strncmp(name, "cgf_", 4) || cgf_hook_by_name(name + 4) < 0)
			fail_msg("program %s is not in the hook registry", name);
		n++;
	}
	assert_int_equal(n, CGF_H_MAX);
	cgfence_bpf__destroy(s);
}

static void test_features_need_hooks(void **state)
{
	(void)state;
	/* every feature attaches at least one hook, and every hook serves one */
	for (uint32_t f = 1; f <= CGF_F_STATE; f <<= 1)
		if (!cgf_hooks_for(f))
			fail_msg("feature 0x%x attaches no hook", f);
	assert_int_equal(cgf_hooks_for(~0u), (1u << CGF_H_MAX) - 1);
	assert_int_equal(cgf_hooks_for(CGF_F_BIND), CGF_HOOK_BIT(CGF_H_BIND4) |
						    CGF_HOOK_BIT(CGF_H_BIND6) |
						    CGF_HOOK_BIT(CGF_H_POST_BIND4) |
						    CGF_HOOK_BIT(CGF_H_POST_BIND6));
	/* connections: both packet hooks */
	assert_int_equal(cgf_hooks_for(CGF_F_STATE), CGF_HOOK_BIT(CGF_H_EGRESS) |
						     CGF_HOOK_BIT(CGF_H_INGRESS));
	assert_int_equal(cgf_hook_by_name("no-such-hook"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_programs_match_the_registry),
		cmocka_unit_test(test_features_need_hooks),
	};

	return cmocka_run_group_tests_name("hooks", tests, NULL, NULL);
}
