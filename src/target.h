/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which cgroups a policy's target names. Paths here are relative to the
 * cgroup2 mount, without a leading '/' ("system.slice/web.service").
 *
 *   cgroup: PATH        that cgroup; with a glob, every cgroup it matches:
 *                       '*', '?' and '[...]' within one path component,
 *                       '**' as a whole component for any number of
 *                       components: a trailing one for one or more
 *                       (everything below), one in the middle for zero
 *                       or more (a, '**', b matches a/b and a/x/y/b)
 *   unit: NAME.service  the cgroup named so (systemd puts a unit's cgroup
 *                       under its slice: system.slice/NAME.service)
 *   container: ID       the cgroup of the container whose id starts with ID
 *   pid: N              the cgroup process N is in (when it is looked up)
 */
#ifndef CGF_TARGET_H
#define CGF_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* Does the glob pattern match the path (both relative, '/'-separated)? */
bool cgf_glob_match(const char *pattern, const char *path);

/* Does the target name cgroups that come and go (a glob, unit, container)? */
bool cgf_target_dynamic(const struct cgf_policy *p);

/* Does the target match the cgroup at rel? (pid targets: never; resolve them.) */
bool cgf_target_matches(const struct cgf_policy *p, const char *rel);

/* Every existing cgroup the target names, as absolute paths, sorted. */
int cgf_target_resolve(const struct cgf_policy *p, char ***abs, size_t *n);
void cgf_strv_free(char **v, size_t n);

#endif
