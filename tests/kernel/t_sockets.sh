#!/usr/bin/env bash
# network.sockets (cgroup/sock_create) and sockopt (cgroup/setsockopt,
# cgroup/getsockopt) on the real kernel, with controls outside the cgroup.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sections.sh"

mkcg CG sockets
NAME=$(pname sockets); track_policy "$NAME"
POL=$(policy_file sockets <<EOF
version: 1
name: $NAME
network:
  sockets:
    families: [inet]
    deny_types: [raw, udplite]
sockopt:
  deny_set: [SO_REUSEPORT, IP_TRANSPARENT, TCP_CONGESTION, "SOL_SOCKET:36"]
  deny_get: [TCP_INFO]
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply sockets and sockopt" 0 $?
p() { in_cg "$CG" "$NP" "$@"; }
check "inet stream allowed"           ok    "$(p socket inet stream)"
check "inet dgram allowed"            ok    "$(p socket inet dgram)"
check "inet6 denied (families)"       EPERM "$(p socket inet6 stream)"
check "raw socket denied"             EPERM "$(p socket inet raw)"
check "udplite (136) denied"          EPERM "$(p socket inet dgram 136)"
check "control: inet6 outside"        ok    "$("$NP" socket inet6 stream)"
check "control: raw outside"          ok    "$("$NP" socket inet raw)"
check "control: udplite outside"      ok    "$("$NP" socket inet dgram 136)"
check "SO_REUSEPORT denied"           EPERM "$(p setsockopt SO_REUSEPORT)"
check "SO_REUSEADDR allowed"          ok    "$(p setsockopt SO_REUSEADDR)"
check "IP_TRANSPARENT denied"         EPERM "$(p setsockopt IP_TRANSPARENT)"
check "TCP_CONGESTION denied"         EPERM "$(p setsockopt TCP_CONGESTION)"
check "getsockopt TCP_INFO denied"    EPERM "$(p getsockopt TCP_INFO)"
check "getsockopt SO_REUSEPORT allowed (only set is denied)" ok "$(p getsockopt SO_REUSEPORT)"
check_match "list shows the hooks" '"hooks":\["sock_create","setsockopt","getsockopt"\]' "$("$CGF" --json list)"
check "explain socket inet6 (families)" deny "$("$CGF" explain "$POL" socket inet6/stream | head -1)"
check_match "explain socket names the line" "rule: $POL:5: network.sockets" "$("$CGF" explain "$POL" socket inet6/stream)"
check "explain socket inet/raw" deny "$("$CGF" explain "$POL" socket inet/raw | head -1)"
check "explain socket inet/stream" allow "$("$CGF" explain "$POL" socket inet/stream | head -1)"

# control, audit and hierarchy (sections.sh): a child allowing every family
section_cases sock "$POL" network "$CG" $'network:\n  sockets:\n    families: [inet, inet6]' 5 -- \
	"socket inet6 stream" "socket inet raw" "setsockopt SO_REUSEPORT" \
	"setsockopt IP_TRANSPARENT" "setsockopt TCP_CONGESTION"

# families the hook cannot see are accepted in an allowlist (nothing contradicts
# it), with a note that says so and what to pair it with
printf 'version: 1\nname: x\nnetwork:\n  sockets:\n    families: [inet, unix, netlink]\n' >"$TMPD/unix.yaml"
out=$("$CGF" check "$TMPD/unix.yaml" 2>&1)
check "families: [inet, unix, netlink] is accepted" 0 $?
check_match "…with a note on unix" "unix.yaml:5:22: note: families: 'unix': the cgroup sock_create hook sees only inet and inet6 sockets.*RestrictAddressFamilies" "$out"
check_match "…and on netlink" "unix.yaml:5:28: note: families: 'netlink'" "$out"
printf 'version: 1\nname: x\nnetwork:\n  sockets:\n    families: [inet, bogus]\n' >"$TMPD/bogus.yaml"
check_match "an unknown family is an error" "bogus.yaml:5:22: families: 'bogus' is not an address family" "$("$CGF" check "$TMPD/bogus.yaml" 2>&1)"
t_done
