// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "compile.h"
#include "names.h"
#include "util.h"

enum { ITEM_ROOT = 0, ITEM_TO = 1, ITEM_EXCEPT = 2 };

struct item {
	struct cgf_prefix pf;
	uint32_t rule;
	uint8_t kind;
};

/* A rule's state at a node: its longest matching prefix, or excluded. */
struct cand {
	uint32_t rule;
	int16_t matchlen;
	uint8_t excluded;
};

struct frame {
	struct cgf_prefix pf;
	struct cand *c;
	size_t n;
	struct cgf_addr_val val;
};

/* Interned candidate sets: (rule, matchlen) lists -> node value. */
struct klass {
	uint64_t hash;
	struct cand *c;
	size_t n;
	struct cgf_addr_val val;
};

struct ctx {
	const struct cgf_policy *p;
	struct cgf_compiled *out;
	int dir;
	struct klass *tab;
	size_t tab_cap, tab_n;
	struct cand *scratch;
	size_t scratch_cap;
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int r = memcmp(x->pf.addr, y->pf.addr, 16);

	if (r)
		return r;
	if (x->pf.len != y->pf.len)
		return x->pf.len < y->pf.len ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static bool same_prefix(const struct cgf_prefix *a, const struct cgf_prefix *b)
{
	return a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

int cgf_range_prefixes(uint32_t lo, uint32_t hi, uint16_t start[32], uint8_t plen[32])
{
	int n = 0;

	while (lo <= hi) {
		uint32_t size = 1, bits = 0;

		while (bits < 16 && (lo & (size * 2 - 1)) == 0 && lo + size * 2 - 1 <= hi) {
			size *= 2;
			bits++;
		}
		start[n] = (uint16_t)lo;
		plen[n] = (uint8_t)(16 - bits);
		n++;
		lo += size;
	}
	return n;
}

/* The verdict for (proto, port) given the candidate rules of a node. */
static struct cgf_verdict decide(struct ctx *x, const struct cand *c, size_t n, int proto,
				 uint16_t port)
{
	struct cgf_spec best = { 0 };
	bool found = false;

	for (size_t i = 0; i < n; i++)
		cgf_pick(&best, &found, &x->p->rules[c[i].rule], c[i].matchlen, proto, port);
	if (!found)
		return (struct cgf_verdict){ .verdict = (uint8_t)x->p->sec[x->dir].def,
					     .rule = CGF_RULE_DEFAULT };
	return (struct cgf_verdict){ .verdict = (uint8_t)best.action, .rule = best.rule };
}

static bool same_verdict(struct cgf_verdict a, struct cgf_verdict b)
{
	return a.verdict == b.verdict && a.rule == b.rule;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Port segments of one protocol: starts[i] .. starts[i+1]-1 has verdict v[i]. */
struct segs {
	uint32_t *starts;
	struct cgf_verdict *v;
	size_t n;
};

static void segment(struct ctx *x, const struct cand *c, size_t n, int proto, struct segs *s)
{
	size_t nb = 0, cap = 0;
	uint32_t *b = NULL;

	s->starts = NULL;
	s->v = NULL;
	s->n = 0;
	GROW(b, cap, 2);
	b[nb++] = 0;
	if (proto == CGF_P_TCP || proto == CGF_P_UDP) {
		for (size_t i = 0; i < n; i++) {
			const struct cgf_rule *r = &x->p->rules[c[i].rule];

			if (r->proto >= 0 && r->proto != proto)
				continue;
			for (size_t j = 0; j < r->n_ports; j++) {
				GROW(b, cap, nb + 2);
				b[nb++] = r->ports[j].lo;
				if (r->ports[j].hi < 65535)
					b[nb++] = (uint32_t)r->ports[j].hi + 1;
			}
		}
		qsort(b, nb, sizeof(*b), u32_cmp);
	}
	s->starts = xcalloc(nb, sizeof(*s->starts));
	s->v = xcalloc(nb, sizeof(*s->v));
	for (size_t i = 0; i < nb; i++) {
		struct cgf_verdict v;

		if (i && b[i] == b[i - 1])
			continue;
		v = decide(x, c, n, proto, (uint16_t)b[i]);
		if (s->n && same_verdict(s->v[s->n - 1], v))
			continue;
		s->starts[s->n] = b[i];
		s->v[s->n++] = v;
	}
	free(b);
}

/* A TCP or UDP port axis too finely cut for a cgf_class: the ports trie. */
static void emit_ports(struct ctx *x, uint32_t cls, int proto, const struct segs *s)
{
	struct cgf_compiled *o = x->out;

	for (size_t i = 0; i < s->n; i++) {
		uint32_t hi = i + 1 < s->n ? s->starts[i + 1] - 1 : 65535;
		uint16_t start[32];
		uint8_t plen[32];
		int k = cgf_range_prefixes(s->starts[i], hi, start, plen);

		for (int j = 0; j < k; j++) {
			struct cgf_port_entry *e;

			GROW(o->ports, o->cap_ports, o->n_ports + 1);
			e = &o->ports[o->n_ports++];
			memset(e, 0, sizeof(*e));
			e->key.prefixlen = 32 + 8 + plen[j];
			e->key.cls[0] = cls >> 24;
			e->key.cls[1] = cls >> 16;
			e->key.cls[2] = cls >> 8;
			e->key.cls[3] = cls;
			e->key.proto = (uint8_t)proto;
			e->key.port[0] = start[j] >> 8;
			e->key.port[1] = start[j] & 0xff;
			e->val = s->v[i];
		}
	}
}

static void new_class(struct ctx *x, uint32_t id, const struct segs s[CGF_P_MAX])
{
	struct cgf_compiled *o = x->out;
	struct cgf_class *k;

	GROW(o->classes, o->cap_classes, (size_t)id + 1);
	k = &o->classes[id];
	memset(k, 0, sizeof(*k));
	k->other = s[CGF_P_OTHER].v[0];
	k->icmp = s[CGF_P_ICMP].v[0];
	for (int t = 0; t < 2; t++) {
		int pr = t ? CGF_P_UDP : CGF_P_TCP;

		if (s[pr].n > CGF_CLASS_SEGS) {
			k->start[t][0] = CGF_START_IN_TRIE;	/* nseg[t] stays 0 */
			emit_ports(x, id, pr, &s[pr]);
			continue;
		}
		k->nseg[t] = (uint8_t)s[pr].n;
		for (size_t i = 0; i < CGF_CLASS_SEGS; i++) {
			size_t j = i < s[pr].n ? i : s[pr].n - 1;	/* pad with the last */

			k->start[t][i] = i < s[pr].n ? (uint16_t)s[pr].starts[i] : 65535;
			k->verdict[t][i] = s[pr].v[j].verdict;
			k->rule[t][i] = s[pr].v[j].rule;
		}
	}
}

/* A protocol's allowed ports as ranges, adjacent segments joined. */
static size_t allowed_ranges(const struct segs *s, uint32_t (*r)[2])
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		uint32_t lo = s->starts[i], hi = i + 1 < s->n ? s->starts[i + 1] - 1 : 65535;

		if (s->v[i].verdict != CGF_ALLOW)
			continue;
		if (n && r[n - 1][1] + 1 == lo)
			r[n - 1][1] = hi;
		else
			r[n][0] = lo, r[n++][1] = hi;
	}
	return n;
}

/*
 * A class's node in an IPv4 trie holds the first CGF_FAST_RANGES port
 * ranges the class allows (abi.h: cgf_addr_val4), by port, a range TCP and
 * UDP both allow once: an allowed call in one of them reads no class.
 */
static struct cgf_fast fast_ranges(const struct segs s[CGF_P_MAX])
{
	const struct segs *tcp = &s[CGF_P_TCP], *udp = &s[CGF_P_UDP];
	uint32_t (*a)[2] = xcalloc(tcp->n + 1, sizeof(*a)), (*b)[2] = xcalloc(udp->n + 1, sizeof(*b));
	size_t na = allowed_ranges(tcp, a), nb = allowed_ranges(udp, b), i = 0, j = 0;
	struct cgf_fast f = { 0 };

	for (int k = 0; k < CGF_FAST_RANGES && (i < na || j < nb); k++) {
		bool take_a = i < na && (j == nb || a[i][0] < b[j][0] ||
					 (a[i][0] == b[j][0] && a[i][1] <= b[j][1]));
		const uint32_t *r = take_a ? a[i] : b[j];

		f.proto[k] = take_a ? CGF_FAST_TCP : CGF_FAST_UDP;
		if (take_a && j < nb && b[j][0] == a[i][0] && b[j][1] == a[i][1]) {
			f.proto[k] |= CGF_FAST_UDP;
			j++;
		}
		i += take_a;
		j += !take_a;
		f.lo[k] = (uint16_t)r[0];
		f.span[k] = (uint16_t)(r[1] - r[0]);
	}
	free(a);
	free(b);
	return f;
}

/* The port ranges an IPv4 node of value v holds: its class's; where the
 * value allows every port, all of TCP's and UDP's. */
static struct cgf_fast fast_of(const struct cgf_compiled *o, struct cgf_addr_val v)
{
	if (v.flags & CGF_AV_CLASS)
		return o->fast[v.ref];
	if (v.verdict == CGF_ALLOW)
		return (struct cgf_fast){ .proto = { CGF_FAST_TCP | CGF_FAST_UDP }, .span = { 65535 } };
	return (struct cgf_fast){ 0 };
}

/* The node value for a candidate set: final verdict, or a new class. */
static struct cgf_addr_val classify(struct ctx *x, const struct cand *c, size_t n)
{
	struct segs s[CGF_P_MAX];
	struct cgf_addr_val val = { 0 };
	bool uniform = true;

	for (int pr = 0; pr < CGF_P_MAX; pr++) {
		segment(x, c, n, pr, &s[pr]);
		if (s[pr].n != 1 || !same_verdict(s[pr].v[0], s[0].v[0]))
			uniform = false;
	}
	if (uniform) {
		val.verdict = s[0].v[0].verdict;
		val.ref = s[0].v[0].rule;
	} else {
		val.flags = CGF_AV_CLASS;
		val.ref = x->out->n_classes++;
		new_class(x, val.ref, s);
		GROW(x->out->fast, x->out->cap_fast, (size_t)val.ref + 1);
		x->out->fast[val.ref] = fast_ranges(s);
	}
	for (int pr = 0; pr < CGF_P_MAX; pr++) {
		free(s[pr].starts);
		free(s[pr].v);
	}
	return val;
}

static uint64_t hash_cands(int dir, const struct cand *c, size_t n)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)dir;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ c[i].rule) * 1099511628211ull;
		h = (h ^ (uint64_t)(uint16_t)c[i].matchlen) * 1099511628211ull;
	}
	return h ? h : 1;
}

static void tab_grow(struct ctx *x)
{
	size_t cap = x->tab_cap ? x->tab_cap * 2 : 64;
	struct klass *t = xcalloc(cap, sizeof(*t));

	for (size_t i = 0; i < x->tab_cap; i++) {
		size_t j;

		if (!x->tab[i].hash)
			continue;
		for (j = x->tab[i].hash & (cap - 1); t[j].hash; j = (j + 1) & (cap - 1))
			;
		t[j] = x->tab[i];
	}
	free(x->tab);
	x->tab = t;
	x->tab_cap = cap;
}

static bool cands_equal(const struct cand *a, size_t na, const struct cand *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].rule != b[i].rule || a[i].matchlen != b[i].matchlen)
			return false;
	return true;
}

/* The value of a node whose rule states are st[0..n). */
static struct cgf_addr_val node_value(struct ctx *x, const struct cand *st, size_t n)
{
	size_t k = 0, j;
	uint64_t h;

	GROW(x->scratch, x->scratch_cap, n + 1);
	for (size_t i = 0; i < n; i++)
		if (!st[i].excluded)
			x->scratch[k++] = (struct cand){ st[i].rule, st[i].matchlen, 0 };
	h = hash_cands(x->dir, x->scratch, k);
	if ((x->tab_n + 1) * 2 > x->tab_cap)
		tab_grow(x);
	for (j = h & (x->tab_cap - 1); x->tab[j].hash; j = (j + 1) & (x->tab_cap - 1))
		if (x->tab[j].hash == h && cands_equal(x->tab[j].c, x->tab[j].n, x->scratch, k))
			return x->tab[j].val;
	x->tab[j].hash = h;
	x->tab[j].n = k;
	x->tab[j].c = xcalloc(k + 1, sizeof(struct cand));
	memcpy(x->tab[j].c, x->scratch, k * sizeof(struct cand));
	x->tab[j].val = classify(x, x->scratch, k);
	x->tab_n++;
	return x->tab[j].val;
}

/* Rule states at a node: the parent's, updated by the node's own items. */
static void node_state(const struct frame *parent, const struct item *it, size_t nit,
		       struct cand **out, size_t *nout)
{
	size_t n = parent ? parent->n : 0, cap = n + nit + 1;
	struct cand *c = xcalloc(cap, sizeof(*c));

	if (n)
		memcpy(c, parent->c, n * sizeof(*c));
	for (size_t i = 0; i < nit; i++) {
		size_t lo = 0, hi = n;

		if (it[i].kind == ITEM_ROOT)
			continue;
		while (lo < hi) {	/* c is sorted by rule */
			size_t mid = (lo + hi) / 2;

			if (c[mid].rule < it[i].rule)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n || c[lo].rule != it[i].rule) {
			memmove(c + lo + 1, c + lo, (n - lo) * sizeof(*c));
			c[lo] = (struct cand){ .rule = it[i].rule, .matchlen = -1 };
			n++;
		}
		if (it[i].kind == ITEM_EXCEPT)
			c[lo].excluded = 1;
		else
			c[lo].matchlen = it[i].pf.len; /* deeper node: longer prefix */
	}
	/* a rule present only through an except of an ancestor never matches here */
	*out = c;
	*nout = n;
}

static void emit_node(struct ctx *x, const struct cgf_prefix *pf, struct cgf_addr_val val)
{
	struct cgf_compiled *o = x->out;

	if (pf->family == 4) {
		struct cgf_entry4 *e;

		GROW(o->v4, o->cap_v4, o->n_v4 + 1);
		e = &o->v4[o->n_v4++];
		memset(e, 0, sizeof(*e));
		o->n4[x->dir]++;
		e->dir = (uint8_t)x->dir;
		e->key.prefixlen = pf->len;
		memcpy(e->key.addr, pf->addr, 4);
		e->val.v = val;
		if (val.flags & CGF_AV_CLASS)	/* a final value decides without them */
			e->val.fast = fast_of(o, val);
	} else {
		struct cgf_entry6 *e;

		GROW(o->v6, o->cap_v6, o->n_v6 + 1);
		e = &o->v6[o->n_v6++];
		memset(e, 0, sizeof(*e));
		o->n6[x->dir]++;
		e->dir = (uint8_t)x->dir;
		e->key.prefixlen = pf->len;
		memcpy(e->key.addr, pf->addr, 16);
		e->val = val;
	}
}

static bool same_val(struct cgf_addr_val a, struct cgf_addr_val b)
{
	return a.ref == b.ref && a.verdict == b.verdict && a.flags == b.flags;
}

/* Egress's /0 when it only says "the deny default": no entry says the same
 * (no match is a deny by the default rule), and a lookup then walks one
 * node less. The other directions keep theirs. */
static bool root_implied(const struct ctx *x, struct cgf_addr_val v)
{
	return x->dir == CGF_DIR_EGRESS &&
	       same_val(v, (struct cgf_addr_val){ .ref = CGF_RULE_DEFAULT, .verdict = CGF_DENY });
}

static void compile_family(struct ctx *x, int family)
{
	const struct cgf_section *s = &x->p->sec[x->dir];
	struct item *items = NULL;
	size_t n = 0, cap = 0, depth = 0;
	struct frame stack[130];

	GROW(items, cap, 1);
	memset(&items[0], 0, sizeof(items[0]));
	items[n++].pf.family = (uint8_t)family;
	for (size_t i = s->first; i < s->first + s->n; i++) {
		const struct cgf_rule *r = &x->p->rules[i];

		for (size_t j = 0; j < r->n_to + r->n_except; j++) {
			const struct cgf_prefix *pf =
				j < r->n_to ? &r->to[j] : &r->except[j - r->n_to];

			if (pf->family != family)
				continue;
			GROW(items, cap, n + 1);
			items[n++] = (struct item){ *pf, r->id,
						    j < r->n_to ? ITEM_TO : ITEM_EXCEPT };
		}
	}
	qsort(items, n, sizeof(*items), item_cmp);

	for (size_t i = 0; i < n;) {
		size_t g = i + 1;
		struct frame *parent;
		struct frame f = { .pf = items[i].pf };
		struct cand *st;
		size_t nst;

		while (g < n && same_prefix(&items[g].pf, &items[i].pf))
			g++;
		while (depth && !cgf_prefix_contains(&stack[depth - 1].pf, &f.pf))
			free(stack[--depth].c);
		parent = depth ? &stack[depth - 1] : NULL;
		node_state(parent, items + i, g - i, &st, &nst);
		f.c = st;
		f.n = nst;
		f.val = node_value(x, st, nst);
		if (parent ? !same_val(parent->val, f.val) : !root_implied(x, f.val))
			emit_node(x, &f.pf, f.val);
		stack[depth++] = f;
		i = g;
	}
	while (depth)
		free(stack[--depth].c);
	free(items);
}

/* The pattern of canonical text t, added with rule r if it is new. */
static size_t pattern_of(struct cgf_compiled *o, const char *t, uint32_t r, size_t *cap)
{
	for (size_t i = 0; i < o->n_pats; i++)
		if (!strcmp(o->pats[i].text, t))
			return i;
	GROW(o->pats, *cap, o->n_pats + 1);
	o->pats[o->n_pats] = (struct cgf_name_pattern){ .text = xstrdup(t), .id = cgf_name_id(t),
						       .rule = r };
	o->pats[o->n_pats].val.idx = (uint32_t)o->n_pats;
	return o->n_pats++;
}

/* Each pattern's verdict: the class of the rules that name it, as if they
 * were the only rules of one address (egress's default where none allows). */
static void name_verdicts(struct ctx *x)
{
	const struct cgf_policy *p = x->p;
	const struct cgf_section *s = &p->sec[CGF_DIR_EGRESS];
	struct cgf_compiled *o = x->out;
	size_t cap = 0;

	for (size_t i = s->first; i < s->first + s->n; i++)
		for (size_t j = 0; j < p->rules[i].n_names; j++)
			pattern_of(o, p->rules[i].names[j], p->rules[i].id, &cap);
	for (size_t k = 0; k < o->n_pats; k++) {
		struct cand *c = xcalloc(s->n + 1, sizeof(*c));
		size_t n = 0;

		for (size_t i = s->first; i < s->first + s->n; i++)
			for (size_t j = 0; j < p->rules[i].n_names; j++)
				if (!strcmp(p->rules[i].names[j], o->pats[k].text)) {
					c[n++] = (struct cand){ .rule = p->rules[i].id, .matchlen = 128 };
					break;
				}
		o->pats[k].val.av = node_value(x, c, n);
		o->pats[k].val.fast = fast_of(o, o->pats[k].val.av);
		free(c);
	}
}

int cgf_compile_addresses(const struct cgf_policy *p, struct cgf_compiled *o)
{
	struct ctx x = { .p = p, .out = o };

	for (int dir = 0; dir < CGF_DIR_MAX; dir++) {
		if (!p->sec[dir].present)
			continue;
		x.dir = dir;
		compile_family(&x, 4);
		compile_family(&x, 6);
		if (dir == CGF_DIR_EGRESS && p->n_name_rules)
			name_verdicts(&x);
		for (size_t i = 0; i < x.tab_cap; i++)
			free(x.tab[i].c);
		free(x.tab);
		x.tab = NULL;
		x.tab_cap = x.tab_n = 0;
	}
	free(x.scratch);
	for (int dir = 0; dir < CGF_DIR_MAX; dir++)
		if (o->n4[dir] > CGF_TRIE_MAX || o->n6[dir] > CGF_TRIE_MAX)
			return cgf_error_at(-E2BIG, p->file, p->sec[dir].line, p->sec[dir].col,
					    "%s: %zu IPv4 and %zu IPv6 map entries; the limit is %u "
					    "per family", cgf_dir_name(dir), o->n4[dir], o->n6[dir],
					    CGF_TRIE_MAX);
	if (o->n_classes > CGF_CLASSES_MAX || o->n_ports > CGF_PORTS_MAX)
		return cgf_error_at(-E2BIG, p->file, 1, 1, "%zu port classes and %zu port entries; "
				    "the limits are %u and %u (fewer distinct port lists help)",
				    (size_t)o->n_classes, o->n_ports, CGF_CLASSES_MAX, CGF_PORTS_MAX);
	return 0;
}
