/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Random egress policies and destinations for the differential tests. The
 * prefixes are drawn from a small part of 127.0.0.0/8 and of ::/0 around ::1
 * so that rules overlap often and every destination is a loopback address.
 */
#ifndef CGF_RANDPOLICY_H
#define CGF_RANDPOLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "util.h"

static unsigned int rp_seed;

static inline unsigned int rnd(unsigned int n)
{
	return (unsigned int)rand_r(&rp_seed) % n;
}

static inline void rand_prefix(char *buf, size_t len)
{
	switch (rnd(8)) {
	case 0:
		snprintf(buf, len, "%s", rnd(2) ? "any" : "localhost");
		return;
	case 1: {
		/* IPv6 prefixes that contain ::1 and ones that do not */
		static const char *const v6[] = { "::1", "::/127", "::/120", "::/96", "::/0",
						  "::2/127", "::100/120", "fe80::/10" };

		snprintf(buf, len, "\"%s\"", v6[rnd(8)]);
		return;
	}
	default: {
		int l = 8 + (int)rnd(25);
		uint32_t a = (127u << 24) | (rnd(4) << 16) | (rnd(4) << 8) | rnd(8);

		a &= ~0u << (32 - l);
		snprintf(buf, len, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
			 a & 255, l);
	}
	}
}

/* Appends one rule (YAML block mapping, 6 spaces of indent) to buf. */
static inline void rand_rule(char *buf, size_t len)
{
	static const char *const protos[] = { "any", "tcp", "udp", "icmp" };
	size_t n = strlen(buf);
	bool ports = rnd(2);
	char pf[64];

	n += (size_t)snprintf(buf + n, len - n, "      - action: %s\n", rnd(2) ? "allow" : "deny");
	if (rnd(5)) {
		n += (size_t)snprintf(buf + n, len - n, "        to: [");
		for (unsigned int i = 0, k = 1 + rnd(3); i < k; i++) {
			rand_prefix(pf, sizeof(pf));
			n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", pf);
		}
		n += (size_t)snprintf(buf + n, len - n, "]\n");
	}
	if (!rnd(3)) {
		rand_prefix(pf, sizeof(pf));
		n += (size_t)snprintf(buf + n, len - n, "        except: [%s]\n", pf);
	}
	if (ports) {
		unsigned int lo = 1000 + rnd(12), hi = lo + rnd(6);

		n += (size_t)snprintf(buf + n, len - n, "        ports: [%u, \"%u-%u\"]\n",
				      1000 + rnd(12), lo, hi);
	}
	if (rnd(2))
		snprintf(buf + n, len - n, "        protocol: %s\n", protos[rnd(ports ? 3 : 4)]);
}

/* A whole policy named name, with up to max_rules rules. */
static inline void rand_policy(char *buf, size_t len, const char *name, unsigned int max_rules)
{
	snprintf(buf, len, "version: 1\nname: %s\nnetwork:\n  egress:\n    default: %s\n    rules:\n",
		 name, rnd(2) ? "allow" : "deny");
	unsigned int k = rnd(max_rules + 1);

	if (!k)
		strncat(buf, "      []\n", len - strlen(buf) - 1);
	for (unsigned int i = 0; i < k; i++)
		rand_rule(buf, len);
}

/* A loopback destination: mostly 127.0-3.0-3.0-8, sometimes ::1. */
static inline void rand_dest(struct cgf_query *q)
{
	memset(q, 0, sizeof(*q));
	q->dir = CGF_DIR_EGRESS;
	q->proto = (int)rnd(4);
	q->port = (uint16_t)(998 + rnd(20));
	if (rnd(4)) {
		q->addr.family = 4;
		q->addr.len = 32;
		q->addr.addr[0] = 127;
		q->addr.addr[1] = (uint8_t)rnd(4);
		q->addr.addr[2] = (uint8_t)rnd(4);
		q->addr.addr[3] = (uint8_t)rnd(9);
	} else {
		q->addr.family = 6;
		q->addr.len = 128;
		q->addr.addr[15] = 1;
	}
}

/*
 * Write yaml to file, parse it into *p and apply it with `cgf apply file
 * --cgroup cgroup`. 0; or 1 after printing a "not ok" line for policy it,
 * with *p freed (NULL).
 */
static inline int rp_apply(const char *cgf, const char *file, const char *cgroup,
			   const char *yaml, int it, struct cgf_policy **p)
{
	char cmd[1024];
	FILE *f = fopen(file, "w");

	*p = NULL;
	if (!f)
		return 1;
	fputs(yaml, f);
	fclose(f);
	if (cgf_policy_load(file, p)) {
		printf("not ok - policy %d does not parse: %s\n%s", it, cgf_last_error(), yaml);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s apply %s --cgroup %s >/dev/null", cgf, file, cgroup);
	if (system(cmd)) {
		printf("not ok - policy %d: apply failed\n", it);
		cgf_policy_free(*p);
		*p = NULL;
		return 1;
	}
	return 0;
}

#endif
