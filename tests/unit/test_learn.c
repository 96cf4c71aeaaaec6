// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Learning: events in, a policy out - stable order, valid YAML, comments,
 * destinations grouped by protocol and ports, names from trusted answers,
 * --group folding, the kernel's ports as port 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "compile.h"
#include "learn.h"
#include "policy.h"
#include "util.h"

static void ev(struct cgf_learn *l, const char *json)
{
	json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	cgf_learn_event(l, o);
	json_object_put(o);
}

#define WD(hook, extra) "{\"type\":\"would-deny\",\"time\":\"2026-12-01T10:00:0" \
	"1.000Z\",\"hook\":\"" hook "\",\"comm\":\"curl\"," extra "}"

static struct cgf_learn *workload(void)
{
	struct cgf_learn *l = cgf_learn_new();

	ev(l, "{\"type\":\"dns\",\"dst\":\"127.1.0.1\",\"name\":\"api.example.test\"}");
	ev(l, WD("sendmsg4", "\"protocol\":\"udp\",\"dst\":\"127.0.0.53\",\"dport\":53,\"direction\":\"outbound\""));
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.1.0.1\",\"dport\":8080,\"direction\":\"outbound\""));
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.2.0.1\",\"dport\":80,\"direction\":\"outbound\""));
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.2.0.2\",\"dport\":80,\"direction\":\"outbound\""));
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.3.0.1\",\"dport\":443,\"direction\":\"outbound\""));
	/* the later packets of a flow the call covers: not a rule of their own */
	ev(l, WD("ingress", "\"protocol\":\"tcp\",\"src\":\"127.2.0.1\",\"dport\":40000,\"direction\":\"outbound\""));
	/* a peer connecting to our listener, and the bind of it and of an ephemeral port */
	ev(l, WD("ingress", "\"protocol\":\"tcp\",\"src\":\"127.0.0.1\",\"dport\":8000,\"direction\":\"inbound\""));
	ev(l, WD("bind4", "\"protocol\":\"tcp\",\"sport\":8000"));
	ev(l, WD("bind4", "\"protocol\":\"udp\",\"sport\":45000"));
	ev(l, WD("sock_create", "\"socket\":{\"family\":\"inet\",\"type\":\"stream\",\"protocol\":\"tcp\"}"));
	ev(l, WD("sock_create", "\"socket\":{\"family\":\"inet\",\"type\":\"dgram\",\"protocol\":\"udp\"}"));
	ev(l, WD("dev", "\"device\":{\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"r\"}"));
	ev(l, WD("dev", "\"device\":{\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}"));
	ev(l, WD("sysctl", "\"sysctl\":{\"name\":\"net/ipv4/ip_forward\",\"truncated\":false,\"write\":false}"));
	ev(l, WD("sysctl", "\"sysctl\":{\"name\":\"net/ipv4/conf/all/forwarding\",\"truncated\":false,\"write\":true}"));
	ev(l, "{\"type\":\"connection-open\",\"hook\":\"sockops\"}");	/* not a denial: ignored */
	return l;
}

static char *learn(struct cgf_learn *l, int group)
{
	static const char *const dns[] = { "127.0.0.53", NULL };
	struct cgf_learn_opts o = { .name = "learnt", .dns = dns, .group = group,
				    .eph_lo = 32768, .eph_hi = 60999 };

	return cgf_learn_yaml(l, &o);
}

static void test_output(void **state)
{
	struct cgf_learn *l = workload();
	char *y = learn(l, 0), *again;
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;

	(void)state;
	/* valid, and it compiles */
	if (cgf_policy_parse_string("learnt.yaml", y, strlen(y), &p))
		fail_msg("not a valid policy: %s\n%s", cgf_last_error(), y);
	assert_int_equal(cgf_compile(p, NULL, &c), 0);
	/* what was done is allowed: by name, by address, grouped */
	assert_non_null(strstr(y, "to_names: [\"api.example.test\"]\n        ports: [8080]\n        protocol: tcp"));
	assert_non_null(strstr(y, "to: [\"127.2.0.1\", \"127.2.0.2\"]\n        ports: [80]\n        protocol: tcp"));
	assert_non_null(strstr(y, "to: [\"127.0.0.53\"]\n        ports: [53]\n        protocol: udp"));
	assert_non_null(strstr(y, "from: [\"127.0.0.1\"]\n        ports: [8000]"));
	assert_null(strstr(y, "40000"));	/* a reply is no ingress rule */
	assert_non_null(strstr(y, "{action: allow, ports: [0], protocol: udp}"));	/* ephemeral */
	assert_non_null(strstr(y, "{action: allow, ports: [0, 8000], protocol: tcp}"));	/* connect()'s */
	assert_non_null(strstr(y, "deny_types: [raw, seqpacket]"));
	assert_non_null(strstr(y, "{action: allow, type: c, major: 1, minor: 9, access: r}"));
	assert_non_null(strstr(y, "{action: allow, type: c, major: 1, minor: 3, access: rw}"));
	assert_non_null(strstr(y, "action: allow\n      names:\n        # seen 1 time, by curl; "
				  "first 2026-12-01T10:00:01Z, last 2026-12-01T10:00:01Z\n"
				  "        - \"net/ipv4/conf/all/forwarding\""));
	assert_non_null(strstr(y, "action: read-only"));
	assert_non_null(strstr(y, "servers: [\"127.0.0.53\"]"));
	assert_non_null(strstr(y, "# seen 2 times, by curl"));	/* the two of port 80 */
	/* stable: the same events give the same text */
	again = learn(l, 0);
	assert_string_equal(y, again);
	/* and what it allows, explain agrees with */
	{
		struct cgf_query q = { .dir = CGF_DIR_EGRESS, .proto = CGF_P_TCP, .port = 80 };
		struct cgf_decision d;
		struct cgf_prefix pf[CGF_WORD_MAX];
		const char *why;

		assert_int_equal(cgf_parse_prefixes("127.2.0.2", pf, &why), 1);
		q.addr = pf[0];
		cgf_eval(p, &q, &d);
		assert_int_equal(d.verdict, CGF_ALLOW);
		q.port = 81;
		cgf_eval(p, &q, &d);
		assert_int_equal(d.verdict, CGF_DENY);
	}
	free(again);
	free(y);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	cgf_learn_free(l);
}

static void test_group(void **state)
{
	struct cgf_learn *l = workload();
	char *y = learn(l, 24);
	struct cgf_policy *p = NULL;

	(void)state;
	assert_non_null(strstr(y, "to: [\"127.2.0.0/24\"]"));	/* two of one /24 */
	assert_non_null(strstr(y, "to: [\"127.3.0.1\"]"));		/* alone: as it is */
	assert_int_equal(cgf_policy_parse_string("g.yaml", y, strlen(y), &p), 0);
	cgf_policy_free(p);
	free(y);
	cgf_learn_free(l);
}

static void test_empty_and_lost(void **state)
{
	struct cgf_learn *l = cgf_learn_new();
	struct cgf_policy *p = NULL;
	char *y;

	(void)state;
	ev(l, "{\"type\":\"lost\",\"dropped\":3,\"suppressed\":0}");
	y = learn(l, 0);
	assert_non_null(strstr(y, "# warning: 3 events were lost"));
	assert_non_null(strstr(y, "deny_types: [stream, dgram, raw, seqpacket]"));
	assert_int_equal(cgf_policy_parse_string("e.yaml", y, strlen(y), &p), 0);
	cgf_policy_free(p);
	free(y);
	cgf_learn_free(l);
}

/* The processes of a rule: each once, a name with a space too, the rest counted. */
static void test_comms(void **state)
{
	struct cgf_learn *l = cgf_learn_new();
	const char *comms[] = { "Web Content", "curl", "Web Content", "a", "b", "c", "curl" };
	char buf[512], *y;

	(void)state;
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"would-deny\",\"time\":\"2026-12-01T10:00:0%zu.5Z\","
			 "\"hook\":\"connect4\",\"comm\":\"%s\",\"protocol\":\"tcp\","
			 "\"dst\":\"127.9.0.1\",\"dport\":80,\"direction\":\"outbound\"}", i, comms[i]);
		ev(l, buf);
	}
	y = learn(l, 0);
	assert_non_null(strstr(y, "# seen 7 times, by Web Content, curl, a, b and others; "
				  "first 2026-12-01T10:00:00Z, last 2026-12-01T10:00:06Z\n"));
	free(y);
	cgf_learn_free(l);
}

/* what the workload says is untrusted: a question name that is no host name
 * teaches no name (its address is learnt by number), a sysctl name with a
 * glob character is not learnt, a comm with a new line stays in its comment,
 * and the reply to a datagram the workload sent needs no ingress rule */
static void test_untrusted(void **state)
{
	struct cgf_learn *l = cgf_learn_new();
	struct cgf_policy *p = NULL;
	char *y;

	(void)state;
	ev(l, "{\"type\":\"dns\",\"dst\":\"127.0.0.9\",\"name\":\"x\\\"]\\n  - {action: allow, to: [any]} #.t\"}");
	ev(l, "{\"type\":\"dns\",\"dst\":\"127.0.0.8\",\"name\":\"*.example.test\"}");
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.0.0.9\",\"dport\":80,\"direction\":\"outbound\""));
	ev(l, WD("connect4", "\"protocol\":\"tcp\",\"dst\":\"127.0.0.8\",\"dport\":80,\"direction\":\"outbound\""));
	ev(l, WD("sendmsg4", "\"protocol\":\"udp\",\"dst\":\"127.0.0.53\",\"dport\":53,\"direction\":\"outbound\""));
	ev(l, WD("ingress", "\"protocol\":\"udp\",\"src\":\"127.0.0.53\",\"sport\":53,\"dport\":41000,\"direction\":\"inbound\""));
	ev(l, WD("ingress", "\"protocol\":\"udp\",\"src\":\"127.0.0.54\",\"sport\":53,\"dport\":41000,\"direction\":\"inbound\""));
	ev(l, WD("sysctl", "\"sysctl\":{\"name\":\"net/ipv4/conf/*/forwarding\",\"truncated\":false,\"write\":false}"));
	ev(l, "{\"type\":\"would-deny\",\"time\":\"2026-12-01T10:00:01.000Z\",\"hook\":\"connect4\","
	      "\"comm\":\"a\\nb: [any]\",\"protocol\":\"tcp\",\"dst\":\"127.0.0.7\",\"dport\":80,"
	      "\"direction\":\"outbound\"}");
	y = learn(l, 0);
	if (cgf_policy_parse_string("learnt.yaml", y, strlen(y), &p))
		fail_msg("not a valid policy: %s\n%s", cgf_last_error(), y);
	assert_null(strstr(y, "to_names"));
	assert_null(strstr(y, "any]}"));
	assert_non_null(strstr(y, "to: [\"127.0.0.7\", \"127.0.0.8\", \"127.0.0.9\"]"));
	assert_non_null(strstr(y, "2 answers to questions that are no host names"));
	assert_null(strstr(y, "conf/"));
	assert_non_null(strstr(y, "1 sysctl accesses with a glob character"));
	assert_non_null(strstr(y, "a?b: [any]"));	/* the comm, in its comment */
	/* the resolver's reply is no rule; another peer's datagram is */
	assert_null(strstr(y, "from: [\"127.0.0.53\"]"));
	assert_non_null(strstr(y, "from: [\"127.0.0.54\"]"));
	cgf_policy_free(p);
	free(y);
	cgf_learn_free(l);
}

static void test_observer(void **state)
{
	char *y = cgf_learn_observer("w", NULL);
	struct cgf_policy *p = NULL;

	(void)state;
	assert_int_equal(cgf_policy_parse_string("o.yaml", y, strlen(y), &p), 0);
	assert_int_equal(p->mode, CGF_MODE_AUDIT);
	assert_true(p->vis.log_dns);
	assert_int_equal(p->vis.denials_per_second, 0);
	assert_int_equal(p->sec[CGF_DIR_EGRESS].def, CGF_DENY);
	assert_int_equal(p->devices.def, CGF_DENY);
	cgf_policy_free(p);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_empty_and_lost),
		cmocka_unit_test(test_comms),
		cmocka_unit_test(test_observer),
		cmocka_unit_test(test_untrusted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
