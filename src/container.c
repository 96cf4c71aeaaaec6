// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include <json-c/json.h>

#include "container.h"
#include "util.h"

/* "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" */
static int expand_slice(const char *slice, char *out, size_t len)
{
	size_t n = strlen(slice), off = 0;

	out[0] = '\0';
	if (!strcmp(slice, "-.slice"))
		return 0;
	if (n <= 6 || strcmp(slice + n - 6, ".slice"))
		return -EINVAL;
	for (size_t i = 0; i < n - 6; i++) {
		if (slice[i] != '-')
			continue;
		if (i == 0 || slice[i - 1] == '-')
			return -EINVAL;
		off += (size_t)snprintf(out + off, len > off ? len - off : 0, "%.*s.slice/",
					(int)i, slice);
	}
	snprintf(out + off, len > off ? len - off : 0, "%s", slice);
	return 0;
}

int cgf_oci_cgroup_path(const char *p, char *rel, size_t len, const char **why)
{
	const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char slice[256], path[512];

	if (!*p) {
		*why = "linux.cgroupsPath is empty";
		return -EINVAL;
	}
	if (!c1) {	/* cgroupfs: a path, absolute or not */
		while (*p == '/')
			p++;
		if (strstr(p, "..")) {
			*why = "'..' in linux.cgroupsPath";
			return -EINVAL;
		}
		snprintf(rel, len, "%s", p);
		return 0;
	}
	if (!c2 || strchr(c2 + 1, ':') || c1 == p || c2 == c1 + 1 || !c2[1] ||
	    (size_t)(c1 - p) >= sizeof(slice)) {
		*why = "not SLICE:PREFIX:NAME (systemd driver) nor a path (cgroupfs driver)";
		return -EINVAL;
	}
	snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - p), p);
	if (expand_slice(slice, path, sizeof(path))) {
		*why = "the slice must be a name ending in .slice";
		return -EINVAL;
	}
	if (strstr(c2 + 1, "/") || strstr(c2 + 1, "..")) {
		*why = "the container name may not contain '/' or '..'";
		return -EINVAL;
	}
	/* a name that is itself a slice is used as is, otherwise PREFIX-NAME.scope */
	size_t nl = strlen(c2 + 1);

	if (nl > 6 && !strcmp(c2 + 1 + nl - 6, ".slice"))
		snprintf(rel, len, "%s%s%s", path, *path ? "/" : "", c2 + 1);
	else
		snprintf(rel, len, "%s%s%.*s-%s.scope", path, *path ? "/" : "", (int)(c2 - c1 - 1),
			 c1 + 1, c2 + 1);
	return 0;
}

static bool is_id(const char *s, size_t n)
{
	if (n < 12 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool cgf_container_id_of(const char *b, char *id, size_t len)
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-",
						 "containerd-" };
	size_t n = strlen(b);

	if (n == 64 && is_id(b, n)) {	/* cgroupfs: /docker/ID, .../podU/ID */
		snprintf(id, len, "%s", b);
		return true;
	}
	if (n == 7 + 64 && !strncmp(b, "libpod-", 7) && is_id(b + 7, 64)) {
		snprintf(id, len, "%s", b + 7);	/* podman, cgroupfs: libpod_parent/libpod-ID */
		return true;
	}
	if (n <= 6 || strcmp(b + n - 6, ".scope"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);

		if (!strncmp(b, prefixes[i], pl) && is_id(b + pl, n - 6 - pl)) {
			snprintf(id, len, "%.*s", (int)(n - 6 - pl), b + pl);
			return true;
		}
	}
	return false;	/* crio-conmon-ID.scope and the rest */
}

struct search {
	const char *want;
	char found_id[130], found_path[600], other_id[130];
	int depth;
};

static void search_fn(const char *path, uint64_t ino, int level, void *arg)
{
	struct search *s = arg;
	const char *base = strrchr(path, '/');
	char id[130];

	(void)ino;
	if (!base || !cgf_container_id_of(base + 1, id, sizeof(id)) ||
	    strncmp(id, s->want, strlen(s->want)))
		return;
	if (!s->found_id[0] || (!strcmp(id, s->found_id) && level < s->depth)) {
		snprintf(s->found_id, sizeof(s->found_id), "%s", id);
		snprintf(s->found_path, sizeof(s->found_path), "%s", path);
		s->depth = level;
	} else if (strcmp(id, s->found_id)) {
		snprintf(s->other_id, sizeof(s->other_id), "%s", id);
	}
}

int cgf_container_cgroup(const char *id, char *abs, size_t len)
{
	char mnt[512];
	int err;

	if (strlen(id) < 4 || strlen(id) > 128 || strspn(id, "0123456789abcdef") != strlen(id))
		return cgf_error(-EINVAL, "container '%s': an id is at least 4 hex digits", id);
	err = cgf_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	struct search s_search = { .want = id };

	cgf_cgroup_walk(mnt, search_fn, &s_search);
	if (!s_search.found_id[0])
		return cgf_error(-ENOENT, "container '%s': no cgroup for it under %s (looked for "
				 "docker-, cri-containerd-, crio- and libpod-ID.scope, libpod-ID and ID "
				 "directories of the cgroupfs driver)", id, mnt);
	if (s_search.other_id[0])
		return cgf_error(-EINVAL, "container '%s' is ambiguous: %.12s... and %.12s... both "
				 "match; give more of the id", id, s_search.found_id, s_search.other_id);
	snprintf(abs, len, "%s", s_search.found_path);
	return 0;
}

json_object *cgf_container_json(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	char id[128];

	return base && cgf_container_id_of(base + 1, id, sizeof(id)) ? json_object_new_string(id)
								      : NULL;
}
