/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Containers that ask for a policy with the annotation cgfence.io/policy=NAME
 * share the policy's one instance on the host, NAME-oci (cmd_oci.c): through
 * the runtime's hook (oci-hook) or, where no hook ran, the daemon.
 */
#ifndef CGF_OCI_H
#define CGF_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANNOTATION "cgfence.io/policy"
#define DEFAULT_POLICY_DIR "/etc/cgfence/policies"

/* The instance the containers annotated with policy share: "POLICY-oci". */
void cgf_oci_instance(const char *policy, char *name, size_t len);

/* The cgroups a new version of instance name is for: abs first, then those
 * the instance is on that still exist (with containers_only, only those
 * whose name is a container's). *paths is malloc'd (cgf_strv_free). */
size_t cgf_instance_paths(const char *name, const char *abs, bool containers_only,
			  char ***paths);

/* The cgroup abs joins the instance of DIR/POLICY.yaml (loaded if it is not
 * in force yet). 0, or -errno with the error set. */
int cgf_oci_join(const char *dir, const char *policy, const char *abs);

/* Cgroup id cg leaves every oci-hook instance it is in; an instance goes
 * with its last cgroup. 0, or -errno (what failed was said on stderr). */
int cgf_oci_leave(uint64_t cg);

#endif
