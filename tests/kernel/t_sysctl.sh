#!/usr/bin/env bash
# sysctl (cgroup/sysctl) on the real kernel: allow, read-only and deny by
# name glob, for reads and writes. Writes go only to sysctls of this test's
# own network namespace.
. "$(dirname "$0")/lib.sh"

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
check "control: write outside the cgroup"   ok    "$("$NP" sysctl-write net/ipv4/ip_forward 0)"
check "control: read kernel/ outside"       ok    "$("$NP" sysctl-read kernel/hostname)"
check_match "list shows the sysctl hook" '"hooks":\["sysctl"\]' "$("$CGF" --json list)"

mkcg ACG audit
AN=$(pname sysaudit); track_policy "$AN"
sed -e "s/^name: .*/name: $AN/" -e 's/^sysctl:/mode: audit\nsysctl:/' "$POL" >"$TMPD/audit.yaml"
"$CGF" apply "$TMPD/audit.yaml" --cgroup "$ACG" >/dev/null
check "audit: denied read goes through" ok "$(in_cg "$ACG" "$NP" sysctl-read kernel/hostname)"
check_match "audit: counted" '"audit_would_deny":[1-9]' "$("$CGF" --json stats "$AN")"

mkcg CHILD child "$CG"
CN=$(pname syschild); track_policy "$CN"
printf 'version: 1\nname: %s\nsysctl:\n  default: allow\n' "$CN" >"$TMPD/child.yaml"
"$CGF" apply "$TMPD/child.yaml" --cgroup "$CHILD" >/dev/null
check "child cannot undo the parent's read-only" EPERM "$(in_cg "$CHILD" "$NP" sysctl-write net/ipv4/ip_forward 1)"

printf 'version: 1\nname: x\nsysctl:\n  default: allow\n  rules:\n    - {action: readonly, names: [a]}\n' >"$TMPD/bad.yaml"
check_match "a bad action is refused" "bad.yaml:6:16: action must be allow, read-only or deny" "$("$CGF" check "$TMPD/bad.yaml" 2>&1)"
t_done
