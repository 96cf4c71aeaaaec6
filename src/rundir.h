/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGF_RUNDIR_H
#define CGF_RUNDIR_H

#include <json-c/json.h>

#define CGF_RUN_DIR_DEFAULT "/run/cgfence"

/* The run directory: the daemon's --run-dir (cgf_set_run_dir), else
 * $CGFENCE_RUN_DIR, else /run/cgfence. */
const char *cgf_run_dir(void);
void cgf_set_run_dir(const char *dir);

/* The running daemon's status (RUN_DIR/daemon.json), NULL when none runs. */
json_object *cgf_daemon_status(void);

#endif
