// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which cgroups a target names: globs with '**', units, container ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"
#include "target.h"

#define M(pat, path) assert_true(cgf_glob_match(pat, path))
#define N(pat, path) assert_false(cgf_glob_match(pat, path))

static void test_glob_components(void **state)
{
	(void)state;
	M("system.slice/docker-*.scope", "system.slice/docker-abc.scope");
	N("system.slice/docker-*.scope", "system.slice/docker-abc.scope/init");
	N("system.slice/docker-*.scope", "system.slice/x/docker-abc.scope");
	N("system.slice/docker-*.scope", "user.slice/docker-abc.scope");
	M("a/b?/[cd]", "a/b1/d");
	N("a/b?/[cd]", "a/b12/d");
	N("a/*", "a");			/* '*' is one whole component */
	M("/a/b/", "a/b");		/* leading and trailing slashes do not matter */
	N("a/*", "a/.hidden");		/* a leading dot is matched only by a dot */
}

static void test_glob_double_star(void **state)
{
	(void)state;
	M("kubepods.slice/**", "kubepods.slice/kubepods-besteffort.slice");
	M("kubepods.slice/**", "kubepods.slice/a/b/c");
	N("kubepods.slice/**", "kubepods.slice");	/* trailing: below it only */
	N("kubepods.slice/**", "system.slice/a");
	M("a/**/x.scope", "a/x.scope");			/* middle: zero or more */
	M("a/**/x.scope", "a/b/c/x.scope");
	N("a/**/x.scope", "a/b/c/y.scope");
	M("**/cri-containerd-*.scope", "kubepods.slice/p.slice/cri-containerd-1.scope");
	M("**", "anything/at/all");
	N("**", "");
}

static struct cgf_policy *target(int kind, const char *s)
{
	static struct cgf_policy p;

	memset(&p, 0, sizeof(p));
	p.target_kind = kind;
	p.target_cgroup = (char *)s;
	return &p;
}

static void test_target_kinds(void **state)
{
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char scope[128];

	(void)state;
	assert_true(cgf_target_matches(target(CGF_TARGET_UNIT, "web.service"),
				       "system.slice/web.service"));
	assert_true(cgf_target_matches(target(CGF_TARGET_UNIT, "web.service"),
				       "custom.slice/web.service"));
	assert_false(cgf_target_matches(target(CGF_TARGET_UNIT, "web.service"),
					"system.slice/web.service/child"));
	assert_false(cgf_target_matches(target(CGF_TARGET_UNIT, "web.service"),
					"system.slice/xweb.service"));
	snprintf(scope, sizeof(scope), "system.slice/docker-%s.scope", id);
	assert_true(cgf_target_matches(target(CGF_TARGET_CONTAINER, "0123456789ab"), scope));
	assert_false(cgf_target_matches(target(CGF_TARGET_CONTAINER, "0123456789ac"), scope));
	assert_true(cgf_target_matches(target(CGF_TARGET_CGROUP, "system.slice/docker-*.scope"),
				       scope));
	assert_true(cgf_target_matches(target(CGF_TARGET_CGROUP, "/a/b"), "a/b"));
	assert_false(cgf_target_matches(target(CGF_TARGET_CGROUP, "a/b"), "a/b/c"));
	assert_true(cgf_target_dynamic(target(CGF_TARGET_CGROUP, "a/*")));
	assert_false(cgf_target_dynamic(target(CGF_TARGET_CGROUP, "a/b")));
	assert_true(cgf_target_dynamic(target(CGF_TARGET_UNIT, "a.service")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_components),
		cmocka_unit_test(test_glob_double_star),
		cmocka_unit_test(test_target_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
