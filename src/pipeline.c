// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>

#include "env.h"
#include "pipeline.h"
#include "util.h"

int cgf_pipeline_compile(const char *path, const char *buf, size_t len, struct cgf_policy **p,
			 struct cgf_compiled **c)
{
	struct cgf_host host;
	int err = buf ? cgf_policy_parse_string(path, buf, len, p) : cgf_policy_load(path, p);

	*c = NULL;
	if (err)
		return err;
	cgf_host_probe(&host);
	err = cgf_compile(*p, &host, c);
	cgf_host_free(&host);
	if (err) {
		cgf_policy_free(*p);
		*p = NULL;
	}
	return err;
}

int cgf_pipeline_apply(const struct cgf_compiled *c, const struct cgf_apply_opts *o,
		       struct cgf_apply_result *r)
{
	struct cgf_apply_opts settled = *o;
	int err = cgf_env_check();

	if (err)
		return err;
	{
		CGF_DIAG_SCOPE(others);	/* another policy's trouble is not this apply's; pins of
					 * a newer cgfence: the apply's own lock refuses them */
		cgf_gc(NULL);
	}
	settled.settled = true;
	return cgf_apply(c, &settled, r);
}
