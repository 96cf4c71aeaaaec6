// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Apply a compiled policy: load a version beside the one in force, switch. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgfence.skel.h"
#include "cgroup.h"
#include "env.h"
#include "fault.h"
#include "hook.h"
#include "layout.h"
#include "loader.h"
#include "pins.h"
#include "settle.h"
#include "util.h"

/* The skeleton's program and slot map of hook h (the registry names both). */
static struct bpf_program *hook_prog(struct cgfence_bpf *s, int h)
{
	switch (h) {
#define X(E, n, a, f, by) case CGF_H_##E: return s->progs.cgf_##n;
	CGF_HOOKS(X)
#undef X
	}
	return NULL;
}

static struct bpf_map *slot_map(struct cgfence_bpf *s, int h)
{
	switch (h) {
#define X(E, n, a, f, by) case CGF_H_##E: return s->maps.cgf_slot_##n;
	CGF_HOOKS(X)
#undef X
	}
	return NULL;
}

static struct bpf_map *trie4(struct cgfence_bpf *s, int dir)
{
	return dir == CGF_DIR_EGRESS ? s->maps.cgf_egress4
	       : dir == CGF_DIR_INGRESS ? s->maps.cgf_ingress4
	       : dir == CGF_DIR_BIND ? s->maps.cgf_local4 : s->maps.cgf_redir4;
}

static struct bpf_map *trie6(struct cgfence_bpf *s, int dir)
{
	return dir == CGF_DIR_EGRESS ? s->maps.cgf_egress6
	       : dir == CGF_DIR_INGRESS ? s->maps.cgf_ingress6
	       : dir == CGF_DIR_BIND ? s->maps.cgf_local6 : s->maps.cgf_redir6;
}

static int fill_sockopt(struct cgfence_bpf *s, const struct cgf_policy *p)
{
	int fd = bpf_map__fd(s->maps.cgf_sockopt);
	uint8_t one = 1;

	for (size_t i = 0; i < p->n_sockopts; i++) {
		struct cgf_sockopt_key k = { .op = (uint32_t)p->sockopts[i].op,
					     .level = p->sockopts[i].level,
					     .optname = p->sockopts[i].optname };

		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return cgf_error(-errno, "bpf: failed to fill map cgf_sockopt: %m");
	}
	return 0;
}

static int fill_redirects(struct cgfence_bpf *s, const struct cgf_policy *p)
{
	int fd = bpf_map__fd(s->maps.cgf_redirects);

	for (uint32_t i = 0; i < p->sec[CGF_DIR_REDIRECT].n; i++) {
		const struct cgf_redirect *rd = &p->redirects[i];
		struct cgf_redir_entry e = { .n = (uint32_t)rd->n, .select = (uint32_t)rd->select };

		for (size_t j = 0; j < rd->n; j++) {
			const struct cgf_endpoint *be = &rd->backends[j];

			memcpy(e.b[j].addr, be->addr.addr, be->addr.family == 4 ? 4 : 16);
			e.b[j].port = htons(be->port);
			e.b[j].v6 = be->addr.family == 6;
		}
		if (bpf_map_update_elem(fd, &i, &e, BPF_ANY))
			return cgf_error(-errno, "bpf: failed to fill map cgf_redirects: %m");
	}
	return 0;
}

/* rule id -> line and text, for events and stats */
static int fill_rule_info(struct cgfence_bpf *s, const struct cgf_policy *p)
{
	int fd = bpf_map__fd(s->maps.cgf_rule_info);

	for (uint32_t i = 0; i < p->n_rules + 2; i++) {
		struct cgf_rule_info ri = {};

		if (i < p->n_rules) {
			ri.line = (uint32_t)p->rules[i].line;
			cgf_rule_text(&p->rules[i], ri.text, sizeof(ri.text));
		} else {
			snprintf(ri.text, sizeof(ri.text), "%s", i == p->n_rules ? "default"
										 : "rate_limit");
		}
		if (bpf_map_update_elem(fd, &i, &ri, BPF_ANY))
			return cgf_error(-errno, "bpf: failed to fill map cgf_rule_info: %m");
	}
	return 0;
}

static int fill_sysctl(struct cgfence_bpf *s, const struct cgf_policy *p)
{
	int fd = bpf_map__fd(s->maps.cgf_sysctl_rules);

	for (uint32_t i = 0; i < p->sysctl.n; i++) {
		struct cgf_sysctl_rule r = { .len = (uint32_t)strlen(p->sysctl.pats[i].pat),
					     .verdict = (uint32_t)p->sysctl.pats[i].verdict };

		memcpy(r.pat, p->sysctl.pats[i].pat, sizeof(r.pat));
		if (bpf_map_update_elem(fd, &i, &r, BPF_ANY))
			return cgf_error(-errno, "bpf: failed to fill map cgf_sysctl_rules: %m");
	}
	return 0;
}

static int fill_maps(struct cgfence_bpf *s, const struct cgf_compiled *c)
{
	int fdp = bpf_map__fd(s->maps.cgf_ports), fdc = bpf_map__fd(s->maps.cgf_classes);

	for (size_t i = 0; i < c->n_v4; i++)
		if (bpf_map_update_elem(bpf_map__fd(trie4(s, c->v4[i].dir)), &c->v4[i].key,
					&c->v4[i].val, BPF_NOEXIST))
			return cgf_error(-errno, "bpf: failed to fill map %s (entry %zu): %m",
					 bpf_map__name(trie4(s, c->v4[i].dir)), i);
	for (size_t i = 0; i < c->n_v6; i++)
		if (bpf_map_update_elem(bpf_map__fd(trie6(s, c->v6[i].dir)), &c->v6[i].key,
					&c->v6[i].val, BPF_NOEXIST))
			return cgf_error(-errno, "bpf: failed to fill map %s (entry %zu): %m",
					 bpf_map__name(trie6(s, c->v6[i].dir)), i);
	for (size_t i = 0; i < c->n_dev; i++)
		if (bpf_map_update_elem(bpf_map__fd(s->maps.cgf_devices), &c->dev[i].key,
					&c->dev[i].val, BPF_NOEXIST))
			return cgf_error(-errno, "bpf: failed to fill map cgf_devices: %m");
	for (uint32_t i = 0; i < c->n_classes; i++)
		if (bpf_map_update_elem(fdc, &i, &c->classes[i], BPF_ANY))
			return cgf_error(-errno, "bpf: failed to fill map cgf_classes (entry %u): %m",
					 i);
	for (size_t i = 0; i < c->n_ports; i++)
		if (bpf_map_update_elem(fdp, &c->ports[i].key, &c->ports[i].val, BPF_NOEXIST))
			return cgf_error(-errno, "bpf: failed to fill map cgf_ports (entry %zu): %m",
					 i);
	return 0;
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

static int reuse_pinned(struct bpf_map *m, const char *dir, const char *name)
{
	char p[CGF_PATH_LEN];
	_cleanup_close_ int fd = -1;
	int err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return errno == ENOENT ? 0 : cgf_error(-errno, "bpf: failed to open '%s': %m", p);
	err = bpf_map__reuse_fd(m, fd);
	if (err)
		return cgf_error(err, "bpf: failed to reuse map '%s': %s", p, strerror(-err));
	return 0;
}




/*
 * Make the pins of one policy say exactly what its version in force says.
 * This finishes an apply (every link runs the active slot's program; hooks
 * and cgroups the version does not have are dropped, the other slot is
 * emptied), undoes an apply that failed or was killed before its switch,
 * finishes a detach, drops cgroups that are gone and re-attaches links that
 * were detached or unpinned from outside. Idempotent; needs the lock.
 */



static size_t at_least_one(size_t n)
{
	return n ? n : 1;
}

/* open -> size maps, set rodata: the parts of a version that depend on the policy */
static int configure(struct cgfence_bpf *s, const struct cgf_policy *p,
		     const struct cgf_compiled *c, int mode)
{
	s->rodata->cfg_audit = mode == CGF_MODE_AUDIT;
	if (p->sockets.present) {
		s->rodata->cfg_sock_families = p->sockets.families;
		s->rodata->cfg_sock_deny_types = p->sockets.deny_types;
		_Static_assert(sizeof(s->rodata->cfg_sock_deny_protos) >=
				       sizeof(p->sockets.deny_protos), "protocol bitmap fits");
		memcpy((void *)s->rodata->cfg_sock_deny_protos, p->sockets.deny_protos,
		       sizeof(p->sockets.deny_protos));
	}
	bpf_map__set_max_entries(s->maps.cgf_sockopt, (uint32_t)at_least_one(p->n_sockopts));
	bpf_map__set_max_entries(s->maps.cgf_devices, (uint32_t)at_least_one(c->n_dev));
	if (p->devices.present)
		s->rodata->cfg_dev_default = (uint8_t)p->devices.def;
	bpf_map__set_max_entries(s->maps.cgf_sysctl_rules, (uint32_t)at_least_one(p->sysctl.n));
	bpf_map__set_max_entries(s->maps.cgf_redirects,
				 (uint32_t)at_least_one(p->sec[CGF_DIR_REDIRECT].n));
	s->rodata->cfg_has_egress = p->sec[CGF_DIR_EGRESS].present;
	s->rodata->cfg_has_ingress = p->sec[CGF_DIR_INGRESS].present;
	s->rodata->cfg_accounting = p->vis.accounting;
	s->rodata->cfg_log_denials = p->vis.log_denials;
	s->rodata->cfg_log_conns = p->vis.log_connections;
	s->rodata->cfg_n_rules = (uint32_t)p->n_rules;
	if (p->vis.rate_cps) {
		s->rodata->cfg_rl_interval_ns = 1000000000ull / p->vis.rate_cps;
		s->rodata->cfg_rl_burst_ns =
			(uint64_t)(p->vis.rate_burst - 1) * s->rodata->cfg_rl_interval_ns;
	}
	if (p->vis.denials_per_second) {	/* a burst of a second's worth */
		s->rodata->cfg_ev_interval_ns = 1000000000ull / p->vis.denials_per_second;
		s->rodata->cfg_ev_burst_ns =
			(uint64_t)(p->vis.denials_per_second - 1) * s->rodata->cfg_ev_interval_ns;
	}
	bpf_map__set_max_entries(s->maps.cgf_ev_rl, (uint32_t)p->n_rules + 2);
	bpf_map__set_max_entries(s->maps.cgf_rule_hits, (uint32_t)p->n_rules + 2);
	bpf_map__set_max_entries(s->maps.cgf_rule_info, (uint32_t)p->n_rules + 2);
	s->rodata->cfg_has_redirect = p->sec[CGF_DIR_REDIRECT].present;
	s->rodata->cfg_redir_first = (uint32_t)p->sec[CGF_DIR_REDIRECT].first;
	if (p->sysctl.present) {
		s->rodata->cfg_sysctl_default = (uint32_t)p->sysctl.def;
		s->rodata->cfg_sysctl_n = (uint32_t)p->sysctl.n;
	}
	if (p->tcp.present) {
		memcpy((void *)s->rodata->cfg_tcp_cc, p->tcp.congestion, sizeof(p->tcp.congestion));
		s->rodata->cfg_tcp_iw = p->tcp.initial_cwnd;
		if (p->tcp.syn_rto_ms) {
			int hz = cgf_kernel_hz();

			if (hz <= 0)
				return cgf_error_at(-ENOENT, p->file, p->tcp.syn_rto_line,
						    p->tcp.syn_rto_col, "syn_rto_ms: cannot find the "
						    "kernel's HZ (no /proc/config.gz or /boot/config-*)");
			s->rodata->cfg_tcp_syn_rto_jiffies =
				(int32_t)((p->tcp.syn_rto_ms * (uint64_t)hz + 999) / 1000);
		}
	}
	for (int d = 0; d < CGF_DIR_MAX; d++) {
		bpf_map__set_max_entries(trie4(s, d), (uint32_t)at_least_one(c->n4[d]));
		bpf_map__set_max_entries(trie6(s, d), (uint32_t)at_least_one(c->n6[d]));
	}
	bpf_map__set_max_entries(s->maps.cgf_classes, (uint32_t)at_least_one(c->n_classes));
	bpf_map__set_max_entries(s->maps.cgf_ports, (uint32_t)at_least_one(c->n_ports));
	for (int h = 0; h < CGF_H_MAX; h++)
		bpf_program__set_autoload(hook_prog(s, h), !!(c->hooks & (1u << h)));
	return 0;
}

/* Maps that outlive a version: counters, the switch, the slots, redirect state. */
static int reuse_shared(struct cgfence_bpf *s, const char *dir)
{
	int err = reuse_pinned(s->maps.cgf_stats, dir, "stats");

	err = err ?: reuse_pinned(s->maps.cgf_meta, dir, "meta");
	err = err ?: reuse_pinned(s->maps.cgf_active, dir, "active");
	err = err ?: reuse_pinned(s->maps.cgf_cgroups, dir, "cgroups");
	/* replies and getpeername of sockets redirected by the version before
	 * keep their translation; counters and round-robin positions go on */
	err = err ?: reuse_pinned(s->maps.cgf_revnat, dir, "revnat");
	err = err ?: reuse_pinned(s->maps.cgf_backend_hits, dir, "backend_hits");
	err = err ?: reuse_pinned(s->maps.cgf_rr, dir, "rr");
	/* events, policy counters, accounting and rate-limit state go on */
	err = err ?: reuse_pinned(s->maps.cgf_events, dir, "events");
	err = err ?: reuse_pinned(s->maps.cgf_pstats, dir, "pstats");
	err = err ?: reuse_pinned(s->maps.cgf_acct, dir, "acct");
	err = err ?: reuse_pinned(s->maps.cgf_rl, dir, "ratelimit");
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		char n[32];

		err = reuse_pinned(slot_map(s, h), dir, cgf_pin_slot_name(h, n, sizeof(n)));
	}
	return err;
}

static int pin_shared(struct cgfence_bpf *s, const char *dir, const struct cgf_policy *p,
		      uint32_t hooks)
{
	bool redir = p->sec[CGF_DIR_REDIRECT].present;
	int err = pin_map(s->maps.cgf_stats, dir, "stats");

	err = err ?: pin_map(s->maps.cgf_meta, dir, "meta");
	err = err ?: pin_map(s->maps.cgf_cgroups, dir, "cgroups");
	err = err ?: pin_map(s->maps.cgf_events, dir, "events");
	err = err ?: pin_map(s->maps.cgf_pstats, dir, "pstats");
	err = err ?: pin_map(s->maps.cgf_acct, dir, "acct");
	err = err ?: pin_map(s->maps.cgf_rl, dir, "ratelimit");
	err = err ?: redir ? pin_map(s->maps.cgf_revnat, dir, "revnat") : 0;
	err = err ?: redir ? pin_map(s->maps.cgf_backend_hits, dir, "backend_hits") : 0;
	err = err ?: redir ? pin_map(s->maps.cgf_rr, dir, "rr") : 0;
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		char n[32];

		if (hooks & (1u << h))
			err = pin_map(slot_map(s, h), dir, cgf_pin_slot_name(h, n, sizeof(n)));
	}
	/* last: a directory with no "active" pin is an apply cut short */
	return err ?: pin_map(s->maps.cgf_active, dir, "active");
}

/* Links for the cgroup at path (id) to the programs of this slot, where missing. */
static int attach_cgroup(const char *dir, const char *path, uint64_t id, uint32_t hooks,
			 const int *prog_fds, int mapfd, uint32_t slot)
{
	char cgdir[CGF_PATH_LEN], p[CGF_PATH_LEN];
	_cleanup_close_ int cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t mask;
	int err = 0;

	if (cgfd < 0)
		return cgf_error(-errno, "cgroup %s: cannot open: %m", path);
	snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)id);
	if (mkdir(cgdir, 0700) && errno != EEXIST)
		return cgf_error(-errno, "cannot create %s: %m", cgdir);
	for (int h = 0; h < CGF_H_MAX && !err; h++) {
		if (!(hooks & (1u << h)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		if (!access(p, F_OK))
			continue;	/* the version in force's link: switched later */
		err = cgf_pin_link_attach(prog_fds[h], cgfd, h, p);
		cgf_fault_point("attaching");
	}
	/* the cgroup belongs to this slot's version only once all its links are there */
	mask = (uint32_t)cgf_pin_cgroup_slots(mapfd, id) | 1u << slot;
	if (!err && bpf_map_update_elem(mapfd, &id, &mask, BPF_ANY))
		err = errno == E2BIG
			      ? cgf_error(-E2BIG, "cgroup %s: the policy is attached to %u cgroups, "
					  "the most one policy can be", path, CGF_CGROUPS_MAX)
			      : cgf_error(-errno, "bpf: failed to record cgroup %s: %m", path);
	return err;
}

int cgf_apply(const struct cgf_policy *p, const struct cgf_compiled *c,
	      const struct cgf_apply_opts *o, struct cgf_apply_result *res)
{
	const char *name = o->name ? o->name : p->name;
	const char *const *paths = o->n_cgroups ? o->cgroups : &o->cgroup;
	size_t n = o->n_cgroups ? o->n_cgroups : o->cgroup ? 1 : 0;
	_cleanup_free_ uint64_t *ids = xcalloc(at_least_one(n), sizeof(*ids));
	char dir[CGF_PATH_LEN];
	struct cgfence_bpf *s = NULL;
	struct cgf_meta meta = {}, old = {};
	int err, act, prog_fds[CGF_H_MAX];
	uint32_t slot;

	memset(res, 0, sizeof(*res));
	err = cgf_lock();
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		err = cgf_cgroup_id(paths[i], &ids[i]);
		if (err)
			return err;
	}
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	if (!access(dir, F_OK)) {
		err = cgf_settle(dir, NULL);	/* finish or undo a run that was cut short */
		if (err)
			return err;
	}
	err = cgf_layout_claim(CGF_PIN_ROOT);	/* this version is of our layout */
	if (err)
		return err;
	act = cgf_pin_active(dir);
	res->replaced = act >= 0 && act < CGF_SLOTS && !cgf_pin_meta_slot(dir, (uint32_t)act, &old);
	slot = res->replaced ? (uint32_t)act ^ 1 : 0;

	/* a new version in the free slot: load and fill, nothing attached yet */
	s = cgfence_bpf__open();
	if (!s)
		return cgf_error(-errno, "bpf: failed to open the BPF object: %m");
	s->rodata->cfg_slot = slot;
	err = configure(s, p, c, o->mode);
	err = err ?: reuse_shared(s, dir);
	if (err)
		goto out;
	err = cgfence_bpf__load(s);
	if (err) {
		err = cgf_error(err, "bpf: failed to load the programs: %s\n%s", strerror(-err),
				cgf_libbpf_log());
		goto out;
	}
	err = fill_maps(s, c);
	err = err ?: fill_rule_info(s, p);
	err = err ?: fill_sockopt(s, p);
	err = err ?: fill_sysctl(s, p);
	err = err ?: fill_redirects(s, p);
	if (!err && !res->replaced)
		err = cgf_pin_set_active(bpf_map__fd(s->maps.cgf_active), CGF_SLOT_OFF);
	if (err)
		goto out;
	cgf_fault_point("loaded");

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = cgf_error(-errno, "cannot create %s: %m", dir);
		goto out;
	}
	err = pin_shared(s, dir, p, c->hooks);
	if (err)
		goto undo;
	cgf_fault_point("pinned");

	meta.magic = CGF_META_MAGIC;
	meta.mode = (uint32_t)o->mode;
	meta.hooks = c->hooks;
	meta.flags = (o->flags & ~CGF_META_LAYOUT_MASK) | cgf_meta_layout_flags(CGF_LAYOUT);
	meta.digest = o->digest;
	meta.generation = res->replaced ? old.generation + 1 : 1;
	meta.applied_at = (uint64_t)time(NULL);
	meta.n_prefixes = p->n_prefixes;
	meta.n_rules = (uint32_t)p->n_rules;
	snprintf(meta.name, sizeof(meta.name), "%s", name);
	snprintf(meta.source, sizeof(meta.source), "%s", o->source ? o->source : "");
	if (bpf_map_update_elem(bpf_map__fd(s->maps.cgf_meta), &slot, &meta, BPF_ANY)) {
		err = cgf_error(-errno, "bpf: failed to write the policy's metadata: %m");
		goto undo;
	}
	for (int h = 0; h < CGF_H_MAX; h++) {
		int fd = bpf_program__fd(hook_prog(s, h));

		prog_fds[h] = fd;
		if ((c->hooks & (1u << h)) &&
		    bpf_map_update_elem(bpf_map__fd(slot_map(s, h)), &slot, &fd, BPF_ANY)) {
			err = cgf_error(-errno, "bpf: failed to fill slot %u of %s: %m", slot,
					cgf_hook_names[h]);
			goto undo;
		}
	}
	/* this version's rule texts and hit counts, found by slot */
	{
		char rp[CGF_PATH_LEN], hp[CGF_PATH_LEN];

		snprintf(rp, sizeof(rp), "%s/rules-%u", dir, slot);
		snprintf(hp, sizeof(hp), "%s/hits-%u", dir, slot);
		unlink(rp);
		unlink(hp);
		if (bpf_map__pin(s->maps.cgf_rule_info, rp) || bpf_map__pin(s->maps.cgf_rule_hits, hp)) {
			err = cgf_error(-EIO, "bpf: failed to pin %s or %s", rp, hp);
			goto undo;
		}
	}
	cgf_fault_point("slots");

	/* links where there are none yet; they defer to the version in force */
	for (size_t i = 0; i < n && !err; i++)
		err = attach_cgroup(dir, paths[i], ids[i], c->hooks, prog_fds,
				    bpf_map__fd(s->maps.cgf_cgroups), slot);
	if (!err && cgf_fault_fail("CGF_TEST_FAIL_AFTER_ATTACH"))	/* tests: a late failure */
		err = cgf_error(-EIO, "failing after attach (CGF_TEST_FAIL_AFTER_ATTACH)");
	if (err)
		goto undo;
	cgf_fault_point("attached");

	/* the switch: one map write puts the new version in force on every hook */
	err = cgf_pin_set_active(bpf_map__fd(s->maps.cgf_active), slot);
	if (err) {
		err = cgf_error(err, "bpf: failed to switch to the new version: %s", strerror(-err));
		goto undo;
	}
	cgf_fault_point("switched");
	cgf_settle_stage = "settling";
	if (cgf_settle(dir, NULL))		/* links to the new programs, old version dropped */
		fprintf(stderr, "cgfence: warning: %s\n", cgf_last_error());
	cgf_settle_stage = NULL;
	cgf_clear_error();
	res->cgroup_id = ids[0];
	res->generation = meta.generation;
	res->hooks = c->hooks;
	goto out;
undo:
	/* the old version (or none) is still in force: drop whatever the new one added */
	cgf_settle(dir, NULL);
out:
	cgfence_bpf__destroy(s);
	return err;
}

/* ---- what the daemon needs: a version in force, more or fewer cgroups ---- */

int cgf_attach_cgroups(const char *name, const char *const *paths, size_t n)
{
	char dir[CGF_PATH_LEN];
	struct cgf_meta m;
	int progs[CGF_H_MAX], act, err;
	_cleanup_close_ int mapfd = -1;

	err = cgf_lock();
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	act = cgf_pin_active(dir);
	if (act < 0 || act >= CGF_SLOTS || cgf_pin_meta_slot(dir, (uint32_t)act, &m))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	mapfd = cgf_pin_get(dir, "cgroups");
	if (mapfd < 0)
		return cgf_error(-errno, "%s/cgroups: %m", dir);
	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t id;

		progs[h] = m.hooks & (1u << h) ? cgf_pin_slot_prog(dir, h, (uint32_t)act, &id) : -1;
		if ((m.hooks & (1u << h)) && progs[h] < 0)
			err = cgf_error(progs[h], "%s: no program for %s", dir, cgf_hook_names[h]);
	}
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t id = 0;

		err = cgf_cgroup_id(paths[i], &id);
		err = err ?: attach_cgroup(dir, paths[i], id, m.hooks, progs, mapfd, (uint32_t)act);
		if (err && id) {	/* a half-attached cgroup is not recorded: drop it */
			char cgdir[CGF_PATH_LEN];

			snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)id);
			if (!(cgf_pin_cgroup_slots(mapfd, id) & (1 << act)))
				cgf_pin_remove_tree(cgdir);
		}
	}
	for (int h = 0; h < CGF_H_MAX; h++)
		if (progs[h] >= 0)
			close(progs[h]);
	return err;
}

