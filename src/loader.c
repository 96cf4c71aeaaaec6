// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
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
#include "loader.h"
#include "util.h"

#define PATH_LEN 640

const char *const cgf_hook_names[CGF_H_MAX] = {
	[CGF_H_CONNECT4] = "connect4", [CGF_H_CONNECT6] = "connect6",
	[CGF_H_SENDMSG4] = "sendmsg4", [CGF_H_SENDMSG6] = "sendmsg6",
	[CGF_H_EGRESS] = "egress",     [CGF_H_INGRESS] = "ingress",
	[CGF_H_BIND4] = "bind4",       [CGF_H_BIND6] = "bind6",
	[CGF_H_SOCK_CREATE] = "sock_create",
	[CGF_H_SETSOCKOPT] = "setsockopt", [CGF_H_GETSOCKOPT] = "getsockopt",
	[CGF_H_DEVICE] = "dev",	       [CGF_H_SOCKOPS] = "sockops",
	[CGF_H_SYSCTL] = "sysctl",
	[CGF_H_RECVMSG4] = "recvmsg4", [CGF_H_RECVMSG6] = "recvmsg6",
	[CGF_H_GETPEERNAME4] = "getpeername4", [CGF_H_GETPEERNAME6] = "getpeername6",
};

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

static struct bpf_program *hook_prog(struct cgfence_bpf *s, int h)
{
	switch (h) {
	case CGF_H_CONNECT4:
		return s->progs.cgf_connect4;
	case CGF_H_CONNECT6:
		return s->progs.cgf_connect6;
	case CGF_H_SENDMSG4:
		return s->progs.cgf_sendmsg4;
	case CGF_H_SENDMSG6:
		return s->progs.cgf_sendmsg6;
	case CGF_H_EGRESS:
		return s->progs.cgf_egress;
	case CGF_H_INGRESS:
		return s->progs.cgf_ingress;
	case CGF_H_BIND4:
		return s->progs.cgf_bind4;
	case CGF_H_BIND6:
		return s->progs.cgf_bind6;
	case CGF_H_SOCK_CREATE:
		return s->progs.cgf_sock_create;
	case CGF_H_SETSOCKOPT:
		return s->progs.cgf_setsockopt;
	case CGF_H_GETSOCKOPT:
		return s->progs.cgf_getsockopt;
	case CGF_H_DEVICE:
		return s->progs.cgf_dev;
	case CGF_H_SOCKOPS:
		return s->progs.cgf_sockops;
	case CGF_H_SYSCTL:
		return s->progs.cgf_sysctl;
	case CGF_H_RECVMSG4:
		return s->progs.cgf_recvmsg4;
	case CGF_H_RECVMSG6:
		return s->progs.cgf_recvmsg6;
	case CGF_H_GETPEERNAME4:
		return s->progs.cgf_getpeername4;
	default:
		return s->progs.cgf_getpeername6;
	}
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

static int read_meta(const char *dir, struct cgf_meta *m)
{
	char p[PATH_LEN];
	_cleanup_close_ int fd = -1;
	uint32_t zero = 0;

	snprintf(p, sizeof(p), "%s/meta", dir);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, m))
		return -errno;
	return m->magic == CGF_META_MAGIC ? 0 : -EINVAL;
}

/* What was changed, to undo it if a later step fails. */
struct undo {
	int link_fd[CGF_H_MAX];	/* updated links ... */
	int old_prog_fd[CGF_H_MAX];	/* ... and what they ran before */
	char new_pin[CGF_H_MAX][PATH_LEN];	/* links attached by this apply */
	char map_pin[8][PATH_LEN];		/* maps pinned by this apply */
	size_t n_map_pins;
};

static void undo_attach(struct undo *u)
{
	for (int h = CGF_H_MAX - 1; h >= 0; h--) {
		if (u->link_fd[h] >= 0 && u->old_prog_fd[h] >= 0)
			bpf_link_update(u->link_fd[h], u->old_prog_fd[h], NULL);
		if (u->new_pin[h][0])
			unlink(u->new_pin[h]);
	}
	while (u->n_map_pins)
		unlink(u->map_pin[--u->n_map_pins]);
}

static void undo_close(struct undo *u)
{
	for (int h = 0; h < CGF_H_MAX; h++) {
		if (u->link_fd[h] >= 0)
			close(u->link_fd[h]);
		if (u->old_prog_fd[h] >= 0)
			close(u->old_prog_fd[h]);
	}
}

static int attach_hook(struct cgfence_bpf *s, int h, int cgfd, const char *cgdir, bool exists,
		       struct undo *u)
{
	struct bpf_program *prog = hook_prog(s, h);
	char p[PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
	if (exists) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);

		u->link_fd[h] = bpf_obj_get(p);
		if (u->link_fd[h] < 0)
			return cgf_error(-errno, "bpf: failed to open link '%s': %m", p);
		if (bpf_obj_get_info_by_fd(u->link_fd[h], &info, &len))
			return cgf_error(-errno, "bpf: failed to read link '%s': %m", p);
		u->old_prog_fd[h] = bpf_prog_get_fd_by_id(info.prog_id);
		if (u->old_prog_fd[h] < 0)
			return cgf_error(-errno, "bpf: failed to open the program of link '%s': %m",
					 p);
		if (bpf_link_update(u->link_fd[h], bpf_program__fd(prog), NULL)) {
			int err = -errno;

			close(u->old_prog_fd[h]);
			u->old_prog_fd[h] = -1; /* nothing to restore */
			return cgf_error(err, "bpf: failed to replace the program of link '%s': %s",
					 p, strerror(-err));
		}
		return 0;
	}

	struct bpf_link *link = bpf_program__attach_cgroup(prog, cgfd);
	int err;

	if (!link)
		return cgf_error(-errno, "bpf: failed to attach %s to the cgroup: %m",
				 cgf_hook_names[h]);
	err = bpf_link__pin(link, p);
	if (err) {
		bpf_link__destroy(link);
		return cgf_error(err, "bpf: failed to pin link '%s': %s", p, strerror(-err));
	}
	snprintf(u->new_pin[h], PATH_LEN, "%s", p);
	bpf_link__destroy(link);	/* closes our fd; the pin keeps it attached */
	return 0;
}

/* Pin m as dir/name unless already pinned; a pin made here is recorded in
 * u so that a failed apply can take it back. */
static int pin_map(struct bpf_map *m, const char *dir, const char *name, struct undo *u)
{
	char p[PATH_LEN];
	int err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!access(p, F_OK))
		return 0;
	err = bpf_map__pin(m, p);
	if (err)
		return cgf_error(err, "bpf: failed to pin map '%s': %s", p, strerror(-err));
	if (u->n_map_pins < ARRAY_SIZE(u->map_pin))
		snprintf(u->map_pin[u->n_map_pins++], PATH_LEN, "%s", p);
	return 0;
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

/* Remove the cg-* directories of a policy except keep_id (0: remove all). */
static void remove_other_cgroups(const char *dir, uint64_t keep_id)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char keep[64], p[PATH_LEN];

	if (!d)
		return;
	snprintf(keep, sizeof(keep), "cg-%llu", (unsigned long long)keep_id);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "cg-", 3) && strcmp(e->d_name, keep)) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			remove_tree(p);
		}
	closedir(d);
}

static size_t at_least_one(size_t n)
{
	return n ? n : 1;
}

int cgf_apply(const struct cgf_policy *p, const struct cgf_compiled *c,
	      const struct cgf_apply_opts *o, struct cgf_apply_result *res)
{
	const char *name = o->name ? o->name : p->name;
	char dir[PATH_LEN], cgdir[PATH_LEN];
	struct cgfence_bpf *s = NULL;
	struct cgf_meta meta = {}, old = {};
	struct undo u;
	bool dir_created = false, cgdir_created = false;
	_cleanup_close_ int cgfd = -1;
	uint32_t old_hooks, zero = 0;
	uint64_t cgid;
	int err;

	memset(res, 0, sizeof(*res));
	memset(&u, 0, sizeof(u));
	for (int h = 0; h < CGF_H_MAX; h++)
		u.link_fd[h] = u.old_prog_fd[h] = -1;

	err = cgf_lock();
	if (err)
		return err;
	err = cgf_cgroup_id(o->cgroup, &cgid);
	if (err)
		return err;
	cgfd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return cgf_error(-errno, "cgroup %s: cannot open: %m", o->cgroup);
	snprintf(dir, sizeof(dir), "%s/%s", CGF_PIN_ROOT, name);
	snprintf(cgdir, sizeof(cgdir), "%s/cg-%llu", dir, (unsigned long long)cgid);
	res->replaced = !read_meta(dir, &old);

	/* open -> size maps, set rodata -> load -> fill: nothing attached yet */
	s = cgfence_bpf__open();
	if (!s) {
		err = cgf_error(-errno, "bpf: failed to open the BPF object: %m");
		goto out;
	}
	s->rodata->cfg_audit = o->mode == CGF_MODE_AUDIT;
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

			if (hz <= 0) {
				err = cgf_error_at(-ENOENT, p->file, p->tcp.syn_rto_line,
						   p->tcp.syn_rto_col, "syn_rto_ms: cannot find the "
						   "kernel's HZ (no /proc/config.gz or /boot/config-*)");
				goto out;
			}
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
	err = reuse_pinned(s->maps.cgf_stats, dir, "stats");
	if (!err)
		err = reuse_pinned(s->maps.cgf_meta, dir, "meta");
	/* replies and getpeername of sockets redirected by the version before
	 * keep their translation; counters and round-robin positions go on */
	if (!err)
		err = reuse_pinned(s->maps.cgf_revnat, dir, "revnat");
	if (!err)
		err = reuse_pinned(s->maps.cgf_backend_hits, dir, "backend_hits");
	if (!err)
		err = reuse_pinned(s->maps.cgf_rr, dir, "rr");
	if (err)
		goto out;
	err = cgfence_bpf__load(s);
	if (err) {
		err = cgf_error(err, "bpf: failed to load the programs: %s\n%s", strerror(-err),
				cgf_libbpf_log());
		goto out;
	}
	err = fill_maps(s, c);
	if (!err)
		err = fill_sockopt(s, p);
	if (!err)
		err = fill_sysctl(s, p);
	if (!err)
		err = fill_redirects(s, p);
	if (err)
		goto out;

	/* attach: new hooks get links, existing links get the new programs */
	if (mkdir(dir, 0700) == 0)
		dir_created = true;
	else if (errno != EEXIST) {
		err = cgf_error(-errno, "cannot create %s: %m", dir);
		goto out;
	}
	if (mkdir(cgdir, 0700) == 0)
		cgdir_created = true;
	else if (errno != EEXIST) {
		err = cgf_error(-errno, "cannot create %s: %m", cgdir);
		goto out;
	}
	err = pin_map(s->maps.cgf_stats, dir, "stats", &u);
	if (!err)
		err = pin_map(s->maps.cgf_meta, dir, "meta", &u);
	if (!err && p->sec[CGF_DIR_REDIRECT].present)
		err = pin_map(s->maps.cgf_revnat, dir, "revnat", &u);
	if (!err && p->sec[CGF_DIR_REDIRECT].present)
		err = pin_map(s->maps.cgf_backend_hits, dir, "backend_hits", &u);
	if (!err && p->sec[CGF_DIR_REDIRECT].present)
		err = pin_map(s->maps.cgf_rr, dir, "rr", &u);
	if (err) {
		undo_attach(&u);
		goto out;
	}
	old_hooks = hooks_in(cgdir);
	for (int h = 0; h < CGF_H_MAX && !err; h++)
		if (c->hooks & (1u << h))
			err = attach_hook(s, h, cgfd, cgdir, old_hooks & (1u << h), &u);
	if (!err && getenv("CGF_TEST_FAIL_AFTER_ATTACH"))	/* tests: a late failure */
		err = cgf_error(-EIO, "failing after attach (CGF_TEST_FAIL_AFTER_ATTACH)");
	if (err) {
		undo_attach(&u);
		goto out;
	}

	/* the new version is in force: drop what it no longer has */
	for (int h = 0; h < CGF_H_MAX; h++)
		if ((old_hooks & (1u << h)) && !(c->hooks & (1u << h))) {
			char lp[PATH_LEN];

			snprintf(lp, sizeof(lp), "%s/%s", cgdir, cgf_hook_names[h]);
			unlink(lp);
		}
	remove_other_cgroups(dir, cgid);

	meta.magic = CGF_META_MAGIC;
	meta.mode = (uint32_t)o->mode;
	meta.hooks = c->hooks;
	meta.generation = res->replaced ? old.generation + 1 : 1;
	meta.applied_at = (uint64_t)time(NULL);
	meta.n_prefixes = p->n_prefixes;
	meta.n_rules = (uint32_t)p->n_rules;
	snprintf(meta.name, sizeof(meta.name), "%s", name);
	snprintf(meta.source, sizeof(meta.source), "%s", o->source ? o->source : "");
	if (bpf_map_update_elem(bpf_map__fd(s->maps.cgf_meta), &zero, &meta, BPF_ANY))
		fprintf(stderr, "cgfence: warning: failed to record the policy's metadata: %m\n");
	res->cgroup_id = cgid;
	res->generation = meta.generation;
	res->hooks = c->hooks;
	dir_created = cgdir_created = false;
out:
	undo_close(&u);
	if (cgdir_created)
		remove_tree(cgdir);
	if (dir_created)
		remove_tree(dir);
	cgfence_bpf__destroy(s);
	return err;
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
	err = remove_tree(dir);
	if (err)
		return cgf_error(err, "failed to remove %s: %s", dir, strerror(-err));
	return 0;
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
	if (remove_tree(dir))
		return cgf_error(-EIO, "failed to remove %s", dir);
	(*(int *)arg)++;
	return 0;
}

int cgf_detach_all(int *count)
{
	int err = cgf_lock();

	*count = 0;
	return err ? err : for_each_policy(detach_one, count);
}

/* Is the cgroup a link is attached to still there? */
static bool cg_alive(const char *cgdir, uint64_t id)
{
	char p[PATH_LEN], path[512];

	for (int h = 0; h < CGF_H_MAX; h++) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);
		int fd;

		snprintf(p, sizeof(p), "%s/%s", cgdir, cgf_hook_names[h]);
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id == 0) {
			close(fd);
			return false;	/* auto-detached: its cgroup was removed */
		}
		close(fd);
	}
	return cgf_cgroup_path_by_id(id, path, sizeof(path)) == 0;
}

static int gc_policy(const char *dir, bool *empty)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int left = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char p[PATH_LEN];
		unsigned long long id;

		if (strncmp(e->d_name, "cg-", 3) || sscanf(e->d_name + 3, "%llu", &id) != 1)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (cg_alive(p, id) && hooks_in(p))
			left++;
		else
			remove_tree(p);
	}
	closedir(d);
	*empty = left == 0;
	return 0;
}

static int gc_one(const char *dir, const char *name, void *arg)
{
	bool empty = false;

	(void)name;
	(void)arg;
	if (!gc_policy(dir, &empty) && empty)
		remove_tree(dir);
	return 0;
}

int cgf_gc(void)
{
	int err = cgf_lock();

	return err ? err : for_each_policy(gc_one, NULL);
}

static void read_stats(const char *dir, struct cgf_applied *a)
{
	char p[PATH_LEN];
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *vals;

	snprintf(p, sizeof(p), "%s/stats", dir);
	fd = bpf_obj_get(p);
	if (fd < 0 || ncpu <= 0)
		return;
	vals = xcalloc((size_t)ncpu, sizeof(*vals));
	for (uint32_t h = 0; h < CGF_H_MAX; h++)
		for (uint32_t k = 0; k < CGF_C_MAX; k++) {
			uint32_t idx = h * CGF_C_MAX + k;
			uint64_t sum = 0;

			if (bpf_map_lookup_elem(fd, &idx, vals))
				continue;
			for (int i = 0; i < ncpu; i++)
				sum += vals[i];
			if (k == CGF_C_DENIED)
				a->denied[h] = sum;
			else
				a->audit[h] = sum;
		}
	free(vals);
	close(fd);
}

/* network.redirect: connections per (entry, backend), the non-zero ones */
static void read_backend_hits(const char *dir, struct cgf_applied *a)
{
	char p[PATH_LEN];
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t *vals;
	size_t cap = 0;

	snprintf(p, sizeof(p), "%s/backend_hits", dir);
	fd = bpf_obj_get(p);
	if (fd < 0 || ncpu <= 0)
		return;
	vals = xcalloc((size_t)ncpu, sizeof(*vals));
	for (uint32_t i = 0; i < CGF_BACKEND_HITS; i++) {
		uint64_t sum = 0;

		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (!sum)
			continue;
		GROW(a->backends, cap, a->n_backends + 1);
		a->backends[a->n_backends++] = (struct cgf_backend_count){
			.entry = i / CGF_REDIR_BACKENDS, .backend = i % CGF_REDIR_BACKENDS,
			.connections = sum };
	}
	free(vals);
	close(fd);
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
	struct list_acc acc = { 0 };
	int err = cgf_gc();

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
