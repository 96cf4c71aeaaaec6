#!/usr/bin/env bash
# sysctl (cgroup/sysctl) on the real kernel: allow, read-only and deny by
# name glob, for reads and writes. Writes go only to sysctls of this test's
# own network namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sections.sh"

mkcg CG sysctl
NAME=$(pname sysctl); track_policy "$NAME"
POL=$(policy_file sysctl <<EOF
version: 1
name: $NAME
sysctl:
  default: allow
  rules:
    - {action: read-only, names: ["net/ipv4/*"]}
    - {action: allow, names: [net.ipv4.ping_group_range]}      # exact beats the glob
    - {action: deny, names: ["kernel/*"]}
    - {action: deny, names: ["net/ipv4/conf/*/forwarding"]}    # more literal than net/ipv4/*
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply sysctl policy" 0 $?
s() { in_cg "$CG" "$NP" "$@"; }
check "read under read-only allowed"        ok    "$(s sysctl-read net/ipv4/ip_forward)"
check "write under read-only denied"        EPERM "$(s sysctl-write net/ipv4/ip_forward 1)"
check "exact allow beats the glob (write)"  ok    "$(s sysctl-write net.ipv4.ping_group_range '0 2147483647')"
check "deny: kernel/* not even readable"    EPERM "$(s sysctl-read kernel/hostname)"
check "star in the middle denies reads"     EPERM "$(s sysctl-read net/ipv4/conf/lo/forwarding)"
check "…but not its neighbours"             ok    "$(s sysctl-read net/ipv4/conf/lo/rp_filter)"
check "default allow elsewhere (write)"     ok    "$(s sysctl-write net/ipv6/conf/lo/hop_limit 64)"
check_match "list shows the sysctl hook" '"hooks":\["sysctl"\]' "$("$CGF" --json list)"

# control, audit and hierarchy (sections.sh): a read under deny, a write under read-only
section_cases sysctl "$POL" sysctl "$CG" $'sysctl:\n  default: allow' 2 -- \
	"sysctl-read kernel/hostname" "sysctl-write net/ipv4/ip_forward 0"

bad_input sysctl-action $'version: 1\nname: x\nsysctl:\n  default: allow\n  rules:\n    - {action: readonly, names: [a]}\n' \
	"sysctl-action-bad.yaml:6:16: action must be allow, read-only or deny"
t_done
