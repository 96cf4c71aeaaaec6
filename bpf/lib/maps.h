/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The decision maps: address tries per direction, port classes, the ports trie. */
#ifndef CGF_BPF_MAPS_H
#define CGF_BPF_MAPS_H

#include "common.h"

#define ADDR_TRIE(name, keytype, valtype)				\
	struct {							\
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);			\
		__type(key, keytype);					\
		__type(value, valtype);					\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__uint(max_entries, 1);		/* sized by user space */ \
	} name SEC(".maps")

/* IPv4: with the class's first allowed port ranges (abi.h: cgf_addr_val4) */
ADDR_TRIE(cgf_egress4, struct cgf_key4, struct cgf_addr_val4);
ADDR_TRIE(cgf_egress6, struct cgf_key6, struct cgf_addr_val);
ADDR_TRIE(cgf_ingress4, struct cgf_key4, struct cgf_addr_val4);
ADDR_TRIE(cgf_ingress6, struct cgf_key6, struct cgf_addr_val);
ADDR_TRIE(cgf_local4, struct cgf_key4, struct cgf_addr_val4);	/* bind: local addresses */
ADDR_TRIE(cgf_local6, struct cgf_key6, struct cgf_addr_val);
ADDR_TRIE(cgf_redir4, struct cgf_key4, struct cgf_addr_val4);	/* redirect: which entry applies */
ADDR_TRIE(cgf_redir6, struct cgf_key6, struct cgf_addr_val);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__uint(map_flags, BPF_F_MMAPABLE);	/* values page-aligned: cgf_class's lines are lines */
	__type(value, struct cgf_class);
	__uint(max_entries, 1);
} cgf_classes SEC(".maps");

/* to_names: each pattern's verdict, by its index (the version's copy of
 * learnt addresses in the egress tries names it; abi.h: Names) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct cgf_name_pat);
	__uint(max_entries, 1);		/* sized by user space: the patterns */
} cgf_name_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cgf_port_key);
	__type(value, struct cgf_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} cgf_ports SEC(".maps");

#endif
