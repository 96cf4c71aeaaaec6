// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence tree [CGROUP]: every cgroup below CGROUP (default: the cgroup2
 * root) with programs attached, every program on it, and whose it is:
 * cgfence's (found through its pinned links, with the policy's name) or
 * foreign (systemd, runc, a CNI plugin, bpftool...). cgfence never detaches or
 * replaces a foreign program; this is where a user sees them side by side.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "cli.h"
#include "jsonout.h"
#include "loader.h"
#include "util.h"

/* Every cgroup attach type `tree` shows: cgfence's hooks (the registry),
 * then those only other tools attach. */
static const struct {
	enum bpf_attach_type type;
	const char *name;
} other_hooks[] = {
	{ BPF_CGROUP_INET_SOCK_RELEASE, "sock_release" },
	{ BPF_CGROUP_INET4_GETSOCKNAME, "getsockname4" },
	{ BPF_CGROUP_INET6_GETSOCKNAME, "getsockname6" },
};
#define N_TREE_HOOKS (CGF_H_MAX + ARRAY_SIZE(other_hooks))

static enum bpf_attach_type tree_type(size_t h)
{
	return h < CGF_H_MAX ? cgf_hook_attach[h] : other_hooks[h - CGF_H_MAX].type;
}

static const char *tree_name(size_t h)
{
	return h < CGF_H_MAX ? cgf_hook_names[h] : other_hooks[h - CGF_H_MAX].name;
}

/* cgfence's programs: prog id -> policy, from the pinned links */
struct owner {
	uint32_t prog_id;
	char policy[CGF_INSTANCE_MAX];
};

static struct {
	struct owner *own;
	size_t n_own, cap_own;
	json_object *json;
	size_t shown;
} t;

static void collect_owners(void)
{
	DIR *d = opendir(CGF_PIN_ROOT), *cd, *ld;
	struct dirent *e, *ce, *le;
	char p[1024], cp[1024], lp[1100];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", CGF_PIN_ROOT, e->d_name);
		cd = opendir(p);
		while (cd && (ce = readdir(cd))) {
			uint64_t id;

			if (!cgf_pin_parse_cgroup(ce->d_name, &id))
				continue;
			snprintf(cp, sizeof(cp), "%s/%s", p, ce->d_name);
			ld = opendir(cp);
			while (ld && (le = readdir(ld))) {
				struct bpf_link_info li = {};
				uint32_t len = sizeof(li);
				int fd;

				if (le->d_name[0] == '.')
					continue;
				snprintf(lp, sizeof(lp), "%s/%s", cp, le->d_name);
				fd = bpf_obj_get(lp);
				if (fd < 0)
					continue;
				if (!bpf_obj_get_info_by_fd(fd, &li, &len)) {
					GROW(t.own, t.cap_own, t.n_own + 1);
					t.own[t.n_own].prog_id = li.prog_id;
					snprintf(t.own[t.n_own++].policy, CGF_NAME_MAX + 1, "%s", e->d_name);
				}
				close(fd);
			}
			if (ld)
				closedir(ld);
		}
		if (cd)
			closedir(cd);
	}
	if (d)
		closedir(d);
}

static const char *owner_of(uint32_t id)
{
	for (size_t i = 0; i < t.n_own; i++)
		if (t.own[i].prog_id == id)
			return t.own[i].policy;
	return NULL;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	json_object *progs = NULL;
	bool header = false;
	int fd;

	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (size_t h = 0; h < N_TREE_HOOKS; h++) {
		uint32_t ids[64], cnt = 64, flags = 0;

		if (bpf_prog_query(fd, tree_type(h), 0, &flags, ids, &cnt))
			continue;
		for (uint32_t i = 0; i < cnt; i++) {
			struct bpf_prog_info info = {};
			uint32_t len = sizeof(info);
			const char *pol = owner_of(ids[i]);
			int pfd = bpf_prog_get_fd_by_id(ids[i]);

			if (pfd >= 0) {
				bpf_obj_get_info_by_fd(pfd, &info, &len);
				close(pfd);
			}
			if (cgf_json) {
				json_object *o = json_object_new_object();

				if (!progs)
					progs = json_object_new_array();
				json_object_object_add(o, "hook", json_object_new_string(tree_name(h)));
				json_object_object_add(o, "id", json_object_new_int64(ids[i]));
				json_object_object_add(o, "name", json_object_new_string(info.name));
				json_object_object_add(o, "owner",
						       json_object_new_string(pol ? "cgfence" : "foreign"));
				json_object_object_add(o, "policy", pol ? json_object_new_string(pol) : NULL);
				json_object_array_add(progs, o);
				continue;
			}
			printf("%-44s %-13s %6u  %-16s %s%s\n", header ? "" : path, tree_name(h), ids[i],
			       info.name, pol ? "cgfence:" : "foreign", pol ? pol : "");
			header = true;
		}
	}
	close(fd);
	if (progs) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "cgroup", json_object_new_string(path));
		json_object_object_add(c, "programs", progs);
		json_object_array_add(t.json, c);
	}
	t.shown += header || progs;
	return 0;
}

int cgf_do_tree(int argc, char **argv)
{
	char root[600];

	if (argc > 1 || (argc == 1 && argv[0][0] == '-'))
		return cgf_usage_error("tree: usage: tree [CGROUP] [--json]");
	if (cgf_env_check() || (argc == 1 ? cgf_cgroup_resolve(argv[0], root, sizeof(root))
		      : cgf_cgroup2_mount(root, sizeof(root)))) {
		cgf_report_error(cgf_last_error());
		return EXIT_FAIL;
	}
	memset(&t, 0, sizeof(t));
	collect_owners();
	if (cgf_json)
		t.json = json_object_new_array();
	else
		printf("%-44s %-13s %6s  %-16s %s\n", "CGROUP", "HOOK", "ID", "NAME", "OWNER");
	nftw(root, visit, 32, FTW_PHYS | FTW_MOUNT);
	if (cgf_json)
		cgf_json_emit(t.json);
	free(t.own);
	return EXIT_OK;
}
