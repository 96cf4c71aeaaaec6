#!/usr/bin/env bash
# Sockets from outside (issue 16, hole 4). The kernel runs the programs of
# the cgroup a socket was made in: a socket made before its process moved
# into the policy's cgroup, or passed in over SCM_RIGHTS, is not filtered.
# The test shows the hole (both send past a deny), then that apply, list,
# events and /metrics report each such socket (pid, comm, addresses, the
# socket's cgroup), and that network.outside_sockets: destroy resets them
# so the hole closes; a socket made in the cgroup is not reported.
. "$(dirname "$0")/lib.sh"

mkcg CGA outside-policy
mkcg CGO outside-other
P=$(pname outside)
track_policy "$P"
H=$PWD/tests/helpers/holder.py

# a TCP server that keeps every connection open, reading
python3 -c '
import selectors, socket
sel = selectors.DefaultSelector()
srv = socket.create_server(("127.0.0.2", 7000))
sel.register(srv, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for k, _ in sel.select():
        if k.fileobj is srv:
            sel.register(srv.accept()[0], selectors.EVENT_READ)
        else:
            try:
                data = k.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(k.fileobj)
' >"$TMPD/srv.out" &
T_PIDS+=($!)
wait_for 5 grep -q ready "$TMPD/srv.out" || not_ok "tcp server did not start"
serve udp 127.0.0.2 7001 || exit 1

policy() {
	policy_file "outside-$1" <<EOF
version: 1
name: $P
network:
  outside_sockets: $1
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.2]}
EOF
}
R=$(policy report) D=$(policy destroy)

# the holder connects in CGO, then moves into CGA; the giver connects in
# CGO and passes its socket to the holder, which then is in CGA
D1="$TMPD/h"
mkdir "$D1"
in_cg_bg "$CGO" python3 "$H" "$D1"
HPID=$!
T_PIDS+=("$HPID")
wait_for 5 test -e "$D1/listening" || not_ok "holder did not start"
echo "$HPID" >"$CGA/cgroup.procs"
in_cg "$CGO" python3 "$H" give "$D1" || not_ok "giver failed"
wait_for 5 test -e "$D1/ready" || not_ok "holder did not get the passed socket"
# a control: a socket made in CGA after the move, connected before the policy
in_cg_bg "$CGA" python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.2", 7000)); time.sleep(600)'
T_PIDS+=($!)
sleep 0.3

"$CGF" apply "$R" --cgroup "$CGA" >"$TMPD/apply.out" 2>"$TMPD/apply.err"
check "apply with sockets from outside succeeds" 0 $?
check "apply warns once per socket from outside (tcp, udp, passed)" 3 \
	"$(grep -c "socket from outside the policy's cgroups" "$TMPD/apply.err")"
check_match "the warning names the holder, its comm and the socket's cgroup" \
	"pid $HPID \(python3\) fd [0-9]+: tcp 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.2:7000, made in cgroup $CGO" \
	"$(grep tcp "$TMPD/apply.err" | head -1)"
check_match "the udp socket is named" "udp 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.2:7001" \
	"$(grep udp "$TMPD/apply.err")"

# the hole: the three sockets send past the deny; a new connection is denied
touch "$D1/go-1"
wait_for 5 test -e "$D1/result-1"
check "report: the socket made before the move is not filtered" "tcp ok" \
	"$(sed -n 1p "$D1/result-1")"
check "report: the connected udp socket is not filtered" "udp ok" "$(sed -n 2p "$D1/result-1")"
check "report: the socket passed over SCM_RIGHTS is not filtered" "passed ok" \
	"$(sed -n 3p "$D1/result-1")"
check "report: a socket made in the cgroup is denied" "new EPERM" "$(sed -n 4p "$D1/result-1")"

# list, list --json, events, /metrics
"$CGF" list --json >"$TMPD/list.json"
check "list --json: three sockets from outside" 3 "$(python3 -c '
import json, sys
p = [x for x in json.load(open(sys.argv[1])) if x["name"] == sys.argv[2]][0]
print(len(p["outside_sockets"]))' "$TMPD/list.json" "$P")"
check "list --json: each with pid, comm, protocol, addresses and the socket's cgroup" \
	"$HPID python3 $CGO report" "$(python3 -c '
import json, sys
p = [x for x in json.load(open(sys.argv[1])) if x["name"] == sys.argv[2]][0]
s = {(o["pid"], o["comm"], o["socket_cgroup"]) for o in p["outside_sockets"]}
assert all(o["remote"].startswith("127.0.0.2:700") and o["local"] for o in p["outside_sockets"])
assert sorted(o["protocol"] for o in p["outside_sockets"]) == ["tcp", "tcp", "udp"]
print(*s.pop(), p["outside_sockets_action"]) if len(s) == 1 else print(s)' "$TMPD/list.json" "$P")"
check "list: a line per socket from outside" 3 \
	"$("$CGF" list | grep -c "outside socket, not filtered: pid $HPID (python3)")"
"$CGF" events "$P" --json >"$TMPD/events.json" 2>/dev/null &
EV=$!
sleep 1
kill "$EV" 2>/dev/null
wait "$EV" 2>/dev/null
check "events: an outside-socket event per socket" 3 \
	"$(grep -c '"type":"outside-socket"' "$TMPD/events.json")"
"$CGF" events "$P" 2>/dev/null >"$TMPD/events.txt" &
EV=$!
sleep 1
kill "$EV" 2>/dev/null
wait "$EV" 2>/dev/null
check_match "events: the text line says it is not filtered" \
	"outside-socket +$P pid $HPID \(python3\) cgroup $CGA holds udp .* made in cgroup $CGO, not filtered" \
	"$(grep udp "$TMPD/events.txt")"
scrape_metrics "$TMPD/metrics" || not_ok "cgfence metrics did not answer"
check "metrics: cgfence_outside_sockets counts them" "cgfence_outside_sockets{policy=\"$P\"} 3" \
	"$(grep "^cgfence_outside_sockets{policy=\"$P\"}" "$TMPD/metrics")"

# destroy: a re-apply resets each of them, and the hole closes
"$CGF" apply "$D" --cgroup "$CGA" >/dev/null 2>"$TMPD/apply2.err"
check "apply (destroy) succeeds" 0 $?
check "apply (destroy) says each socket was destroyed" 3 \
	"$(grep -c "(destroyed)" "$TMPD/apply2.err")"
touch "$D1/go-2"
wait_for 5 test -e "$D1/result-2"
check "destroy: the socket made before the move cannot send" "tcp ECONNABORTED" \
	"$(sed -n 1p "$D1/result-2")"
check_match "destroy: the udp socket cannot send" "^udp E(PIPE|DESTADDRREQ|CONNABORTED)$" \
	"$(sed -n 2p "$D1/result-2")"
check "destroy: the passed socket cannot send" "passed ECONNABORTED" "$(sed -n 3p "$D1/result-2")"
check "destroy: list shows no socket left that can send or receive" "" \
	"$("$CGF" list --json | python3 -c '
import json, sys
p = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]][0]
print(*[o["protocol"] for o in p["outside_sockets"] if o["shut_down"] != "both"])' "$P")"
check "destroy: the socket made in the cgroup is not touched" 1 \
	"$(ss -tnH state established dst 127.0.0.2:7000 | wc -l)"

# the daemon looks every --repair-interval: a holder moved into a cgroup
# the daemon's policy targets is said once per socket, in its log and events
mkcg CGB outside-daemon
P2=$(pname outside-daemon)
track_policy "$P2"
PD="$TMPD/policies" RUN="$TMPD/run" LOG="$TMPD/daemon.log"
mkdir -p "$PD"
: >"$LOG"
D2="$TMPD/h2"
mkdir "$D2"
in_cg_bg "$CGO" python3 "$H" "$D2"
H2=$!
T_PIDS+=("$H2")
wait_for 5 test -e "$D2/listening" || not_ok "second holder did not start"
echo "$H2" >"$CGB/cgroup.procs"
in_cg "$CGO" python3 "$H" give "$D2" || not_ok "second giver failed"
wait_for 5 test -e "$D2/ready" || not_ok "second holder did not get the passed socket"
printf 'version: 1\nname: %s\ntarget: {cgroup: "%s"}\nnetwork:\n  egress:\n    default: allow\n' \
	"$P2" "$CGB" >"$PD/p2.yaml"
logpos
daemon_start "$CGF" || not_ok "daemon did not start"
wait_for 10 logged "event=outside-socket policy=$P2 .*pid $H2 (python3) fd [0-9]*: udp"
check_match "daemon: its log names the socket from outside" \
	"event=outside-socket policy=$P2 socket=\"pid $H2 \(python3\) fd [0-9]+: udp 127.0.0.1:[0-9]+ -> 127.0.0.2:7001, made in cgroup $CGO\"" \
	"$(grep "policy=$P2 .*udp" "$LOG")"
sleep 2.5	# two more looks: each socket is said once
check "daemon: once per socket, in its log" 3 "$(grep -c "event=outside-socket policy=$P2 " "$LOG")"
check "daemon: once per socket, as an event" 3 \
	"$(grep -c '"type":"outside-socket"' "$RUN/events/$P2.jsonl")"
kill "$DPID"
wait "$DPID" 2>/dev/null

t_done
