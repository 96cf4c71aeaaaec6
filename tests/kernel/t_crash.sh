#!/usr/bin/env bash
# Crash safety: cgfence killed with SIGKILL at every stage of an apply and of a
# detach (CGF_TEST_CRASH_AT=STAGE) leaves the old or the new policy wholly in
# force, never neither and never a mix, and the next command leaves exactly
# the pins a clean apply of the version in force would have.
. "$(dirname "$0")/lib.sh"

mkcg CG crash
NAME=$(pname crash)
track_policy "$NAME"

# v1 and v2 differ on five hooks; v2 drops sock_create and adds bind4/bind6
V1=$(policy_file v1 <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
  sockets:
    deny_types: [raw]
EOF
)
V2=$(policy_file v2 <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.4]}
  bind:
    default: allow
    rules:
      - {action: deny, ports: [7777]}
EOF
)
OLD="EPERM ok EPERM ok EPERM"
NEW="ok EPERM ok EPERM ok"
NONE="ok ok ok ok ok"

# connect4 connect4 sendmsg4 bind4 sock_create, from inside the cgroup
state() {
	local r
	r="$(in_cg "$CG" "$NP" connect udp 127.0.0.3 53) $(in_cg "$CG" "$NP" connect udp 127.0.0.4 53)"
	r="$r $(in_cg "$CG" "$NP" sendto udp 127.0.0.3 53) $(in_cg "$CG" "$NP" bind udp 127.0.0.1 7777)"
	r="$r $(in_cg "$CG" "$NP" socket inet raw 1)"
	case "$r" in "$OLD") echo old ;; "$NEW") echo new ;; "$NONE") echo none ;; *) echo "mix($r)" ;; esac
}
# the policy's pins, cgroup ids and slot numbers left out
pins() {
	[ -d "/sys/fs/bpf/cgfence/$NAME" ] || { echo absent; return; }
	(cd "/sys/fs/bpf/cgfence/$NAME" && find . | sed 's/cg-[0-9]*/cg-ID/; s/\(rules\|hits\)-[01]/\1-SLOT/' | sort | tr '\n' ' ')
}
apply() { "$CGF" apply "$1" --cgroup "$CG" >/dev/null 2>&1; }
reset() { "$CGF" detach "$NAME" >/dev/null 2>&1; [ -z "${1:-}" ] || apply "$1"; }

# what a clean apply of each version leaves
check "control: no policy" none "$(state)"
apply "$V1"
check "control: v1" old "$(state)"
PINS_V1=$(pins)
apply "$V2"
check "control: v1 then v2" new "$(state)"
PINS_V2=$(pins)
reset "$V2"
check "control: v2 alone has the same pins as v1 then v2" "$PINS_V2" "$(pins)"

# kill_at STAGE WHAT EXPECT: run WHAT (a command) with the kill at STAGE
kill_at() {
	local st=$1 what=$2 want=$3 pins_want
	CGF=$CGF_FAULTS CGF_TEST_CRASH_AT=$st $what >/dev/null 2>&1
	check "$st ($what): killed there" 137 $?
	check "$st ($what): $want in force" "$want" "$(state)"
	"$CGF" list >/dev/null 2>&1
	check "$st ($what): after the next command, still $want" "$want" "$(state)"
	case $want in old) pins_want=$PINS_V1 ;; new) pins_want=$PINS_V2 ;; none) pins_want=absent ;; esac
	check "$st ($what): after the next command, the pins of a clean apply" "$pins_want" "$(pins)"
}

# a re-apply (v1 in force, v2 applied) killed at every stage
for st in loaded pinned slots attaching attached; do
	reset "$V1"
	kill_at "$st" "apply $V2" old
done
for st in switched settling; do
	reset "$V1"
	kill_at "$st" "apply $V2" new
done

# a first apply
for st in loaded pinned slots attaching attached; do
	reset
	kill_at "$st" "apply $V1" none
done
reset
{ CGF=$CGF_FAULTS CGF_TEST_CRASH_AT=switched apply "$V1"; } 2>/dev/null
check "first apply, switched: killed there" 137 $?
check "first apply, switched: v1 in force" old "$(state)"
"$CGF" list >/dev/null 2>&1
check "first apply, switched: the pins of a clean apply" "$PINS_V1" "$(pins)"

# a detach: from the switch-off on, nothing is in force; the next command removes the rest
reset "$V1"
{ CGF_TEST_CRASH_AT=detach-off "$CGF_FAULTS" detach "$NAME"; } >/dev/null 2>&1
check "detach-off: killed there" 137 $?
check "detach-off: nothing in force" none "$(state)"
"$CGF" list >/dev/null 2>&1
check "detach-off: no pins after the next command" absent "$(pins)"

# a link whose pin someone removed is gone from the kernel; the next command attaches it again
reset "$V1"
rm -f /sys/fs/bpf/cgfence/"$NAME"/cg-*/connect4
check "pin removed from outside: connect4 no longer enforced" "mix(ok ok EPERM ok EPERM)" "$(state)"
"$CGF" list >/dev/null 2>&1
check "pin removed from outside: the next command re-attaches it" old "$(state)"
check "pin removed from outside: the pins of a clean apply" "$PINS_V1" "$(pins)"

# an apply after a killed one finishes or undoes it first, then works
reset "$V1"
{ CGF=$CGF_FAULTS CGF_TEST_CRASH_AT=attached apply "$V2"; } 2>/dev/null
apply "$V2"
check "apply after a killed apply: exit 0" 0 $?
check "apply after a killed apply: v2 in force" new "$(state)"
check "apply after a killed apply: clean pins" "$PINS_V2" "$(pins)"

# the shipped cgfence has no fault injection: the same variable does nothing
reset "$V1"
CGF_TEST_CRASH_AT=loaded "$CGF" apply "$V2" --cgroup "$CG" >/dev/null 2>&1
check "cgfence itself ignores CGF_TEST_CRASH_AT" 0 $?
check "... and applies" new "$(state)"

t_done
