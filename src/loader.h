/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The library's entry points: apply, attach, detach, list, settle, read
 * what is applied. The pins: pins.h; versions and settle: settle.h and
 * docs/design.md ("Versions").
 */
#ifndef CGF_LOADER_H
#define CGF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "cgfence/abi.h"
#include "compile.h"
#include "env.h"
#include "hook.h"
#include "pins.h"
#include "policy.h"

struct cgf_apply_opts {
	const char *cgroup;	/* absolute cgroup path ... */
	const char *const *cgroups;	/* ... or several (n_cgroups > 0) */
	size_t n_cgroups;
	uint32_t flags;		/* CGF_META_* */
	uint64_t digest;	/* of the policy file (the daemon's "unchanged") */
	int mode;		/* enum cgf_mode (policy mode or --audit) */
	const char *name;	/* overrides the policy's name (run) */
	const char *source;	/* file the policy came from */
	bool settled;		/* the caller ran cgf_gc under the lock already */
};

struct cgf_apply_result {
	bool replaced;		/* an earlier version was in force */
	uint64_t cgroup_id;
	uint32_t generation;
	uint32_t hooks;
};

/* Put a compiled policy in force on the cgroups of o, replacing the version
 * in force atomically (docs/design.md: Versions). */
int cgf_apply(const struct cgf_compiled *c, const struct cgf_apply_opts *o,
	      struct cgf_apply_result *res);

/* Load one version of a compiled policy into the kernel, nothing attached:
 * its maps filled, the shared ones reused from dir's pins (NULL: fresh);
 * replace[i] (pins.h: cgf_pin_replaceable) says which pinned maps of an
 * older layout it replaces, their entries copied (NULL: none). generation is
 * the version's (meta.generation): sockets judged by another are judged again.
 * The caller destroys *out (cgfence_bpf__destroy), also on failure. */
struct cgfence_bpf;
int cgf_version_load(const struct cgf_compiled *c, int mode, uint32_t slot, uint32_t generation,
		     const char *dir, bool *replace, struct cgfence_bpf **out);

/* Attach the version in force of policy name to more cgroups / drop one. */
int cgf_attach_cgroups(const char *name, const char *const *paths, size_t n);
int cgf_detach_cgroup(const char *name, uint64_t id);
/* The version in force of policy name (-ENOENT: none) and its cgroup ids. */
int cgf_policy_state(const char *name, struct cgf_meta *m, uint64_t **ids, size_t *n);

int cgf_detach(const char *name);
int cgf_detach_all(int *count);

struct cgf_applied_cg {
	uint64_t id;
	char path[512];		/* empty when the cgroup is gone */
	uint32_t hooks;
};

struct cgf_applied {
	char name[CGF_INSTANCE_MAX];
	struct cgf_meta meta;
	struct cgf_applied_cg *cgs;
	size_t n_cgs;
	uint64_t denied[CGF_H_MAX];
	uint64_t audit[CGF_H_MAX];
	struct cgf_backend_count {
		uint32_t entry, backend;
		uint64_t connections;
	} *backends;		/* network.redirect: non-zero counters */
	size_t n_backends;
};

/* What a policy's visibility needs: fds (-1 where absent), caller closes. */
struct cgf_vis {
	int events, pstats, acct;		/* pinned */
	int rule_hits, rule_info;		/* the version in force's */
	int learnt, name_pats;			/* to_names: pinned; the version in force's */
	uint32_t n_rule_slots;			/* entries of rule_hits / rule_info */
	uint32_t prog_id[CGF_H_MAX];		/* the version in force's programs, 0 none */
	struct cgf_meta meta;
};
int cgf_vis_open(const char *name, struct cgf_vis *v);
/* The sum over CPUs of a per-CPU map's u64 at key (0 when absent). */
uint64_t cgf_percpu_sum(int fd, uint32_t key);
void cgf_vis_close(struct cgf_vis *v);

/* Every applied policy, sorted by name; removes pins of removed cgroups first. */
int cgf_list(struct cgf_applied **out, size_t *n);
/* The same without taking the lock or cleaning up first (readers: metrics). */
int cgf_list_nogc(struct cgf_applied **out, size_t *n);
void cgf_applied_free(struct cgf_applied *a, size_t n);
/* The paths of a policy's cgroups that still exist (malloc'd array of
 * pointers into a, *n of them). */
const char **cgf_applied_paths(const struct cgf_applied *a, size_t *n);

/*
 * Bring every policy's pins in line with its version in force: finish or
 * undo an apply that was cut short, finish a detach, drop cgroups that are
 * gone, re-attach links detached or unpinned from outside.
 */
struct cgf_gc_stats {
	unsigned repaired;		/* links attached again */
	unsigned removed_cgroups, removed_policies;
	char last_repair[640];		/* the last link re-attached */
};
int cgf_gc(struct cgf_gc_stats *st);


#endif
