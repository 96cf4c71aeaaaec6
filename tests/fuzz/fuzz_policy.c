// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any bytes as a policy file. Parsing must end in a policy
 * or an error with a position, never a crash, leak or hang; a policy that
 * parses must compile, and its compiled form must agree with the evaluator
 * (the semantics explain uses) on a spread of destinations, for every
 * section the policy has (an absent section attaches no program).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "eval.h"
#include "policy.h"
#include "util.h"

static void agree(const struct cgf_policy *p, const struct cgf_compiled *c)
{
	static const uint8_t v4[][4] = { { 127, 0, 0, 1 }, { 10, 0, 0, 1 }, { 10, 1, 2, 3 },
					 { 192, 168, 1, 1 }, { 0, 0, 0, 0 }, { 255, 255, 255, 255 },
					 { 169, 254, 169, 254 }, { 172, 16, 0, 1 } };
	static const uint16_t ports[] = { 0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535 };

	for (int dir = 0; dir < CGF_DIR_MAX; dir++)
		for (size_t a = 0; p->sec[dir].present && a < ARRAY_SIZE(v4) + 2; a++)
			for (size_t k = 0; k < ARRAY_SIZE(ports); k++)
				for (int proto = 0; proto < CGF_P_MAX; proto++) {
					struct cgf_query q = { .dir = dir, .proto = proto, .port = ports[k] };
					struct cgf_decision d, e;

					if (a < ARRAY_SIZE(v4)) {
						q.addr.family = 4;
						q.addr.len = 32;
						memcpy(q.addr.addr, v4[a], 4);
					} else {
						q.addr.family = 6;
						q.addr.len = 128;
						q.addr.addr[15] = 1;
						if (a == ARRAY_SIZE(v4) + 1)
							q.addr.addr[0] = 0x20, q.addr.addr[1] = 0x01;
					}
					cgf_eval(p, &q, &d);
					cgf_compiled_lookup(c, &q, &e);
					if (d.verdict != e.verdict || d.rule != e.rule)
						abort();	/* the compiler disagrees with the semantics */
				}
}

/* A host that knows its HZ and has one device node behind every path. */
static int any_device(const struct cgf_host *h, const char *pattern,
		      int (*fn)(void *arg, uint32_t type, uint32_t major, uint32_t minor), void *arg)
{
	(void)h;
	(void)pattern;
	fn(arg, 2, 1, 3);
	return 1;
}

static const struct cgf_host host = { .hz = 250, .devices = any_device };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgf_policy *p = NULL;
	struct cgf_compiled *c = NULL;

	if (size > 64 * 1024)
		return 0;
	cgf_clear_error();
	if (cgf_policy_parse_string("fuzz.yaml", (const char *)data, size, &p)) {
		if (!strstr(cgf_last_error(), "fuzz.yaml:"))
			abort();	/* every policy error names the file and position */
		return 0;
	}
	if (cgf_compile(p, &host, &c)) {
		if (!strstr(cgf_last_error(), "fuzz.yaml:"))
			abort();	/* so does every compile error */
		cgf_policy_free(p);
		return 0;
	}
	if (p->n_prefixes < 200)	/* the reference lookup is linear: keep it quick */
		agree(p, c);
	cgf_compiled_free(c);
	cgf_policy_free(p);
	return 0;
}
