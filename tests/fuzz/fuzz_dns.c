// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any bytes as a DNS answer, through the parser the
 * cgroup's ingress program runs (include/cgfence/dns.h, one step at a time
 * as under bpf_loop). It must end DONE or BAD within its steps, stay in its
 * buffer (ASan), and when DONE give the key the compiler gives the same
 * name (for names a policy can write).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgfence/dns.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cgf_dns_parse p;
	int steps = 0;

	memset(&p, 0, sizeof(p));
	p.len = (uint32_t)(size > CGF_DNS_BUF ? CGF_DNS_BUF : size);
	memcpy(p.buf, data, p.len);
	while (steps < CGF_DNS_STEPS && !cgf_dns_step(&p))
		steps++;
	if (p.phase != CGF_DNS_DONE && p.phase != CGF_DNS_BAD && steps < CGF_DNS_STEPS)
		abort();
	if (p.naddr > CGF_DNS_ADDRS || p.kp >= CGF_DNS_NAME)
		abort();
	if (p.phase == CGF_DNS_DONE) {
		char name[CGF_NAME_TEXT_MAX], canon[CGF_NAME_TEXT_MAX];
		struct cgf_name_key k;
		const char *why;
		size_t col;

		/* a name a policy could write (letters, digits, '-' and '_') is
		 * keyed as the compiler keys it: the kernel finds its entry */
		cgf_name_unkey(&p.key, name);
		if (cgf_name_parse(name, false, canon, &why, &col))
			return 0;
		cgf_name_key(canon, &k);
		if (strcmp(canon, name) || k.prefixlen != p.key.prefixlen ||
		    memcmp(k.name, p.key.name, sizeof(k.name)))
			abort();
	}
	return 0;
}
