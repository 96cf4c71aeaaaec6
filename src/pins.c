// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pin layout's one owner: where a policy's pins are and how they read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "hook.h"
#include "layout.h"
#include "pins.h"
#include "util.h"

void cgf_pin_policy_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", CGF_PIN_ROOT, name);
}

const char *cgf_pin_staged_of(const char *dir, char *buf, size_t len)
{
	size_t n = strlen(dir), k = strlen(CGF_STAGED_SUFFIX);

	snprintf(buf, len, "%s", dir);
	if (n > k && n < len && !strcmp(dir + n - k, CGF_STAGED_SUFFIX))
		buf[n - k] = 0;
	return buf;
}

bool cgf_pin_staged_name(const char *name, char *buf, size_t len)
{
	char dir[CGF_PATH_LEN];

	snprintf(buf, len, "%s%s", name, CGF_STAGED_SUFFIX);
	cgf_pin_policy_dir(buf, dir, sizeof(dir));
	return !cgf_pin_is_staged(name) && !access(dir, F_OK);
}

bool cgf_pin_is_staged(const char *name)
{
	size_t n = strlen(name), k = strlen(CGF_STAGED_SUFFIX);

	return n > k && !strcmp(name + n - k, CGF_STAGED_SUFFIX);
}

void cgf_pin_cgroup_dir(const char *dir, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cg-%llu", dir, (unsigned long long)id);
}

bool cgf_pin_parse_cgroup(const char *entry, uint64_t *id)
{
	unsigned long long v;
	char tail;

	if (strncmp(entry, "cg-", 3) || sscanf(entry + 3, "%llu%c", &v, &tail) != 1)
		return false;
	*id = v;
	return true;
}

struct id_list {
	uint64_t *ids;
	size_t n, cap;
};

static int add_id(const char *cgdir, uint64_t id, void *arg)
{
	struct id_list *l = arg;

	(void)cgdir;
	GROW(l->ids, l->cap, l->n + 1);
	l->ids[l->n++] = id;
	return 0;
}

size_t cgf_pin_cgroup_ids(const char *dir, uint64_t **ids)
{
	struct id_list l = { 0 };

	cgf_pins_for_each_cgroup(dir, add_id, &l);
	*ids = l.ids;
	return l.n;
}

int cgf_pins_for_each_cgroup(const char *dir,
			     int (*fn)(const char *cgdir, uint64_t id, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = 0;

	while (d && (e = readdir(d))) {
		char cgdir[CGF_PATH_LEN];
		uint64_t id;

		if (!cgf_pin_parse_cgroup(e->d_name, &id))
			continue;
		snprintf(cgdir, sizeof(cgdir), "%s/%s", dir, e->d_name);
		err = fn(cgdir, id, arg) ?: err;
	}
	if (d)
		closedir(d);
	return err;
}

int cgf_pin_remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char p[CGF_PATH_LEN];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			err = cgf_pin_remove_tree(p) ?: err;
		else if (unlink(p))
			err = -errno;
	}
	closedir(d);
	if (rmdir(path))
		err = -errno;
	return err;
}

uint32_t cgf_pin_hooks_in(const char *cgdir)
{
	uint32_t hooks = 0;
	char p[CGF_PATH_LEN];

	for (int h = 0; h < CGF_H_MAX; h++) {
		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		if (!access(p, F_OK))
			hooks |= 1u << h;
	}
	return hooks;
}

int cgf_pin_get(const char *dir, const char *name)
{
	char p[CGF_PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return bpf_obj_get(p);
}

const char *cgf_pin_slot_name(int h, char *buf, size_t len)
{
	snprintf(buf, len, "slot-%s", cgf_hook_names[h]);
	return buf;
}

/* The deciding slot of the policy in dir (0, 1 or CGF_SLOT_OFF), -errno without one. */
int cgf_pin_active(const char *dir)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "active");
	uint32_t zero = 0, v;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &v))
		return -errno;
	return (int)(v > CGF_SLOT_OFF ? CGF_SLOT_OFF : v);
}

int cgf_pin_set_active(int fd, uint32_t slot)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, &slot, BPF_ANY) ? -errno : 0;
}

int cgf_pin_meta_slot(const char *dir, uint32_t slot, struct cgf_meta *m)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "meta");

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, m))
		return -errno;
	return m->magic == CGF_META_MAGIC ? 0 : -ENOENT;
}

/* The meta of the version in force. */
int cgf_pin_meta(const char *dir, struct cgf_meta *m)
{
	int act = cgf_pin_active(dir);

	if (act < 0)
		return act;
	return act < CGF_SLOTS ? cgf_pin_meta_slot(dir, (uint32_t)act, m) : -ENOENT;
}

/* The program of hook h in a slot: a prog array answers a lookup with the program's id. */
int cgf_pin_slot_prog(const char *dir, int h, uint32_t slot, uint32_t *id)
{
	char n[32];
	_cleanup_close_ int fd = cgf_pin_get(dir, cgf_pin_slot_name(h, n, sizeof(n)));
	int pfd;

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, id))
		return -errno;
	pfd = bpf_prog_get_fd_by_id(*id);
	return pfd < 0 ? -errno : pfd;
}

int cgf_pin_cgroup_slots(int fd, uint64_t id)
{
	uint32_t mask = 0;

	if (fd >= 0)
		bpf_map_lookup_elem(fd, &id, &mask);
	return (int)mask;
}

int cgf_pin_link_attach(int prog_fd, int cgfd, int h, const char *path)
{
	int fd = bpf_link_create(prog_fd, cgfd, cgf_hook_attach[h], NULL), err = 0;

	if (fd < 0)
		return cgf_error(-errno, "bpf: failed to attach %s to the cgroup: %m",
				 cgf_hook_names[h]);
	if (bpf_obj_pin(fd, path))
		err = cgf_error(-errno, "bpf: failed to pin link '%s': %m", path);
	close(fd);	/* the pin keeps it attached */
	return err;
}

/*
 * Empty the big decision maps of a version's programs (address and port
 * tries, hashes), an entry at a time, before the kernel frees them. Freed
 * in one go, a trie of a million prefixes holds a CPU for hundreds of
 * milliseconds with no break. Deleted one by one, each node goes through
 * two RCU grace periods (the BPF allocator's), and whatever was deleted on
 * a CPU during one RCU Tasks Trace grace period is freed there in one
 * callback, again with no break: deleting as fast as we can held a CPU for
 * 30 ms at a million prefixes. So the drain is paced (DRAIN_CHUNK entries,
 * then a pause), which keeps each such callback under about 10 ms, and runs
 * in a process of its own, "cgfence-drain", so that the command that
 * replaced or detached the version does not wait for it: the version no
 * longer decides (its programs only hand calls on, and touch none of
 * these maps), it only has to go. The drainer holds the maps, exits when
 * they are empty, and the kernel frees them then.
 */
#define DRAIN_MIN 4096		/* entries: smaller maps free quickly enough */
#define DRAIN_CHUNK 600	/* entries deleted between two pauses */
#define DRAIN_PAUSE_US 20000
#define DRAIN_LINGER_S 2	/* after the last delete: the grace periods pass, the
				 * allocator frees the nodes in small batches, not the
				 * map's free all at once */

static bool per_version(const char *name)
{
	static const char *const names[] = { "cgf_egress", "cgf_ingress", "cgf_local",
					     "cgf_redir4", "cgf_redir6", "cgf_ports" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(name, names[i], strlen(names[i])))
			return true;
	return false;
}

/* The map's fd when it is one to drain, else -1. */
static int drainable(uint32_t id)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && per_version(info.name) &&
	    info.max_entries >= DRAIN_MIN && info.key_size <= 64 &&
	    (info.type == BPF_MAP_TYPE_LPM_TRIE || info.type == BPF_MAP_TYPE_HASH))
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static void drain_paced(const int *fds, size_t n)
{
	uint8_t key[64];
	long done = 0;

	for (size_t i = 0; i < n; i++)
		while (!bpf_map_get_next_key(fds[i], NULL, key) &&
		       !bpf_map_delete_elem(fds[i], key))
			if (!(++done % DRAIN_CHUNK))
				usleep(DRAIN_PAUSE_US);
	if (done >= DRAIN_CHUNK)
		sleep(DRAIN_LINGER_S);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* A process of its own holds the maps (and nothing else) and drains them;
 * the caller's fds are closed. Where it cannot be had, we drain here. */
static void drain_in_background(int *fds, size_t n)
{
	pid_t kid;

	if (!n)
		return;
	fflush(NULL);
	kid = fork();
	if (kid == 0) {
		int from = 3;

		/* named before the caller goes on: whoever looks for it finds it */
		prctl(PR_SET_NAME, "cgfence-drain");
		if (fork() > 0)
			_exit(0);	/* the caller waits for this one, not the drainer
					 * (which, without a fork, it is) */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);	/* the daemon blocks its signals */
		setsid();
		qsort(fds, n, sizeof(*fds), cmp_int);
		for (size_t i = 0; i < n; i++) {	/* no lock, no pin, no socket: only maps */
			for (int fd = from; fd < fds[i]; fd++)
				close(fd);
			from = fds[i] + 1;
		}
		syscall(SYS_close_range, from, ~0U, 0);
		drain_paced(fds, n);
		_exit(0);
	}
	if (kid < 0)
		drain_paced(fds, n);
	else
		waitpid(kid, NULL, 0);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

const char *const cgf_pin_replaceable[6] = { "acct", "ratelimit", "cgroups", "stats", "pstats",
					     "learnt" };

#define PROG_MAPS 128

/* The ids of the maps the program of hook h in slot uses; how many. */
static uint32_t prog_maps(const char *dir, uint32_t slot, int h, uint32_t ids[PROG_MAPS])
{
	uint32_t prog_id;
	struct bpf_prog_info info = { .nr_map_ids = PROG_MAPS,
				      .map_ids = (uint64_t)(unsigned long)ids };
	uint32_t len = sizeof(info);
	_cleanup_close_ int pfd = cgf_pin_slot_prog(dir, h, slot, &prog_id);

	if (pfd < 0 || bpf_obj_get_info_by_fd(pfd, &info, &len))
		return 0;
	return info.nr_map_ids < PROG_MAPS ? info.nr_map_ids : PROG_MAPS;
}

/* Do the programs of the slot in force use the map with this id? */
static bool active_uses(const char *dir, uint32_t map_id)
{
	int act = cgf_pin_active(dir);

	for (int h = 0; act >= 0 && act < CGF_SLOTS && h < CGF_H_MAX; h++) {
		uint32_t ids[PROG_MAPS] = { 0 }, n = prog_maps(dir, (uint32_t)act, h, ids);

		for (uint32_t i = 0; i < n; i++)
			if (ids[i] == map_id)
				return true;
	}
	return false;
}

static uint32_t map_id_of(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * An apply makes NAME-next only when the pinned NAME has an older layout's
 * definition (or, for learnt, another size: network.dns.max_addresses); so NAME-next belongs to the version in force exactly when that
 * version is of this layout (the switch came), and to none otherwise.
 */
void cgf_pin_promote_next(const char *dir)
{
	struct cgf_meta m;
	bool in_force = !cgf_pin_meta(dir, &m) && cgf_meta_layout(&m) == CGF_LAYOUT;

	for (size_t i = 0; i < ARRAY_SIZE(cgf_pin_replaceable); i++) {
		char next[64], p[CGF_PATH_LEN], pn[CGF_PATH_LEN];
		int fd;

		snprintf(next, sizeof(next), "%s-next", cgf_pin_replaceable[i]);
		fd = cgf_pin_get(dir, next);
		if (fd < 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, cgf_pin_replaceable[i]);
		snprintf(pn, sizeof(pn), "%s/%s", dir, next);
		/* a version of this layout may have made it and failed before its switch */
		if (in_force && (strcmp(cgf_pin_replaceable[i], "learnt") ||
				 active_uses(dir, map_id_of(fd)))) {
			unlink(p);	/* NAME-next goes last: a kill here is finished next time */
			if (bpf_obj_pin(fd, p))
				fprintf(stderr, "cgfence: warning: cannot pin %s: %m\n", p);
		}
		unlink(pn);
		close(fd);
	}
}

void cgf_pin_drain_slot(const char *dir, uint32_t slot)
{
	uint32_t seen[64], n_seen = 0;
	int fds[64];
	size_t n_fds = 0;

	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t prog_id, ids[32] = { 0 }, n_ids = ARRAY_SIZE(ids);	/* the kernel fills ids */
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int pfd = cgf_pin_slot_prog(dir, h, slot, &prog_id);

		if (pfd < 0)
			continue;
		info.nr_map_ids = n_ids;
		info.map_ids = (uint64_t)(unsigned long)ids;
		if (!bpf_obj_get_info_by_fd(pfd, &info, &len)) {
			for (uint32_t i = 0; i < info.nr_map_ids && i < n_ids; i++) {
				bool done = false;

				for (uint32_t j = 0; j < n_seen && !done; j++)
					done = seen[j] == ids[i];
				if (done || n_seen == ARRAY_SIZE(seen))
					continue;
				seen[n_seen++] = ids[i];
				if ((fds[n_fds] = drainable(ids[i])) >= 0)
					n_fds++;
			}
		}
		close(pfd);
	}
	drain_in_background(fds, n_fds);
}

/* The version in force's egress tries (fds[0] IPv4, fds[1] IPv6; -1 none),
 * those small enough to walk on every settle (rules and the copy's room):
 * a policy of more prefixes keeps its copy until its next version. */
#define COPY_WALK_MAX (1u << 17)
static void egress_tries(const char *dir, int fds[2])
{
	int act = cgf_pin_active(dir);

	fds[0] = fds[1] = -1;
	for (int h = 0; act >= 0 && act < CGF_SLOTS && h < CGF_H_MAX && (fds[0] < 0 || fds[1] < 0);
	     h++) {
		uint32_t ids[PROG_MAPS] = { 0 }, n = prog_maps(dir, (uint32_t)act, h, ids);

		for (uint32_t i = 0; i < n; i++) {
			struct bpf_map_info mi = {};
			uint32_t mlen = sizeof(mi);
			int fd = bpf_map_get_fd_by_id(ids[i]), f = -1;

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &mlen) &&
			    mi.max_entries <= COPY_WALK_MAX)
				f = !strcmp(mi.name, "cgf_egress4") ? 0
				    : !strcmp(mi.name, "cgf_egress6") ? 1 : -1;
			if (f >= 0 && fds[f] < 0)
				fds[f] = fd;
			else if (fd >= 0)
				close(fd);
		}
	}
}

/* Whether the learnt table holds address k alive at now (coarse ns), for
 * its network namespace or (learnt by an older layout) for any. */
static bool learnt_alive(int learnt, struct cgf_learnt_at k, uint64_t now)
{
	struct cgf_learnt l;

	for (int any = 0; any < 2; any++, k.netns = 0) {
		if (bpf_map_lookup_elem(learnt, &k, &l))
			continue;
		for (int i = 0; i < CGF_NAME_IDS; i++)
			if (l.n[i].id && l.n[i].expires >= now)
				return true;
	}
	return false;
}

int cgf_pin_names_copy(const char *dir, bool sweep, size_t *held)
{
	_cleanup_close_ int learnt = cgf_pin_get(dir, "learnt");
	struct cgf_key6 key, next, *dead = NULL;
	struct timespec ts;
	uint64_t home;
	size_t n_dead = 0, cap = 0;
	int fds[2], removed = 0;

	*held = 0;
	if (learnt < 0)
		return 0;	/* no to_names */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);	/* the programs' coarse clock */
	home = cgf_netns_cookie();	/* copies are of the home namespace: this one */
	egress_tries(dir, fds);
	for (int f = 0; f < 2; f++) {
		size_t ksz = f ? sizeof(struct cgf_key6) : sizeof(struct cgf_key4);

		n_dead = 0;
		for (int more = bpf_map_get_next_key(fds[f], NULL, &next); fds[f] >= 0 && !more;
		     more = bpf_map_get_next_key(fds[f], &key, &next)) {
			struct cgf_learnt_at lk = { .addr = { 0, 0, htonl(0xffff), 0 }, .netns = home };
			struct cgf_addr_val4 v;	/* IPv4's value; IPv6's (and a version
						 * before cgf_addr_val4) its first 8 B */

			memcpy(&key, &next, ksz);
			if (bpf_map_lookup_elem(fds[f], &key, &v) || !(v.v.flags & CGF_AV_NAME))
				continue;
			(*held)++;
			memcpy(f ? (void *)lk.addr : (void *)&lk.addr[3], key.addr, f ? 16 : 4);
			if (!sweep || learnt_alive(learnt, lk, (uint64_t)ts.tv_sec * 1000000000ull +
								      (uint64_t)ts.tv_nsec))
				continue;
			GROW(dead, cap, n_dead + 1);
			dead[n_dead++] = key;
		}
		for (size_t i = 0; i < n_dead; i++)	/* after the walk: a trie's next
							 * key after a deleted one is its first */
			removed += !bpf_map_delete_elem(fds[f], &dead[i]);
		*held -= n_dead;
		if (fds[f] >= 0)
			close(fds[f]);
	}
	free(dead);
	return removed;
}

void cgf_pin_prune_gone(const char *dir)
{
	static const char *const per_cgroup[] = { "acct", "ratelimit" };
	bool walk = true;	/* one walk of the cgroup tree for the whole prune */

	for (size_t i = 0; i < ARRAY_SIZE(per_cgroup); i++) {
		_cleanup_close_ int fd = cgf_pin_get(dir, per_cgroup[i]);
		uint64_t key, next, *gone = NULL;
		size_t n = 0, cap = 0;
		int more = fd < 0 ? -1 : bpf_map_get_next_key(fd, NULL, &next);

		for (; !more; more = bpf_map_get_next_key(fd, &key, &next)) {
			bool alive;

			key = next;
			alive = cgf_cgroup_alive_fresh(key, walk);
			walk = false;
			if (!alive) {
				GROW(gone, cap, n + 1);
				gone[n++] = key;
			}
		}
		for (size_t j = 0; j < n; j++)
			bpf_map_delete_elem(fd, &gone[j]);
		free(gone);
	}
}

/* Call fn for every policy directory under the pin root, in readdir order. */
int cgf_pins_for_each_policy(int (*fn)(const char *dir, const char *name, void *arg), void *arg)
{
	DIR *d = opendir(CGF_PIN_ROOT);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : cgf_error(-errno, "cannot open %s: %m", CGF_PIN_ROOT);
	while ((e = readdir(d))) {
		char p[CGF_PATH_LEN];

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(p, sizeof(p), "%s/%s", CGF_PIN_ROOT, e->d_name);
		err = fn(p, e->d_name, arg) ?: err;
	}
	closedir(d);
	return err;
}
