// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "loader.h"
#include "pins.h"
#include "staged.h"
#include "util.h"

/*
 * Audit; on every hook either version has, but none that acts (redirection,
 * its reverse translation, TCP settings); no accounting, no connection or
 * DNS log; every difference an event.
 */
void cgf_staged_compile(struct cgf_compiled *c, uint32_t enforced)
{
	uint32_t acting = CGF_REDIRECT_ONLY_HOOKS | CGF_HOOK_BIT(CGF_H_SOCKOPS);

	c->cfg.staged = 1;
	c->cfg.own_hooks = c->hooks;
	c->cfg.enforced_hooks = enforced;
	c->hooks = (c->hooks | enforced) & ~acting;
	c->cfg.has_redirect = 0;
	c->cfg.accounting = 0;
	c->cfg.log_conns = 0;
	c->cfg.log_dns = 0;
	c->cfg.log_denials = 1;
	c->features &= ~(CGF_F_REDIRECT | CGF_F_ACCOUNTING | CGF_F_LOG_CONNS | CGF_F_TCP);
	c->meta_flags = CGF_META_STAGED;
}

static bool has(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int cgf_staged_follow(const char *name)
{
	char sname[CGF_INSTANCE_MAX], **paths = NULL;
	uint64_t *ids = NULL, *sids = NULL;
	size_t n = 0, sn = 0, np = 0;
	struct cgf_meta m;
	int err;

	if (!cgf_pin_staged_name(name, sname, sizeof(sname)))
		return 0;
	err = cgf_policy_state(name, &m, &ids, &n) ?: cgf_policy_state(sname, &m, &sids, &sn);
	paths = xcalloc(n + 1, sizeof(*paths));
	for (size_t i = 0; i < n && !err; i++) {
		CGF_DIAG_SCOPE(gone);	/* removed meanwhile: settle drops it */
		char p[600];

		if (!has(sids, sn, ids[i]) && !cgf_cgroup_path_by_id(ids[i], p, sizeof(p)))
			paths[np++] = xstrdup(p);
	}
	if (!err && np)
		err = cgf_attach_cgroups(sname, (const char *const *)paths, np);
	for (size_t i = 0; i < sn && !err; i++)
		if (!has(ids, n, sids[i]))
			err = cgf_detach_cgroup(sname, sids[i]);
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	free(ids);
	free(sids);
	return err;
}

bool cgf_staged_exists(const char *dir)
{
	char p[CGF_PATH_LEN + sizeof(CGF_STAGED_SUFFIX)];

	snprintf(p, sizeof(p), "%s%s", dir, CGF_STAGED_SUFFIX);
	return !access(p, F_OK);
}

int cgf_staged_listen_fd(int fd, bool on)
{
	uint32_t zero = 0, v = on;

	return bpf_map_update_elem(fd, &zero, &v, BPF_ANY)
		       ? cgf_error(-errno, "bpf: failed to write the listen flag: %m") : 0;
}

int cgf_staged_listen(const char *dir, bool on)
{
	_cleanup_close_ int fd = cgf_pin_get(dir, "listen");

	if (fd < 0)
		return errno == ENOENT ? 0 : cgf_error(-errno, "bpf: failed to open %s/listen: %m", dir);
	return cgf_staged_listen_fd(fd, on);
}
