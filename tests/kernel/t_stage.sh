#!/usr/bin/env bash
# Staging: `apply --stage` puts a new version beside the one in force, in
# audit. Real connects from a process in the cgroup, and connections into a
# server in it from outside: every call the staged version would decide
# otherwise is one event and one count (would deny what is allowed now,
# would allow what is denied now), and nothing else; nothing it decides
# changes what the calls get. `promote` under a connect loop switches with
# no wrong verdict; `unstage` leaves the version in force as it was.
. "$(dirname "$0")/lib.sh"
export CGFENCE_RUN_DIR="$TMPD/run"

mkcg CG stage
N=$(pname stage); track_policy "$N"
S="$N@staged"
PINS=/sys/fs/bpf/cgfence
for a in 127.0.0.1 127.0.0.2 127.0.0.3; do serve tcp "$a" 80 || exit 1; done

# in force: 127.0.0.1 and 127.0.0.2; every inbound connection
A=$(policy_file a <<EOF
version: 1
name: $N
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1, 127.0.0.2], ports: [80]}
  ingress:
    default: allow
EOF
)
# staged: 127.0.0.1 and 127.0.0.3 (not .2); no inbound connection from .7
B=$(policy_file b <<EOF
version: 1
name: $N
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1, 127.0.0.3], ports: [80]}
  ingress:
    default: allow
    rules:
      - {action: deny, from: [127.0.0.7], ports: [8080]}
EOF
)

# connects N ADDR: N connects from the cgroup, results on one line
connects() {
	local out="" i
	for i in $(seq "$1"); do out+="$(in_cg "$CG" "$NP" connect tcp "$2" 80) "; done
	echo "$out"
}
# staged_events TYPE HOOK [DST]: how many events of TYPE on HOOK (to DST)
staged_events() {
	"$CGF" --json events "$N" | python3 -c '
import json, sys
t, hook, dst = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
print(sum(1 for l in sys.stdin for e in [json.loads(l)]
          if e["type"] == t and e["hook"] == hook and (dst is None or e.get("dst") == dst)))' "$@"
}


"$CGF" apply "$A" --cgroup "$CG" >/dev/null
check "the version in force applied" 0 $?
check "nobody listens: the version in force hands nothing over" 0 "$(listening "$N")"

# ---- bad input ----
out=$("$CGF" promote "$N" 2>&1); rc=$?
check "promote without a staged version: exit 1" 1 "$rc"
check_match "... naming the policy" "$N has no staged version" "$out"
out=$("$CGF" unstage "$N" 2>&1); rc=$?
check "unstage without a staged version: exit 1" 1 "$rc"
other=$(pname nothere)
O=$(policy_file other <<EOF
version: 1
name: $other
network:
  egress: {default: allow}
EOF
)
out=$("$CGF" apply --stage "$O" 2>&1); rc=$?
check "staging a policy not applied: exit 1" 1 "$rc"
check_match "... naming it" "no policy named '$other' is applied" "$out"
out=$("$CGF" apply --stage "$B" --cgroup "$CG" 2>&1); rc=$?
check "apply --stage with --cgroup: usage error" 2 "$rc"
out=$("$CGF" promote 2>&1); rc=$?
check "promote without NAME: usage error" 2 "$rc"

progs_before=$("$CGF" --json stats "$N" | python3 -c '
import json, sys; print(sorted(p["id"] for p in json.load(sys.stdin)[0]["programs"]))')
links_before=$(ls "$PINS/$N"/cg-*/ | tr '\n' ' ')

# ---- staged: differences, one per call ----
out=$("$CGF" apply --stage "$B"); rc=$?
check "apply --stage" 0 "$rc"
check "... the version in force hands its verdicts over" 1 "$(listening "$N")"
check_match "... says where the differences are" "staged $N beside its version in force" "$out"
check_match "list shows both, the staged one in audit, beside its policy" \
	"\"name\":\"$S\",\"mode\":\"audit\".*\"staged_for\":\"$N\"" "$("$CGF" --json list)"
check "a call both allow: allowed" "ok ok ok ok ok " "$(connects 5 127.0.0.1)"
check "a call only the version in force allows: still allowed" "ok ok ok ok ok " \
	"$(connects 5 127.0.0.2)"
check "a call only the staged version allows: still denied" "EPERM EPERM EPERM " \
	"$(connects 3 127.0.0.3)"
wait_for 5 test "$(staged_events staged-deny connect4 127.0.0.2)" = 5
check "one staged-deny per call the staged version would deny" 5 \
	"$(staged_events staged-deny connect4 127.0.0.2)"
check "none for the destination both allow" 0 "$(staged_events staged-deny connect4 127.0.0.1)"
check "none from egress packets (the connects decided)" 0 "$(staged_events staged-deny egress)"
check "one staged-allow per call the staged version would allow" 3 \
	"$(staged_events staged-allow connect4 127.0.0.3)"
check "no other staged-allow" 3 "$("$CGF" --json events "$N" | grep -c '"type":"staged-allow"')"
check "the version in force denied those calls itself" 3 \
	"$("$CGF" --json events "$N" | grep '"type":"deny"' | grep -c '"dst":"127.0.0.3"')"
check "stats: would_deny counts them" 5 "$(staged_stat "$N" would_deny)"
check "stats: would_allow counts them" 3 "$(staged_stat "$N" would_allow)"
check_match "stats text says it" "staged differences: 5 would be denied that are allowed now, 3 would be allowed" \
	"$("$CGF" stats "$N")"

# inbound: one difference per connection (its SYN), not per packet
in_cg_bg "$CG" "$NP" listen tcp 127.0.0.1 8080 --say inside >/dev/null
T_PIDS+=($!)
wait_for 5 "$NP" connect tcp 127.0.0.1 8080 --from 127.0.0.8 >/dev/null
before=$(staged_events staged-deny ingress)
res=""
for _ in 1 2 3; do res+="$("$NP" connect tcp 127.0.0.1 8080 --from 127.0.0.7) "; done
check "connections from .7 still accepted" "ok ok ok " "$res"
for _ in 1 2; do "$NP" connect tcp 127.0.0.1 8080 --from 127.0.0.8 >/dev/null; done
wait_for 5 test "$(staged_events staged-deny ingress)" = $((before + 3))
check "one staged-deny per inbound connection the staged version would refuse" \
	$((before + 3)) "$(staged_events staged-deny ingress)"

scrape_metrics "$TMPD/m" || not_ok "cgfence metrics did not answer"
check_match "metrics: staged would-deny" \
	"cgfence_staged_would_deny_total\\{policy=\"$S\"\\} $(staged_stat "$N" would_deny)" "$(cat "$TMPD/m")"
check_match "metrics: staged would-allow" \
	"cgfence_staged_would_allow_total\\{policy=\"$S\"\\} 3" "$(cat "$TMPD/m")"

# ---- unstage: the version in force untouched ----
"$CGF" unstage "$N" >/dev/null
check "unstage" 0 $?
check "the staged version's pins are gone" no "$([ -e "$PINS/$S" ] && echo yes || echo no)"
check "... and the version in force stops handing over" 0 "$(listening "$N")"
check "the version in force's programs are the same" "$progs_before" \
	"$("$CGF" --json stats "$N" | python3 -c '
import json, sys; print(sorted(p["id"] for p in json.load(sys.stdin)[0]["programs"]))')"
check "... and its links" "$links_before" "$(ls "$PINS/$N"/cg-*/ | tr '\n' ' ')"
check "... and its verdicts" "ok ok EPERM " \
	"$(connects 1 127.0.0.1)$(connects 1 127.0.0.2)$(connects 1 127.0.0.3)"
check "list: the policy alone" "$N" "$("$CGF" --json list | python3 -c '
import json, sys; print(" ".join(p["name"] for p in json.load(sys.stdin) if p["name"].startswith(sys.argv[1])))' "$N")"

# ---- promote: refused for a changed file; under a connect loop, no wrong verdict ----
"$CGF" apply --stage "$B" >/dev/null
cp "$B" "$TMPD/b.orig"
echo "# changed" >>"$B"
out=$("$CGF" promote "$N" 2>&1); rc=$?
check "promote of a file changed since staged: exit 1" 1 "$rc"
check_match "... naming the file" "$B changed since it was staged" "$out"
cp "$TMPD/b.orig" "$B"
gen=$("$CGF" --json list | python3 -c '
import json, sys; print([p for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0]["generation"])' "$N")
res="$TMPD/loop"
in_cg_bg "$CG" "$NP" loop 127.0.0.1 80 127.0.0.2 80 600000 >"$res" 2>&1
LOOP=$!; T_PIDS+=("$LOOP")
sleep 0.3
out=$("$CGF" promote "$N"); rc=$?
sleep 0.3
kill "$LOOP" 2>/dev/null; wait "$LOOP" 2>/dev/null
check "promote" 0 "$rc"
check "... the same switch as a re-apply: the next generation" "promoted $N (generation $((gen + 1)))" "$out"
line=$(cat "$res")
check_match "the destination both allow: never denied" '^A:ok=[0-9]+,eperm=0,other=0' "$line"
check_match "the other: allowed, then denied, nothing else" 'B:ok=[1-9][0-9]*,eperm=[1-9][0-9]*,other=0' "$line"
check "the promoted version decides" "ok EPERM ok " \
	"$(connects 1 127.0.0.1)$(connects 1 127.0.0.2)$(connects 1 127.0.0.3)"
check "the staged version is gone" no "$([ -e "$PINS/$S" ] && echo yes || echo no)"
check "... and nobody listens" 0 "$(listening "$N")"
check_match "the policy is in enforce mode from the staged file" \
	"\"name\":\"$N\",\"mode\":\"enforce\",\"generation\":$((gen + 1)),[^}]*\"source\":\"$B\"" \
	"$("$CGF" --json list)"

# ---- the staged version follows its policy: a move to another cgroup ----
"$CGF" apply --stage "$A" >/dev/null
check "staged again" yes "$([ -e "$PINS/$S" ] && echo yes || echo no)"
mkcg CGM moved
"$CGF" apply "$B" --cgroup "$CGM" >/dev/null
check "the policy moved" "$CGM" "$("$CGF" --json list | python3 -c '
import json, sys
print(" ".join(c["path"] for p in json.load(sys.stdin) if p["name"] == sys.argv[1] for c in p["cgroups"]))' "$N")"
check "a re-apply beside the staged version: still handing over" 1 "$(listening "$N")"
check "its staged version moved with it" "$CGM" "$("$CGF" --json list | python3 -c '
import json, sys
print(" ".join(c["path"] for p in json.load(sys.stdin) if p["name"] == sys.argv[1] for c in p["cgroups"]))' "$S")"
before=$(staged_events staged-allow connect4 127.0.0.2)
check "in the new cgroup, the version in force decides" EPERM "$(in_cg "$CGM" "$NP" connect tcp 127.0.0.2 80)"
wait_for 5 test "$(staged_events staged-allow connect4 127.0.0.2)" = $((before + 1))
check "... and the staged version compares" $((before + 1)) "$(staged_events staged-allow connect4 127.0.0.2)"
check "nothing of either is left on the old cgroup" "" "$(ls -d "$PINS/$N"/cg-* "$PINS/$S"/cg-* 2>/dev/null | grep -c . | grep -v '^2$')"

# ---- a policy the daemon follows: the staged version goes where the daemon
# attaches it and leaves what it leaves; promote is refused (the daemon
# would put its own file back) ----
mkcg TOP daemon
D=$(pname daemon); track_policy "$D"
PD="$TMPD/policies" RUN="$TMPD/drun" LOG="$TMPD/daemon.log"
mkdir -p "$PD"
cat >"$PD/d.yaml" <<EOF
version: 1
name: $D
target:
  cgroup: "${TOP#"$CG2"/}/app-*"
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1, 127.0.0.2], ports: [80]}
EOF
mkdir "$TOP/app-1"
: >"$LOG"
LOGPOS=1
daemon_start "$CGF"
cgroups_of() {
	"$CGF" --json list | python3 -c '
import json, sys
print(" ".join(sorted(c["path"].rsplit("/", 1)[1] for p in json.load(sys.stdin)
                      if p["name"] == sys.argv[1] for c in p["cgroups"])))' "$1"
}
wait_for 10 test "$(cgroups_of "$D")" = app-1
sed 's/127.0.0.1, 127.0.0.2/127.0.0.1/' "$PD/d.yaml" >"$TMPD/d2.yaml"
"$CGF" apply --stage "$TMPD/d2.yaml" >/dev/null
check "staged beside a daemon's policy" app-1 "$(cgroups_of "$D@staged")"
mkdir "$TOP/app-2"
wait_for 10 test "$(cgroups_of "$D")" = "app-1 app-2"
check "the daemon attached a new cgroup: the staged version followed" "app-1 app-2" \
	"$(cgroups_of "$D@staged")"
before=$(N=$D staged_events staged-deny connect4 127.0.0.2)
check "in the new cgroup, allowed" ok "$(in_cg "$TOP/app-2" "$NP" connect tcp 127.0.0.2 80)"
wait_for 5 test "$(N=$D staged_events staged-deny connect4 127.0.0.2)" = $((before + 1))
check "... and compared" $((before + 1)) "$(N=$D staged_events staged-deny connect4 127.0.0.2)"
out=$("$CGF" promote "$D" 2>&1); rc=$?
check "promote of a daemon's policy: exit 1" 1 "$rc"
check_match "... saying where the file goes" "follows $PD/d.yaml \\(cgfence daemon\\)" "$out"
rmdir "$TOP/app-2"
wait_for 10 test "$(cgroups_of "$D@staged")" = app-1
check "a cgroup gone: the staged version left it too" app-1 "$(cgroups_of "$D@staged")"
kill "$DPID"; wait "$DPID" 2>/dev/null
"$CGF" detach "$D" >/dev/null

# ---- detach takes the staged version along ----
"$CGF" detach "$N" >/dev/null
check "detach NAME removes NAME@staged too" "no no" \
	"$([ -e "$PINS/$N" ] && echo yes || echo no) $([ -e "$PINS/$S" ] && echo yes || echo no)"
# ---- every valid policy can be staged: the staged programs (the version in
# force's verdict compared with their own) load wherever the plain ones do.
# to_names with a bind section used to pass check and apply, then fail to
# stage (the staged ingress program over the verifier's limit, E2BIG): the
# answer parser is now a global function, checked once.
mkcg CGK stage-all
K=$(pname stage-all); track_policy "$K"
stage_ok() {	# stage_ok LABEL FILE: apply, stage the same file, "applied staged"
	local f="$TMPD/stage-all.yaml" a s
	sed "s/^name: .*/name: $K/; /^target:/,/^[a-z]/{/^target:/d; /^  /d}" "$2" >"$f"
	"$CGF" apply "$f" --cgroup "$CGK" >/dev/null 2>&1 && a=applied || a="apply-failed"
	"$CGF" apply --stage "$f" >"$TMPD/stage.out" 2>&1 && s=staged ||
		s="stage-failed: $(grep -m1 -v warning "$TMPD/stage.out")"
	"$CGF" detach "$K" >/dev/null 2>&1
	check "stage $1" "applied staged" "$a $s"
}
policy_file names-bind >/dev/null <<EOF
version: 1
name: x
network:
  dns: {servers: [127.0.0.53]}
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.53], ports: [53], protocol: udp}
      - {action: allow, to_names: [api.example.test], ports: [443]}
  bind:
    default: allow
    rules:
      - {action: deny, ports: ["1-1023"]}
EOF
stage_ok "to_names with a bind section" "$TMPD/names-bind.yaml"
policy_file every >/dev/null <<EOF
version: 1
name: x
network:
  state: on
  dns: {servers: [127.0.0.53, "::1"], min_ttl: 30}
  sockets: {deny_types: [raw]}
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.53], ports: [53], protocol: udp}
      - {action: allow, to_names: [api.example.test, "*.cdn.example.test"], ports: [443, "8000-8100"], protocol: tcp}
      - {action: allow, to: [127.0.0.0/8], except: [127.0.0.9], ports: [80, 443, "9000-9100"]}
      - {action: deny, to: [127.0.0.2], ports: [22]}
  ingress:
    default: deny
    rules:
      - {action: allow, from: [127.0.0.0/8], ports: [8080], protocol: tcp}
  bind:
    default: allow
    rules:
      - {action: deny, ports: ["1-1023"]}
  redirect:
    - match: {to: [127.0.0.99], ports: [80], protocol: tcp}
      backends: [127.0.0.1:8081, 127.0.0.1:8082]
  rate_limit: {connections_per_second: 100, burst: 200}
sockopt:
  deny_set: [SO_REUSEPORT]
tcp: {initial_cwnd: 20}
devices: {default: allow}
sysctl: {default: allow}
accounting: true
log: {denials: true, connections: true, dns: true}
EOF
stage_ok "a policy with every section and setting" "$TMPD/every.yaml"
for e in examples/*.yaml; do
	stage_ok "examples/$(basename "$e")" "$e"
done
t_done
