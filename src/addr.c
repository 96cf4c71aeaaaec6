// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgfence/abi.h"
#include "addr.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };	/* RFC 6052 */
static const uint8_t compat[12];	/* ::a.b.c.d, with a != 0 */

void cgf_prefix_mask(struct cgf_prefix *p)
{
	int bits = p->family == 4 ? 32 : 128;

	for (int i = 0; i < 16; i++) {
		int keep = p->len - i * 8;

		if (i * 8 >= bits || keep <= 0)
			p->addr[i] = 0;
		else if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

bool cgf_prefix_contains(const struct cgf_prefix *p, const struct cgf_prefix *a)
{
	int full = p->len / 8, rest = p->len % 8;

	if (p->family != a->family)
		return false;
	if (memcmp(p->addr, a->addr, full))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((p->addr[full] & m) != (a->addr[full] & m))
			return false;
	}
	return true;
}

void cgf_prefix_unmap(struct cgf_prefix *p)
{
	if (p->family != 6 || p->len < 96)
		return;
	if (memcmp(p->addr, v4mapped, 12) && memcmp(p->addr, nat64, 12) &&
	    (memcmp(p->addr, compat, 12) || p->len < 104 || !p->addr[12]))
		return;
	p->family = 4;
	p->len -= 96;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
}

void cgf_prefix_str(const struct cgf_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	if (p->len == (p->family == 4 ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
}

static int parse_one(const char *s, struct cgf_prefix *p, const char **why)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct cgf_prefix orig;
	char *end;
	long len;

	if (alen == 0 || alen >= sizeof(tmp)) {
		*why = "not an address";
		return -EINVAL;
	}
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, tmp, p->addr) == 1) {
		p->family = 4;
	} else if (inet_pton(AF_INET6, tmp, p->addr) == 1) {
		p->family = 6;
	} else {
		*why = "not an IPv4 or IPv6 address, prefix or address word";
		return -EINVAL;
	}
	len = p->family == 4 ? 32 : 128;
	if (slash) {
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || len < 0 || len > (p->family == 4 ? 32 : 128) ||
		    !(slash[1] >= '0' && slash[1] <= '9')) {
			*why = p->family == 4 ? "prefix length must be 0 to 32"
					      : "prefix length must be 0 to 128";
			return -EINVAL;
		}
	}
	p->len = (uint8_t)len;
	orig = *p;
	cgf_prefix_mask(p);
	if (memcmp(orig.addr, p->addr, 16)) {
		*why = "host bits are set after the prefix length";
		return -EINVAL;
	}
	cgf_prefix_unmap(p);
	return 0;
}

static int word(struct cgf_prefix out[], const char *const list[])
{
	int n = 0;
	const char *why;

	for (; list[n]; n++)
		parse_one(list[n], &out[n], &why);
	return n;
}

int cgf_parse_prefixes(const char *s, struct cgf_prefix out[CGF_WORD_MAX], const char **why)
{
	static const char *const any[] = { "0.0.0.0/0", "::/0", NULL };
	static const char *const localhost[] = { "127.0.0.0/8", "::1/128", NULL };
	static const char *const linklocal[] = { "169.254.0.0/16", "fe80::/10", NULL };
	static const char *const multicast[] = { "224.0.0.0/4", "ff00::/8", NULL };
	static const char *const private[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
						"fc00::/7", NULL };
	int err;

	if (!strcmp(s, "any"))
		return word(out, any);
	if (!strcmp(s, "localhost"))
		return word(out, localhost);
	if (!strcmp(s, "link-local"))
		return word(out, linklocal);
	if (!strcmp(s, "multicast"))
		return word(out, multicast);
	if (!strcmp(s, "private"))
		return word(out, private);
	err = parse_one(s, &out[0], why);
	return err ? err : 1;
}

int cgf_parse_port_range(const char *s, struct cgf_port_range *out, const char **why)
{
	unsigned long lo, hi;
	char *end;

	if (!(*s >= '0' && *s <= '9'))
		goto bad;
	errno = 0;
	lo = strtoul(s, &end, 10);
	if (errno)
		goto bad;
	hi = lo;
	if (*end == '-') {
		const char *h = end + 1;

		if (!(*h >= '0' && *h <= '9'))
			goto bad;
		hi = strtoul(h, &end, 10);
		if (errno)
			goto bad;
	}
	if (*end)
		goto bad;
	if (lo > 65535 || hi > 65535) {
		*why = "ports are 0 to 65535";
		return -EINVAL;
	}
	if (lo > hi) {
		*why = "a port range must go from low to high";
		return -EINVAL;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
bad:
	*why = "not a port or port range (e.g. 443 or \"8000-9000\")";
	return -EINVAL;
}

int cgf_parse_proto(const char *s, int *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = CGF_P_TCP;
	else if (!strcmp(s, "udp"))
		*proto = CGF_P_UDP;
	else if (!strcmp(s, "icmp"))
		*proto = CGF_P_ICMP;
	else if (!strcmp(s, "any"))
		*proto = -1;
	else
		return -EINVAL;
	return 0;
}

const char *cgf_proto_name(int proto)
{
	switch (proto) {
	case CGF_P_TCP:
		return "tcp";
	case CGF_P_UDP:
		return "udp";
	case CGF_P_ICMP:
		return "icmp";
	case CGF_P_OTHER:
		return "other";
	default:
		return "any";
	}
}

int cgf_parse_endpoint(const char *s, struct cgf_prefix *addr, uint16_t *port, int *proto,
		       const char **why)
{
	char buf[128];
	char *a, *p, *slash, *end;
	unsigned long v;

	if (strlen(s) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(buf, s);
	*proto = -1;
	slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (cgf_parse_proto(slash + 1, proto) || *proto < 0) {
			*why = "protocol must be tcp, udp or icmp";
			return -EINVAL;
		}
	}
	if (buf[0] == '[') {
		a = buf + 1;
		p = strchr(a, ']');
		if (!p || p[1] != ':') {
			*why = "write an IPv6 endpoint as [ADDR]:PORT";
			return -EINVAL;
		}
		*p = '\0';
		p += 2;
	} else {
		a = buf;
		p = strrchr(buf, ':');
		if (!p || strchr(buf, ':') != p) {
			*why = "write ADDR:PORT, or [ADDR]:PORT for IPv6";
			return -EINVAL;
		}
		*p++ = '\0';
	}
	errno = 0;
	v = strtoul(p, &end, 10);
	if (!*p || *end || errno || v > 65535 || !(*p >= '0' && *p <= '9')) {
		*why = "port must be 0 to 65535";
		return -EINVAL;
	}
	*port = (uint16_t)v;
	if (strchr(a, '/') || parse_one(a, addr, why)) {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	return 0;
}
