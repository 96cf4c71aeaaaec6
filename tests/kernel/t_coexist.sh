#!/usr/bin/env bash
# Coexistence: another tool's program on the same cgroup (attached here with
# bpftool, multi) stays attached and working through cgfence apply,
# re-apply, detach and detach --all; tree shows it, marked foreign.
. "$(dirname "$0")/lib.sh"

mkcg CG coexist
FPIN=/sys/fs/bpf/cgftest-$TID
cleanup_foreign() { bpftool cgroup detach "$CG" connect4 pinned "$FPIN/foreign_connect4" 2>/dev/null; rm -rf "$FPIN"; }
trap 'cleanup_foreign; t_cleanup' EXIT
bpftool prog loadall "${OUTPUT:-.output}/foreign.bpf.o" "$FPIN" type cgroup/connect4 &&
	bpftool cgroup attach "$CG" connect4 pinned "$FPIN/foreign_connect4" multi
check "a foreign program attached" 0 $?
serve tcp 127.0.0.4 4444; serve tcp 127.0.0.4 80; serve tcp 127.0.0.3 80
foreign_works() { check "$1: the foreign program still denies port 4444" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.4 4444)"; }
attached() { bpftool cgroup show "$CG" | grep -c foreign_connec; }
foreign_works "before cgfence"

NAME=$(pname coexist); track_policy "$NAME"
POL=$(deny_one_policy coexist "$NAME" 127.0.0.3)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply: cgfence enforces"            EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
check "apply: the foreign program is still attached" 1 "$(attached)"
foreign_works "after apply"
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
foreign_works "after re-apply"
out=$("$CGF" tree "$CG")
check_match "tree marks the foreign program" "connect4 +[0-9]+  foreign_connect +foreign" "$out"
check_match "tree marks cgfence's, with the policy" "connect4 +[0-9]+  cgf_connect4 +cgfence:$NAME" "$out"
check_match "tree --json" "\"name\":\"foreign_connect\",\"owner\":\"foreign\",\"policy\":null" "$("$CGF" --json tree "$CG")"
"$CGF" detach "$NAME" >/dev/null
check "detach: cgfence gone"               ok    "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
check "detach: the foreign program is still attached" 1 "$(attached)"
foreign_works "after detach"
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null && "$CGF" detach --all >/dev/null
check "detach --all: the foreign program is still attached" 1 "$(attached)"
foreign_works "after detach --all"
check "control: other ports allowed" ok "$(in_cg "$CG" "$NP" connect tcp 127.0.0.4 80)"
t_done
