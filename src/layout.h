/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pin layout's version (abi.h: CGF_LAYOUT). The pin root holds a
 * one-entry array map "LAYOUT" with the newest layout whose pins are there;
 * absent, the pins are of layout 1 (or there are none). A cgfence refuses to
 * touch pins of a layout newer than its own, and records its own when it
 * writes a version. Each version's meta says which layout wrote it.
 */
#ifndef CGF_LAYOUT_H
#define CGF_LAYOUT_H

#include <stdint.h>

#include "cgfence/abi.h"

/* The layout that wrote a version. */
static inline uint32_t cgf_meta_layout(const struct cgf_meta *m)
{
	uint32_t l = (m->flags & CGF_META_LAYOUT_MASK) >> CGF_META_LAYOUT_SHIFT;

	return l ? l : 1;
}

static inline uint32_t cgf_meta_layout_flags(uint32_t layout)
{
	return layout << CGF_META_LAYOUT_SHIFT;
}

/* The newest layout present under root (1 when unmarked), or -errno. */
int cgf_layout_present(const char *root, uint32_t *layout);

/* 0 when this cgfence may read and change the pins under root; otherwise
 * -EPROTO with a message that names both layouts and what to do. */
int cgf_layout_check(const char *root);

/* Under the lock, before a version of this layout is written: mark root. */
int cgf_layout_claim(const char *root);

/* Under the lock: drop the mark when root holds no policy any more. */
void cgf_layout_release_if_empty(const char *root);

#endif
