// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The contract's "most specific rule wins" order, checked on the evaluator;
 * then the compiler checked against the evaluator on random policies and
 * destinations (cgf_compiled_lookup does what the BPF programs do, by a slow
 * linear longest-prefix search over the map entries).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "compile.h"
#include "eval.h"
#include "policy.h"
#include "util.h"
#include "../helpers/randpolicy.h"

static struct cgf_policy *parse(const char *rules, const char *def)
{
	size_t len = strlen(rules) + 256;
	_cleanup_free_ char *buf = xmalloc(len);
	struct cgf_policy *p = NULL;

	snprintf(buf, len,
		 "version: 1\nname: t\nnetwork:\n  egress:\n    default: %s\n    rules:\n%s", def,
		 rules);
	cgf_clear_error();
	if (cgf_policy_parse_string("t.yaml", buf, strlen(buf), &p))
		fail_msg("parse: %s\n%s", cgf_last_error(), buf);
	return p;
}

/* Expect endpoint ep (proto) to get verdict v from rule index r (-1: default),
 * from the evaluator and from the compiled maps alike. */
static void expect(const struct cgf_policy *p, const char *ep, int proto, int v, int r)
{
	struct cgf_query q = { .dir = CGF_DIR_EGRESS, .proto = proto };
	struct cgf_decision d, k;
	struct cgf_compiled *c;
	const char *why;
	int pr;

	if (cgf_parse_endpoint(ep, &q.addr, &q.port, &pr, &why))
		fail_msg("bad endpoint %s", ep);
	cgf_eval(p, &q, &d);
	if (d.verdict != v || d.rule != (r < 0 ? CGF_RULE_DEFAULT : (uint32_t)r))
		fail_msg("%s/%s: evaluator says %s by rule %d, expected %s by rule %d", ep,
			 cgf_proto_name(proto), cgf_action_name(d.verdict), (int)d.rule,
			 cgf_action_name(v), r);
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	cgf_compiled_lookup(c, &q, &k);
	if (k.verdict != d.verdict || k.rule != d.rule)
		fail_msg("%s: compiled form says %s by rule %d, evaluator %s by rule %d", ep,
			 cgf_action_name(k.verdict), (int)k.rule, cgf_action_name(d.verdict),
			 (int)d.rule);
	cgf_compiled_free(c);
}

enum { A = CGF_ALLOW, D = CGF_DENY, TCP = CGF_P_TCP, UDP = CGF_P_UDP, ICMP = CGF_P_ICMP };

static void test_longer_prefix_wins(void **state)
{
	struct cgf_policy *p = parse("      - {action: deny, to: [10.0.0.0/8], ports: [80], protocol: tcp}\n"
				     "      - {action: allow, to: [10.1.0.0/16]}\n",
				     "deny");

	(void)state;
	/* the /16 beats the /8 although the /8 names a port and a protocol */
	expect(p, "10.1.2.3:80", TCP, A, 1);
	expect(p, "10.2.2.3:80", TCP, D, 0);
	expect(p, "10.2.2.3:81", TCP, D, -1);
	cgf_policy_free(p);
}

static void test_ports_then_protocol_then_deny(void **state)
{
	struct cgf_policy *p = parse("      - {action: allow, to: [10.0.0.0/8]}\n"                     /* 0 */
				     "      - {action: deny, to: [10.0.0.0/8], ports: [\"1-1000\"]}\n"  /* 1 */
				     "      - {action: allow, to: [10.0.0.0/8], ports: [\"1-100\"]}\n"  /* 2 */
				     "      - {action: deny, to: [10.0.0.0/8], ports: [53]}\n"          /* 3 */
				     "      - {action: allow, to: [10.0.0.0/8], ports: [53], protocol: udp}\n" /* 4 */
				     "      - {action: allow, to: [10.0.0.0/8], ports: [22]}\n"         /* 5 */
				     "      - {action: deny, to: [10.0.0.0/8], ports: [22]}\n",         /* 6 */
				     "deny");

	(void)state;
	expect(p, "10.0.0.1:5000", TCP, A, 0);  /* only the portless rule matches */
	expect(p, "10.0.0.1:500", TCP, D, 1);   /* a range beats no ports */
	expect(p, "10.0.0.1:50", TCP, A, 2);    /* a narrower range beats a wider one */
	expect(p, "10.0.0.1:53", TCP, D, 3);    /* a single port beats a range */
	expect(p, "10.0.0.1:53", UDP, A, 4);    /* a named protocol beats any */
	expect(p, "10.0.0.1:22", TCP, D, 6);    /* full tie: deny beats allow */
	expect(p, "10.0.0.1:0", ICMP, A, 0);    /* rules with ports never match icmp */
	expect(p, "11.0.0.1:53", UDP, D, -1);   /* nothing matches: default */
	cgf_policy_free(p);
}

static void test_matching_port_entry_decides_width(void **state)
{
	struct cgf_policy *p = parse("      - {action: allow, to: [10.0.0.0/8], ports: [80, \"1-1000\"]}\n"
				     "      - {action: deny, to: [10.0.0.0/8], ports: [\"70-90\"]}\n",
				     "deny");

	(void)state;
	expect(p, "10.0.0.1:80", TCP, A, 0);	/* 80 matched as a single port */
	expect(p, "10.0.0.1:81", TCP, D, 1);	/* 81 matched through 1-1000 only */
	cgf_policy_free(p);
}

static void test_except(void **state)
{
	struct cgf_policy *p = parse("      - {action: allow, to: [10.0.0.0/8, 10.1.2.0/24], except: [10.1.0.0/16]}\n"
				     "      - {action: deny, to: [10.1.2.3], except: [0.0.0.0/0]}\n"
				     "      - {action: allow, to: [any], except: [10.0.0.0/8]}\n",
				     "deny");

	(void)state;
	expect(p, "10.2.0.1:1", TCP, A, 0);
	expect(p, "10.1.2.3:1", TCP, D, -1);	/* except wins over a longer to of the same rule */
	expect(p, "10.1.9.9:1", TCP, D, -1);
	expect(p, "192.0.2.1:1", TCP, A, 2);
	expect(p, "[::1]:1", TCP, A, 2);	/* any includes ::/0; except was IPv4 */
	cgf_policy_free(p);
}

static void test_ipv6_and_mapped(void **state)
{
	struct cgf_policy *p = parse("      - {action: allow, to: [\"2001:db8::/32\"], ports: [443]}\n"
				     "      - {action: deny, to: [\"::ffff:10.0.0.0/104\"]}\n"
				     "      - {action: allow, to: [10.0.0.0/7]}\n",
				     "deny");

	(void)state;
	expect(p, "[2001:db8::1]:443", TCP, A, 0);
	expect(p, "[2001:db8::1]:80", TCP, D, -1);
	expect(p, "10.9.9.9:1", UDP, D, 1);		/* the mapped prefix is 10.0.0.0/8 */
	expect(p, "[::ffff:10.9.9.9]:1", UDP, D, 1);	/* a mapped address is IPv4 */
	expect(p, "[::ffff:11.9.9.9]:1", UDP, A, 2);
	cgf_policy_free(p);
}

static void test_range_prefixes(void **state)
{
	uint16_t start[32];
	uint8_t plen[32];

	(void)state;
	assert_int_equal(cgf_range_prefixes(0, 65535, start, plen), 1);
	assert_int_equal(plen[0], 0);
	assert_int_equal(cgf_range_prefixes(80, 80, start, plen), 1);
	assert_int_equal(plen[0], 16);
	/* every range is covered exactly, by aligned blocks, in at most 30 */
	for (uint32_t lo = 0; lo < 65536; lo += 997)
		for (uint32_t hi = lo; hi < 65536; hi += 1231) {
			int n = cgf_range_prefixes(lo, hi, start, plen);
			uint32_t next = lo;

			assert_true(n >= 1 && n <= 30);
			for (int i = 0; i < n; i++) {
				uint32_t size = 1u << (16 - plen[i]);

				assert_int_equal(start[i], next);
				assert_int_equal(start[i] % size, 0);
				next += size;
			}
			assert_int_equal(next, hi + 1);
		}
}

static void test_shape(void **state)
{
	/* portless rules only: one lookup, no classes, children equal to
	 * their parent are left out; so is egress's /0 when it only says
	 * "the deny default" (no entry says the same) */
	struct cgf_policy *p = parse("      - {action: allow, to: [10.0.0.0/8]}\n"
				     "      - {action: allow, to: [10.1.0.0/16]}\n",
				     "deny");
	struct cgf_compiled *c;

	(void)state;
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_classes, 0);
	assert_int_equal(c->n_ports, 0);
	assert_int_equal(c->n_v4, 2);	/* /8, /16 (other rule id) */
	assert_int_equal(c->n_v6, 0);
	cgf_compiled_free(c);
	cgf_policy_free(p);

	/* a default that allows keeps its /0 */
	p = parse("      - {action: deny, to: [10.0.0.0/8]}\n", "allow");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_v4, 2);	/* /0 default, /8 */
	assert_int_equal(c->n_v6, 1);	/* ::/0 default */
	assert_int_equal(c->v4[0].key.prefixlen, 0);
	assert_int_equal(c->v4[0].val.v.verdict, CGF_ALLOW);
	cgf_compiled_free(c);
	cgf_policy_free(p);

	/* 1000 prefixes of one port rule share one class */
	char rules[40000];
	size_t n = (size_t)sprintf(rules, "      - action: allow\n        ports: [80]\n        to:\n");

	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(rules + n, "          - 10.%d.%d.0/24\n", i / 256, i % 256);
	p = parse(rules, "deny");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_classes, 1);
	assert_int_equal(c->n_v4, 1000);
	assert_int_equal(c->classes[0].nseg[0], 3);	/* tcp: 0-79, 80, 81-65535 */
	cgf_compiled_free(c);
	cgf_policy_free(p);
}

static void test_many_segments_use_the_trie(void **state)
{
	/* 60 separate ports on TCP cut the port axis into 121 segments, more
	 * than a class holds: TCP goes to the ports trie, UDP stays inline */
	char rules[4096];
	size_t n = (size_t)sprintf(rules, "      - {action: allow, to: [10.0.0.0/8], protocol: tcp, ports: [");
	struct cgf_policy *p;
	struct cgf_compiled *c;

	(void)state;
	for (int i = 0; i < 60; i++)
		n += (size_t)sprintf(rules + n, "%s%d", i ? ", " : "", 1000 + 2 * i);
	sprintf(rules + n, "]}\n      - {action: allow, to: [10.0.0.0/8], protocol: udp, ports: [53]}\n");
	p = parse(rules, "deny");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_classes, 1);
	assert_int_equal(c->classes[0].start[0][0], CGF_START_IN_TRIE);
	assert_int_equal(c->classes[0].nseg[0], 0);
	assert_int_equal(c->classes[0].nseg[1], 3);
	assert_true(c->n_ports > 121);
	cgf_compiled_free(c);
	for (int port = 990; port < 1130; port++) {
		char ep[32];
		bool allowed = port >= 1000 && port < 1120 && port % 2 == 0;

		snprintf(ep, sizeof(ep), "10.1.1.1:%d", port);
		expect(p, ep, TCP, allowed ? A : D, allowed ? 0 : -1);
		expect(p, ep, UDP, D, -1);
	}
	expect(p, "10.1.1.1:53", UDP, A, 1);
	cgf_policy_free(p);
}

static void expect_fast(const struct cgf_compiled *c, int i, int proto, int lo, int hi)
{
	const struct cgf_fast *f = &c->v4[0].val.fast;

	assert_true(c->v4[0].val.v.flags & CGF_AV_CLASS);
	if (f->proto[i] != proto || f->lo[i] != lo || f->span[i] != hi - lo)
		fail_msg("range %d: %u %u-%u, expected %d %d-%d (held: %u %u+%u, %u %u+%u, "
			 "%u %u+%u, %u %u+%u)", i, f->proto[i], f->lo[i], f->lo[i] + f->span[i],
			 proto, lo, hi, f->proto[0], f->lo[0], f->span[0], f->proto[1], f->lo[1],
			 f->span[1], f->proto[2], f->lo[2], f->span[2], f->proto[3], f->lo[3],
			 f->span[3]);
}

static void test_fast_ranges(void **state)
{
	struct cgf_policy *p;
	struct cgf_compiled *c;

	(void)state;
	/* a class's node holds the ports its class allows, by port */
	p = parse("      - {action: allow, to: [10.0.0.1], protocol: udp, ports: [9, 443, \"8000-9000\"]}\n",
		  "deny");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_v4, 1);
	expect_fast(c, 0, CGF_FAST_UDP, 9, 9);
	expect_fast(c, 1, CGF_FAST_UDP, 443, 443);
	expect_fast(c, 2, CGF_FAST_UDP, 8000, 9000);
	expect_fast(c, 3, 0, 0, 0);
	cgf_compiled_free(c);
	cgf_policy_free(p);

	/* a range both protocols allow is held once; adjacent allowed
	 * segments of two rules are one range; past four, the class alone */
	p = parse("      - {action: allow, to: [10.0.0.1], ports: [80, 443]}\n"
		  "      - {action: allow, to: [10.0.0.1], protocol: tcp, ports: [81, 22]}\n"
		  "      - {action: deny, to: [10.0.0.1], protocol: udp, ports: [443]}\n"
		  "      - {action: allow, to: [10.0.0.1], protocol: udp, ports: [53, \"9000-9100\"]}\n",
		  "deny");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_v4, 1);
	expect_fast(c, 0, CGF_FAST_TCP, 22, 22);
	expect_fast(c, 1, CGF_FAST_UDP, 53, 53);
	expect_fast(c, 2, CGF_FAST_UDP, 80, 80);	/* by port, the shorter first */
	expect_fast(c, 3, CGF_FAST_TCP, 80, 81);	/* two rules, one range; past it
							 * (443 tcp, 9000-9100 udp) the class */
	cgf_compiled_free(c);
	cgf_policy_free(p);

	p = parse("      - {action: allow, to: [10.0.0.1], ports: [\"1000-2000\"]}\n", "deny");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	expect_fast(c, 0, CGF_FAST_TCP | CGF_FAST_UDP, 1000, 2000);
	cgf_compiled_free(c);
	cgf_policy_free(p);

	/* a port rule that denies: the ports around it; a portless node none */
	p = parse("      - {action: deny, to: [10.0.0.1], ports: [22]}\n"
		  "      - {action: deny, to: [10.0.0.2]}\n", "allow");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_v4, 3);		/* /0 (allow), .1 (class), .2 */
	for (size_t i = 0; i < c->n_v4; i++) {
		const struct cgf_fast *f = &c->v4[i].val.fast;
		bool cls = c->v4[i].val.v.flags & CGF_AV_CLASS;

		assert_int_equal(f->proto[0], cls ? CGF_FAST_TCP | CGF_FAST_UDP : 0);
		assert_int_equal(f->proto[1], cls ? CGF_FAST_TCP | CGF_FAST_UDP : 0);
		assert_int_equal(f->proto[2], 0);
		if (cls) {
			assert_int_equal(f->lo[0], 0);
			assert_int_equal(f->span[0], 21);
			assert_int_equal(f->lo[1], 23);
			assert_int_equal(f->span[1], 65535 - 23);
		}
	}
	cgf_compiled_free(c);
	cgf_policy_free(p);
}

/* ---- random policies: the compiled form agrees with the evaluator ---- */

static void test_random_agreement(void **state)
{
	long cases = 0, fast = 0;

	(void)state;
	rp_seed = 12345;
	for (int it = 0; it < 300; it++) {
		char yaml[16384], name[16];
		struct cgf_policy *p = NULL;
		struct cgf_compiled *c;

		snprintf(name, sizeof(name), "r%d", it);
		rand_policy(yaml, sizeof(yaml), name, 8);
		cgf_clear_error();
		if (cgf_policy_parse_string("r.yaml", yaml, strlen(yaml), &p))
			fail_msg("parse: %s\n%s", cgf_last_error(), yaml);
		assert_int_equal(cgf_compile(p, NULL, &c), 0);
		for (int j = 0; j < 200; j++) {
			struct cgf_query q;
			struct cgf_decision d, k;

			rand_dest(&q);
			cgf_eval(p, &q, &d);
			cgf_compiled_lookup(c, &q, &k);
			if (cgf_compiled_fast(c, &q)) {
				/* the node's own ranges name only allowed ports */
				assert_int_equal(d.verdict, CGF_ALLOW);
				fast++;
			}
			if (d.verdict != k.verdict || d.rule != k.rule) {
				char a[64];

				cgf_prefix_str(&q.addr, a, sizeof(a));
				fail_msg("policy %d, %s port %u %s: evaluator %s/%d, compiled %s/%d\n%s",
					 it, a, q.port, cgf_proto_name(q.proto),
					 cgf_action_name(d.verdict), (int)d.rule,
					 cgf_action_name(k.verdict), (int)k.rule, yaml);
			}
			cases++;
		}
		cgf_compiled_free(c);
		cgf_policy_free(p);
	}
	assert_int_equal(cases, 300 * 200);
	assert_true(fast > 100);	/* the node's ranges were tried */
}

/* cgf_eval_flow: under state on every packet of a flow has the verdict of
 * the direction it started in; under state off each packet its own. */
static void test_eval_flow(void **state)
{
	static const char yaml[] = "version: 1\nname: f\nnetwork:\n%s"
		"  egress:\n    default: deny\n    rules:\n"
		"      - {action: allow, to: [127.0.0.2], ports: [443]}\n"
		"  ingress:\n    default: deny\n    rules:\n"
		"      - {action: allow, from: [127.0.0.3], ports: [8080]}\n";
	char buf[512];
	struct cgf_flow f = { .proto = CGF_P_TCP };
	struct cgf_decision d;
	const char *why;
	int pr;
	uint16_t port;

	(void)state;
	for (int off = 0; off < 2; off++) {
		struct cgf_policy *p = NULL;

		snprintf(buf, sizeof(buf), yaml, off ? "  state: off\n" : "");
		assert_int_equal(cgf_policy_parse_string("f.yaml", buf, strlen(buf), &p), 0);
		/* out to 127.0.0.2:443 from local port 40000: allowed by egress */
		assert_int_equal(cgf_parse_endpoint("127.0.0.2:443", &f.remote, &port, &pr, &why), 0);
		f.origin = CGF_DIR_EGRESS;
		f.rport = 443;
		f.lport = 40000;
		f.dir = CGF_DIR_EGRESS;
		cgf_eval_flow(p, &f, &d);
		assert_int_equal(d.verdict, CGF_ALLOW);
		f.dir = CGF_DIR_INGRESS;	/* its reply: ingress denies 127.0.0.2 */
		cgf_eval_flow(p, &f, &d);
		assert_int_equal(d.verdict, off ? CGF_DENY : CGF_ALLOW);
		/* in from 127.0.0.3 to local port 8080: allowed by ingress */
		assert_int_equal(cgf_parse_endpoint("127.0.0.3:50000", &f.remote, &port, &pr, &why), 0);
		f.origin = CGF_DIR_INGRESS;
		f.rport = 50000;
		f.lport = 8080;
		f.dir = CGF_DIR_INGRESS;
		cgf_eval_flow(p, &f, &d);
		assert_int_equal(d.verdict, CGF_ALLOW);
		assert_int_equal(d.rule, p->sec[CGF_DIR_INGRESS].first);
		f.dir = CGF_DIR_EGRESS;		/* the server's answer: egress denies 127.0.0.3 */
		cgf_eval_flow(p, &f, &d);
		assert_int_equal(d.verdict, off ? CGF_DENY : CGF_ALLOW);
		f.lport = 8081;			/* another local port: ingress denies */
		f.dir = CGF_DIR_INGRESS;
		cgf_eval_flow(p, &f, &d);
		assert_int_equal(d.verdict, CGF_DENY);
		cgf_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_flow),
		cmocka_unit_test(test_longer_prefix_wins),
		cmocka_unit_test(test_ports_then_protocol_then_deny),
		cmocka_unit_test(test_matching_port_entry_decides_width),
		cmocka_unit_test(test_except),
		cmocka_unit_test(test_ipv6_and_mapped),
		cmocka_unit_test(test_range_prefixes),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_many_segments_use_the_trie),
		cmocka_unit_test(test_fast_ranges),
		cmocka_unit_test(test_random_agreement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
