// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What is applied: policies, their cgroups, counters and visibility maps. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "layout.h"
#include "loader.h"
#include "pins.h"
#include "util.h"

struct list_acc {
	struct cgf_applied *arr;
	size_t n, cap;
};

static int add_cg(const char *cgdir, uint64_t id, void *arg)
{
	struct cgf_applied *a = arg;
	struct cgf_applied_cg *cg;

	a->cgs = xrealloc(a->cgs, (a->n_cgs + 1) * sizeof(*a->cgs));
	cg = &a->cgs[a->n_cgs++];
	memset(cg, 0, sizeof(*cg));
	cg->id = id;
	cg->hooks = cgf_pin_hooks_in(cgdir);
	if (cgf_cgroup_path_by_id(id, cg->path, sizeof(cg->path)))
		cg->path[0] = '\0';
	return 0;
}

int cgf_policy_state(const char *name, struct cgf_meta *m, uint64_t **ids, size_t *n)
{
	char dir[CGF_PATH_LEN];
	int err;

	*ids = NULL;
	*n = 0;
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	err = cgf_pin_meta(dir, m);
	if (err)
		return err;
	*n = cgf_pin_cgroup_ids(dir, ids);
	return 0;
}

int cgf_vis_open(const char *name, struct cgf_vis *v)
{
	char dir[CGF_PATH_LEN];
	int act;

	memset(v, 0, sizeof(*v));
	v->events = v->pstats = v->acct = v->rule_hits = v->rule_info = -1;
	v->learnt = v->name_pats = -1;
	cgf_pin_policy_dir(name, dir, sizeof(dir));
	if (cgf_layout_check(CGF_PIN_ROOT))
		return -EPROTO;
	act = cgf_pin_active(dir);
	if (act < 0 || act >= CGF_SLOTS || cgf_pin_meta_slot(dir, (uint32_t)act, &v->meta))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	v->events = cgf_pin_get(dir, "events");
	v->pstats = cgf_pin_get(dir, "pstats");
	v->acct = cgf_pin_get(dir, "acct");
	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t id = 0;
		int fd;

		if (!(v->meta.hooks & (1u << h)))
			continue;
		fd = cgf_pin_slot_prog(dir, h, (uint32_t)act, &id);
		if (fd >= 0) {
			v->prog_id[h] = id;
			close(fd);
		}
	}
	{
		char n[16];
		struct bpf_map_info mi = {};
		uint32_t mlen = sizeof(mi);

		snprintf(n, sizeof(n), "hits-%d", act);
		v->rule_hits = cgf_pin_get(dir, n);
		snprintf(n, sizeof(n), "rules-%d", act);
		v->rule_info = cgf_pin_get(dir, n);
		snprintf(n, sizeof(n), "names-%d", act);
		v->name_pats = cgf_pin_get(dir, n);
		if (v->name_pats >= 0)
			v->learnt = cgf_pin_get(dir, "learnt");
		if (v->rule_info >= 0 && !bpf_obj_get_info_by_fd(v->rule_info, &mi, &mlen))
			v->n_rule_slots = mi.max_entries;
	}
	return 0;
}

void cgf_vis_close(struct cgf_vis *v)
{
	int *fds[] = { &v->events, &v->pstats, &v->acct, &v->rule_hits, &v->rule_info,
		       &v->learnt, &v->name_pats };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

uint64_t cgf_percpu_sum(int fd, uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *vals;

	if (fd < 0 || ncpu <= 0)
		return 0;
	vals = xcalloc((size_t)ncpu, sizeof(*vals));
	if (!bpf_map_lookup_elem(fd, &key, vals))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

static void read_stats(const char *dir, struct cgf_applied *a)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "stats");

	for (uint32_t h = 0; fd >= 0 && h < CGF_H_MAX; h++) {
		a->denied[h] = cgf_percpu_sum(fd, h * CGF_C_MAX + CGF_C_DENIED);
		a->audit[h] = cgf_percpu_sum(fd, h * CGF_C_MAX + CGF_C_AUDIT);
	}
}

/* network.redirect: connections per (entry, backend), the non-zero ones */
static void read_backend_hits(const char *dir, struct cgf_applied *a)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "backend_hits");
	size_t cap = 0;

	for (uint32_t i = 0; fd >= 0 && i < CGF_BACKEND_HITS; i++) {
		uint64_t sum = cgf_percpu_sum(fd, i);

		if (!sum)
			continue;
		GROW(a->backends, cap, a->n_backends + 1);
		a->backends[a->n_backends++] = (struct cgf_backend_count){
			.entry = i / CGF_REDIR_BACKENDS, .backend = i % CGF_REDIR_BACKENDS,
			.connections = sum };
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cgf_applied *)a)->name, ((const struct cgf_applied *)b)->name);
}

static int list_one(const char *dir, const char *name, void *arg)
{
	struct list_acc *acc = arg;
	struct cgf_applied *a;

	GROW(acc->arr, acc->cap, acc->n + 1);
	a = &acc->arr[acc->n++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	cgf_pin_meta(dir, &a->meta);
	read_stats(dir, a);
	read_backend_hits(dir, a);
	cgf_pins_for_each_cgroup(dir, add_cg, a);
	return 0;
}

int cgf_list(struct cgf_applied **out, size_t *n)
{
	int err = cgf_gc(NULL);

	return err ? err : cgf_list_nogc(out, n);
}

int cgf_list_nogc(struct cgf_applied **out, size_t *n)
{
	struct list_acc acc = { 0 };
	int err = cgf_layout_check(CGF_PIN_ROOT);	/* a newer layout is not ours to read */

	*out = NULL;
	*n = 0;
	if (!err)
		err = cgf_pins_for_each_policy(list_one, &acc);
	if (err) {
		cgf_applied_free(acc.arr, acc.n);
		return err;
	}
	if (acc.n)
		qsort(acc.arr, acc.n, sizeof(*acc.arr), name_cmp);
	*out = acc.arr;
	*n = acc.n;
	return 0;
}

const char **cgf_applied_paths(const struct cgf_applied *a, size_t *n)
{
	const char **paths = xcalloc(a->n_cgs + 1, sizeof(*paths));

	*n = 0;
	for (size_t i = 0; i < a->n_cgs; i++)
		if (a->cgs[i].path[0])
			paths[(*n)++] = a->cgs[i].path;
	return paths;
}

void cgf_applied_free(struct cgf_applied *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].cgs);
		free(a[i].backends);
	}
	free(a);
}
