#!/usr/bin/env bash
# Names across the upgrade to pin layout 8, where the learnt table is keyed
# by the network namespace an answer arrived in. The last release of layout 7
# (main at 4e81127, built from git by `make upgrade-artifacts`) applies a
# to_names policy and learns an address; this cgfence applies the policy
# again: the table is replaced at the switch with its entries copied (as
# learnt by an older layout: for any namespace until they expire), so the
# address stays allowed and a connection open through it goes on; what is
# learnt from then on is for its namespace only.
. "$(dirname "$0")/lib.sh"

UP=${UPGRADE_OUT:-$PWD/.output-upgrade}
OLD=$UP/4e81127/cgfence
FORGE="$PWD/tests/helpers/nsforge.py"

if [ ! -x "$OLD" ]; then
	ok "names across the upgrade from 4e81127 # SKIP no build of it (git history absent; make upgrade-artifacts)"
	t_done
	exit
fi

mkcg CG upnames
N=$(pname upnames); track_policy "$N"
POL=$(policy_file upnames <<EOF
version: 1
name: $N
network:
  dns: {servers: [127.0.0.53], min_ttl: 300}
  egress:
    default: deny
    rules:
      - {action: allow, to_names: [api.example.test], ports: [8080], protocol: tcp}
EOF
)
"$NP" listen tcp 127.1.0.30 8080 --stream >/dev/null &
T_PIDS+=($!)
"$NP" listen tcp 127.1.0.31 8080 --stream >/dev/null &
T_PIDS+=($!)
wait_for 10 sh -c "ss -ltn | grep -q 127.1.0.31:8080" || not_ok "listeners did not start"
layout() { "$CGF" --json list | python3 -c '
import json, sys; print([p.get("layout") for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0])' "$N"; }
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)

"$OLD" apply "$POL" --cgroup "$CG" >/dev/null 2>&1
check "4e81127 applies a to_names policy" 0 $?
check "an answer in the policy's namespace (a frame on lo, root) teaches it" "received connect=ok" \
	"$(in_cg "$CG" python3 "$FORGE" packet4 api.example.test 127.1.0.30 | xargs)"
check "... allowed under layout 7" ok "$(in_cg "$CG" "$NP" connect tcp 127.1.0.30 8080)"
rm -f "$TMPD/held"
in_cg "$CG" python3 "$PWD/tests/helpers/names.py" hold 127.1.0.30 8080 "$TMPD/held" >"$TMPD/hold.out" &
HOLD=$!
wait_for 5 test -e "$TMPD/held" || not_ok "the held connection did not start"

"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "this cgfence applies it again" 0 $?
check "... of layout 8 or later now" yes "$([ "$(layout)" -ge 8 ] && echo yes)"
check "the address learnt under layout 7 is still allowed (copied, for any namespace)" ok \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.30 8080)"
rm -f "$TMPD/held"
wait "$HOLD"
check "... and the connection open through it goes on" ok "$(cat "$TMPD/hold.out")"
check "an answer forged by nobody in a namespace of its own arrives there" \
	"received connect=ECONNREFUSED" \
	"$(in_cg "$CG" "${NOBODY[@]}" unshare -Urn /usr/bin/python3 "$FORGE" packet4 api.example.test 127.1.0.31 | xargs)"
check "... and allows nothing in the policy's namespace" EPERM \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.31 8080)"
t_done
