// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Address words, prefixes, ports and endpoints. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "cgfence/abi.h"

static void str_of(const char *in, int idx, const char *want)
{
	struct cgf_prefix pf[CGF_WORD_MAX];
	const char *why = NULL;
	char buf[64];
	int n = cgf_parse_prefixes(in, pf, &why);

	assert_true(n > idx);
	cgf_prefix_str(&pf[idx], buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void bad(const char *in, const char *why_part)
{
	struct cgf_prefix pf[CGF_WORD_MAX];
	const char *why = NULL;

	assert_int_equal(cgf_parse_prefixes(in, pf, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, why_part));
}

static void test_prefixes(void **state)
{
	(void)state;
	str_of("10.0.0.0/8", 0, "10.0.0.0/8");
	str_of("127.0.0.1", 0, "127.0.0.1");
	str_of("::1", 0, "::1");
	str_of("fe80::/10", 0, "fe80::/10");
	str_of("0.0.0.0/0", 0, "0.0.0.0/0");
	/* v4-mapped IPv6 becomes IPv4 */
	str_of("::ffff:10.1.2.3", 0, "10.1.2.3");
	str_of("::ffff:10.0.0.0/104", 0, "10.0.0.0/8");
	/* so do NAT64 (64:ff9b::/96) and IPv4-compatible forms; :: and ::1 stay IPv6 */
	str_of("64:ff9b::10.1.2.3", 0, "10.1.2.3");
	str_of("64:ff9b::192.0.2.0/120", 0, "192.0.2.0/24");
	str_of("::10.1.2.3", 0, "10.1.2.3");
	str_of("::", 0, "::");
	str_of("::/96", 0, "::/96");
	str_of("64:ff9b::/64", 0, "64:ff9b::/64");
	bad("10.0.0.1/8", "host bits");
	bad("10.0.0.0/33", "0 to 32");
	bad("::/129", "0 to 128");
	bad("10.0.0.0/", "0 to 32");
	bad("10.0.0.0/x", "0 to 32");
	bad("300.1.1.1", "not an IPv4");
	bad("example.com", "not an IPv4");
	bad("", "not an address");
}

static void test_words(void **state)
{
	struct cgf_prefix pf[CGF_WORD_MAX];
	const char *why;

	(void)state;
	assert_int_equal(cgf_parse_prefixes("any", pf, &why), 2);
	str_of("any", 0, "0.0.0.0/0");
	str_of("any", 1, "::/0");
	assert_int_equal(cgf_parse_prefixes("localhost", pf, &why), 2);
	str_of("localhost", 0, "127.0.0.0/8");
	str_of("localhost", 1, "::1");
	str_of("link-local", 0, "169.254.0.0/16");
	str_of("link-local", 1, "fe80::/10");
	str_of("multicast", 0, "224.0.0.0/4");
	str_of("multicast", 1, "ff00::/8");
	assert_int_equal(cgf_parse_prefixes("private", pf, &why), 4);
	str_of("private", 0, "10.0.0.0/8");
	str_of("private", 1, "172.16.0.0/12");
	str_of("private", 2, "192.168.0.0/16");
	str_of("private", 3, "fc00::/7");
}

static void test_contains(void **state)
{
	struct cgf_prefix p[CGF_WORD_MAX], a[CGF_WORD_MAX];
	const char *why;

	(void)state;
	cgf_parse_prefixes("10.1.0.0/17", p, &why);
	cgf_parse_prefixes("10.1.127.255", a, &why);
	assert_true(cgf_prefix_contains(&p[0], &a[0]));
	cgf_parse_prefixes("10.1.128.0", a, &why);
	assert_false(cgf_prefix_contains(&p[0], &a[0]));
	cgf_parse_prefixes("::1", a, &why);
	assert_false(cgf_prefix_contains(&p[0], &a[0])); /* other family */
}

static void test_ports(void **state)
{
	struct cgf_port_range r;
	const char *why;

	(void)state;
	assert_int_equal(cgf_parse_port_range("443", &r, &why), 0);
	assert_int_equal(r.lo, 443);
	assert_int_equal(r.hi, 443);
	assert_int_equal(cgf_parse_port_range("8000-9000", &r, &why), 0);
	assert_int_equal(r.lo, 8000);
	assert_int_equal(r.hi, 9000);
	assert_int_equal(cgf_parse_port_range("0-65535", &r, &why), 0);
	assert_int_equal(cgf_parse_port_range("65536", &r, &why), -EINVAL);
	assert_non_null(strstr(why, "0 to 65535"));
	assert_int_equal(cgf_parse_port_range("9000-8000", &r, &why), -EINVAL);
	assert_non_null(strstr(why, "low to high"));
	assert_int_equal(cgf_parse_port_range("-5", &r, &why), -EINVAL);
	assert_int_equal(cgf_parse_port_range("80-", &r, &why), -EINVAL);
	assert_int_equal(cgf_parse_port_range("http", &r, &why), -EINVAL);
	assert_int_equal(cgf_parse_port_range("1 2", &r, &why), -EINVAL);
}

static void test_endpoints(void **state)
{
	struct cgf_prefix a;
	uint16_t port;
	int proto;
	const char *why;
	char buf[64];

	(void)state;
	assert_int_equal(cgf_parse_endpoint("127.0.0.1:80/tcp", &a, &port, &proto, &why), 0);
	cgf_prefix_str(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1");
	assert_int_equal(port, 80);
	assert_int_equal(proto, CGF_P_TCP);
	assert_int_equal(cgf_parse_endpoint("[::1]:53/udp", &a, &port, &proto, &why), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(proto, CGF_P_UDP);
	assert_int_equal(cgf_parse_endpoint("[::ffff:127.0.0.2]:1", &a, &port, &proto, &why), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(proto, -1);
	assert_int_equal(cgf_parse_endpoint("::1:80", &a, &port, &proto, &why), -EINVAL);
	assert_int_equal(cgf_parse_endpoint("127.0.0.1", &a, &port, &proto, &why), -EINVAL);
	assert_int_equal(cgf_parse_endpoint("127.0.0.1:99999", &a, &port, &proto, &why), -EINVAL);
	assert_int_equal(cgf_parse_endpoint("127.0.0.1:80/sctp", &a, &port, &proto, &why), -EINVAL);
	assert_int_equal(cgf_parse_endpoint("10.0.0.0/8:80", &a, &port, &proto, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),  cmocka_unit_test(test_words),
		cmocka_unit_test(test_contains),  cmocka_unit_test(test_ports),
		cmocka_unit_test(test_endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
