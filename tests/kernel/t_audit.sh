#!/usr/bin/env bash
# Audit mode allows everything and counts what it would have denied.
. "$(dirname "$0")/lib.sh"

mkcg CG audit
NAME=$(pname audit); track_policy "$NAME"
POL=$(policy_file audit <<EOF
version: 1
name: $NAME
mode: audit
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1]}
EOF
)
serve tcp 127.0.0.3 80
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply audit policy" 0 $?
check "audit: would-deny connect goes through" ok "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
check "audit: would-deny sendto goes through" ok "$(in_cg "$CG" "$NP" sendto udp 127.0.0.3 53)"
js=$("$CGF" --json stats "$NAME")
check_match "audit hits counted (two or more)" '"audit_would_deny":([2-9]|[1-9][0-9]+),' "$js"
check_match "nothing denied" '"denied":0' "$js"
check_match "list shows audit mode" '"mode":"audit"' "$("$CGF" --json list)"
check_match "explain notes audit mode" "audit mode" "$("$CGF" explain "$POL" connect 127.0.0.3:80)"

# run --audit turns an enforcing policy into an audit one
EPOL=$(policy_file enforce <<EOF
version: 1
name: $(pname runaudit)
network:
  egress:
    default: deny
EOF
)
check "run --audit: connect allowed" ok "$("$CGF" run -p "$EPOL" --audit -- "$NP" connect tcp 127.0.0.3 80)"
check "run (enforce): connect denied" EPERM "$("$CGF" run -p "$EPOL" -- "$NP" connect tcp 127.0.0.3 80)"
t_done
