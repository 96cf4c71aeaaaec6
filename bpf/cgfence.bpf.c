// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgfence: per-cgroup network policy.
 *
 * One object holds every hook of a policy; user space loads one copy per
 * policy, fills its maps from the compiled policy and attaches the programs
 * with links (multi-attach), so the kernel runs every policy on the path from
 * a process's cgroup to the root and any of them can deny.
 *
 * Thin entry points (cgf_<hook>) call shared inline code that returns
 * CGF_ALLOW or CGF_DENY; only the entry point turns that into the hook's
 * return value, and only there does audit mode turn a deny into an allow.
 */
#include "lib/common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct cgf_config cfg = {};

/* one family of hooks per file; the hook registry (include/cgfence/hooks.h)
 * names each program's family */
#include "sock_addr.bpf.h"
#include "skb.bpf.h"
#include "sock.bpf.h"
#include "sockopt.bpf.h"
#include "dev.bpf.h"
#include "sockops.bpf.h"
#include "sysctl.bpf.h"
