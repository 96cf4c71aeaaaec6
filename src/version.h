/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One version's skeleton (version.c), for the apply that attaches and
 * switches it (apply.c). Loading one: loader.h, cgf_version_load. */
#ifndef CGF_VERSION_H
#define CGF_VERSION_H

#include <stdbool.h>

#include "compile.h"

struct cgfence_bpf;
struct bpf_program;
struct bpf_map;

/* The skeleton's program and slot map of hook h (the registry names both). */
struct bpf_program *cgf_version_prog(struct cgfence_bpf *s, int h);
struct bpf_map *cgf_version_slots(struct cgfence_bpf *s, int h);

/* Pin what the version shares with the next ones where not pinned yet
 * (replace: the maps it replaces, pinned as NAME-next); "active" last. */
int cgf_version_pin_shared(struct cgfence_bpf *s, const char *dir, const struct cgf_compiled *c,
			   const bool *replace);

#endif
