#!/usr/bin/env bash
# devices (cgroup/dev) on the real kernel: open and mknod allowed and denied
# by path, glob and type/major/minor; audit mode; a parent's deny holds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sections.sh"

mkcg CG devices
NAME=$(pname devices); track_policy "$NAME"
POL=$(policy_file devices <<EOF
version: 1
name: $NAME
devices:
  default: deny
  rules:
    - {action: allow, path: /dev/null, access: rwm}
    - {action: allow, type: c, major: 1, minor: "*", access: r}   # mem devices: read only
    - {action: deny, path: /dev/full}                              # exact beats 1:*
    - {action: allow, path: "/dev/*random", access: rw}            # a glob: random, urandom
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply devices policy" 0 $?
d() { in_cg "$CG" "$NP" "$@"; }
check "open /dev/null rw allowed"           ok    "$(d open /dev/null rw)"
check "open /dev/zero r allowed (1:*)"      ok    "$(d open /dev/zero r)"
check "open /dev/zero w denied (1:* is r)"  EPERM "$(d open /dev/zero w)"
check "open /dev/full r denied (exact deny)" EPERM "$(d open /dev/full r)"
check "glob: /dev/urandom w allowed"        ok    "$(d open /dev/urandom w)"
check "mknod of an allowed device (1:3 m)"  ok    "$(d mknod "$TMPD/null" c 1 3)"
check "mknod without m access denied (1:5)" EPERM "$(d mknod "$TMPD/zero" c 1 5)"
check "mknod of another device denied"      EPERM "$(d mknod "$TMPD/tun" c 10 200)"
check_match "list shows the dev hook" '"hooks":\["dev"\]' "$("$CGF" --json list)"

# control, audit and hierarchy (sections.sh), over what this policy denies
section_cases dev "$POL" devices "$CG" $'devices:\n  default: allow' 2 -- \
	"open /dev/full r" "mknod $TMPD/zero c 1 5"
check "child: both allow" ok "$(in_cg "$CHILD" "$NP" open /dev/null w)"

# bad device rules
bad_input dev-path $'version: 1\nname: x\ndevices:\n  default: deny\n  rules:\n    - {action: allow, path: /dev/cgfence-nope}\n' \
	"dev-path-bad.yaml:6:29: path: '/dev/cgfence-nope': no such device"
bad_input dev-access $'version: 1\nname: x\ndevices:\n  default: deny\n  rules:\n    - {action: allow, type: c, major: 1, access: rwx}\n' \
	"dev-access-bad.yaml:6:50: access: 'rwx'"
t_done
