#!/usr/bin/env bash
# Upgrades with policies in force. The release of 2026-12-01 (main at
# efe2968, built from git by `make upgrade-artifacts`) applies policies
# (egress, bind, accounting, events, redirect, and a glob target through its
# daemon); under connect loops in the cgroups this cgfence lists them, reads
# their stats and events, re-applies them, applies a changed version, takes
# over the daemon and detaches: never a wrong verdict, nothing of the old
# layout left. Then a downgrade: pins of a newer layout (this tree built
# with the next CGF_LAYOUT) are refused and left exactly as they are.
. "$(dirname "$0")/lib.sh"

UP=${UPGRADE_OUT:-$PWD/.output-upgrade}
OLD=$UP/efe2968/cgfence
NEXT=$UP/next/cgfence
MARK=/sys/fs/bpf/cgfence/LAYOUT

LAYOUT=$("$CGF" --json version | python3 -c 'import json,sys; print(json.load(sys.stdin)["pin_layout"])')
mkcg CGE egress
mkcg CGR redirect
mkcg TOP glob
REL=${TOP#"$CG2"/}
E=$(pname up-egress) R=$(pname up-redir) G=$(pname up-glob)
track_policy "$E"; track_policy "$R"; track_policy "$G"
PD="$TMPD/policies" RUN="$TMPD/run" LOG="$TMPD/daemon.log"
mkdir -p "$PD"
export CGFENCE_RUN_DIR=$RUN

egress_policy() {	# egress_policy EXTRA_DENY: the egress policy, one more denied host
	policy_file "egress$1" <<EOF
version: 1
name: $E
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.2]}
      - {action: deny, to: [$1]}
  bind:
    default: allow
    rules:
      - {action: deny, ports: ["1-1023"]}
accounting: true
log:
  denials: true
EOF
}
EP=$(egress_policy 127.0.0.250)
EP2=$(egress_policy 127.0.0.4)
RP=$(policy_file redir <<EOF
version: 1
name: $R
network:
  redirect:
    - match: {to: [127.0.0.99], ports: [80], protocol: tcp}
      to: 127.0.0.1:8081
EOF
)
cat >"$PD/glob.yaml" <<EOF
version: 1
name: $G
target:
  cgroup: "$REL/app-*"
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
EOF

stop_daemon() { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
LOGPOS=1
touch "$LOG"
layouts() { "$CGF" --json list | python3 -c '
import json, sys
print(" ".join("%s=%s" % (p["name"].split("-", 1)[1], p.get("layout")) for p in json.load(sys.stdin)))'; }
pinset() { find /sys/fs/bpf/cgfence -printf '%P %y\n' | sort | md5sum; }

if [ ! -x "$OLD" ]; then
	ok "upgrade from efe2968 # SKIP no build of it (git history absent; make upgrade-artifacts)"
else
	# the old release applies everything
	"$OLD" apply "$EP" --cgroup "$CGE" >/dev/null
	check "old: apply egress+bind+accounting+events" 0 $?
	"$OLD" apply "$RP" --cgroup "$CGR" >/dev/null
	check "old: apply redirect" 0 $?
	daemon_start "$OLD"
	check "old daemon ready" 0 $?
	mkdir "$TOP/app-1"
	wait_for 10 test -d /sys/fs/bpf/cgfence/"$G"
	check "old daemon: glob policy pinned" 0 $?
	wait_for 10 sh -c "ls /sys/fs/bpf/cgfence/$G/cg-* >/dev/null 2>&1"
	serve tcp 127.0.0.1 8081 A
	check "old: redirect works" "A peer=127.0.0.99:80" "$(in_cg "$CGR" "$NP" hello tcp 127.0.0.99 80)"
	check "old: bind denied" EPERM "$(in_cg "$CGE" "$NP" bind tcp 127.0.0.1 80)"
	check "old: no layout mark" no "$([ -e "$MARK" ] && echo yes || echo no)"

	# connect loops for the whole upgrade
	in_cg_bg "$CGE" "$NP" loop 127.0.0.1 9 127.0.0.2 9 120000 >"$TMPD/loop-e" 2>&1
	LE=$!; T_PIDS+=("$LE")
	in_cg_bg "$TOP/app-1" "$NP" loop 127.0.0.1 9 127.0.0.3 9 120000 >"$TMPD/loop-g" 2>&1
	LG=$!; T_PIDS+=("$LG")
	sleep 0.3

	# this cgfence reads what the old one applied
	check "new: list shows the old layout" "up-egress=1 up-glob=1 up-redir=1" "$(layouts)"
	st=$("$CGF" --json stats "$E")
	check "new: stats of an old policy" 0 $?
	check_match "new: its accounting counts the loop's denials" '"denied":[1-9]' "$st"
	hook_denied() { "$CGF" --json stats "$E" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["by_hook"]["denied"]["connect4"])'; }
	D0=$(hook_denied)
	check_match "new: the old stats map counts connect4's denials" '^[1-9][0-9]*$' "$D0"
	ev=$("$CGF" --json events "$E" | grep -c '"hook":"connect4".*"dst":"127.0.0.2".*"verdict":"deny"')
	check_match "new: events of an old policy (its denials)" '^[1-9][0-9]*$' "$ev"
	check_match "new: tree shows the old links" "$E" "$("$CGF" tree "$CGE")"

	# re-apply the same file, then a changed one: migrated with the atomic switch
	out=$("$CGF" --json apply "$EP" --cgroup "$CGE")
	check_match "new: re-apply replaces the old version" '"replaced":true' "$out"
	check "new: the mark says layout $LAYOUT" "$LAYOUT" "$(bpftool map dump pinned "$MARK" -j |
		python3 -c 'import json,sys
print(int.from_bytes(bytes(int(b, 16) for b in json.load(sys.stdin)[0]["value"]), "little"))')"
	"$CGF" apply "$RP" --cgroup "$CGR" >/dev/null
	check "new: re-apply redirect" 0 $?
	check "new: redirect still works" "A peer=127.0.0.99:80" \
		"$(in_cg "$CGR" "$NP" hello tcp 127.0.0.99 80)"
	check "new: 127.0.0.4 allowed before the change" ok "$(in_cg "$CGE" "$NP" connect udp 127.0.0.4 9)"
	"$CGF" apply "$EP2" --cgroup "$CGE" >/dev/null
	check "new: apply a changed version" 0 $?
	check "new: the change is in force" EPERM "$(in_cg "$CGE" "$NP" connect udp 127.0.0.4 9)"
	check "new: bind still denied" EPERM "$(in_cg "$CGE" "$NP" bind tcp 127.0.0.1 80)"
	check_match "new: generation counts on" '"generation":3' "$("$CGF" --json list | tr -d ' ' |
		grep -o "{\"name\":\"$E\",\"mode\":\"enforce\",\"generation\":[0-9]*")"

	# the daemon restarts on the new binary: it migrates what it follows
	stop_daemon
	check "old daemon stopped, glob still enforced" EPERM \
		"$(in_cg "$TOP/app-1" "$NP" connect udp 127.0.0.3 9)"
	logpos
	daemon_start "$CGF"
	check "new daemon ready" 0 $?
	check_match "new daemon migrates the glob policy" "event=migrated policy=$G .*layout=1->$LAYOUT" \
		"$(tail -n +"$LOGPOS" "$LOG" | grep event=migrated)"
	mkdir "$TOP/app-2"
	wait_for 10 sh -c "[ \$(ls -d /sys/fs/bpf/cgfence/$G/cg-* | wc -l) = 2 ]"
	check "new daemon: a new cgroup is enforced" EPERM \
		"$(in_cg "$TOP/app-2" "$NP" connect udp 127.0.0.3 9)"
	check "nothing of the old layout left" "up-egress=$LAYOUT up-glob=$LAYOUT up-redir=$LAYOUT" \
		"$(layouts)"
	# layout 2: accounting, rate limit and cgroups maps without preallocation,
	# the old ones replaced at the switch (their -next pins promoted)
	for n in "$E" "$R" "$G"; do
		for m in acct ratelimit cgroups; do
			check "$n: $m pinned without preallocation" 1 "$(bpftool map show pinned \
				/sys/fs/bpf/cgfence/"$n"/$m -j | python3 -c 'import json,sys
print(json.load(sys.stdin)["flags"] & 1)')"
		done
	done
	check "no -next pins left" 0 "$(ls /sys/fs/bpf/cgfence/"$TID"-up-*/ | grep -c -- -next)"
	check_match "accounting went on across the migration" '"denied":[1-9]' \
		"$("$CGF" --json stats "$E")"
	D1=$(hook_denied)
	check "the per-hook counters went on across the migration (stats replaced, copied)" yes \
		"$([ "${D1:-0}" -ge "${D0:-1}" ] && echo yes || echo "no: $D0 then $D1")"

	sleep 0.3
	kill "$LE" "$LG" 2>/dev/null; wait "$LE" "$LG" 2>/dev/null
	for l in e g; do
		line=$(cat "$TMPD/loop-$l")
		check_match "loop $l: allowed host never denied" '^A:ok=[0-9]{3,},eperm=0,other=0' "$line"
		check_match "loop $l: denied host never allowed" 'B:ok=0,eperm=[0-9]{3,},other=0$' "$line"
	done
	stop_daemon
	for n in "$E" "$R" "$G"; do "$CGF" detach "$n" >/dev/null || not_ok "detach $n"; done
	left=$(ls -d /sys/fs/bpf/cgfence/"$TID"-up-* 2>/dev/null | wc -l)
	check "new: detach leaves no pins" 0 "$left"
	check "new: allowed again after detach" ok "$(in_cg "$CGE" "$NP" connect udp 127.0.0.2 9)"
fi

# a downgrade: pins of the next layout are refused, and nothing changes
if [ ! -x "$NEXT" ]; then
	not_ok "no build with the next layout ($NEXT; make upgrade-artifacts)"
else
	"$NEXT" apply "$EP" --cgroup "$CGE" >/dev/null
	check "next: apply" 0 $?
	before=$(pinset)
	gen_before=$("$NEXT" --json list | grep -o '"generation":[0-9]*' | tr '\n' ' ')
	for cmd in "apply $EP --cgroup $CGE" "detach $E" "list" "stats $E" "detach --all"; do
		# shellcheck disable=SC2086
		err=$("$CGF" $cmd 2>&1 >/dev/null)
		rc=$?
		check "downgrade: '${cmd%% *}' refused (exit 1)" 1 "$rc"
		check_match "downgrade: '${cmd%% *}' says why" \
			"applied by a newer cgfence \\(pin layout [0-9]+; this cgfence .* knows layouts 1 to [0-9]+\\): nothing was changed" "$err"
	done
	check "downgrade: the pins are untouched" "$before" "$(pinset)"
	check "downgrade: the version in force is untouched" "$gen_before" \
		"$("$NEXT" --json list | grep -o '"generation":[0-9]*' | tr '\n' ' ')"
	check "downgrade: still enforced" EPERM "$(in_cg "$CGE" "$NP" connect udp 127.0.0.2 9)"
	"$NEXT" detach "$E" >/dev/null
	check "next: detach" 0 $?
	if [ -z "$(find /sys/fs/bpf/cgfence -mindepth 1 -maxdepth 1 -type d)" ]; then
		check "the mark goes with the last policy" no "$([ -e "$MARK" ] && echo yes || echo no)"
	fi
	check "this cgfence works again" 0 "$("$CGF" list >/dev/null; echo $?)"
fi
[ "$N_FAIL" -eq 0 ] || { echo "daemon log:"; sed "s/^/  # /" "$LOG"; }
t_done
