#!/usr/bin/env bash
# cgfence daemon: policy files come, change, break and go; cgroups matching
# a glob, a container id and a unit name come and go; the daemon is killed,
# restarted and told to reload; links detached from outside come back.
. "$(dirname "$0")/lib.sh"

mkcg TOP daemon
REL=${TOP#"$CG2"/}
PD="$TMPD/policies"
RUN="$TMPD/run"
LOG="$TMPD/daemon.log"
mkdir -p "$PD"
A=$(pname glob) B=$(pname ctr) U=$(pname unit)
track_policy "$A"; track_policy "$B"; track_policy "$U"
HEX=$(printf 'c0ffee%.0s' $(seq 11) | cut -c1-64)

start_daemon() { daemon_start "$CGF" "$@"; }
probe() { in_cg "$1" "$NP" connect udp "$2" 53; }
probe_is() { [ "$(probe "$1" "$2")" = "$3" ]; }	# for wait_for: probed anew each time
pinned() { ls /sys/fs/bpf/cgfence/"$1"/cg-* >/dev/null 2>&1; }
link_ids() { for f in /sys/fs/bpf/cgfence/"$1"/cg-*/*; do bpftool link show pinned "$f" | head -1 | cut -d: -f1; done | sort | tr '\n' ' '; }

write_glob() {	# write_glob DENY_ADDR...: policy A, in place
	local to
	to=$(IFS=,; echo "$*")
	cat >"$PD/a.yaml" <<EOF
version: 1
name: $A
target:
  cgroup: "$REL/app-*"
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [$to]}
EOF
}
write_glob 127.0.0.3
cat >"$PD/b.yaml" <<EOF
version: 1
name: $B
target:
  container: ${HEX:0:12}
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.5]}
EOF
: >"$LOG"
LOGPOS=1
start_daemon --metrics 127.0.0.1:9465
check "daemon: ready" 0 $?
check_match "daemon --metrics: serves its policies" "cgfence_policy_info\\{policy=\"$A\",mode=\"enforce\"" \
	"$(curl -sf http://127.0.0.1:9465/metrics)"
check "daemon: glob policy loaded with no cgroup yet" applied \
	"$(grep -q "event=applied policy=$A .*cgroups=0" "$LOG" && echo applied)"

# a second daemon is refused
"$CGF" daemon --policy-dir "$PD" --run-dir "$RUN" >"$TMPD/second" 2>&1
check "second instance: exit 1" 1 $?
check_match "second instance: says why" "another cgfence daemon is running \\(pid $DPID" "$(cat "$TMPD/second")"

# cgroups that match appear: attached before we look
mkdir "$TOP/app-1" "$TOP/other"
mkdir -p "$TOP/system.slice/docker-$HEX.scope"
wait_for 5 pinned "$A"
check "glob: app-1 attached" 0 $?
check "glob: app-1 enforced" EPERM "$(probe "$TOP/app-1" 127.0.0.3)"
check "glob: app-1 other address" ok "$(probe "$TOP/app-1" 127.0.0.4)"
check "glob: non-matching cgroup untouched" ok "$(probe "$TOP/other" 127.0.0.3)"
# the daemon moves the policy's events to the log while it runs
wait_for 5 grep -qs '"dst":"127.0.0.3"' "$RUN/events/$A.jsonl"
check "events: the daemon collected the denial" 0 $?
check "events: a reader sees it (the daemon holds the collector lock)" 1 \
	"$(CGFENCE_RUN_DIR=$RUN "$CGF" events --json "$A" | grep -c '"dst":"127.0.0.3"')"
wait_for 5 pinned "$B"
check "container: docker-<id>.scope enforced" EPERM "$(probe "$TOP/system.slice/docker-$HEX.scope" 127.0.0.5)"
check "container: glob policy not on it" ok "$(probe "$TOP/system.slice/docker-$HEX.scope" 127.0.0.3)"
mkdir -p "$TOP/app-2/nested"
wait_for 5 sh -c "[ \$(ls -d /sys/fs/bpf/cgfence/$A/cg-* | wc -l) -eq 2 ]"
check "glob: app-2 attached too (2 cgroups)" 0 $?
check "glob: app-2/nested covered through its parent" EPERM "$(probe "$TOP/app-2/nested" 127.0.0.3)"

# a unit target, by the systemd layout
cat >"$PD/u.yaml" <<EOF
version: 1
name: $U
target:
  unit: cgfence-$TID.service
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.6]}
EOF
mkdir -p "$TOP/system.slice/cgfence-$TID.service"
wait_for 5 pinned "$U"
check "unit: NAME.service enforced" EPERM "$(probe "$TOP/system.slice/cgfence-$TID.service" 127.0.0.6)"

# edit in place: the new verdict, and no wrong verdict during the swap
in_cg_bg "$TOP/app-1" "$NP" loop 127.0.0.3 53 127.0.0.4 53 2500 >"$TMPD/loop" 2>&1
LP=$!
sleep 0.5
logpos
write_glob 127.0.0.3 127.0.0.4
wait_for 5 logged "event=replaced policy=$A"
check "edit in place: replaced" 0 $?
wait $LP
check_match "edit in place: 127.0.0.3 denied throughout" "^A:ok=0,eperm=[1-9][0-9]*,other=0 " "$(cat "$TMPD/loop")"
check "edit in place: 127.0.0.4 now denied" EPERM "$(probe "$TOP/app-1" 127.0.0.4)"

# write to a temporary file and rename over
logpos
write_glob 127.0.0.4
sed "s/127.0.0.4/127.0.0.7/" "$PD/a.yaml" >"$PD/.a.tmp" && mv "$PD/.a.tmp" "$PD/a.yaml"
wait_for 5 logged "event=replaced policy=$A"
wait_for 5 probe_is "$TOP/app-1" 127.0.0.7 EPERM
check "rename over: new verdict" EPERM "$(probe "$TOP/app-1" 127.0.0.7)"
check "rename over: old rule gone" ok "$(probe "$TOP/app-1" 127.0.0.3)"

# a ConfigMap-style symlink swap: a.yaml -> ..data/a.yaml, ..data -> ..v1, then ..v2
mkdir "$PD/..v1" "$PD/..v2"
cp "$PD/a.yaml" "$PD/..v1/a.yaml"
sed "s/127.0.0.7/127.0.0.8/" "$PD/a.yaml" >"$PD/..v2/a.yaml"
ln -s ..v1 "$PD/..data"
ln -sfn ..data/a.yaml "$PD/.a.link" && mv -T "$PD/.a.link" "$PD/a.yaml"
sleep 0.3
logpos
ln -s ..v2 "$PD/..data_tmp" && mv -T "$PD/..data_tmp" "$PD/..data"
wait_for 5 probe_is "$TOP/app-1" 127.0.0.8 EPERM
check "symlink swap: new verdict" EPERM "$(probe "$TOP/app-1" 127.0.0.8)"
check "symlink swap: old rule gone" ok "$(probe "$TOP/app-1" 127.0.0.7)"
rm -f "$PD/a.yaml" "$PD/..data" && rm -rf "$PD/..v1" "$PD/..v2"
write_glob 127.0.0.3

# an invalid file: logged with its position, the old version stays
wait_for 5 probe_is "$TOP/app-1" 127.0.0.3 EPERM
logpos
printf 'version: 1\nname: %s\ntarget: {cgroup: "%s/app-*"}\nnetwork:\n  egress:\n    default: maybe\n' "$A" "$REL" >"$PD/a.yaml"
wait_for 5 logged "event=policy-invalid"
check_match "invalid file: error logged with file:line:col" "policy-invalid file=a.yaml error=\"$PD/a.yaml:6:14: " "$(tail -n +"$LOGPOS" "$LOG")"
check "invalid file: old policy still enforced" EPERM "$(probe "$TOP/app-1" 127.0.0.3)"
CGFENCE_RUN_DIR=$RUN "$CGF" list >"$TMPD/list"
check_match "list: the daemon's status" "daemon: pid $DPID follows $PD: 3 files, 1 with an error" "$(cat "$TMPD/list")"
check_match "list: the failing file" "a.yaml +$A +error, previous version in force: " "$(cat "$TMPD/list")"
check_match "list --json: managed_by daemon" "\"managed_by\":\"daemon\"" "$("$CGF" list --json)"
write_glob 127.0.0.3

# SIGKILL: every policy stays in force
all_in_force() { ! grep -q '"error"' "$RUN/daemon.json"; }
wait_for 5 all_in_force
IDS=$(link_ids "$A")
GEN=$("$CGF" list --json | python3 -c "import json,sys; print([p['generation'] for p in json.load(sys.stdin) if p['name']=='$A'][0])")
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
check "SIGKILL: glob policy in force" EPERM "$(probe "$TOP/app-1" 127.0.0.3)"
check "SIGKILL: container policy in force" EPERM "$(probe "$TOP/system.slice/docker-$HEX.scope" 127.0.0.5)"

# restart: adopt what is pinned, no re-attach (same links, same generation)
logpos
start_daemon
check "restart: adopted" 0 "$(logged "event=adopted policy=$A"; echo $?)"
check "restart: the same links" "$IDS" "$(link_ids "$A")"
check "restart: the same generation" "$GEN" "$("$CGF" list --json | python3 -c "import json,sys; print([p['generation'] for p in json.load(sys.stdin) if p['name']=='$A'][0])")"

# a link detached from outside is attached again (self-repair)
L=$(ls /sys/fs/bpf/cgfence/"$A"/cg-*/connect4 | head -1)
CG_OF_L=$(for c in "$TOP/app-1" "$TOP/app-2"; do [ "$(stat -c %i "$c")" = "$(basename "$(dirname "$L")" | cut -c4-)" ] && echo "$c"; done)
logpos
bpftool link detach id "$(bpftool link show pinned "$L" | head -1 | cut -d: -f1)"
check "detached from outside: not enforced for a moment" ok "$(probe "$CG_OF_L" 127.0.0.3)"
wait_for 5 logged "event=repaired"
check "self-repair: logged" 0 $?
check "self-repair: enforced again" EPERM "$(probe "$CG_OF_L" 127.0.0.3)"

# SIGHUP reloads
logpos
kill -HUP "$DPID"
wait_for 5 logged "event=ready"
check "SIGHUP: reloaded" 0 "$(logged "event=reload"; echo $?)"

# a cgroup goes: its pins go
ID1=$(stat -c %i "$TOP/app-1")
rmdir "$TOP/app-1"
wait_for 5 test ! -e "/sys/fs/bpf/cgfence/$A/cg-$ID1"
check "cgroup removed: its pins removed" 0 $?
check "cgroup removed: the policy stays for the others" 0 "$(pinned "$A"; echo $?)"

# a file goes: its policy goes
rm "$PD/b.yaml"
wait_for 5 test ! -e "/sys/fs/bpf/cgfence/$B"
check "file removed: policy detached" 0 $?
check "file removed: not enforced" ok "$(probe "$TOP/system.slice/docker-$HEX.scope" 127.0.0.5)"

# a pid target: the cgroup that process is in
PIDP=$(pname pid)
track_policy "$PIDP"
mkdir "$TOP/pidcg"
in_cg_bg "$TOP/pidcg" sleep 60
T_PIDS+=($!)
printf 'version: 1\nname: %s\ntarget: {pid: %s}\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.10]}\n' "$PIDP" "$!" >"$PD/p.yaml"
wait_for 5 pinned "$PIDP"
check "pid target: the process's cgroup enforced" EPERM "$(probe "$TOP/pidcg" 127.0.0.10)"
rm "$PD/p.yaml"
wait_for 5 test ! -e "/sys/fs/bpf/cgfence/$PIDP"

# SIGTERM: exit 0, policies stay
kill -TERM "$DPID"
wait "$DPID"
check "SIGTERM: exit 0" 0 $?
check "SIGTERM: policy stays" EPERM "$(probe "$TOP/app-2" 127.0.0.3)"

# a file removed while no daemon runs: detached at the next start
rm "$PD/u.yaml"
logpos
start_daemon --detach-on-exit
check "removed while stopped: detached at start" 0 "$(logged "event=detached policy=$U"; echo $?)"
# --detach-on-exit
kill -TERM "$DPID"
wait "$DPID"
check "--detach-on-exit: exit 0" 0 $?
check "--detach-on-exit: policy gone" absent "$([ -e "/sys/fs/bpf/cgfence/$A" ] && echo present || echo absent)"
check "--detach-on-exit: not enforced" ok "$(probe "$TOP/app-2" 127.0.0.3)"

# apply (no daemon) with a glob target: what matches now
G=$(pname glob-cli)
track_policy "$G"
mkdir -p "$TOP/cli-1" "$TOP/cli-2"
printf 'version: 1\nname: %s\ntarget: {cgroup: "%s/cli-*"}\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.11]}\n' "$G" "$REL" >"$TMPD/g.yaml"
check_match "apply with a glob: every match" "^applied $G to $TOP/cli-1 and 1 more cgroups" "$("$CGF" apply "$TMPD/g.yaml")"
check "apply with a glob: first match enforced" EPERM "$(probe "$TOP/cli-1" 127.0.0.11)"
check "apply with a glob: second match enforced" EPERM "$(probe "$TOP/cli-2" 127.0.0.11)"
"$CGF" detach "$G" >/dev/null
sed -i 's/cli-\*/nomatch-*/' "$TMPD/g.yaml"
"$CGF" apply "$TMPD/g.yaml" 2>"$TMPD/err"
check "apply with a glob matching nothing: exit 1" 1 $?
check_match "apply with a glob matching nothing: says where" "g.yaml:3:18: target '.*nomatch-\*' matches no cgroup now" "$(cat "$TMPD/err")"

# bad usage
"$CGF" daemon >/dev/null 2>&1
check "no --policy-dir: exit 2" 2 $?
"$CGF" daemon --policy-dir "$TMPD/nope" --run-dir "$RUN" 2>"$TMPD/err"
check "missing dir: exit 1" 1 $?
check_match "missing dir: named" "policy-dir $TMPD/nope: not a directory" "$(cat "$TMPD/err")"
"$CGF" daemon --policy-dir "$PD" --repair-interval 0 >/dev/null 2>&1
check "bad --repair-interval: exit 2" 2 $?

t_done
