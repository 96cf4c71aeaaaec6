/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sockets from outside: the kernel runs the cgroup programs of the cgroup a
 * socket was created in, not of the process that uses it. A socket made
 * before its process moved into a policy's cgroup, or passed in over
 * SCM_RIGHTS, is not filtered by the policy. No cgroup hook can see that; so
 * we look: the sockets held by the processes of a policy's cgroups (their
 * /proc/PID/fd), and each one's cgroup as sock_diag reports it
 * (INET_DIAG_CGROUP_ID), in the network namespace of each process.
 *
 * Found: TCP and UDP sockets, IPv4 and IPv6 (tcp_diag, udp_diag). Not found:
 * raw and ping sockets (the kernel has no diag for ping, and raw_diag is not
 * built into every kernel); unix and netlink sockets (no cgroup hook filters
 * them anyway).
 */
#ifndef CGF_OUTSIDE_H
#define CGF_OUTSIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct cgf_outside {
	int pid, fd;			/* one process holding it, and its fd there */
	char comm[17];
	uint8_t family, proto, state;	/* AF_INET/6, IPPROTO_TCP/UDP, TCP state */
	uint8_t shut;			/* sk_shutdown: 1 receive, 2 send, 3 both */
	char local[64], remote[64];	/* "127.0.0.1:80", "[::1]:80"; remote "" if none */
	uint64_t cgroup_id;		/* the socket's cgroup */
	uint64_t cookie, ino;		/* sock_diag's cookie, the socket's inode */
	uint64_t netns;			/* inode of the process's network namespace */
	uint32_t diag_id[12];		/* struct inet_diag_sockid, to name it to SOCK_DESTROY */
	int destroyed;			/* 1 destroyed, -errno failed, 0 not asked */
};

/*
 * The TCP and UDP sockets held by the processes of these cgroups (and of
 * their descendants) whose own cgroup is outside all of them. Returns 0 with
 * *v (malloc'd, free it) and *n, or -errno with the error set.
 */
int cgf_outside_scan(const char *const *cgroups, size_t n_cgroups, struct cgf_outside **v,
		     size_t *n);

/* Destroy one: SOCK_DESTROY resets its connection (calls waiting on it fail
 * with ECONNABORTED), then a copy of the holder's fd (pidfd_getfd) is shut
 * down both ways, so that it cannot send again, even connect()ed anew. Sets
 * s->destroyed (1, or -errno); returns it. */
int cgf_outside_destroy(struct cgf_outside *s);

/* {pid, comm, fd, protocol, local, remote, state, cgroup_id, cgroup, destroyed} */
json_object *cgf_outside_json(const struct cgf_outside *s);

/* One line for people: "pid 12 (nc): tcp 127.0.0.1:5000 -> 127.0.0.2:80 (cgroup /x)" */
void cgf_outside_str(const struct cgf_outside *s, char *buf, size_t len);

#endif

/*
 * A policy's cgroups looked at now: each socket from outside is destroyed
 * when the policy's meta says so (network.outside_sockets: destroy), and one
 * not in seen (cookies, sorted; NULL: none) becomes an "outside-socket"
 * event in the policy's log and is passed to say (may be NULL). *seen is
 * replaced by the cookies found now. Returns how many were found, or -errno.
 */
int cgf_outside_act(const char *name, const char *const *cgroups, size_t n_cgroups,
		    uint32_t meta_flags, uint64_t **seen, size_t *n_seen,
		    void (*say)(const char *policy, const struct cgf_outside *s));
