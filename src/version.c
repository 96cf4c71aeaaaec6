// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One version of a policy in the kernel: the skeleton opened, configured from
 * the image, its shared maps taken from the pins, loaded and filled; and its
 * shared maps pinned. apply.c attaches and switches. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgfence/abi.h"	/* before the skeleton: its .rodata is a struct cgf_config */
#include "cgfence.skel.h"
#include "hook.h"
#include "loader.h"
#include "pins.h"
#include "staged.h"
#include "util.h"
#include "version.h"

/* The skeleton's program and slot map of hook h (the registry names both). */
struct bpf_program *cgf_version_prog(struct cgfence_bpf *s, int h)
{
	switch (h) {
#define X(E, n, a, f, by) case CGF_H_##E: return s->progs.cgf_##n;
	CGF_HOOKS(X)
#undef X
	}
	return NULL;
}

struct bpf_map *cgf_version_slots(struct cgfence_bpf *s, int h)
{
	switch (h) {
#define X(E, n, a, f, by) case CGF_H_##E: return s->maps.cgf_slot_##n;
	CGF_HOOKS(X)
#undef X
	}
	return NULL;
}

/* The address trie of direction dir, IPv4 or IPv6. */
static struct bpf_map *trie(struct cgfence_bpf *s, int dir, bool v6)
{
	return dir == CGF_DIR_EGRESS ? (v6 ? s->maps.cgf_egress6 : s->maps.cgf_egress4)
	       : dir == CGF_DIR_INGRESS ? (v6 ? s->maps.cgf_ingress6 : s->maps.cgf_ingress4)
	       : dir == CGF_DIR_BIND ? (v6 ? s->maps.cgf_local6 : s->maps.cgf_local4)
	       : v6 ? s->maps.cgf_redir6 : s->maps.cgf_redir4;
}

/* Write n entries of size sz from vals into map m, keys 0..n-1 (keys NULL)
 * or keys[i] of size ksz. */
static int fill(struct bpf_map *m, const void *keys, size_t ksz, const void *vals, size_t sz,
		size_t n, uint64_t flags)
{
	int fd = bpf_map__fd(m);

	for (size_t i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)i;
		const void *k = keys ? (const char *)keys + i * ksz : (const void *)&idx;

		if (bpf_map_update_elem(fd, k, (const char *)vals + i * sz, flags))
			return cgf_error(-errno, "bpf: failed to fill map %s (entry %zu): %m",
					 bpf_map__name(m), i);
	}
	return 0;
}

/* Every map of the image, filled before anything is attached. */
static int fill_maps(struct cgfence_bpf *s, const struct cgf_compiled *c)
{
	int err = 0;

	for (size_t i = 0; i < c->n_v4 && !err; i++)
		err = fill(trie(s, c->v4[i].dir, false), &c->v4[i].key, 0, &c->v4[i].val, 0, 1,
			   BPF_NOEXIST);
	for (size_t i = 0; i < c->n_v6 && !err; i++)
		err = fill(trie(s, c->v6[i].dir, true), &c->v6[i].key, 0, &c->v6[i].val, 0, 1,
			   BPF_NOEXIST);
	for (size_t i = 0; i < c->n_dev && !err; i++)
		err = fill(s->maps.cgf_devices, &c->dev[i].key, 0, &c->dev[i].val, 0, 1,
			   BPF_NOEXIST);
	for (size_t i = 0; i < c->n_ports && !err; i++)
		err = fill(s->maps.cgf_ports, &c->ports[i].key, 0, &c->ports[i].val, 0, 1,
			   BPF_NOEXIST);
	for (size_t i = 0; i < c->n_sockopt && !err; i++)
		err = fill(s->maps.cgf_sockopt, &c->sockopt[i], 0, &c->sockopt_rule[i], 0, 1,
			   BPF_ANY);
	err = err ?: fill(s->maps.cgf_classes, NULL, 0, c->classes, sizeof(*c->classes),
			  c->n_classes, BPF_ANY);
	err = err ?: fill(s->maps.cgf_rule_info, NULL, 0, c->rule_info, sizeof(*c->rule_info),
			  c->n_rule_slots, BPF_ANY);
	err = err ?: fill(s->maps.cgf_sysctl_rules, NULL, 0, c->sysctl, sizeof(*c->sysctl),
			  c->n_sysctl, BPF_ANY);
	err = err ?: fill(s->maps.cgf_redirects, NULL, 0, c->redir, sizeof(*c->redir),
			  c->n_redir, BPF_ANY);
	for (size_t i = 0; i < c->n_names && !err; i++)
		err = fill(s->maps.cgf_names, &c->names[i].key, 0, &c->names[i].val, 0, 1,
			   BPF_NOEXIST);
	for (size_t i = 0; i < c->n_pats && !err; i++)
		err = fill(s->maps.cgf_name_pats, &c->pats[i].id, 0, &c->pats[i].val, 0, 1,
			   BPF_NOEXIST);
	if (c->n_pats && !err)
		err = fill(s->maps.cgf_name_slots, NULL, 0, &c->pats[0].val, sizeof(c->pats[0]),
			   c->n_pats, BPF_ANY);
	for (size_t i = 0; i < c->n_dns_servers && !err; i++) {
		uint8_t one = 1;

		err = fill(s->maps.cgf_dns_servers, &c->dns_servers[i], 0, &one, 0, 1, BPF_ANY);
	}
	return err;
}

static uint32_t at_least_one(size_t n)
{
	return n ? (uint32_t)n : 1;
}

/* Before load: .rodata from the image, every map sized by its count. */
static void configure(struct cgfence_bpf *s, const struct cgf_compiled *c, int mode,
		      uint32_t slot, uint32_t generation)
{
	s->rodata->cfg = c->cfg;
	s->rodata->cfg.audit = mode == CGF_MODE_AUDIT;
	s->rodata->cfg.slot = slot;
	s->rodata->cfg.generation = generation;
	s->rodata->cfg.plain = cgf_config_plain(&s->rodata->cfg);
	/* to_names: the namespace where its copy of learnt addresses decides */
	s->rodata->cfg.home_netns = c->cfg.has_names ? cgf_netns_cookie() : 0;
	/* the switch and the listen flag are read as globals (bpf/lib/gate.h,
	 * stage.h) but pinned as plain arrays: libbpf would make a data
	 * section's map mmapable, which no layout's "active" is */
	bpf_map__set_map_flags(s->maps.data_active, 0);
	bpf_map__set_map_flags(s->maps.data_listen, 0);
	for (int d = 0; d < CGF_DIR_MAX; d++) {
		uint32_t copy = d == CGF_DIR_EGRESS && c->cfg.hz ? c->learnt_max : 0; /* to_names */

		bpf_map__set_max_entries(trie(s, d, false), at_least_one(c->n4[d] + copy));
		bpf_map__set_max_entries(trie(s, d, true), at_least_one(c->n6[d] + copy));
	}
	bpf_map__set_max_entries(s->maps.cgf_classes, at_least_one(c->n_classes));
	bpf_map__set_max_entries(s->maps.cgf_ports, at_least_one(c->n_ports));
	bpf_map__set_max_entries(s->maps.cgf_devices, at_least_one(c->n_dev));
	bpf_map__set_max_entries(s->maps.cgf_sockopt, at_least_one(c->n_sockopt));
	bpf_map__set_max_entries(s->maps.cgf_sysctl_rules, at_least_one(c->n_sysctl));
	bpf_map__set_max_entries(s->maps.cgf_redirects, at_least_one(c->n_redir));
	/* per CPU: only a policy with redirects pays for the backend counters */
	bpf_map__set_max_entries(s->maps.cgf_backend_hits,
				 c->features & CGF_F_REDIRECT ? CGF_BACKEND_HITS : 1);
	bpf_map__set_max_entries(s->maps.cgf_ev_rl, c->n_rule_slots);
	bpf_map__set_max_entries(s->maps.cgf_rule_hits, c->n_rule_slots);
	bpf_map__set_max_entries(s->maps.cgf_rule_info, c->n_rule_slots);
	/* to_names: only a policy with names pays for them (the parser's state per CPU) */
	bpf_map__set_max_entries(s->maps.cgf_names, at_least_one(c->n_names));
	bpf_map__set_max_entries(s->maps.cgf_name_pats, at_least_one(c->n_pats));
	bpf_map__set_max_entries(s->maps.cgf_name_slots, at_least_one(c->n_pats));
	bpf_map__set_max_entries(s->maps.cgf_dns_servers, at_least_one(c->n_dns_servers));
	bpf_map__set_max_entries(s->maps.cgf_learnt, c->learnt_max ? c->learnt_max : 1);
	bpf_map__set_max_entries(s->maps.cgf_dns_scratch,
				 c->features & CGF_F_NAMES ? (uint32_t)libbpf_num_possible_cpus() : 1);
	for (int h = 0; h < CGF_H_MAX; h++)
		bpf_program__set_autoload(cgf_version_prog(s, h), !!(c->hooks & CGF_HOOK_BIT(h)));
}

/* ---- versions (abi.h: Versions) ---- */

/* Pin m as dir/name unless already pinned. */
static int pin_map(struct bpf_map *m, const char *dir, const char *name)
{
	char p[CGF_PATH_LEN];
	int err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!access(p, F_OK))
		return 0;
	err = bpf_map__pin(m, p);
	return err ? cgf_error(err, "bpf: failed to pin map '%s': %s", p, strerror(-err)) : 0;
}

static bool replaceable(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable); i++)
		if (!strcmp(name, cgf_pin_replaceable[i]))
			return true;
	return false;
}

/* Use the map pinned as dir/name for m: 0, or 1 when it is pinned with
 * another definition (an older pin layout) and may be replaced (pins.h). */
static int reuse_pinned(struct bpf_map *m, const char *dir, const char *name)
{
	char p[CGF_PATH_LEN];
	_cleanup_close_ int fd = -1;
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	int err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return errno == ENOENT ? 0 : cgf_error(-errno, "bpf: failed to open '%s': %m", p);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return cgf_error(-errno, "bpf: failed to read '%s': %m", p);
	if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
	    info.value_size != bpf_map__value_size(m) ||
	    info.max_entries != bpf_map__max_entries(m) ||
	    info.map_flags != bpf_map__map_flags(m)) {
		if (replaceable(name))
			return 1;
		return cgf_error(-EPROTO, "bpf: '%s' is pinned with another definition than "
				 "this cgfence's and cannot be replaced in force", p);
	}
	err = bpf_map__reuse_fd(m, fd);
	if (err)
		return cgf_error(err, "bpf: failed to reuse map '%s': %s", p, strerror(-err));
	return 0;
}

/* A map replaced (reuse_pinned said 1): what the pinned one holds, copied
 * (hashes, whatever their keys; arrays, the entries both have; an LRU
 * smaller than what it holds keeps what fits). */
static int copy_pinned(struct bpf_map *m, const char *dir, const char *name)
{
	_cleanup_close_ int from = cgf_pin_get(dir, name);
	int ncpu = libbpf_num_possible_cpus(), to = bpf_map__fd(m);
	enum bpf_map_type t = bpf_map__type(m);
	bool percpu = t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY;
	bool array = t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
	size_t vsz = (percpu ? (size_t)ncpu : 1) * ((bpf_map__value_size(m) + 7) & ~7u);
	_cleanup_free_ uint8_t *val = xcalloc(1, vsz);
	uint8_t key[64] = { 0 }, next[64] = { 0 };
	int more;

	if (from < 0 || bpf_map__key_size(m) > sizeof(key))
		return 0;
	for (more = bpf_map_get_next_key(from, NULL, next); !more;
	     more = bpf_map_get_next_key(from, key, next)) {
		memcpy(key, next, sizeof(key));
		if (array && *(uint32_t *)key >= bpf_map__max_entries(m))
			break;	/* an array bigger than the new one */
		if (!bpf_map_lookup_elem(from, key, val) &&
		    bpf_map_update_elem(to, key, val, BPF_ANY) &&
		    !(errno == E2BIG && t == BPF_MAP_TYPE_LRU_HASH))
			return cgf_error(-errno, "bpf: failed to copy %s/%s into its new map: %m",
					 dir, name);
	}
	return 0;
}

/* The map pinned as cgf_pin_replaceable[i]. */
static struct bpf_map *replaced_map(struct cgfence_bpf *s, size_t i)
{
	struct bpf_map *const m[] = { s->maps.cgf_acct, s->maps.cgf_rl, s->maps.cgf_cgroups,
				      s->maps.cgf_stats, s->maps.cgf_pstats, s->maps.cgf_learnt };

	return m[i];
}

/* Maps that outlive a version: counters, the switch, the slots, redirect state. */
static int reuse_shared(struct cgfence_bpf *s, const char *dir, const struct cgf_compiled *c,
			bool *replace)
{
	bool redir = c->features & CGF_F_REDIRECT, state = c->features & CGF_F_STATE;
	int err = reuse_pinned(s->maps.cgf_meta, dir, "meta");
	char enforced[CGF_PATH_LEN];

	err = err ?: reuse_pinned(s->maps.data_active, dir, "active");
	/* those a newer layout redefines: replaced (pins.h), in cgf_pin_replaceable's order */
	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable) && err >= 0; i++) {
		err = reuse_pinned(replaced_map(s, i), dir, cgf_pin_replaceable[i]);
		replace[i] = err == 1;
		err = err == 1 ? 0 : err;
	}
	/* replies and getpeername of sockets redirected by the version before
	 * keep their translation; counters and round-robin positions go on */
	err = err ?: redir ? reuse_pinned(s->maps.cgf_revnat, dir, "revnat") : 0;
	err = err ?: redir ? reuse_pinned(s->maps.cgf_backend_hits, dir, "backend_hits") : 0;
	err = err ?: redir ? reuse_pinned(s->maps.cgf_rr, dir, "rr") : 0;
	/* sockets' verdicts: judged again where their generation is not this one's */
	err = err ?: state ? reuse_pinned(s->maps.cgf_state, dir, "state") : 0;
	err = err ?: state ? reuse_pinned(s->maps.cgf_peers, dir, "peers") : 0;
	/* events, policy counters, accounting and rate-limit state go on */
	err = err ?: reuse_pinned(s->maps.cgf_events, dir, "events");
	/* what the version in force hands a staged version: the policy's (abi.h: Staging) */
	err = err ?: reuse_pinned(s->maps.cgf_handoff,
				  cgf_pin_staged_of(dir, enforced, sizeof(enforced)), "handoff");
	/* ... and whether one listens */
	err = err ?: c->cfg.staged ? 0 : reuse_pinned(s->maps.data_listen, dir, "listen");
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		char n[32];

		err = reuse_pinned(cgf_version_slots(s, h), dir, cgf_pin_slot_name(h, n, sizeof(n)));
	}
	return err;
}

int cgf_version_pin_shared(struct cgfence_bpf *s, const char *dir, const struct cgf_compiled *c,
			   const bool *replace)
{
	bool redir = c->features & CGF_F_REDIRECT;
	int err = pin_map(s->maps.cgf_meta, dir, "meta");

	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable) && !err; i++) {
		char next[64];

		snprintf(next, sizeof(next), "%s-next", cgf_pin_replaceable[i]);
		err = pin_map(replaced_map(s, i), dir, replace[i] ? next : cgf_pin_replaceable[i]);
	}
	err = err ?: pin_map(s->maps.cgf_events, dir, "events");
	err = err ?: c->cfg.staged ? 0 : pin_map(s->maps.cgf_handoff, dir, "handoff");
	err = err ?: c->cfg.staged ? 0 : pin_map(s->maps.data_listen, dir, "listen");
	err = err ?: redir ? pin_map(s->maps.cgf_revnat, dir, "revnat") : 0;
	err = err ?: redir ? pin_map(s->maps.cgf_backend_hits, dir, "backend_hits") : 0;
	err = err ?: redir ? pin_map(s->maps.cgf_rr, dir, "rr") : 0;
	err = err ?: c->features & CGF_F_STATE ? pin_map(s->maps.cgf_state, dir, "state") : 0;
	err = err ?: c->features & CGF_F_STATE ? pin_map(s->maps.cgf_peers, dir, "peers") : 0;
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		char n[32];

		if (c->hooks & CGF_HOOK_BIT(h))
			err = pin_map(cgf_version_slots(s, h), dir, cgf_pin_slot_name(h, n, sizeof(n)));
	}
	/* last: a directory with no "active" pin is an apply cut short */
	return err ?: pin_map(s->maps.data_active, dir, "active");
}

int cgf_version_load(const struct cgf_compiled *c, int mode, uint32_t slot, uint32_t generation,
		     const char *dir, bool *replace, struct cgfence_bpf **out)
{
	struct cgfence_bpf *s = cgfence_bpf__open();
	bool none[ARRAY_SIZE(cgf_pin_replaceable)] = { false };
	int err;

	*out = s;
	replace = replace ?: none;
	if (!s)
		return cgf_error(-errno, "bpf: failed to open the BPF object: %m");
	configure(s, c, mode, slot, generation);
	err = dir ? reuse_shared(s, dir, c, replace) : 0;
	if (err)
		return err;
	err = cgfence_bpf__load(s);
	if (err)
		return cgf_error(err, "bpf: failed to load the programs: %s\n%s", strerror(-err),
				 cgf_libbpf_log());
	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable) && !err; i++)
		if (replace[i])	/* an older layout's map: what it holds goes on in the new one */
			err = copy_pinned(replaced_map(s, i), dir, cgf_pin_replaceable[i]);
	/* a staged version listens where the policy has one (its links go with
	 * its pins: without them, none listens; with them, apply --stage said so) */
	if (!err && dir && !c->cfg.staged)
		err = cgf_staged_listen_fd(bpf_map__fd(s->maps.data_listen), cgf_staged_exists(dir));
	return err ?: fill_maps(s, c);
}

