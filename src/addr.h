/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_ADDR_H
#define CGF_ADDR_H

#include <stdbool.h>
#include <stdint.h>

/* An IPv4 prefix keeps its 4 bytes in addr[0..3]; the rest is zero. */
struct cgf_prefix {
	uint8_t family;		/* 4 or 6 */
	uint8_t len;		/* 0..32 or 0..128 */
	uint8_t addr[16];
};

struct cgf_port_range {
	uint16_t lo, hi;
};

/* At most this many prefixes for one address word. */
#define CGF_WORD_MAX 4

/*
 * Parse an address list entry: a prefix, a single address or a word (any,
 * localhost, link-local, multicast, private). IPv4-mapped IPv6 prefixes of
 * length >= 96 become IPv4. Returns the number of prefixes written to out, or
 * -EINVAL with *why set to a reason.
 */
int cgf_parse_prefixes(const char *s, struct cgf_prefix out[CGF_WORD_MAX], const char **why);

/* "80", "8000-9000". Returns 0 or -EINVAL with *why. */
int cgf_parse_port_range(const char *s, struct cgf_port_range *out, const char **why);

/* "127.0.0.1:80/tcp", "[::1]:53/udp", "10.0.0.1:80" (proto optional, -1). */
int cgf_parse_endpoint(const char *s, struct cgf_prefix *addr, uint16_t *port, int *proto,
		       const char **why);

/* Does p (a prefix) contain the full address a (len = 32 or 128)? */
bool cgf_prefix_contains(const struct cgf_prefix *p, const struct cgf_prefix *a);
void cgf_prefix_mask(struct cgf_prefix *p);
/* Writes "10.0.0.0/8" (or just the address for a full-length prefix). */
void cgf_prefix_str(const struct cgf_prefix *p, char *buf, size_t len);
/* Turn IPv4 in IPv6 clothes into IPv4 in place: a v4-mapped (::ffff:0:0/96)
 * or NAT64 (64:ff9b::/96) prefix of length 96 or more, or an IPv4-compatible
 * one (::a.b.c.d, length 104 or more, a != 0, so :: and ::1 stay IPv6). */
void cgf_prefix_unmap(struct cgf_prefix *p);

/* Protocol words: tcp, udp, icmp, any; returns enum cgf_proto or -1 for any. */
int cgf_parse_proto(const char *s, int *proto);
const char *cgf_proto_name(int proto);

#endif
