// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "container.h"
#include "target.h"
#include "util.h"

/* length of the first component of s */
static size_t comp_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash ? (size_t)(slash - s) : strlen(s);
}

static bool comp_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	char p[256], c[256];

	if (plen >= sizeof(p) || slen >= sizeof(c))
		return false;
	memcpy(p, pat, plen);
	p[plen] = '\0';
	memcpy(c, s, slen);
	c[slen] = '\0';
	return fnmatch(p, c, FNM_PERIOD) == 0;
}

bool cgf_glob_match(const char *pat, const char *path)
{
	size_t pl, sl;

	while (*pat == '/')
		pat++;
	while (*path == '/')
		path++;
	if (!*pat)
		return !*path;
	pl = comp_len(pat);
	if (pl == 2 && !strncmp(pat, "**", 2)) {
		const char *rest = pat[2] ? pat + 3 : NULL;

		if (!rest)	/* trailing "**": one or more components */
			return *path != '\0';
		for (const char *s = path;; s += comp_len(s) + 1) {	/* zero or more */
			if (cgf_glob_match(rest, s))
				return true;
			if (!*s || !s[comp_len(s)])
				return false;
		}
	}
	if (!*path)
		return false;
	sl = comp_len(path);
	if (!comp_match(pat, pl, path, sl))
		return false;
	return cgf_glob_match(pat[pl] ? pat + pl + 1 : "", path[sl] ? path + sl + 1 : "");
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

bool cgf_target_dynamic(const struct cgf_policy *p)
{
	return p->target_kind == CGF_TARGET_UNIT || p->target_kind == CGF_TARGET_CONTAINER ||
	       (p->target_kind == CGF_TARGET_CGROUP && is_glob(p->target_cgroup));
}

/* "/sys/fs/cgroup/unified/a/b/", "/a/b", "a/b" -> "a/b" */
static const char *relative(const char *t, char *buf, size_t len)
{
	char mnt[512];
	size_t ml, n;

	if (!cgf_cgroup2_mount(mnt, sizeof(mnt)) && (ml = strlen(mnt)) &&
	    !strncmp(t, mnt, ml) && (t[ml] == '/' || !t[ml]))
		t += ml;
	while (*t == '/')
		t++;
	snprintf(buf, len, "%s", t);
	n = strlen(buf);
	while (n && buf[n - 1] == '/')
		buf[--n] = '\0';
	return buf;
}

bool cgf_target_matches(const struct cgf_policy *p, const char *rel)
{
	const char *base = strrchr(rel, '/');
	char id[80], t[1024];

	base = base ? base + 1 : rel;
	switch (p->target_kind) {
	case CGF_TARGET_CGROUP:
		relative(p->target_cgroup, t, sizeof(t));
		return is_glob(t) ? cgf_glob_match(t, rel) : !strcmp(t, rel);
	case CGF_TARGET_UNIT:
		return *rel && !strcmp(base, p->target_cgroup);
	case CGF_TARGET_CONTAINER:
		return cgf_container_id_of(base, id, sizeof(id)) &&
		       !strncmp(id, p->target_cgroup, strlen(p->target_cgroup));
	default:
		return false;
	}
}

struct walk {
	const struct cgf_policy *p;
	char **v;
	size_t n, cap;
	size_t mlen;
};

static void walk(struct walk *w, const char *abs)
{
	DIR *d = opendir(abs);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char sub[1024];

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", abs, e->d_name) >= sizeof(sub))
			continue;
		if (cgf_target_matches(w->p, sub + w->mlen + 1)) {
			GROW(w->v, w->cap, w->n + 1);
			w->v[w->n++] = xstrdup(sub);
		}
		walk(w, sub);
	}
	closedir(d);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cgf_target_resolve(const struct cgf_policy *p, char ***abs, size_t *n)
{
	char mnt[512], one[1024];
	struct walk w = { .p = p };
	int err;

	*abs = NULL;
	*n = 0;
	if (p->target_kind == CGF_TARGET_PID) {
		err = cgf_cgroup_of_pid(p->target_pid, one, sizeof(one));
		if (err)
			return err;
		*abs = xcalloc(1, sizeof(char *));
		(*abs)[0] = xstrdup(one);
		*n = 1;
		return 0;
	}
	err = cgf_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	if (p->target_kind == CGF_TARGET_CGROUP && !is_glob(p->target_cgroup)) {
		CGF_DIAG_SCOPE(d);

		if (cgf_cgroup_resolve(p->target_cgroup, one, sizeof(one)))
			return 0;	/* not there (yet) */
		*abs = xcalloc(1, sizeof(char *));
		(*abs)[0] = xstrdup(one);
		*n = 1;
		return 0;
	}
	w.mlen = strlen(mnt);
	walk(&w, mnt);
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), strp_cmp);
	*abs = w.v;
	*n = w.n;
	return 0;
}

void cgf_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
