/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one apply pipeline, for apply, run, oci-hook and the daemon:
 * parse -> compile for this host -> check the environment -> settle -> apply.
 */
#ifndef CGF_PIPELINE_H
#define CGF_PIPELINE_H

#include "compile.h"
#include "loader.h"
#include "policy.h"

/* Parse and compile a policy file (or its bytes, named by path) for this
 * host: every error a policy can have here is found (what check runs). */
int cgf_pipeline_compile(const char *path, const char *buf, size_t len, struct cgf_policy **p,
			 struct cgf_compiled **c);

/* Put a compiled policy in force: the environment checked, every policy
 * settled once, then applied. */
int cgf_pipeline_apply(const struct cgf_compiled *c, const struct cgf_apply_opts *o,
		       struct cgf_apply_result *r);

#endif
