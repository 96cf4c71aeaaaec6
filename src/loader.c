// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgfence.skel.h"
#include "cgroup.h"
#include "hook.h"
#include "layout.h"
#include "loader.h"
#include "util.h"

#define PATH_LEN 640


/* ---- libbpf output ---- */

static bool verbose;
static char liblog[8192];
static size_t liblog_len;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (verbose) {
		va_copy(aq, ap);
		vfprintf(stderr, fmt, aq);
		va_end(aq);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	if (liblog_len > sizeof(liblog) / 2)	/* keep the most recent half */
		liblog_len = 0;
	n = vsnprintf(liblog + liblog_len, sizeof(liblog) - liblog_len, fmt, ap);
	if (n > 0)
		liblog_len += (size_t)n < sizeof(liblog) - liblog_len ? (size_t)n
								  : sizeof(liblog) - liblog_len - 1;
	return 0;
}

void cgf_libbpf_setup(bool v)
{
	verbose = v;
	libbpf_set_print(print_fn);
}

const char *cgf_libbpf_log(void)
{
	return liblog;
}

/* ---- environment ---- */

/* CONFIG_HZ from the kernel's configuration, or -1. */
int cgf_kernel_hz(void)
{
	static int hz;
	char path[256], line[256];
	struct utsname u;
	gzFile f;

	if (hz)
		return hz;
	hz = -1;
	uname(&u);
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = gzopen(path, "r");
	if (!f)
		f = gzopen("/proc/config.gz", "r");
	while (f && gzgets(f, line, sizeof(line)))
		if (!strncmp(line, "CONFIG_HZ=", 10)) {
			hz = atoi(line + 10);
			break;
		}
	if (f)
		gzclose(f);
	return hz;
}

static bool have_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int cgf_env_check(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	char mnt[512];
	struct statfs sfs;
	int err;

	if (syscall(SYS_capget, &h, d))
		return cgf_error(-errno, "cannot read capabilities: %m");
	if (!have_cap(d, CAP_SYS_ADMIN) && !(have_cap(d, 39 /* CAP_BPF */) &&
					     have_cap(d, CAP_NET_ADMIN)))
		return cgf_error(-EPERM, "needs root (CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN) "
				 "to load and attach BPF programs");
	err = cgf_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	if (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		mkdir("/sys/fs/bpf", 0700);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return cgf_error(-errno, "bpffs is not mounted at /sys/fs/bpf and mounting "
					 "it failed: %m");
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) != 1)
		return cgf_error(-EOPNOTSUPP, "this kernel lacks the cgroup sock_addr hooks "
				 "(connect4/6, sendmsg4/6); Linux 4.18 or newer is needed");
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) != 1)
		return cgf_error(-EOPNOTSUPP, "this kernel lacks the cgroup_skb hooks");
	return 0;
}

static int lock_fd = -1;

int cgf_lock(void)
{
	if (lock_fd >= 0)
		return 0;
	if (mkdir(CGF_PIN_ROOT, 0700) && errno != EEXIST)
		return cgf_error(-errno, "cannot create %s: %m", CGF_PIN_ROOT);
	lock_fd = open(CGF_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0)
		return cgf_error(-errno, "cannot open %s: %m", CGF_PIN_ROOT);
	if (flock(lock_fd, LOCK_EX))
		return cgf_error(-errno, "cannot lock %s: %m", CGF_PIN_ROOT);
	if (cgf_layout_check(CGF_PIN_ROOT)) {	/* pins of a newer cgfence: hands off */
		cgf_unlock();
		return -EPROTO;
	}
	return 0;
}

void cgf_unlock(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

/* ---- pins ---- */

static int remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char p[PATH_LEN];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			err = remove_tree(p) ?: err;
		else if (unlink(p))
			err = -errno;
	}
	closedir(d);
	if (rmdir(path))
		err = -errno;
	return err;
}

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

static uint32_t hooks_in(const char *cgdir)
{
	uint32_t hooks = 0;
	char p[PATH_LEN];

	for (int h = 0; h < CGF_H_MAX; h++) {
		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		if (!access(p, F_OK))
			hooks |= 1u << h;
	}
	return hooks;
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
	char p[PATH_LEN];
	int err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!access(p, F_OK))
		return 0;
	err = bpf_map__pin(m, p);
	return err ? cgf_error(err, "bpf: failed to pin map '%s': %s", p, strerror(-err)) : 0;
}

static int reuse_pinned(struct bpf_map *m, const char *dir, const char *name)
{
	char p[PATH_LEN];
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



/* Tests: CGF_TEST_CRASH_AT=STAGE kills cgfence with SIGKILL at that point. */
static void stage(const char *name)
{
	const char *at = getenv("CGF_TEST_CRASH_AT");

	if (at && !strcmp(at, name))
		raise(SIGKILL);
}

static int pin_get(const char *dir, const char *name)
{
	char p[PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return bpf_obj_get(p);
}

static const char *slot_pin(int h, char *buf, size_t len)
{
	snprintf(buf, len, "slot-%s", cgf_hook_names[h]);
	return buf;
}

/* The deciding slot of the policy in dir (0, 1 or CGF_SLOT_OFF), -errno without one. */
static int read_active(const char *dir)
{
	_cleanup_close_ int fd = pin_get(dir, "active");
	uint32_t zero = 0, v;

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &v))
		return -errno;
	return (int)(v > CGF_SLOT_OFF ? CGF_SLOT_OFF : v);
}

static int write_active(int fd, uint32_t slot)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, &slot, BPF_ANY) ? -errno : 0;
}

static int read_meta_slot(const char *dir, uint32_t slot, struct cgf_meta *m)
{
	_cleanup_close_ int fd = pin_get(dir, "meta");

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, m))
		return -errno;
	return m->magic == CGF_META_MAGIC ? 0 : -ENOENT;
}

/* The meta of the version in force. */
static int read_meta(const char *dir, struct cgf_meta *m)
{
	int act = read_active(dir);

	if (act < 0)
		return act;
	return act < CGF_SLOTS ? read_meta_slot(dir, (uint32_t)act, m) : -ENOENT;
}

/* The program of hook h in a slot: a prog array answers a lookup with the program's id. */
static int slot_prog(const char *dir, int h, uint32_t slot, uint32_t *id)
{
	char n[32];
	_cleanup_close_ int fd = pin_get(dir, slot_pin(h, n, sizeof(n)));
	int pfd;

	if (fd < 0 || bpf_map_lookup_elem(fd, &slot, id))
		return -errno;
	pfd = bpf_prog_get_fd_by_id(*id);
	return pfd < 0 ? -errno : pfd;
}

static int attach_pin(int prog_fd, int cgfd, int h, const char *path)
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

static int cg_mask_get(int fd, uint64_t id)
{
	uint32_t mask = 0;

	if (fd >= 0)
		bpf_map_lookup_elem(fd, &id, &mask);
	return (int)mask;
}

/* Take a policy out of force at once (every hook allows), then remove its pins. */
static int remove_policy(const char *dir)
{
	_cleanup_close_ int fd = pin_get(dir, "active");
	int err;

	if (fd >= 0 && (err = write_active(fd, CGF_SLOT_OFF)))
		return cgf_error(err, "bpf: failed to switch %s off: %s", dir, strerror(-err));
	stage("detach-off");
	err = remove_tree(dir);
	return err ? cgf_error(err, "failed to remove %s: %s", dir, strerror(-err)) : 0;
}

static const char *const redirect_pins[] = { "revnat", "backend_hits", "rr" };

/*
 * Make the pins of one policy say exactly what its version in force says.
 * This finishes an apply (every link runs the active slot's program; hooks
 * and cgroups the version does not have are dropped, the other slot is
 * emptied), undoes an apply that failed or was killed before its switch,
 * finishes a detach, drops cgroups that are gone and re-attaches links that
 * were detached or unpinned from outside. Idempotent; needs the lock.
 */
static const char *settle_stage;	/* tests: the stage name of a settle's middle */

static int settle(const char *dir, struct cgf_gc_stats *st)
{
	int act = read_active(dir), progs[CGF_H_MAX], mapfd = -1, left = 0;
	uint32_t ids[CGF_H_MAX], other;
	struct cgf_meta m, none = {};
	char p[PATH_LEN], n[32];
	DIR *d;
	struct dirent *e;

	if (act < 0 || act >= CGF_SLOTS || read_meta_slot(dir, (uint32_t)act, &m)) {
		/* no version in force: a first apply or a detach cut short */
		if (st)
			st->removed_policies++;
		return remove_policy(dir);
	}
	if (cgf_meta_layout(&m) > CGF_LAYOUT)
		return cgf_error(-EPROTO, "%s: applied by a newer cgfence (pin layout %u, this "
				 "cgfence knows up to %u): left as it is", dir, cgf_meta_layout(&m),
				 CGF_LAYOUT);
	other = (uint32_t)act ^ 1;
	for (int h = 0; h < CGF_H_MAX; h++)
		progs[h] = m.hooks & (1u << h) ? slot_prog(dir, h, (uint32_t)act, &ids[h]) : -1;
	mapfd = pin_get(dir, "cgroups");

	d = opendir(dir);
	while (d && (e = readdir(d))) {
		unsigned long long id;
		char path[512], cgdir[PATH_LEN];
		uint32_t bit = 1u << act;
		_cleanup_close_ int cgfd = -1;

		if (strncmp(e->d_name, "cg-", 3) || sscanf(e->d_name + 3, "%llu", &id) != 1)
			continue;
		snprintf(cgdir, sizeof(cgdir), "%s/%s", dir, e->d_name);
		if (!(cg_mask_get(mapfd, id) & bit) || cgf_cgroup_path_by_id(id, path, sizeof(path)) ||
		    (cgfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			remove_tree(cgdir);	/* not this version's, or gone */
			if (mapfd >= 0)
				bpf_map_delete_elem(mapfd, &id);
			if (st)
				st->removed_cgroups++;
			continue;
		}
		for (int h = 0; h < CGF_H_MAX; h++) {
			struct bpf_link_info info = {};
			uint32_t len = sizeof(info);
			int lfd;

			snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
			if (!(m.hooks & (1u << h))) {
				unlink(p);
				continue;
			}
			if (progs[h] < 0)
				continue;
			lfd = bpf_obj_get(p);
			if (lfd >= 0 && !bpf_obj_get_info_by_fd(lfd, &info, &len) &&
			    info.cgroup.cgroup_id == 0) {
				close(lfd);	/* detached from outside: attach anew */
				lfd = -1;
				unlink(p);
			}
			if (lfd >= 0) {
				if (info.prog_id != ids[h] && bpf_link_update(lfd, progs[h], NULL))
					fprintf(stderr, "cgfence: warning: %s: failed to update: %m\n",
						p);
				close(lfd);
				continue;
			}
			if (!attach_pin(progs[h], cgfd, h, p) && st) {
				st->repaired++;
				snprintf(st->last_repair, sizeof(st->last_repair), "%s", p);
			}
			cgf_clear_error();
		}
		if (mapfd >= 0)
			bpf_map_update_elem(mapfd, &id, &bit, BPF_ANY);
		left++;
		if (settle_stage)
			stage(settle_stage);
	}
	if (d)
		closedir(d);
	/* cgroup ids whose directory is gone */
	if (mapfd >= 0) {
		uint64_t key, next, *gone = NULL;
		size_t ngone = 0, cap = 0;
		int more = bpf_map_get_next_key(mapfd, NULL, &next);

		while (!more) {
			key = next;
			snprintf(p, sizeof(p), "%s/cg-%llu", dir, (unsigned long long)key);
			if (access(p, F_OK)) {
				GROW(gone, cap, ngone + 1);
				gone[ngone++] = key;
			}
			more = bpf_map_get_next_key(mapfd, &key, &next);
		}
		for (size_t i = 0; i < ngone; i++)
			bpf_map_delete_elem(mapfd, &gone[i]);
		free(gone);
		close(mapfd);
	}
	/* the other slot: empty; hooks the version does not have: gone */
	for (int h = 0; h < CGF_H_MAX; h++) {
		_cleanup_close_ int fd = pin_get(dir, slot_pin(h, n, sizeof(n)));

		if (progs[h] >= 0)
			close(progs[h]);
		if (fd < 0)
			continue;
		bpf_map_delete_elem(fd, &other);
		if (!(m.hooks & (1u << h))) {
			bpf_map_delete_elem(fd, &act);
			snprintf(p, sizeof(p), "%s/%s", dir, n);
			unlink(p);
		}
	}
	snprintf(p, sizeof(p), "%s/rules-%u", dir, other);
	unlink(p);
	snprintf(p, sizeof(p), "%s/hits-%u", dir, other);
	unlink(p);
	if (!(m.hooks & CGF_REDIRECT_ONLY_HOOKS))	/* no redirect in force: no state for it */
		for (size_t i = 0; i < ARRAY_SIZE(redirect_pins); i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, redirect_pins[i]);
			unlink(p);
		}
	{
		_cleanup_close_ int fd = pin_get(dir, "meta");

		if (fd >= 0)
			bpf_map_update_elem(fd, &other, &none, BPF_ANY);
	}
	if (!left && !(m.flags & CGF_META_KEEP)) {
		if (st)
			st->removed_policies++;
		return remove_policy(dir);	/* its last cgroup is gone */
	}
	return 0;
}



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

		err = reuse_pinned(slot_map(s, h), dir, slot_pin(h, n, sizeof(n)));
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
			err = pin_map(slot_map(s, h), dir, slot_pin(h, n, sizeof(n)));
	}
	/* last: a directory with no "active" pin is an apply cut short */
	return err ?: pin_map(s->maps.cgf_active, dir, "active");
}

/* Links for the cgroup at path (id) to the programs of this slot, where missing. */
static int attach_cgroup(const char *dir, const char *path, uint64_t id, uint32_t hooks,
			 const int *prog_fds, int mapfd, uint32_t slot)
{
	char cgdir[PATH_LEN], p[PATH_LEN];
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
		err = attach_pin(prog_fds[h], cgfd, h, p);
		stage("attaching");
	}
	/* the cgroup belongs to this slot's version only once all its links are there */
	mask = (uint32_t)cg_mask_get(mapfd, id) | 1u << slot;
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
	char dir[PATH_LEN];
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
		err = settle(dir, NULL);	/* finish or undo a run that was cut short */
		if (err)
			return err;
	}
	err = cgf_layout_claim(CGF_PIN_ROOT);	/* this version is of our layout */
	if (err)
		return err;
	act = read_active(dir);
	res->replaced = act >= 0 && act < CGF_SLOTS && !read_meta_slot(dir, (uint32_t)act, &old);
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
		err = write_active(bpf_map__fd(s->maps.cgf_active), CGF_SLOT_OFF);
	if (err)
		goto out;
	stage("loaded");

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = cgf_error(-errno, "cannot create %s: %m", dir);
		goto out;
	}
	err = pin_shared(s, dir, p, c->hooks);
	if (err)
		goto undo;
	stage("pinned");

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
		char rp[PATH_LEN], hp[PATH_LEN];

		snprintf(rp, sizeof(rp), "%s/rules-%u", dir, slot);
		snprintf(hp, sizeof(hp), "%s/hits-%u", dir, slot);
		unlink(rp);
		unlink(hp);
		if (bpf_map__pin(s->maps.cgf_rule_info, rp) || bpf_map__pin(s->maps.cgf_rule_hits, hp)) {
			err = cgf_error(-EIO, "bpf: failed to pin %s or %s", rp, hp);
			goto undo;
		}
	}
	stage("slots");

	/* links where there are none yet; they defer to the version in force */
	for (size_t i = 0; i < n && !err; i++)
		err = attach_cgroup(dir, paths[i], ids[i], c->hooks, prog_fds,
				    bpf_map__fd(s->maps.cgf_cgroups), slot);
	if (!err && getenv("CGF_TEST_FAIL_AFTER_ATTACH"))	/* tests: a late failure */
		err = cgf_error(-EIO, "failing after attach (CGF_TEST_FAIL_AFTER_ATTACH)");
	if (err)
		goto undo;
	stage("attached");

	/* the switch: one map write puts the new version in force on every hook */
	err = write_active(bpf_map__fd(s->maps.cgf_active), slot);
	if (err) {
		err = cgf_error(err, "bpf: failed to switch to the new version: %s", strerror(-err));
		goto undo;
	}
	stage("switched");
	settle_stage = "settling";
	if (settle(dir, NULL))		/* links to the new programs, old version dropped */
		fprintf(stderr, "cgfence: warning: %s\n", cgf_last_error());
	settle_stage = NULL;
	cgf_clear_error();
	res->cgroup_id = ids[0];
	res->generation = meta.generation;
	res->hooks = c->hooks;
	goto out;
undo:
	/* the old version (or none) is still in force: drop whatever the new one added */
	settle(dir, NULL);
out:
	cgfence_bpf__destroy(s);
	return err;
}

/* ---- what the daemon needs: a version in force, more or fewer cgroups ---- */

int cgf_attach_cgroups(const char *name, const char *const *paths, size_t n)
{
	char dir[PATH_LEN];
	struct cgf_meta m;
	int progs[CGF_H_MAX], act, err;
	_cleanup_close_ int mapfd = -1;

	err = cgf_lock();
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	act = read_active(dir);
	if (act < 0 || act >= CGF_SLOTS || read_meta_slot(dir, (uint32_t)act, &m))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	mapfd = pin_get(dir, "cgroups");
	if (mapfd < 0)
		return cgf_error(-errno, "%s/cgroups: %m", dir);
	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t id;

		progs[h] = m.hooks & (1u << h) ? slot_prog(dir, h, (uint32_t)act, &id) : -1;
		if ((m.hooks & (1u << h)) && progs[h] < 0)
			err = cgf_error(progs[h], "%s: no program for %s", dir, cgf_hook_names[h]);
	}
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t id = 0;

		err = cgf_cgroup_id(paths[i], &id);
		err = err ?: attach_cgroup(dir, paths[i], id, m.hooks, progs, mapfd, (uint32_t)act);
		if (err && id) {	/* a half-attached cgroup is not recorded: drop it */
			char cgdir[PATH_LEN];

			snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)id);
			if (!(cg_mask_get(mapfd, id) & (1 << act)))
				remove_tree(cgdir);
		}
	}
	for (int h = 0; h < CGF_H_MAX; h++)
		if (progs[h] >= 0)
			close(progs[h]);
	return err;
}

int cgf_policy_state(const char *name, struct cgf_meta *m, uint64_t **ids, size_t *n)
{
	char dir[PATH_LEN];
	DIR *d;
	struct dirent *e;
	size_t cap = 0;
	int err;

	*ids = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	err = read_meta(dir, m);
	if (err)
		return err;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		unsigned long long id;

		if (strncmp(e->d_name, "cg-", 3) || sscanf(e->d_name + 3, "%llu", &id) != 1)
			continue;
		GROW(*ids, cap, *n + 1);
		(*ids)[(*n)++] = id;
	}
	if (d)
		closedir(d);
	return 0;
}

int cgf_vis_open(const char *name, struct cgf_vis *v)
{
	char dir[PATH_LEN];
	int act;

	memset(v, 0, sizeof(*v));
	v->events = v->pstats = v->acct = v->rule_hits = v->rule_info = -1;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	if (cgf_layout_check(CGF_PIN_ROOT))
		return -EPROTO;
	act = read_active(dir);
	if (act < 0 || act >= CGF_SLOTS || read_meta_slot(dir, (uint32_t)act, &v->meta))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	v->events = pin_get(dir, "events");
	v->pstats = pin_get(dir, "pstats");
	v->acct = pin_get(dir, "acct");
	for (int h = 0; h < CGF_H_MAX; h++) {
		uint32_t id = 0;
		int fd;

		if (!(v->meta.hooks & (1u << h)))
			continue;
		fd = slot_prog(dir, h, (uint32_t)act, &id);
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
		v->rule_hits = pin_get(dir, n);
		snprintf(n, sizeof(n), "rules-%d", act);
		v->rule_info = pin_get(dir, n);
		if (v->rule_info >= 0 && !bpf_obj_get_info_by_fd(v->rule_info, &mi, &mlen))
			v->n_rule_slots = mi.max_entries;
	}
	return 0;
}

void cgf_vis_close(struct cgf_vis *v)
{
	int *fds[] = { &v->events, &v->pstats, &v->acct, &v->rule_hits, &v->rule_info };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int cgf_detach_cgroup(const char *name, uint64_t id)
{
	char dir[PATH_LEN], cgdir[PATH_LEN];
	_cleanup_close_ int mapfd = -1;
	int err = cgf_lock();

	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)id);
	mapfd = pin_get(dir, "cgroups");
	if (mapfd >= 0)
		bpf_map_delete_elem(mapfd, &id);	/* first: a cut-short removal is finished by settle */
	err = remove_tree(cgdir);
	return err ? cgf_error(err, "failed to remove %s: %s", cgdir, strerror(-err)) : 0;
}

int cgf_detach(const char *name)
{
	char dir[PATH_LEN];
	int err;

	if (!valid_name(name))
		return cgf_error(-EINVAL, "'%s' is not a policy name", name);
	err = cgf_lock();
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	if (access(dir, F_OK))
		return cgf_error(-ENOENT, "no policy named '%s' is applied", name);
	err = remove_policy(dir);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}

/* Call fn for every policy directory under the pin root, in readdir order. */
static int for_each_policy(int (*fn)(const char *dir, const char *name, void *arg), void *arg)
{
	DIR *d = opendir(CGF_PIN_ROOT);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : cgf_error(-errno, "cannot open %s: %m", CGF_PIN_ROOT);
	while ((e = readdir(d))) {
		char p[PATH_LEN];

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(p, sizeof(p), "%s/%s", CGF_PIN_ROOT, e->d_name);
		err = fn(p, e->d_name, arg) ?: err;
	}
	closedir(d);
	return err;
}

static int detach_one(const char *dir, const char *name, void *arg)
{
	(void)name;
	if (remove_policy(dir))
		return -EIO;
	(*(int *)arg)++;
	return 0;
}

int cgf_detach_all(int *count)
{
	int err = cgf_lock();

	*count = 0;
	if (err)
		return err;
	err = for_each_policy(detach_one, count);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
}

static int gc_one(const char *dir, const char *name, void *arg)
{
	(void)name;
	return settle(dir, arg);
}

int cgf_gc(struct cgf_gc_stats *st)
{
	int err = cgf_lock();

	if (st)
		memset(st, 0, sizeof(*st));
	if (err)
		return err;
	err = for_each_policy(gc_one, st);
	cgf_layout_release_if_empty(CGF_PIN_ROOT);
	return err;
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
	_cleanup_close_ int fd = pin_get(dir, "stats");

	for (uint32_t h = 0; fd >= 0 && h < CGF_H_MAX; h++) {
		a->denied[h] = cgf_percpu_sum(fd, h * CGF_C_MAX + CGF_C_DENIED);
		a->audit[h] = cgf_percpu_sum(fd, h * CGF_C_MAX + CGF_C_AUDIT);
	}
}

/* network.redirect: connections per (entry, backend), the non-zero ones */
static void read_backend_hits(const char *dir, struct cgf_applied *a)
{
	_cleanup_close_ int fd = pin_get(dir, "backend_hits");
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

struct list_acc {
	struct cgf_applied *arr;
	size_t n, cap;
};

static int list_one(const char *dir, const char *name, void *arg)
{
	struct list_acc *acc = arg;
	struct cgf_applied *a;
	DIR *cd;
	struct dirent *ce;

	GROW(acc->arr, acc->cap, acc->n + 1);
	a = &acc->arr[acc->n++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	read_meta(dir, &a->meta);
	read_stats(dir, a);
	read_backend_hits(dir, a);
	cd = opendir(dir);
	while (cd && (ce = readdir(cd))) {
		unsigned long long id;
		char cp[PATH_LEN];
		struct cgf_applied_cg *cg;

		if (strncmp(ce->d_name, "cg-", 3) || sscanf(ce->d_name + 3, "%llu", &id) != 1)
			continue;
		a->cgs = xrealloc(a->cgs, (a->n_cgs + 1) * sizeof(*a->cgs));
		cg = &a->cgs[a->n_cgs++];
		memset(cg, 0, sizeof(*cg));
		cg->id = id;
		snprintf(cp, sizeof(cp), "%s/%s", dir, ce->d_name);
		cg->hooks = hooks_in(cp);
		if (cgf_cgroup_path_by_id(id, cg->path, sizeof(cg->path)))
			cg->path[0] = '\0';
	}
	if (cd)
		closedir(cd);
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
		err = for_each_policy(list_one, &acc);
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

void cgf_applied_free(struct cgf_applied *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].cgs);
		free(a[i].backends);
	}
	free(a);
}
