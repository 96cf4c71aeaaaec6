#!/usr/bin/env bash
# Events: a denied connect is one event with the right fields, seen by every
# reader; audit mode reports "would deny" and denies nothing; a flood of
# denials is accounted for exactly (delivered + dropped + suppressed) and
# the machine keeps working.
. "$(dirname "$0")/lib.sh"

export CGFENCE_RUN_DIR="$TMPD/run"
mkcg CG ev
mkcg CGA evaudit
N=$(pname ev) NA=$(pname evaudit) NF=$(pname flood) NR=$(pname rate)
track_policy "$N"; track_policy "$NA"; track_policy "$NF"; track_policy "$NR"

P=$(policy_file ev <<EOF
version: 1
name: $N
network:
  egress:
    default: allow
    rules:
      - {action: allow, to: [127.0.0.0/8]}
      - {action: deny, to: [127.0.0.3], ports: [80], protocol: tcp}
EOF
)
RULE_LINE=$(grep -n "action: deny" "$P" | cut -d: -f1)
"$CGF" apply "$P" --cgroup "$CG" >/dev/null
check "apply" 0 $?
bgrun() { "$@" & T_PIDS+=($!); }
bgrun "$CGF" events --follow --json "$N" >"$TMPD/f1"
bgrun "$CGF" events --follow --json "$N" >"$TMPD/f2"
sleep 0.5
# the probe's pid: the shell that execs netprobe writes its own
r=$(in_cg "$CG" sh -c 'echo $$ >"$0"; exec "$@"' "$TMPD/pid" "$NP" connect tcp 127.0.0.3 80)
check "denied connect: EPERM" EPERM "$r"
PID=$(cat "$TMPD/pid")
lines() { grep -c '"type":"deny"' "$1" 2>/dev/null; }
for _ in $(seq 50); do [ "$(lines "$TMPD/f1")" = 1 ] && [ "$(lines "$TMPD/f2")" = 1 ] && break; sleep 0.1; done
check "follower 1 saw it" 1 "$(lines "$TMPD/f1")"
check "follower 2 saw it" 1 "$(lines "$TMPD/f2")"
"$CGF" events --json "$N" >"$TMPD/once"
check "events (no --follow): exactly one event" 1 "$(wc -l <"$TMPD/once")"
check "all readers saw the same event" "$(cat "$TMPD/once")" "$(grep '"type":"deny"' "$TMPD/f1")"
python3 - "$TMPD/once" "$N" "$CG" "$PID" "$P" "$RULE_LINE" >"$TMPD/fields" 2>&1 <<'EOF'
import json, sys, datetime
e = json.loads(open(sys.argv[1]).readline())
name, cg, pid, path, line = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
age = (datetime.datetime.utcnow() - t).total_seconds()
checks = [
    ("type", e["type"] == "deny"), ("policy", e["policy"] == name),
    ("hook", e["hook"] == "connect4"), ("cgroup", e["cgroup"] == cg),
    ("cgroup_id", isinstance(e["cgroup_id"], int) and e["cgroup_id"] > 0),
    ("pid", e["pid"] == pid), ("comm", e["comm"] == "netprobe"),
    ("protocol", e["protocol"] == "tcp"), ("dst", e["dst"] == "127.0.0.3"),
    ("dport", e["dport"] == 80), ("verdict", e["verdict"] == "deny"),
    ("rule.line", e["rule"]["line"] == line), ("rule.file", e["rule"]["file"] == path),
    ("rule.text", "127.0.0.3" in e["rule"]["text"]), ("time", -5 < age < 120),
]
for k, ok in checks:
    print(("ok" if ok else "bad") + " " + k + ("" if ok else " " + json.dumps(e)))
EOF
while read -r res field rest; do
	check "event field $field" ok "$res${rest:+ $rest}"
done <"$TMPD/fields"
check "cgroup id is the cgroup's" "$(stat -c %i "$CG")" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cgroup_id"])' "$TMPD/once")"
check_match "text output: one line, verdict and rule" "deny +$N connect4 tcp -> 127.0.0.3:80 pid $PID \\(netprobe\\) cgroup $CG rule line $RULE_LINE: " "$("$CGF" events "$N")"
check "an allowed connect makes no event" ok "$(in_cg "$CG" "$NP" connect tcp 127.0.0.4 80 --timeout-ms 200 | sed 's/ECONNREFUSED/ok/')"
sleep 0.3
check "still one event" 1 "$("$CGF" events --json "$N" | wc -l)"

# audit: would-deny events, nothing denied
sed "s/^name: .*/name: $NA\nmode: audit/" "$P" >"$TMPD/audit.yaml"
"$CGF" apply "$TMPD/audit.yaml" --cgroup "$CGA" >/dev/null
check "audit: the connect is not denied" ECONNREFUSED "$(in_cg "$CGA" "$NP" connect tcp 127.0.0.3 80)"
"$CGF" events --json "$NA" >"$TMPD/audit"
# (connect4 would deny; the SYN that then leaves would be denied by egress too)
check "audit: one would-deny event from connect4" 1 "$(grep '"type":"would-deny"' "$TMPD/audit" | grep -c '"hook":"connect4"')"
check "audit: nothing but would-deny events" 0 "$(grep -vc '"type":"would-deny"' "$TMPD/audit")"
check_match "audit: verdict says it was allowed" '"verdict":"allow \(audit\)"' "$(cat "$TMPD/audit")"

# a flood with no per-rule rate: the reader keeps up or says how much was lost
F=$(policy_file flood <<EOF
version: 1
name: $NF
log: {denials_per_second: 0}
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
EOF
)
"$CGF" apply "$F" --cgroup "$CG" >/dev/null
bgrun "$CGF" events --follow --json "$NF" >"$TMPD/flood"
FPID=$!
sleep 0.3
in_cg_bg "$CG" "$NP" flood 127.0.0.3 53 200000 >"$TMPD/flood.out"
FL=$!
# meanwhile, the machine works: a connect outside the cgroup completes
check "during the flood: a connect elsewhere works" ok "$(timeout 20 "$NP" connect udp 127.0.0.9 53)"
wait "$FL"
check "flood: 200000 connects denied" "ok=0 eperm=200000 other=0" "$(cat "$TMPD/flood.out")"
sleep 1
kill "$FPID"; wait "$FPID" 2>/dev/null
check "flood: the follower printed events" yes "$([ -s "$TMPD/flood" ] && echo yes || echo no)"
"$CGF" events --json "$NF" >"$TMPD/flood"	# all of it, and what the follower had not moved
python3 - "$TMPD/flood" >"$TMPD/sum" <<'EOF'
import json, sys
delivered, dropped, suppressed = 0, 0, 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["type"] == "deny":
        delivered += 1
    elif e["type"] == "lost":
        dropped += e["dropped"]; suppressed += e["suppressed"]
print(delivered, dropped, suppressed)
EOF
read -r DEL DROP SUP <"$TMPD/sum"
check "flood: delivered + dropped = 200000 (delivered $DEL, dropped $DROP)" 200000 $((DEL + DROP))
check "flood: nothing suppressed without a rate" 0 "$SUP"
ST=$("$CGF" stats --json "$NF")
check "flood: stats agree (sent, dropped)" "$DEL $DROP" "$(python3 -c 'import json,sys; e=json.load(sys.stdin)[0]["events"]; print(e["sent"], e["dropped"])' <<<"$ST")"

# the default per-rule rate: most of a flood is suppressed, and counted
R=$(policy_file rate <<EOF
version: 1
name: $NR
log: {denials_per_second: 50}
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
EOF
)
"$CGF" detach "$NF" >/dev/null
"$CGF" apply "$R" --cgroup "$CG" >/dev/null
check "rate: 20000 connects denied" "ok=0 eperm=20000 other=0" "$(in_cg "$CG" "$NP" flood 127.0.0.3 53 20000)"
"$CGF" events --json "$NR" >"$TMPD/rate"
read -r S D Q < <(python3 -c 'import json,sys; e=json.load(sys.stdin)[0]["events"]; print(e["sent"], e["dropped"], e["suppressed"])' <<<"$("$CGF" stats --json "$NR")")
check "rate: sent + dropped + suppressed = 20000" 20000 $((S + D + Q))
check "rate: most suppressed (sent $S)" yes "$([ "$Q" -gt 15000 ] && echo yes || echo no)"
check "rate: the log says how many were suppressed" "$Q" "$(python3 -c '
import json,sys
print(sum(json.loads(l).get("suppressed", 0) for l in open(sys.argv[1])))' "$TMPD/rate")"

# log.denials: false: denied, but no event
sed "s/^log: .*/log: {denials: false}/" "$R" >"$TMPD/quiet.yaml"
"$CGF" apply "$TMPD/quiet.yaml" --cgroup "$CG" >/dev/null
"$CGF" events --json "$NR" >/dev/null	# what was there before
before=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["events"]["sent"])' <<<"$("$CGF" stats --json "$NR")")
check "denials: false: still denied" EPERM "$(in_cg "$CG" "$NP" connect udp 127.0.0.3 53)"
check "denials: false: no event sent" "$before" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["events"]["sent"])' <<<"$("$CGF" stats --json "$NR")")"

# the deciding rule reaches every event: devices, sysctl and sockopt name theirs
mkcg CGS evsec
NS=$(pname evsec); track_policy "$NS"
S=$(policy_file evsec <<EOF
version: 1
name: $NS
devices:
  default: allow
  rules:
    - {action: deny, path: /dev/null, access: w}
sysctl:
  default: allow
  rules:
    - {action: read-only, names: ["net/ipv4/ip_forward"]}
sockopt:
  deny_set: [SO_REUSEPORT]
EOF
)
"$CGF" apply "$S" --cgroup "$CGS" >/dev/null
check "apply devices+sysctl+sockopt" 0 $?
check "device write denied" EPERM "$(in_cg "$CGS" "$NP" open /dev/null w)"
check "sysctl write denied" EPERM "$(in_cg "$CGS" "$NP" sysctl-write net/ipv4/ip_forward 0)"
check "setsockopt denied" EPERM "$(in_cg "$CGS" "$NP" setsockopt SO_REUSEPORT)"
"$CGF" events --json "$NS" >"$TMPD/sec"
rule_of() {	# rule_of HOOK: "LINE TEXT" of the deciding rule of HOOK's event
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("hook") == sys.argv[2]:
        print(e["rule"]["line"], e["rule"]["text"]); break' "$TMPD/sec" "$1"
}
line_of() { grep -n -- "$1" "$S" | cut -d: -f1; }
check "device event names its rule" "$(line_of /dev/null) devices: deny /dev/null w" "$(rule_of dev)"
check "sysctl event names its rule" "$(line_of read-only) sysctl: read-only net/ipv4/ip_forward" \
	"$(rule_of sysctl)"
check "sockopt event names its rule" "$(line_of SO_REUSEPORT) sockopt: deny_set SO_REUSEPORT" \
	"$(rule_of setsockopt)"

# bad usage
"$CGF" events --bogus >/dev/null 2>&1
check "events --bogus: exit 2" 2 $?
"$CGF" events "$(pname nosuch)" >/dev/null 2>&1
check "events of an unknown policy: exit 1" 1 $?

# one life of a policy: a name applied, detached and applied again shares
# its log, and shows only this life's events unless --all
NL=$(pname life)
track_policy "$NL"
mkcg CGL life
deny_one_policy life "$NL" 127.0.0.3 >/dev/null
"$CGF" apply "$TMPD/life.yaml" --cgroup "$CGL" >/dev/null
in_cg "$CGL" "$NP" connect tcp 127.0.0.3 80 >/dev/null
"$CGF" events --json "$NL" >"$TMPD/life1"
check "first life: its denial" 1 "$(grep -c '"type":"deny"' "$TMPD/life1")"
I1=$(grep -o '"instance":"[^"]*"' "$TMPD/life1" | sort -u)
check_match "each event names its life (boot and ring buffer)" '^"instance":"[0-9a-f]{8}-[0-9]+"$' "$I1"
"$CGF" detach "$NL" >/dev/null
"$CGF" apply "$TMPD/life.yaml" --cgroup "$CGL" >/dev/null
check "second life: the first life's events are not shown" 0 \
	"$("$CGF" events --json "$NL" | grep -c '"type":"deny"')"
check "second life: --all shows them" 1 "$("$CGF" events --all --json "$NL" | grep -c '"type":"deny"')"
in_cg "$CGL" "$NP" connect tcp 127.0.0.3 80 >/dev/null
"$CGF" events --json "$NL" >"$TMPD/life2"
check "second life: only its own denial" 1 "$(grep -c '"type":"deny"' "$TMPD/life2")"
I2=$(grep -o '"instance":"[^"]*"' "$TMPD/life2" | sort -u)
check "second life: another instance" "yes" "$([ -n "$I2" ] && [ "$I1" != "$I2" ] && echo yes)"
check "the text output filters the same way" 1 \
	"$("$CGF" events "$NL" | grep -c "deny")"

t_done
