/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Fault injection for the crash and failure tests. Only the test build
 * (cgfence-faults, built with -DCGF_FAULTS) reads its environment:
 *   CGF_TEST_CRASH_AT=STAGE       SIGKILL at that stage of an apply or detach
 *   CGF_TEST_FAIL_AFTER_ATTACH=1  an apply fails after attaching
 * In cgfence itself both functions do nothing.
 */
#ifndef CGF_FAULT_H
#define CGF_FAULT_H

#include <stdbool.h>

void cgf_fault_point(const char *stage);
bool cgf_fault_fail(const char *what);

#endif
