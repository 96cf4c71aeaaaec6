// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sockets from outside a policy's cgroups, found with sock_diag (outside.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgfence/abi.h"
#include "container.h"
#include "events.h"
#include "outside.h"
#include "util.h"

_Static_assert(sizeof(((struct cgf_outside *)0)->diag_id) == sizeof(struct inet_diag_sockid),
	       "room for an inet_diag_sockid");

struct held {		/* a socket fd of a process in the cgroups */
	uint64_t ino, netns;
	int pid, fd;
};

struct scan {
	uint64_t *ids;		/* the cgroups and their descendants, sorted */
	size_t n_ids, cap_ids;
	int *pids;
	size_t n_pids, cap_pids;
	struct held *held;	/* sorted by inode, then pid */
	size_t n_held, cap_held;
	struct cgf_outside *out;
	size_t n_out, cap_out;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->pid - y->pid;
}

/* A cgroup, its descendants: their ids and processes. */
static void walk_cgroup(struct scan *s, const char *path, int depth)
{
	char sub[4096];
	uint64_t id;
	DIR *d;
	struct dirent *e;
	FILE *f;
	int pid;

	if (depth > 64 || cgf_cgroup_id(path, &id))
		return;
	GROW(s->ids, s->cap_ids, s->n_ids + 1);
	s->ids[s->n_ids++] = id;
	snprintf(sub, sizeof(sub), "%s/cgroup.procs", path);
	f = fopen(sub, "re");
	while (f && fscanf(f, "%d", &pid) == 1) {
		GROW(s->pids, s->cap_pids, s->n_pids + 1);
		s->pids[s->n_pids++] = pid;
	}
	if (f)
		fclose(f);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			walk_cgroup(s, sub, depth + 1);
		}
	if (d)
		closedir(d);
}

/* The socket fds of a process. */
static void process_sockets(struct scan *s, int pid)
{
	char path[64], link[64];
	struct stat st;
	uint64_t netns;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st))
		return;		/* gone */
	netns = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		unsigned long long ino;
		char fdpath[96];
		ssize_t n;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		GROW(s->held, s->cap_held, s->n_held + 1);
		s->held[s->n_held++] = (struct held){ .ino = ino, .netns = netns, .pid = pid,
						      .fd = atoi(e->d_name) };
	}
	if (d)
		closedir(d);
}

/* A sock_diag socket in the network namespace of pid (-errno). */
static int diag_socket(int pid)
{
	char path[64];
	int self, ns, fd, err = 0;
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		err = -errno;
		close(ns);
		return err;
	}
	bool same = !fstat(ns, &a) && !fstat(self, &b) && a.st_ino == b.st_ino;

	if (!same && setns(ns, CLONE_NEWNET))
		err = -errno;
	fd = err ? err : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0 && !err)
		fd = -errno;
	if (!same && !err && setns(self, CLONE_NEWNET))
		abort();	/* cannot go home: every later socket would be made elsewhere */
	close(ns);
	close(self);
	return fd;
}

static void addr_port(int family, const uint32_t *a, uint16_t port_be, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, a, s, sizeof(s));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", s, ntohs(port_be));
}

static bool held_by_us(struct scan *s, uint64_t ino, size_t *at)
{
	size_t lo = 0, hi = s->n_held;

	while (lo < hi) {	/* the first entry of this inode */
		size_t mid = (lo + hi) / 2;

		if (s->held[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < s->n_held && s->held[lo].ino == ino;
}

static void on_sock(struct scan *s, const struct inet_diag_msg *m, size_t attr_len)
{
	uint64_t cg = 0;
	size_t at;
	bool have_cg = false;
	uint8_t shut = 0;

	if (!held_by_us(s, m->idiag_inode, &at))
		return;
	for (const struct rtattr *a = (const struct rtattr *)(m + 1); RTA_OK(a, attr_len);
	     a = RTA_NEXT(a, attr_len))
		if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= sizeof(cg)) {
			memcpy(&cg, RTA_DATA(a), sizeof(cg));
			have_cg = true;
		} else if (a->rta_type == INET_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1) {
			shut = *(const uint8_t *)RTA_DATA(a);
		}
	if (!have_cg || bsearch(&cg, s->ids, s->n_ids, sizeof(*s->ids), cmp_u64))
		return;
	GROW(s->out, s->cap_out, s->n_out + 1);
	struct cgf_outside *o = &s->out[s->n_out++];
	const struct held *h = &s->held[at];
	char path[64];
	bool any_remote = m->id.idiag_dport != 0;
	FILE *f;

	memset(o, 0, sizeof(*o));
	o->pid = h->pid;
	o->fd = h->fd;
	o->netns = h->netns;
	snprintf(path, sizeof(path), "/proc/%d/comm", h->pid);
	f = fopen(path, "re");
	if (!f || !fgets(o->comm, sizeof(o->comm), f))
		snprintf(o->comm, sizeof(o->comm), "?");
	if (f)
		fclose(f);
	o->comm[strcspn(o->comm, "\n")] = '\0';
	o->family = m->idiag_family;
	o->state = m->idiag_state;
	o->cgroup_id = cg;
	o->ino = m->idiag_inode;
	o->shut = shut;
	o->cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
	memcpy(o->diag_id, &m->id, sizeof(m->id));
	addr_port(m->idiag_family, m->id.idiag_src, m->id.idiag_sport, o->local, sizeof(o->local));
	if (any_remote)
		addr_port(m->idiag_family, m->id.idiag_dst, m->id.idiag_dport, o->remote,
			  sizeof(o->remote));
}

/* Dump one family and protocol of the namespace fd is in. */
static int dump(struct scan *s, int fd, uint8_t family, uint8_t proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .sdiag_family = family, .sdiag_protocol = proto, .idiag_states = ~0u },
	};
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t first = s->n_out;

	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto done;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			on_sock(s, NLMSG_DATA(h),
				h->nlmsg_len - NLMSG_LENGTH(sizeof(struct inet_diag_msg)));
		}
	}
done:
	for (size_t i = first; i < s->n_out; i++)
		s->out[i].proto = proto;
	return 0;
}

int cgf_outside_scan(const char *const *cgroups, size_t n_cgroups, struct cgf_outside **v,
		     size_t *n)
{
	struct scan s = {};
	int err = 0;

	{
		CGF_DIAG_SCOPE(d);	/* a cgroup that went has no processes */

		for (size_t i = 0; i < n_cgroups; i++)
			walk_cgroup(&s, cgroups[i], 0);
	}
	if (s.n_ids)
		qsort(s.ids, s.n_ids, sizeof(*s.ids), cmp_u64);
	for (size_t i = 0; i < s.n_pids; i++)
		process_sockets(&s, s.pids[i]);
	if (s.n_held)
		qsort(s.held, s.n_held, sizeof(*s.held), cmp_held);
	/* one dump per network namespace that holds some of the sockets */
	uint64_t *done = NULL;
	size_t n_done = 0, cap_done = 0;

	for (size_t i = 0; i < s.n_held && !err; i++) {
		bool seen = false;
		int fd;

		for (size_t j = 0; j < n_done; j++)
			seen |= done[j] == s.held[i].netns;
		if (seen)
			continue;
		GROW(done, cap_done, n_done + 1);
		done[n_done++] = s.held[i].netns;
		fd = diag_socket(s.held[i].pid);
		if (fd < 0)
			continue;	/* the process went */
		static const uint8_t fams[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP,
										   IPPROTO_UDP };

		for (size_t f = 0; f < 2 && !err; f++)
			for (size_t p = 0; p < 2 && !err; p++)
				err = dump(&s, fd, fams[f], protos[p]);
		close(fd);
		if (err)
			err = cgf_error(err, "sock_diag: cannot list the sockets of pid %d's network "
					"namespace: %s", s.held[i].pid, strerror(-err));
	}
	free(done);
	free(s.ids);
	free(s.pids);
	free(s.held);
	if (err) {
		free(s.out);
		return err;
	}
	*v = s.out;
	*n = s.n_out;
	return 0;
}

int cgf_outside_destroy(struct cgf_outside *o)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DESTROY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.r = { .sdiag_family = o->family, .sdiag_protocol = o->proto, .idiag_states = ~0u },
	};
	char buf[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd = diag_socket(o->pid);
	ssize_t n;

	memcpy(&req.r.id, o->diag_id, sizeof(req.r.id));
	if (fd < 0)
		return o->destroyed = fd;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		o->destroyed = -errno;
	} else if ((n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		o->destroyed = -errno;
	} else {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		o->destroyed = NLMSG_OK(h, (size_t)n) && h->nlmsg_type == NLMSG_ERROR
			? (((const struct nlmsgerr *)NLMSG_DATA(h))->error ?: 1) : -EPROTO;
	}
	close(fd);
	if (o->destroyed > 0) {	/* no more sending from it, whatever it is connected to */
		int pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0), dup = -1;
		struct stat st;

		if (pidfd >= 0)
			dup = (int)syscall(SYS_pidfd_getfd, pidfd, o->fd, 0);
		if (dup >= 0 && !fstat(dup, &st) && st.st_ino == o->ino)
			shutdown(dup, SHUT_RDWR);
		else if (pidfd < 0 || dup < 0)
			o->destroyed = -errno;
		if (dup >= 0)
			close(dup);
		if (pidfd >= 0)
			close(pidfd);
	}
	return o->destroyed;
}

static const char *proto_str(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "?";
}

json_object *cgf_outside_json(const struct cgf_outside *s)
{
	CGF_DIAG_SCOPE(d);	/* a cgroup gone has no path */
	json_object *o = json_object_new_object();
	char path[600];
	bool have_path = !cgf_cgroup_path_by_id(s->cgroup_id, path, sizeof(path));

	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "comm", json_object_new_string(s->comm));
	json_object_object_add(o, "fd", json_object_new_int(s->fd));
	json_object_object_add(o, "protocol", json_object_new_string(proto_str(s->proto)));
	json_object_object_add(o, "family", json_object_new_string(
		s->family == AF_INET6 ? "inet6" : "inet"));
	json_object_object_add(o, "local", json_object_new_string(s->local));
	json_object_object_add(o, "remote", s->remote[0] ? json_object_new_string(s->remote)
							  : NULL);
	json_object_object_add(o, "cookie", json_object_new_uint64(s->cookie));
	json_object_object_add(o, "socket_cgroup_id", json_object_new_uint64(s->cgroup_id));
	json_object_object_add(o, "socket_cgroup", have_path ? json_object_new_string(path)
							      : NULL);
	json_object_object_add(o, "shut_down", json_object_new_string(
		s->shut == 3 ? "both" : s->shut == 2 ? "send" : s->shut == 1 ? "receive" : "no"));
	json_object_object_add(o, "destroyed", json_object_new_boolean(s->destroyed > 0));
	if (s->destroyed < 0)
		json_object_object_add(o, "destroy_error",
				       json_object_new_string(strerror(-s->destroyed)));
	return o;
}

void cgf_outside_str(const struct cgf_outside *s, char *buf, size_t len)
{
	CGF_DIAG_SCOPE(d);	/* a cgroup gone has no path */
	char path[600];

	if (cgf_cgroup_path_by_id(s->cgroup_id, path, sizeof(path)))
		snprintf(path, sizeof(path), "id %llu", (unsigned long long)s->cgroup_id);
	snprintf(buf, len, "pid %d (%s) fd %d: %s %s%s%s, made in cgroup %s%s", s->pid, s->comm,
		 s->fd, proto_str(s->proto), s->local, s->remote[0] ? " -> " : "", s->remote, path,
		 s->destroyed > 0 ? " (destroyed)" : s->shut == 3 ? " (shut down)" : "");
}

int cgf_outside_act(const char *name, const char *const *cgroups, size_t n_cgroups,
		    uint32_t meta_flags, uint64_t **seen, size_t *n_seen,
		    void (*say)(const char *policy, const struct cgf_outside *s))
{
	struct cgf_outside *v = NULL;
	size_t n = 0;
	int err = cgf_outside_scan(cgroups, n_cgroups, &v, &n);
	uint64_t *now;

	if (err)
		return err;
	now = xcalloc(n + 1, sizeof(*now));
	for (size_t i = 0; i < n; i++) {
		bool known = *seen && bsearch(&v[i].cookie, *seen, *n_seen, sizeof(**seen),
					      cmp_u64);

		now[i] = v[i].cookie;
		if ((meta_flags & CGF_META_DESTROY_OUTSIDE) && v[i].shut != 3)
			cgf_outside_destroy(&v[i]);
		if (known && v[i].destroyed <= 0)
			continue;
		json_object *o = cgf_outside_json(&v[i]);

		char cg[600];
		bool have_cg;

		{
			CGF_DIAG_SCOPE(d);	/* the process may have gone */

			have_cg = !cgf_cgroup_of_pid(v[i].pid, cg, sizeof(cg));
		}

		json_object_object_add(o, "type", json_object_new_string("outside-socket"));
		json_object_object_add(o, "policy", json_object_new_string(name));
		json_object_object_add(o, "cgroup", have_cg ? json_object_new_string(cg) : NULL);
		json_object_object_add(o, "container", have_cg ? cgf_container_json(cg) : NULL);
		json_object_object_add(o, "action", json_object_new_string(
			meta_flags & CGF_META_DESTROY_OUTSIDE ? "destroy" : "report"));
		cgf_event_append(name, o);
		json_object_put(o);
		if (say)
			say(name, &v[i]);
	}
	qsort(now, n, sizeof(*now), cmp_u64);
	free(*seen);
	*seen = now;
	*n_seen = n;
	free(v);
	return (int)n;
}
