// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* to_names: the policy syntax, name matching (as written and as the kernel's
 * names trie finds it), and the DNS answer parser the ingress program runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "cgfence/abi.h"
#include "cgfence/dns.h"
#include "compile.h"
#include "names.h"
#include "policy.h"
#include "util.h"

#define HEAD "version: 1\nname: t\n"

static struct cgf_policy *parse_ok(const char *yaml)
{
	struct cgf_policy *p = NULL;

	cgf_clear_error();
	if (cgf_policy_parse_string("p.yaml", yaml, strlen(yaml), &p))
		fail_msg("unexpected error: %s", cgf_last_error());
	return p;
}

static void parse_err(const char *yaml, const char *want)
{
	struct cgf_policy *p = NULL;

	cgf_clear_error();
	assert_int_not_equal(cgf_policy_parse_string("p.yaml", yaml, strlen(yaml), &p), 0);
	assert_null(p);
	if (strncmp(cgf_last_error(), want, strlen(want)))
		fail_msg("error '%s' does not start with '%s'", cgf_last_error(), want);
}

static void test_name_syntax(void **state)
{
	char out[CGF_NAME_TEXT_MAX];
	const char *why;
	size_t col;
	char longlabel[80];

	(void)state;
	assert_int_equal(cgf_name_parse("API.Example.TEST.", true, out, &why, &col), 0);
	assert_string_equal(out, "api.example.test");
	assert_int_equal(cgf_name_parse("*.CDN.example.test", true, out, &why, &col), 0);
	assert_string_equal(out, "*.cdn.example.test");
	assert_int_equal(cgf_name_parse("_srv-1.example.test", false, out, &why, &col), 0);
	assert_int_not_equal(cgf_name_parse("*.example.test", false, out, &why, &col), 0);
	assert_int_not_equal(cgf_name_parse("*", true, out, &why, &col), 0);
	assert_int_not_equal(cgf_name_parse("a.*.test", true, out, &why, &col), 0);
	assert_int_equal(col, 2);
	assert_int_not_equal(cgf_name_parse("a..test", true, out, &why, &col), 0);
	assert_int_equal(col, 2);
	assert_int_not_equal(cgf_name_parse("bad name.test", true, out, &why, &col), 0);
	assert_int_equal(col, 3);
	assert_int_not_equal(cgf_name_parse("", true, out, &why, &col), 0);
	memset(longlabel, 'a', 64);
	strcpy(longlabel + 64, ".test");
	assert_int_not_equal(cgf_name_parse(longlabel, true, out, &why, &col), 0);
}

static void test_match(void **state)
{
	(void)state;
	assert_true(cgf_name_match("api.example.test", "api.example.test"));
	assert_false(cgf_name_match("api.example.test", "x.api.example.test"));
	assert_true(cgf_name_match("*.example.test", "a.example.test"));
	assert_true(cgf_name_match("*.example.test", "a.b.example.test"));
	assert_false(cgf_name_match("*.example.test", "example.test"));
	assert_false(cgf_name_match("*.example.test", "badexample.test"));
	assert_false(cgf_name_match("*.example.test", "example.test.evil"));
}

static void test_key(void **state)
{
	struct cgf_name_key k;
	char back[CGF_NAME_TEXT_MAX];

	(void)state;
	cgf_name_key("api.example.test", &k);
	assert_string_equal((const char *)k.name, "test.example.api.");
	assert_int_equal(k.prefixlen, (strlen("test.example.api.") + 1) * 8);
	cgf_name_unkey(&k, back);
	assert_string_equal(back, "api.example.test");
	cgf_name_key("*.cdn.example.test", &k);
	assert_string_equal((const char *)k.name, "test.example.cdn.");
	assert_int_equal(k.prefixlen, strlen("test.example.cdn.") * 8);
	assert_true(cgf_name_id("a.test") != cgf_name_id("b.test"));
	assert_true(cgf_name_id("a.test") == cgf_name_id("a.test"));
}

static void test_policy(void **state)
{
	struct cgf_policy *p;

	(void)state;
	p = parse_ok(HEAD "network:\n"
		     "  dns: {servers: [127.0.0.53, \"::1\"], min_ttl: 5, max_addresses: 100}\n"
		     "  egress:\n    default: deny\n    rules:\n"
		     "      - {action: allow, to_names: [API.example.test, \"*.cdn.test\"], ports: [443]}\n");
	assert_int_equal(p->n_name_rules, 1);
	assert_int_equal(p->rules[0].n_names, 2);
	assert_string_equal(p->rules[0].names[0], "api.example.test");
	assert_int_equal(p->rules[0].n_to, 0);
	assert_int_equal(p->dns.n_servers, 2);
	assert_int_equal(p->dns.min_ttl, 5);
	assert_int_equal(p->dns.max_addresses, 100);
	cgf_policy_free(p);
	/* defaults */
	p = parse_ok(HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
		     "      - {action: allow, to_names: api.example.test}\n");
	assert_int_equal(p->dns.n_servers, 3);
	assert_int_equal(p->dns.min_ttl, CGF_DNS_MIN_TTL_DEFAULT);
	assert_int_equal(p->dns.max_addresses, CGF_DNS_MAX_ADDRESSES_DEFAULT);
	cgf_policy_free(p);
	parse_err(HEAD "network:\n  egress:\n    default: allow\n    rules:\n"
		  "      - {action: deny, to_names: [a.test]}\n",
		  "p.yaml:7:24: to_names: names only allow");
	parse_err(HEAD "network:\n  ingress:\n    default: allow\n    rules:\n"
		  "      - {action: allow, to_names: [a.test]}\n",
		  "p.yaml:7:25: to_names is for egress rules");
	parse_err(HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
		  "      - {action: allow, to: [127.0.0.1], to_names: [a.test]}\n",
		  "p.yaml:7:9: a rule names its destinations by address");
	parse_err(HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
		  "      - {action: allow, to_names: [ok.test, \"bad..test\"]}\n",
		  "p.yaml:7:50: to_names: 'bad..test': an empty label");
	parse_err(HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
		  "      - {action: allow, to_names: [a.*.test]}\n",
		  "p.yaml:7:38: to_names: 'a.*.test'");
	parse_err(HEAD "network:\n  dns: {servers: [10.0.0.0/8]}\n",
		  "p.yaml:4:18: servers: a resolver is one address");
	parse_err(HEAD "network:\n  dns: {min_ttl: -1}\n", "p.yaml:4:18: min_ttl");
	parse_err(HEAD "network:\n  dns: {ttl: 1}\n", "p.yaml:4:9: unknown key 'ttl' in network.dns");
}

/* The kernel's names trie, simulated: which patterns a name matches. */
static void test_compiled_trie(void **state)
{
	struct cgf_policy *p;
	struct cgf_compiled *c;
	size_t idx[CGF_NAME_IDS], n;

	(void)state;
	p = parse_ok(HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
		     "      - {action: allow, to_names: [\"*.example.test\"], ports: [443]}\n"
		     "      - {action: allow, to_names: [api.example.test], ports: [8080]}\n"
		     "      - {action: allow, to_names: [\"*.b.example.test\", other.test]}\n");
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->n_pats, 4);
	n = cgf_compiled_names(c, "api.example.test", idx);
	assert_int_equal(n, 2);	/* the exact one and the wildcard */
	n = cgf_compiled_names(c, "x.example.test", idx);
	assert_int_equal(n, 1);
	assert_string_equal(c->pats[idx[0]].text, "*.example.test");
	assert_int_equal(cgf_compiled_names(c, "example.test", idx), 0);	/* the apex */
	assert_int_equal(cgf_compiled_names(c, "y.b.example.test", idx), 2);
	assert_int_equal(cgf_compiled_names(c, "b.example.test", idx), 1);
	assert_int_equal(cgf_compiled_names(c, "other.test", idx), 1);
	assert_int_equal(cgf_compiled_names(c, "x.other.test", idx), 0);
	assert_int_equal(cgf_compiled_names(c, "test", idx), 0);
	/* the same answer from the patterns as written */
	{
		const char *names[] = { "api.example.test", "x.example.test", "example.test",
					"y.b.example.test", "b.example.test", "other.test", "q.test" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t want = 0;

			for (size_t j = 0; j < c->n_pats; j++)
				want += cgf_name_match(c->pats[j].text, names[i]);
			assert_int_equal(cgf_compiled_names(c, names[i], idx), want);
		}
	}
	/* the version's copy: each entry names the slot of its first pattern */
	for (size_t e = 0; e < c->n_names; e++) {
		const struct cgf_name_val *v = &c->names[e].val;

		if (!v->n) {
			assert_int_equal(v->fast, 0);
			continue;
		}
		assert_true(v->fast >= 1 && v->fast <= c->n_pats);
		assert_true(c->pats[v->fast - 1].id == v->id[0]);
	}
	/* each pattern's allowed ports, which the copy of an IPv4 address it
	 * taught holds (abi.h: cgf_addr_val4): its rules' ports, TCP and UDP
	 * alike; every port where a rule names none */
	for (size_t k = 0; k < c->n_pats; k++) {
		const struct cgf_fast *f = &c->pats[k].val.fast;
		const char *t = c->pats[k].text;
		int lo = !strcmp(t, "*.example.test") ? 443 : !strcmp(t, "api.example.test") ? 8080 : 0;
		int hi = lo ? lo : 65535;

		assert_int_equal(f->proto[0], CGF_FAST_TCP | CGF_FAST_UDP);
		assert_int_equal(f->lo[0], lo);
		assert_int_equal(f->span[0], hi - lo);
		assert_int_equal(f->proto[1], 0);
	}
	/* rule texts: the patterns after the rules */
	assert_string_equal(c->rule_info[c->cfg.name_rule_first].text, "*.example.test");
	assert_int_equal(c->cfg.has_names, 1);
	cgf_compiled_free(c);
	cgf_policy_free(p);
}

/* ---- the DNS answer parser ---- */

struct msg {
	uint8_t b[CGF_DNS_BUF + 64];
	size_t n;
};

static void put(struct msg *m, const void *d, size_t n)
{
	memcpy(m->b + m->n, d, n);
	m->n += n;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");
		uint8_t len = (uint8_t)l;

		put(m, &len, 1);
		put(m, name, l);
		name += l + (name[l] == '.');
	}
	put(m, "", 1);
}

static void header(struct msg *m, uint16_t flags, uint16_t an, const char *q)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	put_name(m, q);
	put16(m, 1);
	put16(m, 1);
}

static void rr(struct msg *m, bool ptr, const char *owner, uint16_t type, uint32_t ttl,
	       const void *rd, uint16_t rdlen)
{
	if (ptr)
		put16(m, 0xc00c);	/* the question's name */
	else
		put_name(m, owner);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
	put(m, rd, rdlen);
}

static int run(const struct msg *m, size_t len, struct cgf_dns_parse *p)
{
	memset(p, 0, sizeof(*p));
	p->len = (uint32_t)(len > CGF_DNS_BUF ? CGF_DNS_BUF : len);
	memcpy(p->buf, m->b, p->len);
	for (int i = 0; i < CGF_DNS_STEPS; i++)
		if (cgf_dns_step(p))
			break;
	return (int)p->phase;
}

static void v4(const struct cgf_dns_parse *p, size_t i, const char *want)
{
	char a[INET_ADDRSTRLEN];

	assert_true(i < p->naddr);
	assert_int_equal(((const uint8_t *)p->addr[i].addr)[10], 0xff);
	inet_ntop(AF_INET, (const uint8_t *)p->addr[i].addr + 12, a, sizeof(a));
	assert_string_equal(a, want);
}

static void test_parse_answers(void **state)
{
	struct cgf_dns_parse *p = calloc(1, sizeof(*p));
	struct msg m;
	uint8_t a1[4] = { 127, 1, 0, 1 }, a2[4] = { 127, 1, 0, 2 }, a6[16] = { [15] = 1 };
	char back[CGF_NAME_TEXT_MAX];
	struct cgf_name_key want;

	(void)state;
	/* a CNAME chain of three, then two A records and an AAAA */
	header(&m, 0x8180, 6, "WWW.Example.test");
	rr(&m, true, NULL, 5, 60, "\x03one\x04test\x00", 10);
	rr(&m, false, "one.test", 5, 60, "\x03two\x04test\x00", 10);
	rr(&m, false, "two.test", 5, 60, "\x05three\x04test\x00", 12);
	rr(&m, false, "three.test", 1, 2, a1, 4);
	rr(&m, false, "three.test", 1, 0x80000000u, a2, 4);
	rr(&m, false, "three.test", 28, 30, a6, 16);
	assert_int_equal(run(&m, m.n, p), CGF_DNS_DONE);
	cgf_name_key("www.example.test", &want);
	assert_int_equal(p->key.prefixlen, want.prefixlen);
	assert_memory_equal(p->key.name, want.name, sizeof(want.name));
	cgf_name_unkey(&p->key, back);
	assert_string_equal(back, "www.example.test");
	assert_int_equal(p->naddr, 3);
	v4(p, 0, "127.1.0.1");
	assert_int_equal(p->addr[0].ttl, 2);
	v4(p, 1, "127.1.0.2");
	assert_int_equal(p->addr[1].ttl, 0);	/* the top bit set: 0 (RFC 2181) */
	assert_memory_equal(p->addr[2].addr, a6, 16);

	/* truncated in the middle of the last record: the ones before count */
	assert_int_equal(run(&m, m.n - 5, p), CGF_DNS_DONE);
	assert_int_equal(p->naddr, 2);
	/* truncated in the question: nothing */
	assert_int_equal(run(&m, 20, p), CGF_DNS_BAD);
	/* shorter than a header */
	assert_int_equal(run(&m, 11, p), CGF_DNS_BAD);

	/* no answers */
	header(&m, 0x8180, 0, "a.test");
	assert_int_equal(run(&m, m.n, p), CGF_DNS_DONE);
	assert_int_equal(p->naddr, 0);

	/* unknown types and classes, an A record of the wrong length: skipped */
	header(&m, 0x8180, 3, "a.test");
	rr(&m, true, NULL, 99, 60, "abcdef", 6);
	rr(&m, true, NULL, 1, 60, "abcde", 5);
	rr(&m, true, NULL, 1, 60, a1, 4);
	assert_int_equal(run(&m, m.n, p), CGF_DNS_DONE);
	assert_int_equal(p->naddr, 1);

	/* a query, an error answer, two questions: nothing learnt */
	header(&m, 0x0100, 1, "a.test");
	rr(&m, true, NULL, 1, 60, a1, 4);
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	header(&m, 0x8183, 1, "a.test");	/* NXDOMAIN */
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	header(&m, 0x8180, 1, "a.test");
	m.b[5] = 2;
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);

	/* a dot or a NUL inside a label would be another name's key */
	header(&m, 0x8180, 1, "a.test");
	m.b[13] = '.';
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	header(&m, 0x8180, 1, "a.test");
	m.b[13] = 0;
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	/* a compression pointer in the question, a label too long */
	header(&m, 0x8180, 1, "a.test");
	m.b[12] = 0xc0;
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	header(&m, 0x8180, 1, "a.test");
	m.b[12] = 64;
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);
	/* an owner name with a reserved label type (0x40, 0x80) */
	header(&m, 0x8180, 1, "a.test");
	put16(&m, 0x4001);
	assert_int_equal(run(&m, m.n, p), CGF_DNS_BAD);

	/* more addresses than an answer's share: the first CGF_DNS_ADDRS */
	header(&m, 0x8180, CGF_DNS_ADDRS + 4, "many.test");
	for (int i = 0; i < CGF_DNS_ADDRS + 4; i++) {
		uint8_t a[4] = { 127, 2, 0, (uint8_t)i };

		rr(&m, true, NULL, 1, 60, a, 4);
	}
	assert_int_equal(run(&m, m.n, p), CGF_DNS_DONE);
	assert_int_equal(p->naddr, CGF_DNS_ADDRS);
	v4(p, CGF_DNS_ADDRS - 1, "127.2.0.15");
	free(p);
}

/* Random bytes never make the parser read out of its buffer or run forever. */
static void test_parse_random(void **state)
{
	struct cgf_dns_parse *p = calloc(1, sizeof(*p));
	struct msg m;
	unsigned seed = 42;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		header(&m, 0x8180, (uint16_t)(rand_r(&seed) % 40), "x.example.test");
		while (m.n < 200 + (size_t)(rand_r(&seed) % 600)) {
			uint8_t b = (uint8_t)rand_r(&seed);

			put(&m, &b, 1);
		}
		if (rand_r(&seed) % 2)	/* flip some bytes of the header and question */
			m.b[rand_r(&seed) % 30] ^= (uint8_t)rand_r(&seed);
		int ph = run(&m, m.n, p);

		assert_true(ph == CGF_DNS_DONE || ph == CGF_DNS_BAD);
		assert_true(p->naddr <= CGF_DNS_ADDRS);
		assert_true(p->kp < CGF_DNS_NAME);
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_syntax),   cmocka_unit_test(test_match),
		cmocka_unit_test(test_key),           cmocka_unit_test(test_policy),
		cmocka_unit_test(test_compiled_trie), cmocka_unit_test(test_parse_answers),
		cmocka_unit_test(test_parse_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
