#!/usr/bin/env bash
# Re-applying swaps the programs behind the pinned links: under a steady load
# of connects, 100 re-applies (alternating two versions that agree on the
# probed destinations but differ otherwise, one adding an ingress hook) never
# produce a wrong verdict.
. "$(dirname "$0")/lib.sh"

mkcg CG reapply
NAME=$(pname reapply); track_policy "$NAME"
A=$(policy_file a <<EOF
version: 1
name: $NAME
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1]}
      - {action: deny, to: [127.0.0.2]}
      - {action: allow, to: [127.0.0.0/16], ports: ["1000-2000"]}
EOF
)
B=$(policy_file b <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.2]}
      - {action: deny, to: [127.0.5.0/24, "::1"], ports: [53], protocol: udp}
  ingress:
    default: allow
    rules:
      - {action: deny, from: [127.0.0.9]}
EOF
)
"$CGF" apply "$A" --cgroup "$CG" >/dev/null
check "first apply" 0 $?
links_before=$(ls /sys/fs/bpf/cgfence/"$NAME"/cg-*/ | sort | tr '\n' ' ')

res="$TMPD/loop"
in_cg_bg "$CG" "$NP" loop 127.0.0.1 9 127.0.0.2 9 600000 >"$res" 2>&1
LOOP=$!; T_PIDS+=("$LOOP")
sleep 0.2
fails=0
for i in $(seq 100); do
	if [ $((i % 2)) -eq 1 ]; then f=$B; else f=$A; fi
	"$CGF" apply "$f" --cgroup "$CG" >/dev/null || fails=$((fails + 1))
done
sleep 0.2
kill "$LOOP" 2>/dev/null; wait "$LOOP" 2>/dev/null
check "100 re-applies succeed" 0 "$fails"
line=$(cat "$res")
check_match "loop ran" '^A:ok=[0-9]+' "$line"
a_ok=$(sed -E 's/^A:ok=([0-9]+).*/\1/' <<<"$line")
[ "$a_ok" -gt 1000 ] && ok "enough connects during the swaps ($a_ok)" || not_ok "too few connects ($line)"
check_match "allowed destination never denied" 'A:ok=[0-9]+,eperm=0,other=0' "$line"
check_match "denied destination never allowed" 'B:ok=0,eperm=[0-9]+,other=0' "$line"
links_after=$(ls /sys/fs/bpf/cgfence/"$NAME"/cg-*/ | sort | tr '\n' ' ')
check "egress links kept (updated, not re-created)" "$links_before" "$links_after"
check_match "generation counts the applies" '"generation":101' "$("$CGF" --json list)"
check_match "re-apply reports replaced" '"replaced":true' "$("$CGF" --json apply "$A" --cgroup "$CG")"
t_done
