// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The compiler's whole image, without root and without the host: a fake
 * host (HZ, congestion controls, device nodes) is an input like the policy,
 * so every error check would report is found here, with its position.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>

#include "compile.h"
#include "policy.h"
#include "util.h"

/* /dev/null (c 1:3), /dev/sda (b 8:0), /dev/notadev (a plain file); /dev/tty* two ttys */
static int fake_devices(const struct cgf_host *h, const char *pattern,
			int (*fn)(void *arg, uint32_t type, uint32_t major, uint32_t minor),
			void *arg)
{
	(void)h;
	if (!strcmp(pattern, "/dev/null"))
		return fn(arg, 2, 1, 3), 1;
	if (!strcmp(pattern, "/dev/sda"))
		return fn(arg, 1, 8, 0), 1;
	if (!strcmp(pattern, "/dev/notadev"))
		return fn(arg, 0, 0, 0), 1;
	if (!strcmp(pattern, "/dev/tty*"))
		return fn(arg, 2, 4, 0), fn(arg, 2, 4, 1), 2;
	return 0;
}

static const struct cgf_host host = { .hz = 250, .congestion = "reno cubic\n",
				      .devices = fake_devices };

static struct cgf_policy *parse(const char *body)
{
	char buf[4096];
	struct cgf_policy *p = NULL;

	snprintf(buf, sizeof(buf), "version: 1\nname: img\n%s", body);
	cgf_clear_error();
	if (cgf_policy_parse_string("img.yaml", buf, strlen(buf), &p))
		fail_msg("parse: %s\n%s", cgf_last_error(), buf);
	return p;
}

static struct cgf_compiled *image(const char *body, const struct cgf_host *h)
{
	struct cgf_policy *p = parse(body);
	struct cgf_compiled *c = NULL;

	if (cgf_compile(p, h, &c))
		fail_msg("compile: %s", cgf_last_error());
	cgf_policy_free(p);
	return c;
}

/* compiling body for h fails with a message starting with want */
static void compile_error(const char *body, const struct cgf_host *h, const char *want)
{
	struct cgf_policy *p = parse(body);
	struct cgf_compiled *c = NULL;

	assert_int_not_equal(cgf_compile(p, h, &c), 0);
	assert_null(c);
	if (strncmp(cgf_last_error(), want, strlen(want)))
		fail_msg("error '%s', expected it to start with '%s'", cgf_last_error(), want);
	cgf_policy_free(p);
}

static void test_tcp_from_host(void **state)
{
	struct cgf_compiled *c;
	struct cgf_host no_hz = host;

	(void)state;
	c = image("tcp:\n  congestion: cubic\n  initial_cwnd: 20\n  syn_rto_ms: 500\n", &host);
	assert_string_equal(c->cfg.tcp_cc, "cubic");
	assert_int_equal(c->cfg.tcp_iw, 20);
	assert_int_equal(c->cfg.tcp_syn_rto_jiffies, 125);	/* 500 ms at HZ=250 */
	assert_int_equal(c->hooks, CGF_HOOK_BIT(CGF_H_SOCKOPS));
	cgf_compiled_free(c);
	no_hz.hz = -1;
	compile_error("tcp:\n  syn_rto_ms: 500\n", &no_hz,
		      "img.yaml:4:15: syn_rto_ms: cannot find the kernel's HZ");
	compile_error("tcp:\n  congestion: bbr\n", &host,
		      "img.yaml:4:15: congestion: 'bbr' is not available in this kernel "
		      "(available: reno cubic)");
	/* a host that cannot tell: the kernel decides at connect time */
	no_hz.congestion = NULL;
	c = image("tcp:\n  congestion: bbr\n", &no_hz);
	assert_string_equal(c->cfg.tcp_cc, "bbr");
	cgf_compiled_free(c);
}

static void test_devices_from_host(void **state)
{
	struct cgf_compiled *c;

	(void)state;
	c = image("devices:\n  default: deny\n  rules:\n"
		  "    - {action: allow, path: /dev/null, access: rw}\n"
		  "    - {action: allow, path: \"/dev/tty*\", access: r}\n"
		  "    - {action: deny, path: /dev/null, access: w}\n"
		  "    - {action: allow, path: \"/dev/nothing*\"}\n"
		  "    - {action: allow, type: b, major: 8, minor: \"*\", access: m}\n",
		  &host);
	assert_int_equal(c->n_dev, 4);	/* null, tty0, tty1, b 8:* */
	assert_int_equal(c->dev[0].key.type, 2);
	assert_int_equal(c->dev[0].key.major, 1);
	assert_int_equal(c->dev[0].key.minor, 3);
	assert_int_equal(c->dev[0].val.allow, 2 | 4);
	assert_int_equal(c->dev[0].val.deny, 4);	/* the deny of the third rule joins */
	assert_int_equal(c->dev[0].val.rule, 0);
	assert_int_equal(c->dev[2].key.minor, 1);
	assert_int_equal(c->dev[2].val.rule, 1);	/* the rule that named it */
	assert_int_equal(c->dev[3].key.type, 1);
	assert_int_equal(c->dev[3].key.minor, CGF_DEV_ANY);
	assert_int_equal(c->cfg.dev_default, CGF_DENY);
	assert_int_equal(c->hooks, CGF_HOOK_BIT(CGF_H_DEVICE));
	cgf_compiled_free(c);
	compile_error("devices:\n  default: deny\n  rules:\n    - {action: allow, path: /dev/gone}\n",
		      &host, "img.yaml:6:29: path: '/dev/gone': no such device");
	compile_error("devices:\n  default: deny\n  rules:\n"
		      "    - {action: allow, path: /dev/notadev}\n",
		      &host, "img.yaml:6:29: path: '/dev/notadev' is not a character or block");
	compile_error("devices:\n  default: deny\n  rules:\n    - {action: allow, path: /dev/null}\n",
		      NULL, "img.yaml:6:29: path: '/dev/null': this host's devices are not known");
}

static void test_config_and_tables(void **state)
{
	struct cgf_compiled *c;

	(void)state;
	c = image("mode: audit\n"
		  "network:\n"
		  "  egress:\n    default: deny\n    rules:\n      - {action: allow, to: [127.0.0.1]}\n"
		  "  redirect:\n    - match: {to: [127.0.0.9], ports: [53]}\n      to: 127.0.0.1:5353\n"
		  "  sockets:\n    families: [inet]\n    deny_types: [raw]\n"
		  "  rate_limit:\n    connections_per_second: 100\n    burst: 5\n"
		  "sockopt:\n  deny_set: [SO_REUSEPORT]\n"
		  "sysctl:\n  default: allow\n  rules:\n    - {action: deny, names: [\"kernel/*\"]}\n"
		  "accounting: true\n"
		  "log:\n  denials_per_second: 10\n",
		  &host);
	assert_string_equal(c->name, "img");
	assert_int_equal(c->mode, CGF_MODE_AUDIT);
	assert_int_equal(c->cfg.audit, 1);
	assert_int_equal(c->cfg.has_egress, 1);
	assert_int_equal(c->cfg.has_ingress, 0);
	assert_int_equal(c->cfg.has_redirect, 1);
	assert_int_equal(c->cfg.accounting, 1);
	assert_int_equal(c->cfg.sock_families, CGF_FAM_INET);
	assert_int_equal(c->cfg.rl_interval_ns, 10000000);
	assert_int_equal(c->cfg.rl_burst_ns, 4 * 10000000ull);
	assert_int_equal(c->cfg.ev_interval_ns, 100000000);
	assert_int_equal(c->cfg.n_rules, 2);		/* the egress rule and the redirect */
	assert_int_equal(c->cfg.redir_first, 1);
	assert_int_equal(c->cfg.sysctl_n, 1);
	assert_int_equal(c->cfg.slot, 0);		/* the loader's */
	/* rule texts: the rules, "default" and "rate_limit", then sysctl and sockopt */
	assert_int_equal(c->n_rule_slots, 6);
	assert_int_equal(c->rule_info[0].line, 8);
	assert_string_equal(c->rule_info[2].text, "default");
	assert_string_equal(c->rule_info[3].text, "rate_limit");
	assert_int_equal(c->cfg.dev_rule_first, 4);
	assert_int_equal(c->cfg.sysctl_rule_first, 4);
	assert_int_equal(c->cfg.sockopt_rule_first, 5);
	assert_string_equal(c->rule_info[4].text, "sysctl: deny kernel/*");
	assert_int_equal(c->rule_info[4].line, 23);
	assert_string_equal(c->rule_info[5].text, "sockopt: deny_set SO_REUSEPORT");
	assert_int_equal(c->sockopt_rule[0], 0);
	assert_int_equal(c->n_sockopt, 1);
	assert_int_equal(c->n_sysctl, 1);
	assert_string_equal(c->sysctl[0].pat, "kernel/*");
	assert_int_equal(c->n_redir, 1);
	assert_int_equal(c->redir[0].n, 1);
	assert_int_equal(c->redir[0].b[0].port, htons(5353));
	/* the hooks, from the registry: egress, redirect, sockets, sockopt, sysctl,
	 * accounting and the rate limit */
	assert_int_equal(c->hooks, cgf_hooks_for(CGF_F_EGRESS | CGF_F_REDIRECT | CGF_F_SOCKETS |
						 CGF_F_SOCKOPT_SET | CGF_F_SYSCTL |
						 CGF_F_ACCOUNTING | CGF_F_RATE_LIMIT));
	assert_true(c->hooks & CGF_HOOK_BIT(CGF_H_GETPEERNAME6));
	assert_false(c->hooks & CGF_HOOK_BIT(CGF_H_GETSOCKOPT));
	cgf_compiled_free(c);
}

/* network.state: on attaches both skb hooks to a policy with egress,
 * ingress or bind (the verdicts of connections live in both directions, and
 * bind judges the ports the kernel binds by itself there); off, or a policy
 * without those sections, does not. */
static void test_state_hooks(void **state)
{
	static const struct {
		const char *net;
		bool state, ingress_hook, egress_hook;
	} cases[] = {
		{ "network:\n  egress: {default: deny}\n", true, true, true },
		{ "network:\n  ingress: {default: deny}\n", true, true, true },
		{ "network:\n  state: off\n  egress: {default: deny}\n", false, false, true },
		{ "network:\n  state: off\n  ingress: {default: deny}\n", false, true, false },
		{ "network:\n  bind: {default: deny}\n", true, true, true },
		{ "network:\n  state: off\n  bind: {default: deny}\n", false, false, false },
		{ "network:\n  sockets: {deny_types: [raw]}\n", false, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		struct cgf_policy *p = NULL;
		struct cgf_compiled *c = NULL;

		snprintf(buf, sizeof(buf), "version: 1\nname: s\n%s", cases[i].net);
		assert_int_equal(cgf_policy_parse_string("s.yaml", buf, strlen(buf), &p), 0);
		assert_int_equal(cgf_compile(p, NULL, &c), 0);
		assert_int_equal(c->cfg.state, cases[i].state);
		assert_int_equal(!!(c->features & CGF_F_STATE), cases[i].state);
		assert_int_equal(!!(c->hooks & CGF_HOOK_BIT(CGF_H_INGRESS)), cases[i].ingress_hook);
		assert_int_equal(!!(c->hooks & CGF_HOOK_BIT(CGF_H_EGRESS)), cases[i].egress_hook);
		cgf_compiled_free(c);
		cgf_policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_hooks),
		cmocka_unit_test(test_tcp_from_host),
		cmocka_unit_test(test_devices_from_host),
		cmocka_unit_test(test_config_and_tables),
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
