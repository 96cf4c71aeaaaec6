// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cgroup_skb programs (egress, ingress) run on crafted packets with
 * BPF_PROG_TEST_RUN: a version is loaded from a compiled policy, attached
 * nowhere, and each packet's verdict is the program's return value (1 pass,
 * 0 drop). Needs root (loading BPF programs); skips otherwise. A test run's
 * packet has a socket of its own each time, so the policy judges packets
 * alone (network.state: off); t_state.sh shows connections on real sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgfence/abi.h"
#include "cgfence.skel.h"
#include "compile.h"
#include "loader.h"
#include "policy.h"
#include "util.h"

static const char policy[] =
	"version: 1\nname: skb\nnetwork:\n  state: off\n"
	"  egress:\n    default: allow\n    rules:\n"
	"      - {action: deny, to: [127.0.0.2]}\n"
	"      - {action: deny, to: [127.0.0.3], ports: [80], protocol: tcp}\n"
	"      - {action: deny, to: [\"::2\"], ports: [53], protocol: udp}\n"
	"  ingress:\n    default: deny\n    rules:\n"
	"      - {action: allow, from: [127.0.0.0/24]}\n"
	"      - {action: allow, from: [\"::1\"]}\n";

struct pkt {
	uint8_t buf[256];
	uint32_t len;
};

/* An Ethernet frame (test runs take one) with an IPv4 or IPv6 packet and a
 * TCP or UDP header: src -> dst, destination port dport. Headers are built
 * in typed structs and copied into the buffer. */
static struct pkt packet(const char *src, const char *dst, int proto, uint16_t dport)
{
	struct pkt p = { 0 };
	struct ethhdr eth = { 0 };
	struct tcphdr t = { .source = htons(40000), .dest = htons(dport), .doff = 5, .ack = 1 };
	struct udphdr u = { .source = htons(40000), .dest = htons(dport) };
	uint32_t l4len = proto == IPPROTO_TCP ? sizeof(t) : sizeof(u), off = sizeof(eth);

	if (strchr(dst, ':')) {
		struct ipv6hdr ip6 = { .version = 6, .nexthdr = (uint8_t)proto, .hop_limit = 64,
				       .payload_len = htons((uint16_t)l4len) };

		eth.h_proto = htons(ETH_P_IPV6);
		inet_pton(AF_INET6, src, &ip6.saddr);
		inet_pton(AF_INET6, dst, &ip6.daddr);
		memcpy(p.buf + off, &ip6, sizeof(ip6));
		off += sizeof(ip6);
	} else {
		struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = (uint8_t)proto,
				    .tot_len = htons((uint16_t)(sizeof(ip) + l4len)) };

		eth.h_proto = htons(ETH_P_IP);
		inet_pton(AF_INET, src, &ip.saddr);
		inet_pton(AF_INET, dst, &ip.daddr);
		memcpy(p.buf + off, &ip, sizeof(ip));
		off += sizeof(ip);
	}
	memcpy(p.buf, &eth, sizeof(eth));
	u.len = htons((uint16_t)l4len);
	memcpy(p.buf + off, proto == IPPROTO_TCP ? (void *)&t : (void *)&u, l4len);
	p.len = off + l4len;
	return p;
}

/*
 * An IPv6 packet whose fixed header is followed by extension headers (types
 * in ext, n of them; 44 = fragment, at offset frag_off 8-byte units), then a
 * UDP header to dport, or nothing past the last extension (truncate).
 */
static struct pkt packet6x(const char *src, const char *dst, uint16_t dport, const uint8_t *ext,
			   int n, uint16_t frag_off, bool truncate)
{
	struct pkt p = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IPV6) };
	struct ipv6hdr ip6 = { .version = 6, .hop_limit = 64 };
	struct udphdr u = { .source = htons(40000), .dest = htons(dport), .len = htons(8) };
	uint32_t off = sizeof(eth) + sizeof(ip6);

	inet_pton(AF_INET6, src, &ip6.saddr);
	inet_pton(AF_INET6, dst, &ip6.daddr);
	ip6.nexthdr = n ? ext[0] : IPPROTO_UDP;
	for (int i = 0; i < n; i++) {
		uint8_t h[8] = { (uint8_t)(i + 1 < n ? ext[i + 1] : IPPROTO_UDP), 0 };

		if (ext[i] == IPPROTO_FRAGMENT) {
			uint16_t fo = htons((uint16_t)(frag_off << 3));

			memcpy(h + 2, &fo, 2);
		} else if (ext[i] == IPPROTO_AH) {
			h[1] = 0;	/* (0 + 2) * 4 = 8 bytes */
		} else {
			h[2] = 1;	/* PadN of 4 bytes: an 8-byte header */
			h[3] = 4;
		}
		memcpy(p.buf + off, h, sizeof(h));
		off += sizeof(h);
	}
	if (!truncate) {
		memcpy(p.buf + off, &u, sizeof(u));
		off += sizeof(u);
	}
	ip6.payload_len = htons((uint16_t)(off - sizeof(eth) - sizeof(ip6)));
	memcpy(p.buf, &eth, sizeof(eth));
	memcpy(p.buf + sizeof(eth), &ip6, sizeof(ip6));
	p.len = off;
	return p;
}

/* An IPv4 fragment (offset in 8-byte units; 0: the first) to dst with a UDP header */
static struct pkt fragment4p(const char *dst, int proto, uint16_t dport, uint16_t offset)
{
	struct pkt p = packet("127.0.0.1", dst, proto, dport);
	struct iphdr ip;

	memcpy(&ip, p.buf + sizeof(struct ethhdr), sizeof(ip));
	ip.frag_off = htons(offset);
	memcpy(p.buf + sizeof(struct ethhdr), &ip, sizeof(ip));
	return p;
}

#define fragment4(dst, dport, offset) fragment4p(dst, IPPROTO_UDP, dport, offset)

static struct cgfence_bpf *skel;

static int setup(void **state)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (cgf_policy_parse_string("skb.yaml", policy, strlen(policy), &p) ||
	    cgf_compile(p, NULL, &c) || cgf_version_load(c, CGF_MODE_ENFORCE, 0, 1, NULL, NULL, &skel)) {
		fprintf(stderr, "setup: %s\n", cgf_last_error());
		return -1;
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cgfence_bpf__destroy(skel);
	return 0;
}

/* The program's verdict on one packet. */
static int run(struct bpf_program *prog, struct pkt p)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.buf, .data_size_in = p.len, .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(prog), &o), 0);
	return (int)o.retval;
}

#define SKIP_UNLESS_ROOT()                                  \
	do {                                                \
		if (geteuid() != 0)                         \
			skip();                             \
	} while (0)

static void test_egress(void **state)
{
	struct bpf_program *e;

	(void)state;
	SKIP_UNLESS_ROOT();
	e = skel->progs.cgf_egress;
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.1", IPPROTO_TCP, 80)), 1);
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.2", IPPROTO_TCP, 80)), 0);
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.2", IPPROTO_UDP, 9)), 0);
	/* port and protocol rules */
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.3", IPPROTO_TCP, 80)), 0);
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.3", IPPROTO_TCP, 81)), 1);
	assert_int_equal(run(e, packet("127.0.0.1", "127.0.0.3", IPPROTO_UDP, 80)), 1);
	/* IPv6 */
	assert_int_equal(run(e, packet("::1", "::2", IPPROTO_UDP, 53)), 0);
	assert_int_equal(run(e, packet("::1", "::2", IPPROTO_UDP, 54)), 1);
	assert_int_equal(run(e, packet("::1", "::2", IPPROTO_TCP, 53)), 1);
}

static void test_ingress(void **state)
{
	struct bpf_program *i;

	(void)state;
	SKIP_UNLESS_ROOT();
	i = skel->progs.cgf_ingress;
	assert_int_equal(run(i, packet("127.0.0.9", "127.0.0.1", IPPROTO_TCP, 80)), 1);
	assert_int_equal(run(i, packet("127.0.1.9", "127.0.0.1", IPPROTO_TCP, 80)), 0);
	assert_int_equal(run(i, packet("::1", "::1", IPPROTO_UDP, 53)), 1);
	assert_int_equal(run(i, packet("::3", "::1", IPPROTO_UDP, 53)), 0);
}

/* port rules hold past IPv6 extension headers (hop-by-hop, routing,
 * destination options, AH, fragment), and fail closed where the ports
 * cannot be read */
static void test_extension_headers(void **state)
{
	static const uint8_t hbh[] = { IPPROTO_HOPOPTS }, dst[] = { IPPROTO_DSTOPTS },
			     rt[] = { IPPROTO_ROUTING }, ah[] = { IPPROTO_AH },
			     chain[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS },
			     frag[] = { IPPROTO_FRAGMENT },
			     many[] = { 60, 60, 60, 60, 60, 60, 60, 60, 60 };	/* 60: dstopts */
	struct bpf_program *e;

	(void)state;
	SKIP_UNLESS_ROOT();
	e = skel->progs.cgf_egress;
	/* ::2 port 53/udp is denied, 54 allowed */
	assert_int_equal(run(e, packet6x("::1", "::2", 53, NULL, 0, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, hbh, 1, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, dst, 1, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, rt, 1, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, ah, 1, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, chain, 3, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 53, frag, 1, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 54, chain, 3, 0, false)), 1);
	/* the limit: 7 headers are walked (the port is read), 8 fail closed */
	assert_int_equal(run(e, packet6x("::1", "::2", 53, many, 7, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 54, many, 7, 0, false)), 1);
	assert_int_equal(run(e, packet6x("::1", "::2", 54, many, 8, 0, false)), 0);
	/* fail closed: a non-first fragment, a chain too long, a truncated one */
	assert_int_equal(run(e, packet6x("::1", "::2", 54, frag, 1, 100, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 54, many, 9, 0, false)), 0);
	assert_int_equal(run(e, packet6x("::1", "::2", 54, hbh, 1, 0, true)), 0);
	/* ... but only where the verdict needs a port: ::3 is allowed whatever the port */
	assert_int_equal(run(e, packet6x("::1", "::3", 53, frag, 1, 100, false)), 1);
	assert_int_equal(run(e, packet6x("::1", "::3", 53, many, 9, 0, false)), 1);
}

/* IPv4 non-first fragments are judged by their address (was: let through) */
static void test_fragments(void **state)
{
	struct bpf_program *e;

	(void)state;
	SKIP_UNLESS_ROOT();
	e = skel->progs.cgf_egress;
	assert_int_equal(run(e, fragment4("127.0.0.2", 9, 0)), 0);	/* first: as ever */
	assert_int_equal(run(e, fragment4("127.0.0.2", 9, 100)), 0);	/* denied address */
	assert_int_equal(run(e, fragment4("127.0.0.1", 9, 100)), 1);	/* allowed address */
	/* 127.0.0.3: only tcp/80 is denied, so a UDP fragment's verdict needs no port */
	assert_int_equal(run(e, fragment4("127.0.0.3", 80, 100)), 1);
	/* ... but a TCP one's does: whatever its payload says, no port is read */
	assert_int_equal(run(e, fragment4p("127.0.0.3", IPPROTO_TCP, 81, 100)), 0);
	assert_int_equal(run(e, fragment4p("127.0.0.3", IPPROTO_TCP, 81, 0)), 1);	/* first: port 81 */
}

/* the denial counters count each dropped packet of each hook */
static void test_counted(void **state)
{
	uint32_t key = CGF_H_EGRESS * CGF_C_MAX + CGF_C_DENIED;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, before = 0, after = 0;

	(void)state;
	SKIP_UNLESS_ROOT();
	v = xcalloc((size_t)ncpu, sizeof(*v));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.cgf_stats), &key, v);
	for (int c = 0; c < ncpu; c++)
		before += v[c];
	run(skel->progs.cgf_egress, packet("127.0.0.1", "127.0.0.2", IPPROTO_TCP, 80));
	run(skel->progs.cgf_egress, packet("127.0.0.1", "127.0.0.1", IPPROTO_TCP, 80));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.cgf_stats), &key, v);
	for (int c = 0; c < ncpu; c++)
		after += v[c];
	assert_int_equal(after - before, 1);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_egress),
		cmocka_unit_test(test_ingress),
		cmocka_unit_test(test_extension_headers),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_counted),
	};

	return cmocka_run_group_tests_name("skb", tests, setup, teardown);
}
