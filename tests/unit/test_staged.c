// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A staged version's compiled form: audit beside the version in force, on
 * every hook either has, acting on nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "compile.h"
#include "policy.h"
#include "staged.h"
#include "util.h"

static struct cgf_compiled *compile(const char *yaml)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;

	if (cgf_policy_parse_string("s.yaml", yaml, strlen(yaml), &p))
		fail_msg("parse: %s", cgf_last_error());
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	cgf_policy_free(p);
	return c;
}

#define H(x) CGF_HOOK_BIT(CGF_H_##x)

/* a policy that redirects, sets TCP options, accounts and logs connections */
static const char *busy = "version: 1\nname: s\n"
			  "network:\n"
			  "  egress: {default: deny, rules: [{action: allow, to: [127.0.0.1]}]}\n"
			  "  redirect:\n"
			  "    - {match: {to: [127.0.0.9], ports: [80], protocol: tcp}, to: 127.0.0.1:81}\n"
			  "tcp: {congestion: reno}\n"
			  "accounting: true\n"
			  "log: {connections: true, denials: false}\n";

static void test_acts_on_nothing(void **state)
{
	struct cgf_compiled *c = compile(busy);
	uint32_t own = c->hooks;

	(void)state;
	assert_true(own & H(SOCKOPS));
	assert_true(own & H(RECVMSG4));
	cgf_staged_compile(c, H(SYSCTL) | H(SOCKOPS));
	assert_int_equal(c->cfg.staged, 1);
	assert_int_equal(c->cfg.own_hooks, own);
	assert_int_equal(c->cfg.enforced_hooks, H(SYSCTL) | H(SOCKOPS));
	/* the union, less redirection's reverse translation and TCP settings */
	assert_true(c->hooks & H(CONNECT4));
	assert_true(c->hooks & H(EGRESS));
	assert_true(c->hooks & H(SYSCTL));	/* the version in force's: compared */
	assert_false(c->hooks & H(SOCKOPS));
	assert_false(c->hooks & (CGF_REDIRECT_ONLY_HOOKS));
	assert_int_equal(c->cfg.has_redirect, 0);
	assert_int_equal(c->cfg.accounting, 0);
	assert_int_equal(c->cfg.log_conns, 0);
	assert_int_equal(c->cfg.log_denials, 1);	/* differences are events */
	assert_false(c->features & (CGF_F_REDIRECT | CGF_F_ACCOUNTING | CGF_F_TCP));
	assert_int_equal(c->meta_flags, CGF_META_STAGED);
	cgf_compiled_free(c);
}

static void test_plain_policy(void **state)
{
	struct cgf_compiled *c = compile("version: 1\nname: s\n"
					 "network: {egress: {default: deny}}\n");
	uint32_t own = c->hooks;

	(void)state;
	cgf_staged_compile(c, 0);
	assert_int_equal(c->hooks, own);
	assert_int_equal(c->cfg.own_hooks, own);
	assert_int_equal(c->cfg.enforced_hooks, 0);
	cgf_compiled_free(c);
}

/* cfg.plain (abi.h): where connect/sendmsg may decide an allowed call by its
 * verdict alone; never for a staged version, which must compare every call */
static void test_short_path(void **state)
{
	const char *egress = "version: 1\nname: s\n"
			     "network:\n"
			     "  egress: {default: deny, rules: [{action: allow, to: [127.0.0.1]}]}\n";
	const char *limited = "version: 1\nname: s\n"
			      "network:\n"
			      "  egress: {default: allow}\n"
			      "  rate_limit: {connections_per_second: 1, burst: 3}\n";
	const char *ingress = "version: 1\nname: s\n"
			      "network: {ingress: {default: deny}}\n";
	struct cgf_compiled *c = compile(egress);

	(void)state;
	assert_int_equal(cgf_config_plain(&c->cfg), CGF_PLAIN_CONNECT | CGF_PLAIN_SENDMSG);
	cgf_staged_compile(c, c->hooks);
	assert_int_equal(cgf_config_plain(&c->cfg), 0);
	cgf_compiled_free(c);
	c = compile(busy);	/* redirect, accounting */
	assert_int_equal(cgf_config_plain(&c->cfg), 0);
	c->cfg.has_redirect = 0;
	assert_int_equal(cgf_config_plain(&c->cfg), 0);	/* accounting alone */
	c->cfg.accounting = 0;
	assert_int_equal(cgf_config_plain(&c->cfg), CGF_PLAIN_CONNECT | CGF_PLAIN_SENDMSG);
	cgf_compiled_free(c);
	c = compile(limited);	/* a rate limit counts connects, not datagrams */
	assert_int_equal(cgf_config_plain(&c->cfg), CGF_PLAIN_SENDMSG);
	cgf_compiled_free(c);
	c = compile(ingress);
	assert_int_equal(cgf_config_plain(&c->cfg), 0);
	cgf_compiled_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acts_on_nothing),
		cmocka_unit_test(test_plain_policy),
		cmocka_unit_test(test_short_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
