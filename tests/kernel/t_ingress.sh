#!/usr/bin/env bash
# Ingress on the real kernel: packets arriving at the cgroup's sockets are
# dropped by source address; ports are the local (destination) port. Under
# network.state: off, each packet alone (t_state.sh: connections).
. "$(dirname "$0")/lib.sh"

mkcg CG ingress
NAME=$(pname ingress); track_policy "$NAME"
POL=$(policy_file ingress <<EOF
version: 1
name: $NAME
network:
  state: off
  ingress:
    default: allow
    rules:
      - action: deny
        from: [127.0.0.5]
      - action: allow           # more specific: this local port accepts 127.0.0.5
        from: [127.0.0.5]
        ports: [7001]
      - action: deny
        from: ["::1"]
        ports: [7100]
        protocol: udp
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply ingress policy" 0 $?

# recv_from CG ADDR PORT FROM: a UDP receiver in CG, a sender outside
recv_from() {
	local f="$TMPD/recv.$RANDOM" pid
	in_cg_bg "$1" "$NP" recv udp "$2" "$3" --timeout-ms 1500 >"$f"
	pid=$!
	for _ in $(seq 100); do grep -q ready "$f" 2>/dev/null && break; sleep 0.02; done
	"$NP" sendto udp "$2" "$3" --from "$4" >/dev/null
	wait "$pid"
	tail -1 "$f"
}

check "udp from denied source dropped"     timeout          "$(recv_from "$CG" 127.0.0.1 7000 127.0.0.5)"
check "udp from other source received"     "got 127.0.0.6"  "$(recv_from "$CG" 127.0.0.1 7000 127.0.0.6)"
check "local port rule lets it in"         "got 127.0.0.5"  "$(recv_from "$CG" 127.0.0.1 7001 127.0.0.5)"
check "ipv6 udp to denied port dropped"    timeout          "$(recv_from "$CG" ::1 7100 ::1)"
check "ipv6 udp to other port received"    "got ::1"        "$(recv_from "$CG" ::1 7101 ::1)"

# TCP: the SYN-ACK from a denied source never reaches the client
serve tcp 127.0.0.5 80; serve tcp 127.0.0.6 80
check "tcp reply from denied source dropped" timeout "$(in_cg "$CG" "$NP" connect tcp 127.0.0.5 80 --timeout-ms 300)"
check "tcp reply from other source passes"   ok      "$(in_cg "$CG" "$NP" connect tcp 127.0.0.6 80)"
# negative control: outside the cgroup the same receiver gets the datagram
f="$TMPD/ctl"; "$NP" recv udp 127.0.0.1 7002 --timeout-ms 1500 >"$f" & p=$!
for _ in $(seq 100); do grep -q ready "$f" && break; sleep 0.02; done
"$NP" sendto udp 127.0.0.1 7002 --from 127.0.0.5 >/dev/null; wait $p
check "control: outside the cgroup it arrives" "got 127.0.0.5" "$(tail -1 "$f")"
t_done
