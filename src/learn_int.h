/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The insides of learning (learn.h): what learn.c gathers from the events
 * and learn_yaml.c writes out. */
#ifndef CGF_LEARN_INT_H
#define CGF_LEARN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn.h"

enum { K_EGRESS, K_INGRESS, K_BIND, K_DEVICE, K_SYSCTL, K_MAX };
#define CGF_LEARN_COMMS 4

/* One thing seen: a (kind, what, protocol) and the ports it was seen with. */
struct seen {
	int kind;
	char what[300];		/* address, name, device "c 1:9", sysctl name */
	bool is_name;
	char proto[16];		/* tcp, udp, icmp, or "" */
	uint32_t ports[2048];	/* bit per port (65536 bits) */
	bool any_port;
	uint8_t access;		/* devices: m 1, r 2, w 4; sysctl: 1 read, 2 write */
	uint64_t count;
	char comms[CGF_LEARN_COMMS][16];	/* the processes, each once */
	size_t ncomms, more;		/* ... and how many more did not fit */
	char first[40], last[40];
};

struct dns_map {
	char addr[64], name[256];
};

/* a peer the workload sent to: its answers from there are replies */
struct asked {
	char addr[64], proto[16];
	int64_t port;
};

struct cgf_learn {
	struct seen *s;
	size_t n, cap;
	struct dns_map *d;
	size_t nd, capd;
	struct asked *a;
	size_t na, capa;
	uint8_t types;		/* socket types seen (bit per SOCK_*) */
	bool any_socket;
	uint64_t lost, used;
	uint64_t bad_names, bad_sysctls;	/* refused: not host names, glob characters */
};

/* comm into a rule's list of processes, once; past CGF_LEARN_COMMS, counted */
void cgf_learn_add_comm(char list[][16], size_t *n, size_t *more, const char *comm);

#endif
