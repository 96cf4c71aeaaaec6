#!/usr/bin/env bash
# Connection state against a peer that never asked. Under network.state: on a
# datagram's source becomes a peer that asked, whose answers pass without an
# egress rule. A socket of the cgroup could name that source itself
# (IP_PKTINFO, or IPV6_PKTINFO with IPV6_FREEBIND: any address) in a datagram
# to another socket of the cgroup, which then "answers" a denied address.
# Egress-only policy (no ingress section), run as nobody: every such send is
# refused, nothing reaches the denied address; a server on the wildcard
# address still answers its clients, from the address it was asked at.
. "$(dirname "$0")/lib.sh"

SPOOF="/usr/bin/python3 $PWD/tests/helpers/spoof.py"	# not a shim in a home nobody cannot read
mkcg CG spoof
P=$(pname spoof); track_policy "$P"
POL=$(policy_file spoof <<EOF
version: 1
name: $P
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3]}
      - {action: deny, to: ["::1"], ports: [9000], protocol: udp}
EOF
)
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "egress-only policy applied" 0 $?
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)

# attack MODE VICTIM: the victim's count and the attacker's line
attack() {
	local fifo="$TMPD/victim.$RANDOM" line out
	mkfifo "$fifo"
	$SPOOF victim "$2" 9000 2 >"$fifo" &
	T_PIDS+=($!)
	exec 3<"$fifo"
	read -r line <&3
	out=$(in_cg "$CG" "${NOBODY[@]}" $SPOOF "$1")
	read -r line <&3
	exec 3<&-
	rm -f "$fifo"
	echo "$line $out"
}
check "control: the cgroup cannot send to 127.0.0.3 itself" EPERM \
	"$(in_cg "$CG" "$NP" connect udp 127.0.0.3 9000)"
check "IP_PKTINFO source 127.0.0.3 (sendmsg): refused, nothing reaches 127.0.0.3:9000" \
	"got=0 send=EPERM seen=timeout replies=0" "$(attack attack4 127.0.0.3)"
check "the same from a connected socket: refused" \
	"got=0 send=EPERM seen=timeout replies=0" "$(attack attack4c 127.0.0.3)"
check "IPV6_FREEBIND and IPV6_PKTINFO source ::1, to [::1]:9000: refused" \
	"got=0 send=EPERM seen=timeout replies=0" "$(attack attack6 ::1)"
st=$("$CGF" --json stats "$P" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["source_refused"])')
check "stats: the three refusals counted (source_refused)" 3 "$st"
scrape_metrics "$TMPD/metrics" || not_ok "cgfence metrics did not answer"
check_match "metrics: cgfence_source_refused_total" "cgfence_source_refused_total\{policy=\"$P\"\} 3" \
	"$(cat "$TMPD/metrics")"
ev=$("$CGF" --json events "$P")
check_match "events: the refused source (sendmsg), the rule that denies it" \
	'"hook":"sendmsg4".*"verdict":"deny","rule":\{"id":0,' "$(grep sendmsg4 <<<"$ev" | tail -1)"

# a server of the cgroup on the wildcard address answers its clients from the
# address they asked (IP_PKTINFO), and without it: both arrive, though egress
# denies 127.0.0.3, because the client asked
fifo="$TMPD/server"
mkfifo "$fifo"
in_cg "$CG" "${NOBODY[@]}" $SPOOF answers 0.0.0.0 9053 >"$fifo" &
T_PIDS+=($!)
read -r line <"$fifo"
check "a server of the cgroup on 0.0.0.0:9053" ready "$line"
check "... answers a client at 127.0.0.3 twice (a chosen source, and the kernel's)" answers=2 \
	"$($SPOOF ask 127.0.0.5 9053)"

# what no hook sees: a socket bound to an address not of this host
# (IPV6_FREEBIND, IP_TRANSPARENT, the host's ip_nonlocal_bind) sends from it,
# and its receiver answers there. The pairing: sockopt rules that deny the
# options (and ip_nonlocal_bind at 0 on the host)
mkcg CG2 spoof-pair
P2=$(pname spoof-pair); track_policy "$P2"
PAIR=$(policy_file spoof-pair <<EOF
version: 1
name: $P2
sockopt:
  deny_set: [IP_FREEBIND, IPV6_FREEBIND, IP_TRANSPARENT, IPV6_TRANSPARENT]
EOF
)
"$CGF" apply "$PAIR" --cgroup "$CG2" >/dev/null
check "pairing applied" 0 $?
fb() { in_cg "$CG2" /usr/bin/python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try:
    s.setsockopt(int(sys.argv[1]), int(sys.argv[2]), 1); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1" "$2"; }
check "pairing: IPV6_FREEBIND refused" EPERM "$(fb 41 78)"
check "pairing: IP_FREEBIND refused" EPERM "$(fb 0 15)"
check "control: without the pairing IPV6_FREEBIND is set" ok \
	"$(in_cg "$CG" /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).setsockopt(41, 78, 1); print("ok")')"
t_done
