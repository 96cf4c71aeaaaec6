#!/usr/bin/env bash
# Least privilege: run --user runs CMD as that user with no_new_privs, still
# confined, and unable to leave its cgroup or use bpf(); cgfence's pins are
# not readable by others.
. "$(dirname "$0")/lib.sh"

NAME=$(pname priv)
POL=$(deny_one_policy priv "$NAME" 127.0.0.3)
chmod o+rx "$TMPD"; chmod o+r "$POL"
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80
r() { "$CGF" run -p "$POL" --user nobody -- "$@"; }
check "run --user: CMD has the user's uid" "$(id -u nobody)" "$(r id -u)"
check "run --user: and its gid" "$(id -g nobody)" "$(r id -g)"
check "run --user: no_new_privs is set" "NoNewPrivs:	1" "$(r grep NoNewPrivs /proc/self/status)"
check "run --user: still confined" EPERM "$(r "$NP" connect tcp 127.0.0.3 80)"
check "run --user: other hosts allowed" ok "$(r "$NP" connect tcp 127.0.0.4 80)"
out=$(r sh -c 'cg=$(grep "^0::" /proc/self/cgroup | cut -d: -f3); echo $$ > '"$CG2"'/cgroup.procs 2>&1 && echo moved || echo refused')
check "run --user: cannot move itself out of its cgroup" refused "$out"
out=$(r bpftool prog show 2>&1)
check_match "run --user: cannot use bpf()" "Operation not permitted|permission denied|Permission denied" "$out"
out=$(r ls /sys/fs/bpf/cgfence 2>&1)
check_match "run --user: cannot read cgfence's pins" "Permission denied" "$out"
"$CGF" run -p "$POL" --user no-such-user-x -- true 2>/dev/null
check "run --user with an unknown user: usage error" 2 $?
check "run --user 65534 (a uid)" 65534 "$("$CGF" run -p "$POL" --user 65534 -- id -u)"
t_done
