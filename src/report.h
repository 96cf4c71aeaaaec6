/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JSON documents of what is applied (list --json, stats --json, metrics). */
#ifndef CGF_REPORT_H
#define CGF_REPORT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "loader.h"

/* One policy as list --json shows it; with counters, as stats adds them. */
/* The sockets the policy's cgroups' processes hold from outside them, now. */
json_object *cgf_applied_outside_json(const struct cgf_applied *a);
json_object *cgf_applied_json(const struct cgf_applied *a, bool counters);

/* `stats --json`: the list object, counters by hook, and what the policy
 * counted beyond (stats.c); name NULL for every policy; gc: settle first. */
json_object *cgf_stats_doc(const char *name, bool gc, bool *found);

/* `stats --json` of every policy, without cleaning up first (metrics). */
json_object *cgf_stats_all(void);

#endif
