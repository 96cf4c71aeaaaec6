/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Domain names of to_names rules: their syntax, the key the kernel's names
 * trie uses (abi.h: Names), pattern ids and matching. Pure user space.
 */
#ifndef CGF_NAMES_H
#define CGF_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgfence/abi.h"

#define CGF_NAME_TEXT_MAX 256	/* a name as text, with its NUL */

/*
 * A name or a pattern as a user writes it: "api.example.test", "*.cdn.test"
 * ("*." only in front, matching one or more leading labels), any case, an
 * optional final dot. Labels of 1-63 letters, digits, '-' or '_', at most
 * 253 characters. Writes the canonical form (lower case, no final dot) into
 * out; returns 0, or -EINVAL with *why and *col (0-based, where it went wrong).
 */
int cgf_name_parse(const char *s, bool pattern, char out[CGF_NAME_TEXT_MAX], const char **why,
		   size_t *col);

/* The names-trie key of a canonical name (exact: with the NUL) or of a
 * wildcard pattern's suffix ("*.example.test": "test.example.", no NUL). */
void cgf_name_key(const char *canon, struct cgf_name_key *k);

/* A pattern's id: the same for the same canonical text in every version (never 0). */
uint64_t cgf_name_id(const char *canon);

/* Does the canonical pattern match the canonical name? */
bool cgf_name_match(const char *pattern, const char *name);

/* A names-trie key back to the name it was made from ("" for none). */
void cgf_name_unkey(const struct cgf_name_key *k, char out[CGF_NAME_TEXT_MAX]);

#endif
