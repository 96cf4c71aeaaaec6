// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "yamltree.h"

/* Children are collected on a growable stack while a collection is open. */
struct frame {
	struct yt_node *node;
	struct yt_node **items;
	size_t n, cap;
};

struct loader {
	struct yt_doc *doc;
	struct frame stack[YT_MAX_DEPTH + 1];
	int depth;
	int ndocs;
};

static struct yt_node *new_node(struct loader *l, enum yt_type t, yaml_mark_t m)
{
	struct yt_node *n = arena_alloc(l->doc->arena, sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->type = t;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	return n;
}

static int add_child(struct loader *l, struct yt_node *n)
{
	struct frame *f;

	if (l->depth == 0) {
		l->doc->root = n;
		return 0;
	}
	f = &l->stack[l->depth - 1];
	GROW(f->items, f->cap, f->n + 1);
	f->items[f->n++] = n;
	return 0;
}

static int check_duplicates(struct loader *l, struct yt_node *map)
{
	/* Mappings in a policy are small; quadratic is fine up to a bound. */
	size_t i, j;

	for (i = 0; i < map->n; i++) {
		struct yt_node *ki = map->items[2 * i];

		if (ki->type != YT_SCALAR)
			return cgf_error_at(-EINVAL, l->doc->file, ki->line, ki->col,
					    "mapping keys must be plain scalars");
		for (j = 0; j < i && map->n <= 4096; j++) {
			struct yt_node *kj = map->items[2 * j];

			if (kj->len == ki->len && !memcmp(kj->str, ki->str, ki->len))
				return cgf_error_at(-EINVAL, l->doc->file, ki->line, ki->col,
						    "duplicate key '%s' (first at line %d)",
						    ki->str, kj->line);
		}
	}
	return 0;
}

static int open_collection(struct loader *l, enum yt_type t, yaml_mark_t m)
{
	struct yt_node *n;

	if (l->depth >= YT_MAX_DEPTH)
		return cgf_error_at(-EINVAL, l->doc->file, (int)m.line + 1, (int)m.column + 1,
				    "nesting deeper than %d levels", YT_MAX_DEPTH);
	n = new_node(l, t, m);
	add_child(l, n);
	l->stack[l->depth++] = (struct frame){ .node = n };
	return 0;
}

static int close_collection(struct loader *l)
{
	struct frame *f = &l->stack[--l->depth];
	struct yt_node *n = f->node;

	n->items = arena_alloc(l->doc->arena, (f->n ? f->n : 1) * sizeof(*n->items));
	if (f->n)
		memcpy(n->items, f->items, f->n * sizeof(*n->items));
	n->n = n->type == YT_MAP ? f->n / 2 : f->n;
	free(f->items);
	f->items = NULL;
	if (n->type == YT_MAP)
		return check_duplicates(l, n);
	return 0;
}

static int handle(struct loader *l, yaml_event_t *ev)
{
	struct yt_node *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->ndocs > 1)
			return cgf_error_at(-EINVAL, l->doc->file, (int)ev->start_mark.line + 1,
					    (int)ev->start_mark.column + 1,
					    "a policy file holds one YAML document");
		return 0;
	case YAML_ALIAS_EVENT:
		return cgf_error_at(-EINVAL, l->doc->file, (int)ev->start_mark.line + 1,
				    (int)ev->start_mark.column + 1,
				    "YAML aliases are not supported in policies");
	case YAML_SCALAR_EVENT:
		n = new_node(l, YT_SCALAR, ev->start_mark);
		if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
			return cgf_error_at(-EINVAL, l->doc->file, n->line, n->col,
					    "NUL byte in a value");
		n->str = arena_strndup(l->doc->arena, (const char *)ev->data.scalar.value,
				       ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return add_child(l, n);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(l, YT_SEQ, ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return open_collection(l, YT_MAP, ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(l);
	default:
		return 0;
	}
}

int yt_load_string(const char *name, const char *buf, size_t len, struct yt_doc *doc)
{
	struct loader l = { .doc = doc };
	yaml_parser_t parser;
	yaml_event_t ev;
	int err = 0;
	bool done = false;

	memset(doc, 0, sizeof(*doc));
	doc->arena = arena_new();
	doc->file = arena_strndup(doc->arena, name, strlen(name));
	if (memchr(buf, '\0', len)) {
		const char *z = memchr(buf, '\0', len);
		int line = 1, col = 1;

		for (const char *p = buf; p < z; p++, col++)
			if (*p == '\n')
				line++, col = 0;
		return cgf_error_at(-EINVAL, name, line, col, "NUL byte in the file");
	}
	if (!yaml_parser_initialize(&parser))
		return cgf_error(-ENOMEM, "yaml: cannot initialise the parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !err) {
		if (!yaml_parser_parse(&parser, &ev)) {
			err = cgf_error_at(-EINVAL, name, (int)parser.problem_mark.line + 1,
					   (int)parser.problem_mark.column + 1, "YAML: %s%s%s",
					   parser.problem ? parser.problem : "syntax error",
					   parser.context ? " " : "",
					   parser.context ? parser.context : "");
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		err = handle(&l, &ev);
		yaml_event_delete(&ev);
	}
	while (l.depth > 0)
		free(l.stack[--l.depth].items);
	yaml_parser_delete(&parser);
	return err;
}

int yt_load_file(const char *path, struct yt_doc *doc)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int err;

	err = read_file(path, &buf, &len);
	if (err) {
		memset(doc, 0, sizeof(*doc));
		return cgf_error(err, "%s: cannot read: %s", path, strerror(-err));
	}
	return yt_load_string(path, buf, len, doc);
}

void yt_free(struct yt_doc *doc)
{
	arena_free(doc->arena);
	memset(doc, 0, sizeof(*doc));
}

struct yt_node *yt_map_key(const struct yt_node *map, size_t i)
{
	return map->items[2 * i];
}

struct yt_node *yt_map_val(const struct yt_node *map, size_t i)
{
	return map->items[2 * i + 1];
}

const char *yt_type_name(enum yt_type t)
{
	switch (t) {
	case YT_SCALAR:
		return "a scalar";
	case YT_SEQ:
		return "a list";
	case YT_MAP:
		return "a mapping";
	}
	return "?";
}
