// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

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
