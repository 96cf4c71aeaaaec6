/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --json output: one document on stdout, built with json-c. */
#ifndef CGF_JSONOUT_H
#define CGF_JSONOUT_H

#include <stdbool.h>
#include <json-c/json.h>

extern bool cgf_json;		/* --json given */
extern bool cgf_json_pretty;	/* --pretty given */

/* Print and release o; NULL prints null. */
void cgf_json_emit(json_object *o);
/* An error as {"error": "..."} on stdout (in JSON mode) and always on stderr. */
void cgf_report_error(const char *msg);

json_object *cgf_json_hooks(unsigned int hooks);

#endif
