#!/usr/bin/env bash
# A policy the daemon follows with a glob target attaches to at most 8,192
# cgroups (CGF_CGROUPS_MAX). Past that, a new cgroup the target names must
# not run unconfined: the daemon freezes it (cgroup.freeze), says so
# (attach-failed ... action=frozen), counts it (stats attach_failed,
# cgfence_attach_failed_total) and lists it in daemon.json; once a place is
# free (a cgroup removed) it attaches and thaws it. 8,200 cgroups, one hook.
. "$(dirname "$0")/lib.sh"

RUN="$TMPD/run" PD="$TMPD/policies" LOG="$TMPD/daemon.log"
mkdir -p "$RUN" "$PD"
: >"$LOG"
mkcg TOP full
REL=${TOP#"$CG2"/}
N=$(pname full); track_policy "$N"
cat >"$PD/full.yaml" <<EOF
version: 1
name: $N
target:
  cgroup: "$REL/c-*"
devices:
  default: allow
  rules:
    - {action: deny, path: /dev/zero, access: r}
EOF
# 8,190 cgroups before the daemon: its first apply attaches them all
for i in $(seq 1 8190); do mkdir "$TOP/c-$i"; done
logpos
# (daemon_start's 10 s are too short for 8,190 attaches under ASan)
"$CGF" daemon --policy-dir "$PD" --run-dir "$RUN" --repair-interval 1 >>"$LOG" 2>&1 &
DPID=$!
T_PIDS+=("$DPID")
wait_for 300 logged "event=ready" || not_ok "the daemon did not start"
wait_for 60 logged "event=applied policy=$N" || not_ok "the daemon did not apply the policy"
check "8,190 cgroups attached at start" 8190 "$(ls -d /sys/fs/bpf/cgfence/"$N"/cg-* | wc -l)"
logpos
for i in $(seq 8191 8200); do mkdir "$TOP/c-$i"; done
wait_for 120 sh -c "grep -c 'event=attach-failed policy=$N .*action=frozen' '$LOG' | grep -qx 8"
check "the 2 that fit are attached" 8192 "$(ls -d /sys/fs/bpf/cgfence/"$N"/cg-* | wc -l)"
check "the 8 past the limit: logged attach-failed, action=frozen" 8 \
	"$(grep -c "event=attach-failed policy=$N .*action=frozen" "$LOG")"
check "... frozen" "1 1" "$(cat "$TOP/c-8193/cgroup.freeze" "$TOP/c-8200/cgroup.freeze" | xargs)"
check "... an attached one is not" 0 "$(cat "$TOP/c-8192/cgroup.freeze")"
# a process moved into a frozen cgroup does not run until it is thawed
echo 0 >"$TMPD/ran"
sh -c 'echo $$ >"$0/cgroup.procs"; exec sh -c "echo 1 >$1"' "$TOP/c-8200" "$TMPD/ran" &
T_PIDS+=($!)
sleep 1
check "a process in a frozen cgroup does not run" 0 "$(cat "$TMPD/ran")"
check "stats: attach_failed counted" 8 \
	"$("$CGF" --json stats "$N" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["attach_failed"])')"
check "daemon.json lists the frozen cgroups" 8 \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["frozen"]))' "$RUN/daemon.json")"
# places free up: the frozen ones are attached and thawed at the next repair
logpos
for i in $(seq 1 8); do rmdir "$TOP/c-$i"; done
wait_for 120 sh -c "grep -c 'event=thawed policy=$N' '$LOG' | grep -qx 8"
check "8 places free: the 8 are attached and thawed" "8 0 0" \
	"$(grep -c "event=thawed policy=$N .*reason=attached" "$LOG") $(cat "$TOP/c-8193/cgroup.freeze" "$TOP/c-8200/cgroup.freeze" | xargs)"
wait_for 5 test "$(cat "$TMPD/ran")" = 1
check "... and the process in it runs, under the policy" 1 "$(cat "$TMPD/ran")"
check "... confined: the policy's device rule holds there" 1 \
	"$(in_cg "$TOP/c-8200" sh -c 'head -c 1 /dev/zero >/dev/null 2>&1; echo $?')"
kill "$DPID"; wait "$DPID" 2>/dev/null
t_done
