// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy parser: accepted shapes, and errors with FILE:LINE:COL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cgfence/abi.h"
#include "compile.h"
#include "policy.h"
#include "util.h"

static struct cgf_policy *parse_ok(const char *yaml)
{
	struct cgf_policy *p = NULL;

	cgf_clear_error();
	if (cgf_policy_parse_string("p.yaml", yaml, strlen(yaml), &p))
		fail_msg("unexpected error: %s", cgf_last_error());
	return p;
}

/* The error must start with want (e.g. "p.yaml:4:3: unknown key"). */
static void parse_err(const char *yaml, size_t len, const char *want)
{
	struct cgf_policy *p = NULL;

	cgf_clear_error();
	assert_int_equal(cgf_policy_parse_string("p.yaml", yaml, len, &p), -EINVAL);
	assert_null(p);
	if (strncmp(cgf_last_error(), want, strlen(want)))
		fail_msg("error '%s' does not start with '%s'", cgf_last_error(), want);
}
#define ERR(yaml, want) parse_err(yaml, strlen(yaml), want)

#define HEAD "version: 1\nname: t\n"

static void test_full(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD
		"mode: audit\n"
		"target:\n  cgroup: system.slice/web.service\n"
		"network:\n"
		"  egress:\n"
		"    default: deny\n"
		"    rules:\n"
		"      - action: allow\n"
		"        to: [127.0.0.0/8, \"::1\", private]\n"
		"        except: [10.0.5.0/24]\n"
		"        ports: [80, 443, \"8000-9000\"]\n"
		"        protocol: tcp\n"
		"      - {action: deny, to: 169.254.169.254}\n"
		"  ingress:\n"
		"    default: allow\n"
		"    rules:\n"
		"      - {action: deny, from: [192.168.0.0/16]}\n");

	(void)state;
	assert_string_equal(p->name, "t");
	assert_int_equal(p->mode, CGF_MODE_AUDIT);
	assert_int_equal(p->target_kind, CGF_TARGET_CGROUP);
	assert_string_equal(p->target_cgroup, "system.slice/web.service");
	assert_int_equal(p->n_rules, 3);
	assert_true(p->sec[CGF_DIR_EGRESS].present);
	assert_int_equal(p->sec[CGF_DIR_EGRESS].def, CGF_DENY);
	assert_int_equal(p->sec[CGF_DIR_EGRESS].n, 2);
	assert_int_equal(p->sec[CGF_DIR_INGRESS].first, 2);
	assert_int_equal(p->rules[0].n_to, 2 + 4);	/* "private" is four prefixes */
	assert_int_equal(p->rules[0].n_except, 1);
	assert_int_equal(p->rules[0].n_ports, 3);
	assert_int_equal(p->rules[0].ports[2].lo, 8000);
	assert_int_equal(p->rules[0].proto, CGF_P_TCP);
	assert_int_equal(p->rules[0].line, 10);
	assert_int_equal(p->rules[1].action, CGF_DENY);
	assert_int_equal(p->rules[1].n_to, 1);
	assert_int_equal(p->rules[1].proto, -1);
	assert_int_equal(p->rules[2].dir, CGF_DIR_INGRESS);
	assert_int_equal(p->n_prefixes, 6 + 1 + 1 + 1);
	cgf_policy_free(p);
}

static void test_bind_section(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD "network:\n  bind:\n    default: allow\n    rules:\n"
					"      - {action: deny, ports: [\"1-1023\"]}\n"
					"      - {action: allow, address: [127.0.0.1], ports: [80]}\n");
	char buf[128];

	(void)state;
	assert_true(p->sec[CGF_DIR_BIND].present);
	assert_int_equal(p->sec[CGF_DIR_BIND].n, 2);
	assert_int_equal(p->rules[1].dir, CGF_DIR_BIND);
	cgf_rule_text(&p->rules[1], buf, sizeof(buf));
	assert_string_equal(buf, "{action: allow, address: [127.0.0.1], ports: [80]}");
	cgf_policy_free(p);
}

static void test_sysctl_order(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD "sysctl:\n  default: allow\n  rules:\n"
					"    - {action: allow, names: [\"net/*\"]}\n"
					"    - {action: read-only, names: [\"net/ipv4/*\", \"net.ipv6.*\"]}\n"
					"    - {action: deny, names: [\"net/ipv4/*\"]}\n"
					"    - {action: allow, names: [kernel.hostname]}\n");

	(void)state;
	assert_int_equal(p->sysctl.n, 5);
	/* exact first, then by literal characters, deny before read-only */
	assert_string_equal(p->sysctl.pats[0].pat, "kernel/hostname");
	assert_string_equal(p->sysctl.pats[1].pat, "net/ipv4/*");
	assert_int_equal(p->sysctl.pats[1].verdict, CGF_SYSCTL_DENY);
	assert_string_equal(p->sysctl.pats[2].pat, "net/ipv4/*");
	assert_int_equal(p->sysctl.pats[2].verdict, CGF_SYSCTL_READ_ONLY);
	assert_string_equal(p->sysctl.pats[3].pat, "net/ipv6/*");
	assert_string_equal(p->sysctl.pats[4].pat, "net/*");
	cgf_policy_free(p);
}

static void test_redirect_section(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD "network:\n  redirect:\n"
					"    - match: {to: [0.0.0.0/0], ports: [53], protocol: udp}\n"
					"      to: 127.0.0.1:5353\n"
					"    - match: {to: [\"::1\"], ports: [80]}\n"
					"      backends: [\"[::1]:8081\", 127.0.0.1:8082]\n"
					"      select: hash\n");
	const struct cgf_section *s = &p->sec[CGF_DIR_REDIRECT];
	char buf[64];

	(void)state;
	assert_true(s->present);
	assert_int_equal(s->n, 2);
	assert_int_equal(p->rules[s->first].proto, CGF_P_UDP);
	assert_int_equal(p->redirects[0].n, 1);
	assert_int_equal(p->redirects[0].backends[0].port, 5353);
	assert_int_equal(p->redirects[1].select, CGF_SELECT_HASH);
	cgf_endpoint_str(&p->redirects[1].backends[0], buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8081");
	cgf_endpoint_str(&p->redirects[1].backends[1], buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:8082");
	cgf_policy_free(p);
}

static void test_defaults(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD "network:\n  egress:\n    default: allow\n"
					"    rules:\n      - {action: deny, ports: [25]}\n");

	(void)state;
	assert_int_equal(p->mode, CGF_MODE_ENFORCE);
	assert_int_equal(p->target_kind, CGF_TARGET_NONE);
	assert_false(p->sec[CGF_DIR_INGRESS].present);
	assert_false(p->rules[0].to_given);
	assert_int_equal(p->rules[0].n_to, 2);	/* omitted "to" is any */
	cgf_policy_free(p);
}

static void test_rule_text(void **state)
{
	struct cgf_policy *p = parse_ok(HEAD "network:\n  egress:\n    default: allow\n    rules:\n"
					"      - {action: deny, to: [10.0.0.0/8, 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4],"
					" ports: [\"1-1023\"], protocol: udp}\n");
	char buf[256];

	(void)state;
	cgf_rule_text(&p->rules[0], buf, sizeof(buf));
	assert_string_equal(buf, "{action: deny, to: [10.0.0.0/8, 1.1.1.1, 2.2.2.2, 3.3.3.3, "
				 "... 1 more], ports: [1-1023], protocol: udp}");
	cgf_policy_free(p);
}

static void test_errors(void **state)
{
	(void)state;
	ERR("", "p.yaml:1:1: empty policy");
	ERR("- a\n", "p.yaml:1:1: a policy must be a mapping");
	ERR("name: t\n", "p.yaml:1:1: missing 'version: 1'");
	ERR("version: 2\nname: t\n", "p.yaml:1:10: unsupported policy version '2'");
	ERR("version: 1\n", "p.yaml:1:1: missing 'name'");
	ERR("version: 1\nname: Web!\n", "p.yaml:2:7: name 'Web!' must be 1 to 48");
	ERR("version: 1\nname: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "p.yaml:2:7: name");
	ERR(HEAD "mode: strict\n", "p.yaml:3:7: mode must be enforce or audit");
	ERR(HEAD "colour: blue\n", "p.yaml:3:1: unknown key 'colour'");
	ERR(HEAD "accounting: yes\n", "p.yaml:3:13: accounting must be true or false, not 'yes'");
	ERR(HEAD "network:\n  rate_limit: {}\n",
	    "p.yaml:4:15: network.rate_limit needs connections_per_second");
	ERR(HEAD "network:\n  rate_limit: {connections_per_second: 0}\n",
	    "p.yaml:4:40: connections_per_second must be a number from 1 to 1000000");
	ERR(HEAD "network:\n  rate_limit: {connections_per_second: 5, burst: -1}\n",
	    "p.yaml:4:50: burst must be a number from 1 to 10000000");
	ERR(HEAD "log: {denials: true, colour: red}\n", "p.yaml:3:22: unknown key 'colour' in log");
	ERR(HEAD "log: {connections: 1}\n", "p.yaml:3:20: log.connections must be true or false");
	ERR(HEAD "network:\n  redirect:\n    - {to: 127.0.0.1:53}\n", "p.yaml:5:7: redirect has no 'match'");
	ERR(HEAD "network:\n  redirect:\n    - {match: {ports: [53]}, to: 127.0.0.1:53, backends: [127.0.0.1:54]}\n",
	    "p.yaml:5:7: a redirect names one target");
	ERR(HEAD "network:\n  redirect:\n    - {match: {to: [10.0.0.1]}, to: \"[::1]:53\"}\n",
	    "p.yaml:5:37: an IPv6 backend cannot serve IPv4 destinations");
	ERR(HEAD "network:\n  redirect:\n    - {match: {ports: [53]}, backends: [127.0.0.1:1], select: sticky}\n",
	    "p.yaml:5:63: select must be random, round-robin or hash");
	ERR(HEAD "network:\n  redirect:\n    - {match: {action: allow}, to: 127.0.0.1:1}\n",
	    "p.yaml:5:16: unknown key 'action' in match");
	ERR(HEAD "network:\n  redirect:\n    - {match: {}, to: 127.0.0.1}\n",
	    "p.yaml:5:23: '127.0.0.1': write ADDR:PORT");
	ERR(HEAD "network:\n  bind:\n    default: deny\n    rules:\n      - {action: allow, to: [1.2.3.4]}\n",
	    "p.yaml:7:25: bind rules match by 'address', not 'to'");
	ERR(HEAD "network:\n  egres: {}\n", "p.yaml:4:3: unknown key 'egres' in network");
	ERR(HEAD "network:\n  egress: []\n", "p.yaml:4:11: egress must be a mapping, not a list");
	ERR(HEAD "network:\n  egress:\n    rules: []\n", "p.yaml:5:5: egress has no 'default'");
	ERR(HEAD "network:\n  egress:\n    default: maybe\n",
	    "p.yaml:5:14: default must be allow or deny, not 'maybe'");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules: {}\n",
	    "p.yaml:6:12: rules must be a list");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - to: [1.2.3.4]\n",
	    "p.yaml:7:9: rule has no 'action'");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, from: [1.2.3.4]}\n",
	    "p.yaml:7:25: egress rules match by 'to', not 'from'");
	ERR(HEAD "network:\n  ingress:\n    default: deny\n    rules:\n      - {action: allow, to: [1.2.3.4]}\n",
	    "p.yaml:7:25: ingress rules match by 'from', not 'to'");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, to: [10.0.0.1/8]}\n",
	    "p.yaml:7:30: to: '10.0.0.1/8': host bits are set");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, to: []}\n",
	    "p.yaml:7:29: to: empty list");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, ports: [70000]}\n",
	    "p.yaml:7:33: ports: '70000': ports are 0 to 65535");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, ports: [{a: 1}]}\n",
	    "p.yaml:7:33: ports: each entry must be a port or a range, not a mapping");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, ports: [80], protocol: icmp}\n",
	    "p.yaml:7:48: ports need protocol tcp, udp or any");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, protocol: sctp}\n",
	    "p.yaml:7:35: protocol must be tcp, udp, icmp or any");
	ERR(HEAD "network:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, colour: red}\n",
	    "p.yaml:7:25: unknown key 'colour' in a rule");
	ERR(HEAD "target: {unit: web}\n",
	    "p.yaml:3:16: target.unit: 'web' is not a systemd unit with a cgroup");
	ERR(HEAD "target: {unit: web.socket}\n",
	    "p.yaml:3:16: target.unit: 'web.socket' is not a systemd unit with a cgroup");
	ERR(HEAD "target: {unit: \"a/b.service\"}\n",
	    "p.yaml:3:16: target.unit: 'a/b.service' is not a systemd unit");
	ERR(HEAD "target: {cgroup: a/../b}\n",
	    "p.yaml:3:18: target.cgroup: 'a/../b': '..' and '***' are not allowed");
	ERR(HEAD "target: {pid: -1}\n", "p.yaml:3:15: target.pid must be a process id");
	ERR(HEAD "target: {cgroup: a, pid: 1}\n", "p.yaml:3:9: target names exactly one");
}

static void test_visibility(void **state)
{
	struct cgf_policy *p;

	(void)state;
	p = parse_ok(HEAD "accounting: true\nlog: {connections: true, denials_per_second: 5}\n"
		     "network:\n  rate_limit: {connections_per_second: 10, burst: 20}\n");
	assert_true(p->vis.accounting);
	assert_true(p->vis.log_denials);	/* the default */
	assert_true(p->vis.log_connections);
	assert_int_equal(p->vis.denials_per_second, 5);
	assert_int_equal(p->vis.rate_cps, 10);
	assert_int_equal(p->vis.rate_burst, 20);
	cgf_policy_free(p);
	p = parse_ok(HEAD "log: {denials: false}\nnetwork:\n  rate_limit: {connections_per_second: 7}\n");
	assert_false(p->vis.accounting);
	assert_false(p->vis.log_denials);
	assert_int_equal(p->vis.denials_per_second, 100);
	assert_int_equal(p->vis.rate_burst, 7);	/* default: one second's worth */
	cgf_policy_free(p);
}

static void test_yaml_level(void **state)
{
	char deep[512] = HEAD "x: ";
	static const char nul[] = "version: 1\nna\0me: t\n";

	(void)state;
	ERR(HEAD "name: u\n", "p.yaml:3:1: duplicate key 'name' (first at line 2)");
	ERR(HEAD "network: &a {}\nx: *a\n", "p.yaml:4:4: YAML aliases are not supported");
	ERR("version: 1\n---\nname: t\n", "p.yaml:2:1: a policy file holds one YAML document");
	ERR("version: 1\nname: [\n", "p.yaml:3:1: YAML: did not find expected node content");
	ERR("version: 1\n\tname: t\n", "p.yaml:2:1: YAML:");
	parse_err(nul, sizeof(nul) - 1, "p.yaml:2:3: NUL byte");
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	ERR(deep, "p.yaml:3:35: nesting deeper than 32 levels");
}

/* Garbage never crashes and always gets an error with a position. */
static void test_garbage(void **state)
{
	static const char *const inputs[] = {
		"{", "}", ":", "- - - -", "version: 1\nname: t\nnetwork:\n  egress:\n    default:\n",
		"version: 1\nname: t\nnetwork:\n  egress:\n    default: [allow]\n",
		"version: [1]\nname: t\n", "version: 1\nname: {a: b}\n", "!!binary aGVsbG8=",
		"version: 1\nname: t\nnetwork:\n  egress:\n    default: deny\n    rules:\n      - 5\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct cgf_policy *p = NULL;

		cgf_clear_error();
		assert_int_equal(cgf_policy_parse_string("g.yaml", inputs[i], strlen(inputs[i]), &p),
				 -EINVAL);
		assert_non_null(strstr(cgf_last_error(), "g.yaml:"));
	}
}

/* network.state: on by default; on/off (or true/false); anything else refused */
static void test_state(void **state)
{
	static const char *const yes[] = { "", "  state: on\n", "  state: true\n" };
	static const char *const no[] = { "  state: off\n", "  state: false\n" };
	char buf[256];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), HEAD "network:\n%s  egress: {default: allow}\n", yes[i]);
		struct cgf_policy *p = parse_ok(buf);

		assert_false(p->stateless);
		cgf_policy_free(p);
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(buf, sizeof(buf), HEAD "network:\n%s  egress: {default: allow}\n", no[i]);
		struct cgf_policy *p = parse_ok(buf);

		assert_true(p->stateless);
		assert_int_equal(p->state_line, 4);
		cgf_policy_free(p);
	}
	ERR(HEAD "network:\n  state: maybe\n", "p.yaml:4:10: network.state must be on or off, not 'maybe'");
	ERR(HEAD "network:\n  state: [on]\n", "p.yaml:4:10: network.state");
	ERR(HEAD "network:\n  stat: on\n", "p.yaml:4:3: unknown key 'stat' in network (expected state,");
}

/* network.outside_sockets: report by default, or destroy; in the compiled
 * policy's meta flags, so the daemon and list know it */
static void test_outside_sockets(void **state)
{
	struct cgf_policy *p;
	struct cgf_compiled *c = NULL;

	(void)state;
	p = parse_ok(HEAD "network:\n  egress: {default: allow}\n");
	assert_false(p->destroy_outside);
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->meta_flags & CGF_META_DESTROY_OUTSIDE, 0);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	p = parse_ok(HEAD "network:\n  outside_sockets: destroy\n");
	assert_true(p->destroy_outside);
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	assert_int_equal(c->meta_flags & CGF_META_DESTROY_OUTSIDE, CGF_META_DESTROY_OUTSIDE);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	p = parse_ok(HEAD "network:\n  outside_sockets: report\n");
	assert_false(p->destroy_outside);
	cgf_policy_free(p);
	ERR(HEAD "network:\n  outside_sockets: kill\n",
	    "p.yaml:4:20: network.outside_sockets must be report or destroy, not 'kill'");
}

static void test_limits(void **state)
{
	char buf[16384];
	size_t n = (size_t)sprintf(buf, HEAD "sockopt:\n  deny_set: [");

	(void)state;
	for (int i = 0; i < 257; i++)
		n += (size_t)sprintf(buf + n, "%s\"1:%d\"", i ? ", " : "", i);
	sprintf(buf + n, "]\n");
	parse_err(buf, strlen(buf), "p.yaml:4:");
	assert_non_null(strstr(cgf_last_error(), "sockopt: more than 256 options"));
}

static void test_large(void **state)
{
	/* 200,000 prefixes in one rule parse without trouble */
	size_t cap = 200000 * 32 + 256, n = 0;
	char *buf = malloc(cap);
	struct cgf_policy *p;

	(void)state;
	n += sprintf(buf, HEAD "network:\n  egress:\n    default: deny\n    rules:\n"
			    "      - action: allow\n        to:\n");
	for (int i = 0; i < 200000; i++)
		n += sprintf(buf + n, "          - 10.%d.%d.0/24\n", i / 256 % 256, i % 256);
	p = NULL;
	cgf_clear_error();
	/* the same /24 appears several times: that is allowed */
	assert_int_equal(cgf_policy_parse_string("big.yaml", buf, n, &p), 0);
	assert_int_equal(p->n_prefixes, 200000);
	cgf_policy_free(p);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),	  cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bind_section),
		cmocka_unit_test(test_sysctl_order),
		cmocka_unit_test(test_redirect_section),
		cmocka_unit_test(test_rule_text), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_yaml_level),
		cmocka_unit_test(test_visibility), cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_limits), cmocka_unit_test(test_state),
		cmocka_unit_test(test_outside_sockets),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
