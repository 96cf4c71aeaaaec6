#!/usr/bin/env bash
# Staging across the upgrade to pin layout 7 (and later), where a version in force hands
# its verdicts over only while a staged version listens (the pin `listen`).
# The last release of layout 6 (main at 8e5f0e3, built from git by `make
# upgrade-artifacts`) against this cgfence, with real connects from the
# cgroup: a staged version of layout 6 beside a version in force this
# cgfence applies still compares every call, and a version staged by this
# cgfence beside one of layout 6 in force compares too (those always hand
# over); unstage and promote leave nobody listening.
. "$(dirname "$0")/lib.sh"

UP=${UPGRADE_OUT:-$PWD/.output-upgrade}
OLD=$UP/8e5f0e3/cgfence

if [ ! -x "$OLD" ]; then
	ok "staging across the upgrade from 8e5f0e3 # SKIP no build of it (git history absent; make upgrade-artifacts)"
	t_done
	exit
fi

mkcg CG upstage
N=$(pname upstage); track_policy "$N"
for a in 127.0.0.1 127.0.0.2 127.0.0.3; do serve tcp "$a" 80 || exit 1; done
# egress_to TAG ADDR...: a policy file allowing port 80 to the ADDRs, nothing else
egress_to() {
	local tag=$1; shift
	policy_file "$tag" <<EOF
version: 1
name: $N
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [$(echo "$@" | sed 's/ /, /g')], ports: [80]}
EOF
}
A=$(egress_to a 127.0.0.1 127.0.0.2)	# in force
B=$(egress_to b 127.0.0.1 127.0.0.3)	# staged

conn() { in_cg "$CG" "$NP" connect tcp "$1" 80; }
NOW=$(sed -n 's/^#define CGF_LAYOUT \([0-9]*\)$/\1/p' include/cgfence/abi.h)	# this cgfence's layout
would_deny() { staged_stat "$N" would_deny; }
layout() { "$CGF" --json list | python3 -c '
import json, sys; print([p.get("layout") for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0])' "$N"; }

# ---- a version of layout 6 staged; this cgfence applies the policy again ----
"$OLD" apply "$A" --cgroup "$CG" >/dev/null
check "8e5f0e3 applies the policy" 0 $?
"$OLD" apply --stage "$B" >/dev/null
check "... and stages the other file" 0 $?
check "a call only the version in force allows: allowed" ok "$(conn 127.0.0.2)"
wait_for 5 test "$(would_deny)" = 1
check "the staged version of layout 6 compares it" 1 "$(would_deny)"
"$CGF" apply "$A" --cgroup "$CG" >/dev/null
check "this cgfence applies the policy again" 0 $?
check "... of layout $NOW now" "$NOW" "$(layout)"
check "... handing its verdicts over: a staged version is there" 1 "$(listening "$N")"
check "the call: still allowed" ok "$(conn 127.0.0.2)"
wait_for 5 test "$(would_deny)" = 2
check "the staged version of layout 6 still compares" 2 "$(would_deny)"
check "a call both allow: no difference" "ok 2" "$(conn 127.0.0.1) $(would_deny)"
"$CGF" unstage "$N" >/dev/null
check "unstage" 0 $?
check "... and nobody listens" 0 "$(listening "$N")"
check "the version in force decides as before" "ok ok EPERM" \
	"$(conn 127.0.0.1) $(conn 127.0.0.2) $(conn 127.0.0.3)"
"$CGF" detach "$N" >/dev/null

# ---- a version of layout 6 in force; this cgfence stages beside it ----
if ! "$OLD" apply "$A" --cgroup "$CG" >/dev/null 2>&1; then
	ok "a version of layout 6 in force # SKIP other pins of a newer layout on this machine"
else
	check "no listen pin in a version of layout 6" absent "$(listening "$N")"
	"$CGF" apply --stage "$B" >/dev/null
	check "this cgfence stages beside it" 0 $?
	check "a call only the version in force allows: allowed" ok "$(conn 127.0.0.2)"
	wait_for 5 test "$(would_deny)" = 1
	check "the staged version compares it (layout 6 always hands over)" 1 "$(would_deny)"
	"$CGF" promote "$N" >/dev/null
	check "promote" 0 $?
	check "the promoted version is of layout $NOW, and nobody listens" "$NOW 0" \
		"$(layout) $(listening "$N")"
	check "the promoted version decides" "ok EPERM ok" \
		"$(conn 127.0.0.1) $(conn 127.0.0.2) $(conn 127.0.0.3)"
fi
t_done
