// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The host: libbpf's messages, the kernel's HZ, what cgfence needs, the pin lock. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <zlib.h>

#include <bpf/libbpf.h>

#include "cgroup.h"
#include "compile.h"
#include "env.h"
#include "layout.h"
#include "pins.h"
#include "util.h"

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

/* ---- the host's facts, for the compiler ---- */

static int host_devices(const struct cgf_host *h, const char *pattern,
			int (*fn)(void *arg, uint32_t type, uint32_t major, uint32_t minor),
			void *arg)
{
	glob_t g = { 0 };
	int rc = glob(pattern, 0, NULL, &g), n;

	(void)h;
	if (rc == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (rc) {
		globfree(&g);
		return -EINVAL;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;

		if (stat(g.gl_pathv[i], &st) || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			fn(arg, 0, 0, 0);
		else
			fn(arg, S_ISCHR(st.st_mode) ? 2 : 1, major(st.st_rdev), minor(st.st_rdev));
	}
	n = (int)g.gl_pathc;
	globfree(&g);
	return n;
}

void cgf_host_probe(struct cgf_host *h)
{
	char *cc = NULL, *range = NULL;

	memset(h, 0, sizeof(*h));
	h->hz = cgf_kernel_hz();
	if (!read_file("/proc/sys/net/ipv4/ip_local_port_range", &range, NULL)) {
		unsigned int lo, hi;

		if (sscanf(range, "%u %u", &lo, &hi) == 2 && lo && lo <= hi && hi <= 65535) {
			h->eph_lo = (uint16_t)lo;
			h->eph_hi = (uint16_t)hi;
		}
		free(range);
	}
	if (!read_file("/proc/sys/net/ipv4/tcp_available_congestion_control", &cc, NULL))
		h->congestion = cc;	/* unreadable: unknown, the kernel decides */
	h->devices = host_devices;
}

void cgf_host_free(struct cgf_host *h)
{
	free((char *)h->congestion);
	h->congestion = NULL;
}
