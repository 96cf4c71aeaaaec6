/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small document tree built from libyaml's event stream. Every node keeps
 * its line and column (1-based) for error messages. Nodes live in an arena,
 * so a policy with a million prefixes costs one allocation per megabyte.
 * Aliases, more than one document and nesting deeper than YT_MAX_DEPTH are
 * refused; duplicate keys in a mapping are an error.
 */
#ifndef CGF_YAMLTREE_H
#define CGF_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

enum yt_type { YT_SCALAR, YT_SEQ, YT_MAP };

#define YT_MAX_DEPTH 32

struct yt_node {
	enum yt_type type;
	int line, col;
	bool plain;		/* scalar written without quotes */
	const char *str;	/* scalar */
	size_t len;
	struct yt_node **items;	/* seq: n items; map: n pairs (key, value) */
	size_t n;
};

struct yt_doc {
	struct arena *arena;
	struct yt_node *root;	/* NULL for an empty document */
	const char *file;
};

/* Returns 0 or a negative errno with the error recorded (FILE:LINE:COL). */
int yt_load_file(const char *path, struct yt_doc *doc);
int yt_load_string(const char *name, const char *buf, size_t len, struct yt_doc *doc);
void yt_free(struct yt_doc *doc);

/* Mapping helpers. */
struct yt_node *yt_map_key(const struct yt_node *map, size_t i);
struct yt_node *yt_map_val(const struct yt_node *map, size_t i);
const char *yt_type_name(enum yt_type t);

#endif
