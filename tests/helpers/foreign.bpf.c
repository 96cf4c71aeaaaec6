// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Stands in for another tool's program (systemd, runc, a CNI plugin) in the
 * coexistence test: it denies connect() to port 4444 and nothing else. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/connect4")
int foreign_connect4(struct bpf_sock_addr *ctx)
{
	return ctx->user_port != bpf_htons(4444);
}
