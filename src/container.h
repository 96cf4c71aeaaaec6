/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding a container's cgroup: from an OCI bundle's linux.cgroupsPath
 * (systemd and cgroupfs drivers), or from a container id by the cgroup names
 * Docker, containerd, CRI-O and podman use.
 */
#ifndef CGF_CONTAINER_H
#define CGF_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * linux.cgroupsPath -> path relative to the cgroup2 mount. Two forms:
 *   systemd driver  "SLICE:PREFIX:NAME", e.g. "system.slice:docker:ID" ->
 *                   system.slice/docker-ID.scope, and a nested slice
 *                   "kubepods-besteffort-podU.slice:cri-containerd:ID" ->
 *                   kubepods.slice/kubepods-besteffort.slice/
 *                   kubepods-besteffort-podU.slice/cri-containerd-ID.scope
 *   cgroupfs driver "/docker/ID", "/kubepods/besteffort/podU/ID" (as is)
 * Returns 0 or -EINVAL with *why set.
 */
int cgf_oci_cgroup_path(const char *cgroups_path, char *rel, size_t len, const char **why);

/*
 * The container id a cgroup directory's name stands for: "docker-ID.scope",
 * "cri-containerd-ID.scope", "crio-ID.scope", "libpod-ID.scope" (systemd
 * driver), a bare 64-hex "ID" (cgroupfs driver) or "libpod-ID" (podman's
 * cgroupfs driver). conmon's scopes and other
 * names are not containers. Returns false for those.
 */
bool cgf_container_id_of(const char *basename, char *id, size_t len);
/* The container a cgroup path names (its last component), as JSON, or NULL. */
struct json_object *cgf_container_json(const char *path);

/* The cgroup of the container whose id is id or starts with it (at least 4
 * characters); -ENOENT for none, -EINVAL when several containers match. */
int cgf_container_cgroup(const char *id, char *abs, size_t len);

#endif
