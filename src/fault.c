// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#ifdef CGF_FAULTS
void cgf_fault_point(const char *stage)
{
	const char *at = getenv("CGF_TEST_CRASH_AT");

	if (at && !strcmp(at, stage))
		raise(SIGKILL);
}

bool cgf_fault_fail(const char *what)
{
	return getenv(what) != NULL;
}
#else
void cgf_fault_point(const char *stage)
{
	(void)stage;
}

bool cgf_fault_fail(const char *what)
{
	(void)what;
	return false;
}
#endif
