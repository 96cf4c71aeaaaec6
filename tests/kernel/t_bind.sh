#!/usr/bin/env bash
# network.bind on the real kernel: cgroup/bind4 and bind6 by port, range,
# local address and protocol; audit mode; a parent's deny holds in a child.
. "$(dirname "$0")/lib.sh"

mkcg CG bind
NAME=$(pname bind); track_policy "$NAME"
POL=$(policy_file bind <<EOF
version: 1
name: $NAME
network:
  bind:
    default: allow
    rules:
      - {action: deny, ports: ["1-1023"]}
      - {action: allow, address: [127.0.0.1], ports: [80]}       # a longer prefix wins
      - {action: deny, ports: [5353], protocol: udp}
      - {action: deny, address: ["::1"], ports: ["8000-8999"]}
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply bind policy" 0 $?
b() { in_cg "$CG" "$NP" bind "$@"; }
check "bind allowed by the /32 rule"          ok    "$(b tcp 127.0.0.1 80)"
check "bind to a privileged port denied"      EPERM "$(b tcp 127.0.0.2 80)"
check "bind to the wildcard address denied"   EPERM "$(b tcp 0.0.0.0 443)"
check "bind above the range allowed"          ok    "$(b tcp 127.0.0.1 8080)"
check "udp-only rule denies udp"              EPERM "$(b udp 127.0.0.1 5353)"
check "udp-only rule leaves tcp alone"        ok    "$(b tcp 127.0.0.1 5353)"
check "ephemeral port (0) allowed"            ok    "$(b udp 127.0.0.2 0)"
check "ipv6 range denied"                     EPERM "$(b tcp ::1 8443)"
check "ipv6 outside the range allowed"        ok    "$(b tcp ::1 9443)"
check "ipv6 privileged port denied"           EPERM "$(b udp :: 53)"
check "v4-mapped judged as IPv4 (allow)"      ok    "$(b tcp ::ffff:127.0.0.1 80)"
check "v4-mapped judged as IPv4 (deny)"       EPERM "$(b tcp ::ffff:127.0.0.2 80)"
check "control: outside the cgroup allowed"   ok    "$("$NP" bind tcp 127.0.0.2 80)"
check "explain bind agrees (deny)"  deny  "$("$CGF" explain "$POL" bind 127.0.0.2:80/tcp | head -1)"
check "explain bind agrees (allow)" allow "$("$CGF" explain "$POL" bind 127.0.0.1:80 | head -1)"
check_match "list shows the bind hooks" '"hooks":\["bind4","bind6"\]' "$("$CGF" --json list)"
check_match "bind denials counted" '"bind4":[1-9]' "$("$CGF" --json stats "$NAME")"

# audit mode: nothing denied, would-deny counted
mkcg ACG audit
AN=$(pname bindaudit); track_policy "$AN"
sed -e "s/^name: .*/name: $AN/" -e 's/^network:/mode: audit\nnetwork:/' "$POL" >"$TMPD/audit.yaml"
"$CGF" apply "$TMPD/audit.yaml" --cgroup "$ACG" >/dev/null
check "audit: privileged bind goes through" ok "$(in_cg "$ACG" "$NP" bind tcp 127.0.0.2 80)"
check_match "audit: counted" '"audit_would_deny":[1-9]' "$("$CGF" --json stats "$AN")"

# hierarchy: the parent denies 1-1023, the child explicitly allows 80
mkcg CHILD child "$CG"
CN=$(pname bindchild); track_policy "$CN"
printf 'version: 1\nname: %s\nnetwork:\n  bind:\n    default: allow\n    rules:\n      - {action: allow, ports: [80]}\n' "$CN" >"$TMPD/child.yaml"
"$CGF" apply "$TMPD/child.yaml" --cgroup "$CHILD" >/dev/null
check "child's allow cannot undo the parent's deny" EPERM "$(in_cg "$CHILD" "$NP" bind tcp 127.0.0.2 80)"
check "child: port both allow"                      ok    "$(in_cg "$CHILD" "$NP" bind tcp 127.0.0.2 9000)"
t_done
