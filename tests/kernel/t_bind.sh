#!/usr/bin/env bash
# network.bind on the real kernel: cgroup/bind4 and bind6 by port, range,
# local address and protocol; audit mode; a parent's deny holds in a child.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sections.sh"

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
check "explain bind agrees (deny)"  deny  "$("$CGF" explain "$POL" bind 127.0.0.2:80/tcp | head -1)"
check "explain bind agrees (allow)" allow "$("$CGF" explain "$POL" bind 127.0.0.1:80 | head -1)"
check_match "list shows the bind hooks" '"hooks":\["egress","ingress","bind4","bind6","post_bind4","post_bind6"\]' "$("$CGF" --json list)"
check_match "bind denials counted" '"bind4":[1-9]' "$("$CGF" --json stats "$NAME")"

# control, audit and hierarchy (sections.sh): the child explicitly allows 80
section_cases bind "$POL" network "$CG" \
	$'network:\n  bind:\n    default: allow\n    rules:\n      - {action: allow, ports: [80]}' 2 -- \
	"bind tcp 127.0.0.2 80" "bind udp 127.0.0.1 5353"
check "child: port both allow" ok "$(in_cg "$CHILD" "$NP" bind tcp 127.0.0.2 9000)"

bad_input bind-ports $'version: 1\nname: x\nnetwork:\n  bind:\n    default: allow\n    rules:\n      - {action: deny, ports: ["9-1"]}\n' \
	"bind-ports-bad.yaml:7:32: ports: .9-1.: a port range must go from low to high"

# Ports the kernel chooses (issue: "a kernel-chosen port escapes bind rules").
# A process with CAP_NET_ADMIN over its network namespace (here: the test's)
# lowers ip_unprivileged_port_start and sets ip_local_port_range to 80-81;
# bind(0), listen() on an unbound socket, UDP autobind and connect() then land
# on a privileged port while the bind hooks saw port 0 or nothing. The port
# actually bound is judged: post_bind4/6, and the first packet of a socket the
# kernel bound by itself. The range is set after apply: cgfence reads the
# host's range (its own network namespace's) when it applies.
FLOWS="$(dirname "$0")/../helpers/flows.py"
mkcg PT ports
mkcg PLAIN plain	# no policy: shows the trick works
NPT=$(pname ports); track_policy "$NPT"
PPT=$(policy_file ports <<EOF
version: 1
name: $NPT
network:
  bind:
    default: allow
    rules:
      - {action: deny, ports: ["1-1023"]}
EOF
)
"$CGF" apply "$PPT" --cgroup "$PT" >/dev/null
check "kernel-chosen ports: apply" 0 $?
for c in bind0 listen connect; do
	check "kernel-chosen ports: $c, normal range: allowed" "unprivileged ok" "$(python3 "$FLOWS" "$PT" "$c")"
done
check "kernel-chosen ports: autobind, normal range: allowed" "unprivileged sent ok" "$(python3 "$FLOWS" "$PT" autobind)"
sysctl -qw net.ipv4.ip_unprivileged_port_start=0
sysctl -qw net.ipv4.ip_local_port_range="80 81"
check "kernel-chosen ports: control: bind(0) gets a privileged port" "privileged ok" "$(python3 "$FLOWS" "$PLAIN" bind0)"
check "kernel-chosen ports: control: listen() gets one and is reached" "privileged ok" "$(python3 "$FLOWS" "$PLAIN" listen)"
check "kernel-chosen ports: bind(0) to a privileged port refused (post_bind)" "- EPERM" "$(python3 "$FLOWS" "$PT" bind0)"
check "kernel-chosen ports: listen() on it: nobody reaches it" "privileged timeout" "$(python3 "$FLOWS" "$PT" listen)"
check "kernel-chosen ports: UDP autobind to it: refused both ways" "privileged EPERM timeout" "$(python3 "$FLOWS" "$PT" autobind)"
check "kernel-chosen ports: connect() from it: refused" "privileged timeout" "$(python3 "$FLOWS" "$PT" connect)"
check_match "kernel-chosen ports: post_bind denials counted" '"post_bind4":[1-9]' "$("$CGF" --json stats "$NPT")"
sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
sysctl -qw net.ipv4.ip_unprivileged_port_start=1024
t_done
