/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The host cgfence runs on. */
#ifndef CGF_ENV_H
#define CGF_ENV_H

#include <stdbool.h>

/* Root/capabilities, cgroup2, bpffs (mounted if missing), kernel hooks. */
int cgf_env_check(void);

/* The kernel's CONFIG_HZ (for SYN RTO in jiffies), or -1. */
int cgf_kernel_hz(void);

/* The host's facts for the compiler (compile.h): HZ, congestion controls,
 * device nodes. cgf_host_free releases what the probe read. */
struct cgf_host;
void cgf_host_probe(struct cgf_host *h);
void cgf_host_free(struct cgf_host *h);

/* Exclusive lock over the pin tree for the life of the process (or until
 * cgf_unlock); refused when the pins are of a newer layout (layout.h). */
int cgf_lock(void);
void cgf_unlock(void);

/* libbpf's messages: debug output only with verbose; the last warnings are
 * kept for error messages (e.g. the verifier log). */
void cgf_libbpf_setup(bool verbose);
const char *cgf_libbpf_log(void);

#endif
