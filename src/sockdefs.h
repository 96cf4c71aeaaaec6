/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of socket families, types, IP protocols and socket options. */
#ifndef CGF_SOCKDEFS_H
#define CGF_SOCKDEFS_H

#include <stdbool.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* An address family other than inet/inet6 (packet, unix, netlink, ...). */
bool cgf_family_known(const char *name);
/* its AF_* number (below 64), else -1 */
int cgf_family_by_name(const char *name);
/* stream, dgram, raw, seqpacket -> SOCK_*, else -1 */
int cgf_socktype_by_name(const char *name);
const char *cgf_socktype_name(int type);
/* tcp, udp, icmp, ... or a number 0-255 -> IPPROTO_*, else -1 */
int cgf_ipproto_by_name(const char *name);
const char *cgf_ipproto_name(int proto);
/* SO_REUSEPORT, TCP_CONGESTION, ... or LEVEL:OPTNAME; 0 or -1 */
int cgf_sockopt_by_name(const char *name, int *level, int *optname);

#endif
