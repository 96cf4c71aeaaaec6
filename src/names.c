// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "names.h"

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int cgf_name_parse(const char *s, bool pattern, char out[CGF_NAME_TEXT_MAX], const char **why,
		   size_t *col)
{
	size_t n = strlen(s), o = 0, label = 0, i = 0;

	*col = 0;
	if (n && s[n - 1] == '.')
		n--;	/* a fully qualified name's final dot */
	if (!n) {
		*why = "an empty name";
		return -EINVAL;
	}
	if (n > 253) {
		*why = "longer than 253 characters";
		return -EINVAL;
	}
	if (s[0] == '*') {
		if (!pattern) {
			*why = "a wildcard is a pattern, not a name";
			return -EINVAL;
		}
		if (n < 3 || s[1] != '.') {
			*why = "a wildcard is '*.' followed by a name (\"*.example.test\")";
			return -EINVAL;
		}
		out[o++] = '*';
		out[o++] = '.';
		i = 2;
	}
	for (; i < n; i++) {
		char c = s[i];

		*col = i;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (!label) {
				*why = "an empty label (two dots, or a dot first)";
				return -EINVAL;
			}
			label = 0;
		} else if (c == '*') {
			*why = "'*' only as the whole first label (\"*.example.test\")";
			return -EINVAL;
		} else if (!label_char(c)) {
			*why = "a name has letters, digits, '-' and '_' between its dots";
			return -EINVAL;
		} else if (++label > 63) {
			*why = "a label longer than 63 characters";
			return -EINVAL;
		}
		out[o++] = c;
	}
	if (!label) {
		*why = "an empty label (two dots, or a dot first)";
		return -EINVAL;
	}
	out[o] = '\0';
	return 0;
}

void cgf_name_key(const char *canon, struct cgf_name_key *k)
{
	bool wild = canon[0] == '*';
	const char *s = wild ? canon + 2 : canon, *end = s + strlen(s);
	size_t kp = 0;

	memset(k, 0, sizeof(*k));
	while (end > s && kp < CGF_DNS_NAME - 1) {	/* labels from the last */
		const char *b = end;
		size_t l;

		while (b > s && b[-1] != '.')
			b--;
		l = (size_t)(end - b);
		if (kp + l + 1 >= CGF_DNS_NAME)
			break;
		memcpy(k->name + kp, b, l);
		kp += l;
		k->name[kp++] = '.';
		end = b > s ? b - 1 : s;
	}
	/* an exact name ends in the NUL; a wildcard's suffix goes on */
	k->prefixlen = (uint32_t)(wild ? kp * 8 : (kp + 1) * 8);
}

uint64_t cgf_name_id(const char *canon)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *c = canon; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	return h ? h : 1;
}

bool cgf_name_match(const char *pattern, const char *name)
{
	size_t pl, nl = strlen(name);

	if (pattern[0] != '*')
		return !strcmp(pattern, name);
	pl = strlen(pattern + 1);	/* ".example.test" */
	return nl > pl && !strcmp(name + nl - pl, pattern + 1);
}

void cgf_name_unkey(const struct cgf_name_key *k, char out[CGF_NAME_TEXT_MAX])
{
	size_t len = strnlen((const char *)k->name, CGF_DNS_NAME), o = 0;
	const char *s = (const char *)k->name;

	out[0] = '\0';
	if (len)
		len--;		/* the last label's dot */
	for (size_t end = len; end > 0 && end <= len;) {	/* labels from the last key label */
		size_t b = end;

		while (b > 0 && s[b - 1] != '.')
			b--;
		if (o && o < CGF_NAME_TEXT_MAX - 1)
			out[o++] = '.';
		for (size_t i = b; i < end && o < CGF_NAME_TEXT_MAX - 1; i++)
			out[o++] = s[i];
		if (!b)
			break;
		end = b - 1;
	}
	out[o] = '\0';
}
