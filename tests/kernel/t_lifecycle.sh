#!/usr/bin/env bash
# Pins keep a policy in force after cgfence exits; list/detach; a removed
# cgroup's pins are cleaned by the next command; apply to another cgroup moves
# the policy; detach --all.
. "$(dirname "$0")/lib.sh"

mkcg CG life
mkcg CG2B other
NAME=$(pname life); track_policy "$NAME"
POL=$(deny_one_policy life "$NAME" 127.0.0.3)
serve tcp 127.0.0.3 80
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply" 0 $?
# cgfence has exited: the pins hold the links
check "pinned links exist" yes "$([ -e /sys/fs/bpf/cgfence/$NAME/cg-*/connect4 ] && echo yes)"
check "enforced after cgfence exited" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
js=$("$CGF" --json list)
check_match "list --json names the cgroup" "\"name\":\"$NAME\".*\"path\":\"$CG\"" "$js"
# an egress policy: connect and sendmsg judge, the skb hooks keep its connections (state: on)
check_match "list --json names the hooks" '"hooks":\["connect4","connect6","sendmsg4","sendmsg6","egress","ingress"\]' "$js"
check_match "list (plain) shows it" "$NAME +enforce +1 +$CG connect4" "$("$CGF" list)"

# apply to another cgroup: the policy moves there
"$CGF" apply "$POL" --cgroup "$CG2B" >/dev/null
check "moved: enforced in the new cgroup" EPERM "$(in_cg "$CG2B" "$NP" connect tcp 127.0.0.3 80)"
check "moved: gone from the old cgroup" ok "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"

out=$("$CGF" detach "$NAME")
check "detach" "detached $NAME" "$out"
check "not enforced after detach" ok "$(in_cg "$CG2B" "$NP" connect tcp 127.0.0.3 80)"
check "pins removed" no "$([ -e /sys/fs/bpf/cgfence/$NAME ] && echo yes || echo no)"
"$CGF" detach "$NAME" 2>"$TMPD/err"
check "detach unknown name exits 1" 1 $?
check_match "detach unknown says so" "no policy named '$NAME'" "$(cat "$TMPD/err")"

# a removed cgroup: its pins go with the next list
mkcg GONE gone
GN=$(pname gone); track_policy "$GN"
sed "s/name: $NAME/name: $GN/" "$POL" >"$TMPD/gone.yaml"
"$CGF" apply "$TMPD/gone.yaml" --cgroup "$GONE" >/dev/null
check "apply to a cgroup about to go" 0 $?
rmdir "$GONE"
for _ in $(seq 50); do "$CGF" list | grep -q "^$GN " || break; sleep 0.1; done
check "removed cgroup's policy no longer listed" no "$("$CGF" list | grep -q "^$GN " && echo yes || echo no)"
check "removed cgroup's pins cleaned" no "$([ -e /sys/fs/bpf/cgfence/$GN ] && echo yes || echo no)"

# detach --all (the one test allowed to remove what it did not make)
N2=$(pname all2); track_policy "$N2"
sed "s/name: $NAME/name: $N2/" "$POL" >"$TMPD/all2.yaml"
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null; "$CGF" apply "$TMPD/all2.yaml" --cgroup "$CG2B" >/dev/null
check_match "detach --all" '^detached [2-9][0-9]* policies$' "$("$CGF" detach --all)"
check "nothing listed after detach --all" "[]" "$("$CGF" --json list)"
check "not enforced after detach --all" ok "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
t_done
