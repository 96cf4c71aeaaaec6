#!/usr/bin/env bash
# Nested cgroups: every policy on the path must allow; a child cannot undo a
# parent's deny, and a child's deny holds under a permissive parent.
. "$(dirname "$0")/lib.sh"

mkcg P parent
mkcg C child "$P"
PN=$(pname parent); CN=$(pname child); track_policy "$PN"; track_policy "$CN"
PPOL=$(policy_file parent <<EOF
version: 1
name: $PN
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
EOF
)
CPOL=$(policy_file child <<EOF
version: 1
name: $CN
network:
  egress:
    default: allow
    rules:
      - {action: allow, to: [127.0.0.3], ports: [80], protocol: tcp}   # tries to undo the parent
      - {action: deny, to: [127.0.0.4]}
EOF
)
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80; serve tcp 127.0.0.5 80
"$CGF" apply "$PPOL" --cgroup "$P" >/dev/null && "$CGF" apply "$CPOL" --cgroup "$C" >/dev/null
check "apply parent and child" 0 $?
check "child cannot undo the parent's deny" EPERM "$(in_cg "$C" "$NP" connect tcp 127.0.0.3 80)"
check "child's own deny holds"               EPERM "$(in_cg "$C" "$NP" connect tcp 127.0.0.4 80)"
check "both allow"                           ok    "$(in_cg "$C" "$NP" connect tcp 127.0.0.5 80)"
check "parent is not bound by the child"     ok    "$(in_cg "$P" "$NP" connect tcp 127.0.0.4 80)"
check "parent's deny in the parent"          EPERM "$(in_cg "$P" "$NP" connect tcp 127.0.0.3 80)"
# the deny is counted by the policy that denied it
check_match "parent counted the denial" '"denied":[1-9]' "$("$CGF" --json stats "$PN")"
"$CGF" detach "$PN" >/dev/null
check "with the parent detached, the child's allow applies" ok "$(in_cg "$C" "$NP" connect tcp 127.0.0.3 80)"
t_done
