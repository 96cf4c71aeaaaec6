// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cgroup_skb programs (egress, ingress) run on crafted packets with
 * BPF_PROG_TEST_RUN: a version is loaded from a compiled policy, attached
 * nowhere, and each packet's verdict is the program's return value (1 pass,
 * 0 drop). Needs root (loading BPF programs); skips otherwise.
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
	"version: 1\nname: skb\nnetwork:\n"
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

static struct cgfence_bpf *skel;

static int setup(void **state)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (cgf_policy_parse_string("skb.yaml", policy, strlen(policy), &p) ||
	    cgf_compile(p, NULL, &c) || cgf_version_load(c, CGF_MODE_ENFORCE, 0, NULL, NULL, &skel)) {
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
		cmocka_unit_test(test_counted),
	};

	return cmocka_run_group_tests_name("skb", tests, setup, teardown);
}
