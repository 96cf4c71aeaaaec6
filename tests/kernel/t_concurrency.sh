#!/usr/bin/env bash
# Concurrent applies, and applies racing detaches, serialize on cgfence's
# lock: every command succeeds or fails cleanly, and the end state is whole
# (one link per hook, no half-made pins).
. "$(dirname "$0")/lib.sh"

mkcg CG conc
NAME=$(pname conc); track_policy "$NAME"
A=$(deny_one_policy a "$NAME" 127.0.0.3)
B=$(deny_one_policy b "$NAME" 127.0.0.4)
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80
"$CGF" apply "$A" --cgroup "$CG" >/dev/null
pids=()
for i in $(seq 20); do
	if [ $((i % 2)) -eq 0 ]; then f=$A; else f=$B; fi
	"$CGF" apply "$f" --cgroup "$CG" >/dev/null 2>&1 & pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check "20 concurrent applies all succeed" 0 "$fails"
check_match "every apply counted (generation 21)" "\"name\":\"$NAME\",\"mode\":\"enforce\",\"generation\":21" "$("$CGF" --json list)"
check "one link per hook, not duplicates" 1 "$(bpftool cgroup show "$CG" | grep -c cgf_connect4)"
v3=$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80); v4=$(in_cg "$CG" "$NP" connect tcp 127.0.0.4 80)
check_match "exactly one version in force" "^(EPERM ok|ok EPERM)$" "$v3 $v4"

# applies racing detaches: whatever wins, the result is whole (every hook of
# the policy linked and pinned, or none)
NHOOKS=$("$CGF" --json check "$A" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hooks"]))')
whole=1
for i in $(seq 10); do
	"$CGF" apply "$A" --cgroup "$CG" >/dev/null 2>&1 & p1=$!
	"$CGF" detach "$NAME" >/dev/null 2>&1 & p2=$!
	wait $p1; wait $p2
	links=$(bpftool cgroup show "$CG" | grep -c "cgf_")
	pins=$(ls /sys/fs/bpf/cgfence/"$NAME"/cg-*/ 2>/dev/null | wc -l)
	if [ "$links" -eq "$pins" ] && { [ "$pins" -eq 0 ] || [ "$pins" -eq "$NHOOKS" ]; }; then :; else
		not_ok "race $i: $links links attached, $pins pinned"; whole=0; fi
done
[ "$whole" -eq 1 ] && ok "10 apply/detach races left whole states"
t_done
