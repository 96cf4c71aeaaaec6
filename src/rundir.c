// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The run directory: event logs, the daemon's lock and status. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>

#include "rundir.h"
#include "util.h"

static const char *set_dir;

void cgf_set_run_dir(const char *dir)
{
	set_dir = dir;
}

const char *cgf_run_dir(void)
{
	const char *d = getenv("CGFENCE_RUN_DIR");

	if (set_dir)
		return set_dir;
	return d && *d ? d : CGF_RUN_DIR_DEFAULT;
}

json_object *cgf_daemon_status(void)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/daemon.lock", cgf_run_dir());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !flock(fd, LOCK_SH | LOCK_NB))
		return NULL;	/* no lock file, or nobody holds it */
	snprintf(path, sizeof(path), "%s/daemon.json", cgf_run_dir());
	return json_object_from_file(path);
}
