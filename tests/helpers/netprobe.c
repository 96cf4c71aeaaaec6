// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * netprobe: the sockets side of cgfence's tests. Prints one word per result:
 * "ok", an errno name (EPERM, ECONNREFUSED, ...) or "timeout".
 *
 *   netprobe connect tcp|udp ADDR PORT [--timeout-ms N] [--from ADDR]
 *   netprobe sendto udp ADDR PORT [--connected] [--from ADDR]
 *   netprobe recv udp ADDR PORT [--timeout-ms N]     wait for one datagram
 *   netprobe listen tcp|udp ADDR PORT [--say NAME] [--stream]   serve until killed
 *        (--stream: TCP, echo each connection to its end); with
 *        --say, answer every connection (datagram) with NAME instead of an echo
 *   netprobe hello tcp|udp ADDR PORT [--count N] [--same-socket]   talk to a
 *        --say server; one exchange prints "NAME peer=ADDR:PORT" (tcp:
 *        getpeername; udp: the reply's source from recvfrom), several print
 *        "NAME=count ..." (--same-socket: one UDP socket, connect()ed again
 *        for every exchange; --wait-file F: after connecting, wait until F exists)
 *   netprobe loop ADDR1 PORT ADDR2 PORT MS           UDP connects alternating
 *        between two destinations for MS ms or until SIGTERM; then prints
 *        "A:ok=N,eperm=M,other=K B:..."
 *   netprobe batch                                  read "ADDR PORT PROTO" lines,
 *        print one result per line (tcp: connect with 200 ms timeout; udp: connect)
 *   netprobe bind tcp|udp ADDR PORT                  bind() a socket
 *   netprobe flood ADDR PORT N                       N UDP connects on one socket;
 *        prints "ok=X eperm=Y other=Z"
 *   netprobe send ADDR PORT BYTES                    TCP: send BYTES to an echo server
 *        (listen tcp --stream), read the echo; "sent=N received=M"
 *   netprobe socket inet|inet6 stream|dgram|raw [PROTO]   socket()
 *   netprobe setsockopt|getsockopt OPTION             on a TCP/IPv4 socket; OPTION is
 *        SO_REUSEPORT, SO_REUSEADDR, SO_KEEPALIVE, SO_BINDTODEVICE, IP_TRANSPARENT,
 *        IP_TOS or TCP_CONGESTION
 *   netprobe open PATH r|w|rw                       open() a file or device
 *   netprobe mknod PATH c|b MAJOR MINOR             mknod() a device node (removed again)
 *   netprobe sysctl-read NAME | sysctl-write NAME VALUE   NAME as net/ipv4/ip_forward
 *   netprobe tcpinfo ADDR PORT                      connect; print "cc=NAME cwnd=N"
 *   netprobe synrto ADDR PORT                       start a connect (whose SYN the
 *        test drops); print the SYN's retransmission timeout "rto_ms=N"
 *
 * Addresses may be IPv4 or IPv6 (brackets optional). Only for loopback tests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ETIMEDOUT: return "timeout";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EINVAL: return "EINVAL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "EOTHER";
	}
}

static int parse_sa(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	char buf[128];
	size_t n = strlen(addr);

	memset(ss, 0, sizeof(*ss));
	if (addr[0] == '[' && n > 2 && n < sizeof(buf)) {
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
		addr = buf;
	}
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	fprintf(stderr, "netprobe: bad address '%s'\n", addr);
	exit(2);
}

static int sock_for(const struct sockaddr_storage *ss, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		printf("%s\n", errname(errno));
		exit(1);
	}
	return fd;
}

static void bind_from(int fd, const char *from, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!from)
		return;
	parse_sa(from, 0, &ss, &len);
	if (ss.ss_family != family) {
		fprintf(stderr, "netprobe: --from family differs\n");
		exit(2);
	}
	if (bind(fd, (void *)&ss, len)) {
		printf("bind:%s\n", errname(errno));
		exit(1);
	}
}

/* connect with a timeout; returns 0 or an errno */
static int do_connect(const char *proto, const char *addr, int port, int timeout_ms,
		      const char *from)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type = strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM, fd, err = 0;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, type);
	bind_from(fd, from, ss.ss_family);
	if (type == SOCK_STREAM)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (void *)&ss, len)) {
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t el = sizeof(err);

			if (poll(&p, 1, timeout_ms) <= 0)
				err = ETIMEDOUT;
			else
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		}
	}
	close(fd);
	return err;
}

static int do_sendto(const char *addr, int port, bool connected, const char *from)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0;
	ssize_t r;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, SOCK_DGRAM);
	bind_from(fd, from, ss.ss_family);
	if (connected) {
		if (connect(fd, (void *)&ss, len)) {
			err = errno;
			close(fd);
			return err;
		}
		r = send(fd, "ping", 4, 0);
	} else {
		r = sendto(fd, "ping", 4, 0, (void *)&ss, len);
	}
	if (r < 0)
		err = errno;
	close(fd);
	return err;
}

static int do_recv(const char *addr, int port, int timeout_ms)
{
	struct sockaddr_storage ss, from;
	socklen_t len, fl = sizeof(from);
	char buf[2048], a[64];
	int fd;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, SOCK_DGRAM);
	if (bind(fd, (void *)&ss, len)) {
		printf("bind:%s\n", errname(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0) {
		printf("timeout\n");
		return 1;
	}
	if (recvfrom(fd, buf, sizeof(buf), 0, (void *)&from, &fl) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	if (from.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, a, sizeof(a));
	printf("got %s\n", a);
	return 0;
}

static int do_listen(const char *proto, const char *addr, int port, const char *say,
		     bool stream)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type = strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM, fd, one = 1;
	char buf[2048];

	signal(SIGPIPE, SIG_IGN);
	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, type);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) || (type == SOCK_STREAM && listen(fd, 1024))) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (type == SOCK_STREAM) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0 && stream) {	/* echo everything, to EOF */
				for (ssize_t r; (r = recv(c, buf, sizeof(buf), 0)) > 0;)
					if (send(c, buf, (size_t)r, 0) != r)
						break;
				close(c);
			} else if (c >= 0) {
				ssize_t r = say ? 0 : recv(c, buf, sizeof(buf), MSG_DONTWAIT);

				if (say)
					send(c, say, strlen(say), 0);
				else if (r > 0)
					send(c, buf, r, 0);
				close(c);
			}
		} else {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (void *)&from, &fl);

			if (r > 0 && say)
				sendto(fd, say, strlen(say), 0, (void *)&from, fl);
			else if (r > 0)
				sendto(fd, buf, r, 0, (void *)&from, fl);
		}
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* flood ADDR PORT N: N UDP connects, one socket; "ok=X eperm=Y other=Z" */
static int do_flood(char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n = atol(argv[2]), ok = 0, eperm = 0, other = 0;
	int fd;

	parse_sa(argv[0], atoi(argv[1]), &ss, &len);
	fd = sock_for(&ss, SOCK_DGRAM);
	for (long i = 0; i < n; i++) {
		if (!connect(fd, (void *)&ss, len))
			ok++;
		else if (errno == EPERM)
			eperm++;
		else
			other++;
	}
	close(fd);
	printf("ok=%ld eperm=%ld other=%ld\n", ok, eperm, other);
	return 0;
}

/* send ADDR PORT BYTES: connect over TCP, send BYTES, read the echo to EOF */
static int do_send(char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n = atol(argv[2]), sent = 0, got = 0;
	char buf[16384];
	int fd;

	memset(buf, 'x', sizeof(buf));
	parse_sa(argv[0], atoi(argv[1]), &ss, &len);
	fd = sock_for(&ss, SOCK_STREAM);
	if (connect(fd, (void *)&ss, len)) {
		printf("%s\n", errname(errno));
		return 1;
	}
	while (sent < n) {
		ssize_t w = write(fd, buf, (size_t)(n - sent < (long)sizeof(buf) ? n - sent
										   : (long)sizeof(buf)));
		if (w <= 0)
			break;
		sent += w;
		for (ssize_t r; (r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0;)
			got += r;
	}
	shutdown(fd, SHUT_WR);
	for (ssize_t r; (r = read(fd, buf, sizeof(buf))) > 0;)
		got += r;
	close(fd);
	printf("sent=%ld received=%ld\n", sent, got);
	return 0;
}

static int do_loop(char **argv)
{
	struct sockaddr_storage ss[2];
	socklen_t len[2];
	long ok[2] = {0}, eperm[2] = {0}, other[2] = {0}, end;

	parse_sa(argv[0], atoi(argv[1]), &ss[0], &len[0]);
	parse_sa(argv[2], atoi(argv[3]), &ss[1], &len[1]);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	end = now_ms() + atol(argv[4]);
	while (!stop && now_ms() < end) {
		for (int i = 0; i < 2; i++) {
			int fd = sock_for(&ss[i], SOCK_DGRAM);

			if (!connect(fd, (void *)&ss[i], len[i]))
				ok[i]++;
			else if (errno == EPERM)
				eperm[i]++;
			else
				other[i]++;
			close(fd);
		}
	}
	printf("A:ok=%ld,eperm=%ld,other=%ld B:ok=%ld,eperm=%ld,other=%ld\n", ok[0], eperm[0],
	       other[0], ok[1], eperm[1], other[1]);
	return 0;
}

static int do_batch(void)
{
	char line[256], addr[128], proto[8];
	int port;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%127s %d %7s", addr, &port, proto) != 3) {
			printf("bad-input\n");
			continue;
		}
		printf("%s\n", errname(do_connect(proto, addr, port, 200, NULL)));
		fflush(stdout);
	}
	return 0;
}

static int do_bind(const char *proto, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM);
	if (bind(fd, (void *)&ss, len))
		err = errno;
	close(fd);
	return err;
}

static int do_socket(int argc, char **argv)
{
	int family = !strcmp(argv[2], "inet6") ? AF_INET6 : AF_INET, type, proto = 0, fd;

	type = !strcmp(argv[3], "stream") ? SOCK_STREAM : !strcmp(argv[3], "dgram") ? SOCK_DGRAM
											  : SOCK_RAW;
	if (argc > 4)
		proto = atoi(argv[4]);
	else if (type == SOCK_RAW)
		proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	fd = socket(family, type, proto);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

struct optdef {
	const char *name;
	int level, opt;
};

static const struct optdef opts[] = {
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT },	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE },	{ "SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE },
	{ "IP_TRANSPARENT", SOL_IP, IP_TRANSPARENT },	{ "IP_TOS", SOL_IP, IP_TOS },
	{ "TCP_CONGESTION", SOL_TCP, TCP_CONGESTION }, { "TCP_INFO", SOL_TCP, TCP_INFO },
};

static int do_sockopt(bool set, const char *name)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, err = 0;
	char buf[64];
	socklen_t len = sizeof(buf);

	if (fd < 0)
		return errno;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strcmp(opts[i].name, name))
			continue;
		const void *val = &one;
		socklen_t vlen = sizeof(one);

		if (opts[i].opt == SO_BINDTODEVICE && opts[i].level == SOL_SOCKET)
			val = "lo", vlen = 3;
		if (opts[i].opt == TCP_CONGESTION && opts[i].level == SOL_TCP)
			val = "reno", vlen = 5;
		if (set ? setsockopt(fd, opts[i].level, opts[i].opt, val, vlen)
			: getsockopt(fd, opts[i].level, opts[i].opt, buf, &len))
			err = errno;
		close(fd);
		return err;
	}
	fprintf(stderr, "netprobe: unknown option %s\n", name);
	exit(2);
}

static int do_open(const char *path, const char *mode)
{
	int flags = !strcmp(mode, "rw") ? O_RDWR : !strcmp(mode, "w") ? O_WRONLY : O_RDONLY;
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int do_mknod(const char *path, const char *type, int maj, int min)
{
	mode_t mode = (type[0] == 'b' ? S_IFBLK : S_IFCHR) | 0600;

	if (mknod(path, mode, makedev(maj, min)))
		return errno;
	unlink(path);
	return 0;
}

static int do_sysctl(const char *name, const char *value)
{
	char path[256], buf[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	fd = open(path, value ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return errno;
	if (value ? write(fd, value, strlen(value)) < 0 : read(fd, buf, sizeof(buf)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int do_tcpinfo(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len, l;
	struct tcp_info ti;
	char cc[32] = "";
	int fd;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, SOCK_STREAM);
	if (connect(fd, (void *)&ss, len)) {
		printf("%s\n", errname(errno));
		return 1;
	}
	l = sizeof(cc);
	getsockopt(fd, SOL_TCP, TCP_CONGESTION, cc, &l);
	l = sizeof(ti);
	getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &l);
	printf("cc=%s cwnd=%u\n", cc, ti.tcpi_snd_cwnd);
	close(fd);
	return 0;
}

static int do_synrto(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len, l;
	struct tcp_info ti;
	int fd;

	parse_sa(addr, port, &ss, &len);
	fd = sock_for(&ss, SOCK_STREAM);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (void *)&ss, len) && errno != EINPROGRESS) {
		printf("%s\n", errname(errno));
		return 1;
	}
	l = sizeof(ti);
	getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &l);
	printf("rto_ms=%u\n", ti.tcpi_rto / 1000);
	close(fd);
	return 0;
}

static void sa_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[64];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(((const struct sockaddr_in *)ss)->sin_port));
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	}
}

static const char *wait_file;	/* hello: after connect, wait for this file */

/* one exchange with a --say server; name and peer out, 0 or an errno */
static int hello_once(int fd, bool tcp, bool connected, const struct sockaddr_storage *dst,
		      socklen_t len, char *name, size_t nlen, char *peer, size_t plen)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	if (tcp && connect(fd, (const void *)dst, len))
		return errno;
	for (int i = 0; wait_file && i < 1000 && access(wait_file, F_OK); i++)
		usleep(10000);
	if (tcp || connected) {		/* the peer as getpeername() reports it */
		if (getpeername(fd, (void *)&from, &fl))
			return errno;
		if (send(fd, "hi", 2, 0) < 0)
			return errno;
	} else if (sendto(fd, "hi", 2, 0, (const void *)dst, len) < 0) {
		return errno;
	}
	if (poll(&p, 1, 1000) <= 0)
		return ETIMEDOUT;
	r = tcp || connected ? recv(fd, name, nlen - 1, 0)
			     : recvfrom(fd, name, nlen - 1, 0, (void *)&from, &fl);
	if (r < 0)
		return errno;
	name[r] = '\0';
	sa_str(&from, peer, plen);
	return 0;
}

static int do_hello(const char *proto, const char *addr, int port, int count, bool same)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool tcp = !strcmp(proto, "tcp");
	char names[16][64] = {}, name[64], peer[96];
	int counts[16] = {}, used = 0, fd = -1, err = 0;

	signal(SIGPIPE, SIG_IGN);
	parse_sa(addr, port, &ss, &len);
	for (int i = 0; i < count; i++) {
		if (fd < 0 || !same) {
			if (fd >= 0)
				close(fd);
			fd = sock_for(&ss, tcp ? SOCK_STREAM : SOCK_DGRAM);
		}
		if (same && connect(fd, (void *)&ss, len)) {	/* UDP: pick again */
			err = errno;
			break;
		}
		err = hello_once(fd, tcp, same, &ss, len, name, sizeof(name), peer, sizeof(peer));
		if (err)
			break;
		if (count == 1) {
			printf("%s peer=%s\n", name, peer);
			close(fd);
			return 0;
		}
		int k;

		for (k = 0; k < used && strcmp(names[k], name); k++)
			;
		if (k == used && used < 16)
			snprintf(names[used++], sizeof(names[0]), "%s", name);
		if (k < 16)
			counts[k]++;
	}
	if (fd >= 0)
		close(fd);
	if (err) {
		printf("%s\n", errname(err));
		return 1;
	}
	for (int k = 0; k < used; k++)
		printf("%s%s=%d", k ? " " : "", names[k], counts[k]);
	printf("\n");
	return 0;
}

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *t;
	int timeout, err;

	if (argc >= 2 && !strcmp(argv[1], "batch"))
		return do_batch();
	if (argc >= 7 && !strcmp(argv[1], "loop"))
		return do_loop(argv + 2);
	err = -1;
	if (argc >= 4 && !strcmp(argv[1], "socket"))
		err = do_socket(argc, argv);
	else if (argc >= 3 && !strcmp(argv[1], "setsockopt"))
		err = do_sockopt(true, argv[2]);
	else if (argc >= 3 && !strcmp(argv[1], "getsockopt"))
		err = do_sockopt(false, argv[2]);
	else if (argc >= 4 && !strcmp(argv[1], "open"))
		err = do_open(argv[2], argv[3]);
	else if (argc >= 6 && !strcmp(argv[1], "mknod"))
		err = do_mknod(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	else if (argc >= 3 && !strcmp(argv[1], "sysctl-read"))
		err = do_sysctl(argv[2], NULL);
	else if (argc >= 4 && !strcmp(argv[1], "sysctl-write"))
		err = do_sysctl(argv[2], argv[3]);
	else if (argc >= 4 && !strcmp(argv[1], "tcpinfo"))
		return do_tcpinfo(argv[2], atoi(argv[3]));
	else if (argc >= 4 && !strcmp(argv[1], "synrto"))
		return do_synrto(argv[2], atoi(argv[3]));
	else if (argc >= 5 && !strcmp(argv[1], "bind"))
		err = do_bind(argv[2], argv[3], atoi(argv[4]));
	else if (argc >= 5 && !strcmp(argv[1], "flood"))
		return do_flood(argv + 2);
	else if (argc >= 5 && !strcmp(argv[1], "send"))
		return do_send(argv + 2);
	if (err >= 0) {
		printf("%s\n", errname(err));
		return err ? 1 : 0;
	}
	if (argc < 5) {
		fprintf(stderr, "usage: see the comment at the top of netprobe.c\n");
		return 2;
	}
	t = opt(argc, argv, "--timeout-ms");
	timeout = t ? atoi(t) : 1000;
	if (!strcmp(argv[1], "connect"))
		err = do_connect(argv[2], argv[3], atoi(argv[4]), timeout,
				 opt(argc, argv, "--from"));
	else if (!strcmp(argv[1], "sendto"))
		err = do_sendto(argv[3], atoi(argv[4]), flag(argc, argv, "--connected"),
				opt(argc, argv, "--from"));
	else if (!strcmp(argv[1], "recv"))
		return do_recv(argv[3], atoi(argv[4]), timeout);
	else if (!strcmp(argv[1], "listen"))
		return do_listen(argv[2], argv[3], atoi(argv[4]), opt(argc, argv, "--say"),
				 flag(argc, argv, "--stream"));
	else if (!strcmp(argv[1], "hello") && (wait_file = opt(argc, argv, "--wait-file"), 1))
		return do_hello(argv[2], argv[3], atoi(argv[4]),
				opt(argc, argv, "--count") ? atoi(opt(argc, argv, "--count")) : 1,
				flag(argc, argv, "--same-socket"));
	else {
		fprintf(stderr, "netprobe: unknown command '%s'\n", argv[1]);
		return 2;
	}
	printf("%s\n", errname(err));
	return err ? 1 : 0;
}
