// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sockdefs.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* numbers as in linux/socket.h (some are newer than libc's headers) */
static const struct {
	const char *name;
	int af;
} fams[] = {
	{ "unix", 1 },	    { "local", 1 },  { "ax25", 3 },	 { "ipx", 4 },	      { "appletalk", 5 },
	{ "x25", 9 },	    { "key", 15 },   { "netlink", 16 }, { "packet", 17 },    { "rds", 21 },
	{ "pppox", 24 },   { "llc", 26 },   { "ib", 27 },	 { "can", 29 },	      { "tipc", 30 },
	{ "bluetooth", 31 }, { "alg", 38 }, { "nfc", 39 },	 { "vsock", 40 },     { "kcm", 41 },
	{ "qipcrtr", 42 }, { "smc", 43 },   { "xdp", 44 },	 { "mctp", 45 },
};

int cgf_family_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(fams); i++)
		if (!strcmp(name, fams[i].name))
			return fams[i].af;
	return -1;
}

bool cgf_family_known(const char *name)
{
	return cgf_family_by_name(name) >= 0;
}

static const struct {
	const char *name;
	int type;
} types[] = { { "stream", SOCK_STREAM }, { "dgram", SOCK_DGRAM }, { "raw", SOCK_RAW },
	      { "seqpacket", SOCK_SEQPACKET } };

int cgf_socktype_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	return -1;
}

const char *cgf_socktype_name(int type)
{
	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (types[i].type == type)
			return types[i].name;
	return "?";
}

static const struct {
	const char *name;
	int proto;
} protos[] = { { "icmp", IPPROTO_ICMP },   { "igmp", IPPROTO_IGMP },       { "tcp", IPPROTO_TCP },
	       { "udp", IPPROTO_UDP },     { "dccp", IPPROTO_DCCP },       { "gre", IPPROTO_GRE },
	       { "esp", IPPROTO_ESP },     { "icmpv6", IPPROTO_ICMPV6 },   { "sctp", IPPROTO_SCTP },
	       { "udplite", IPPROTO_UDPLITE }, { "mptcp", IPPROTO_MPTCP } };

int cgf_ipproto_by_name(const char *name)
{
	char *end;
	long v;

	for (size_t i = 0; i < ARRAY_LEN(protos); i++)
		if (!strcmp(name, protos[i].name))
			return protos[i].proto;
	if (!(*name >= '0' && *name <= '9'))
		return -1;
	errno = 0;
	v = strtol(name, &end, 10);
	return (*end || errno || v < 0 || v > 255) ? -1 : (int)v;
}

const char *cgf_ipproto_name(int proto)
{
	static char buf[16];

	for (size_t i = 0; i < ARRAY_LEN(protos); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	snprintf(buf, sizeof(buf), "%d", proto);
	return buf;
}

#define O(level, opt) { #opt, level, opt }
static const struct {
	const char *name;
	int level, opt;
} opts[] = {
	O(SOL_SOCKET, SO_DEBUG), O(SOL_SOCKET, SO_REUSEADDR), O(SOL_SOCKET, SO_TYPE),
	O(SOL_SOCKET, SO_ERROR), O(SOL_SOCKET, SO_DONTROUTE), O(SOL_SOCKET, SO_BROADCAST),
	O(SOL_SOCKET, SO_SNDBUF), O(SOL_SOCKET, SO_RCVBUF), O(SOL_SOCKET, SO_SNDBUFFORCE),
	O(SOL_SOCKET, SO_RCVBUFFORCE), O(SOL_SOCKET, SO_KEEPALIVE), O(SOL_SOCKET, SO_OOBINLINE),
	O(SOL_SOCKET, SO_PRIORITY), O(SOL_SOCKET, SO_LINGER), O(SOL_SOCKET, SO_REUSEPORT),
	O(SOL_SOCKET, SO_PASSCRED), O(SOL_SOCKET, SO_PEERCRED), O(SOL_SOCKET, SO_RCVLOWAT),
	O(SOL_SOCKET, SO_SNDLOWAT), O(SOL_SOCKET, SO_BINDTODEVICE), O(SOL_SOCKET, SO_BINDTOIFINDEX),
	O(SOL_SOCKET, SO_ATTACH_FILTER), O(SOL_SOCKET, SO_DETACH_FILTER), O(SOL_SOCKET, SO_ATTACH_BPF),
	O(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF), O(SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF),
	O(SOL_SOCKET, SO_TIMESTAMP), O(SOL_SOCKET, SO_MARK), O(SOL_SOCKET, SO_BUSY_POLL),
	O(SOL_SOCKET, SO_INCOMING_CPU), O(SOL_SOCKET, SO_ZEROCOPY), O(SOL_SOCKET, SO_TXTIME),
	O(SOL_IP, IP_TOS), O(SOL_IP, IP_TTL), O(SOL_IP, IP_HDRINCL), O(SOL_IP, IP_OPTIONS),
	O(SOL_IP, IP_RECVERR), O(SOL_IP, IP_MTU_DISCOVER), O(SOL_IP, IP_TRANSPARENT),
	O(SOL_IP, IP_FREEBIND), O(SOL_IP, IP_BIND_ADDRESS_NO_PORT), O(SOL_IP, IP_MULTICAST_IF),
	O(SOL_IP, IP_MULTICAST_TTL), O(SOL_IP, IP_MULTICAST_LOOP), O(SOL_IP, IP_ADD_MEMBERSHIP),
	O(SOL_IP, IP_DROP_MEMBERSHIP), O(SOL_IP, IP_PKTINFO),
	O(SOL_IPV6, IPV6_V6ONLY), O(SOL_IPV6, IPV6_UNICAST_HOPS), O(SOL_IPV6, IPV6_MULTICAST_IF),
	O(SOL_IPV6, IPV6_MULTICAST_HOPS), O(SOL_IPV6, IPV6_ADD_MEMBERSHIP),
	O(SOL_IPV6, IPV6_DROP_MEMBERSHIP), O(SOL_IPV6, IPV6_TCLASS), O(SOL_IPV6, IPV6_RECVERR),
	O(SOL_IPV6, IPV6_FREEBIND), O(SOL_IPV6, IPV6_TRANSPARENT), O(SOL_IPV6, IPV6_PKTINFO),
	O(SOL_TCP, TCP_NODELAY), O(SOL_TCP, TCP_MAXSEG), O(SOL_TCP, TCP_CORK),
	O(SOL_TCP, TCP_KEEPIDLE), O(SOL_TCP, TCP_KEEPINTVL), O(SOL_TCP, TCP_KEEPCNT),
	O(SOL_TCP, TCP_SYNCNT), O(SOL_TCP, TCP_LINGER2), O(SOL_TCP, TCP_DEFER_ACCEPT),
	O(SOL_TCP, TCP_WINDOW_CLAMP), O(SOL_TCP, TCP_INFO), O(SOL_TCP, TCP_QUICKACK),
	O(SOL_TCP, TCP_CONGESTION), O(SOL_TCP, TCP_MD5SIG), O(SOL_TCP, TCP_USER_TIMEOUT),
	O(SOL_TCP, TCP_REPAIR), O(SOL_TCP, TCP_FASTOPEN), O(SOL_TCP, TCP_FASTOPEN_CONNECT),
	O(SOL_TCP, TCP_NOTSENT_LOWAT), O(SOL_TCP, TCP_ULP), O(SOL_TCP, TCP_SAVE_SYN),
	O(SOL_TCP, TCP_ZEROCOPY_RECEIVE),
};
#undef O

static const struct {
	const char *name;
	int level;
} levels[] = { { "SOL_SOCKET", SOL_SOCKET }, { "SOL_IP", SOL_IP },  { "IPPROTO_IP", SOL_IP },
	       { "SOL_IPV6", SOL_IPV6 },     { "IPPROTO_IPV6", SOL_IPV6 },
	       { "SOL_TCP", SOL_TCP },       { "IPPROTO_TCP", SOL_TCP }, { "SOL_UDP", IPPROTO_UDP } };

static int number(const char *s, int *out)
{
	char *end;
	long v;

	if (!(*s >= '0' && *s <= '9'))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v > 0x7fffffff)
		return -1;
	*out = (int)v;
	return 0;
}

int cgf_sockopt_by_name(const char *name, int *level, int *optname)
{
	const char *colon = strchr(name, ':');

	for (size_t i = 0; i < ARRAY_LEN(opts); i++)
		if (!strcmp(name, opts[i].name)) {
			*level = opts[i].level;
			*optname = opts[i].opt;
			return 0;
		}
	if (!colon || colon == name)
		return -1;
	char lv[32];
	size_t n = (size_t)(colon - name);

	if (n >= sizeof(lv))
		return -1;
	memcpy(lv, name, n);
	lv[n] = '\0';
	if (number(lv, level)) {
		size_t i;

		for (i = 0; i < ARRAY_LEN(levels) && strcmp(lv, levels[i].name); i++)
			;
		if (i == ARRAY_LEN(levels))
			return -1;
		*level = levels[i].level;
	}
	return number(colon + 1, optname);
}
