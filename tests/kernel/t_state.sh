#!/usr/bin/env bash
# network.state: connections, not packets. Replies follow the verdict of the
# connection or datagram they answer; what arrives unasked is judged by
# ingress; a re-apply cuts what the new version does not allow; state: off
# keeps the per-packet behaviour.
. "$(dirname "$0")/lib.sh"

FLOWS="$(dirname "$0")/../helpers/flows.py"
sysctl -qw net.ipv4.ping_group_range="0 2147483647"	# ping sockets, this namespace only
ip addr add ::1/128 dev lo 2>/dev/null || true

# http_server CGROUP|- ADDR PORT: python's http.server, in CGROUP or outside
http_server() {
	local cg=$1 addr=$2 port=$3
	if [ "$cg" = - ]; then
		python3 -m http.server --bind "$addr" "$port" --directory "$TMPD" >/dev/null 2>&1 &
	else
		in_cg_bg "$cg" python3 -m http.server --bind "$addr" "$port" --directory "$TMPD" >/dev/null 2>&1
	fi
	T_PIDS+=($!)
	wait_for 5 curl -s -o /dev/null -g "http://${addr/::1/[::1]}:$port/" || not_ok "http.server on $addr:$port did not start"
}
# curl_code [curl options] URL: the HTTP status, 000 when nothing came back
curl_code() { curl -s -o /dev/null -g -m 2 -w '%{http_code}' "$@"; }

echo hello >"$TMPD/index.html"

# -- egress: {default: deny} with one allowed address: the server still answers
# (its SYN-ACKs, which the kernel sends as the listener, and all that follows)
mkcg WEB web
NW=$(pname web); track_policy "$NW"
PW=$(policy_file web <<EOF
version: 1
name: $NW
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.2], ports: [5432], protocol: tcp}
  ingress:                # and only its web port may be reached
    default: deny
    rules:
      - {action: allow, ports: [8080], protocol: tcp}
      - {action: allow, from: [127.0.0.21], protocol: udp}   # flows.py's peer
EOF
)
"$CGF" apply "$PW" --cgroup "$WEB" >/dev/null
check "egress deny: apply" 0 $?
http_server "$WEB" 127.0.0.1 8080
for src in 127.0.0.3 127.0.0.4 127.0.0.5; do
	check "egress deny: the server answers a client at $src" 200 "$(curl_code --interface "$src" http://127.0.0.1:8080/)"
done
check "egress deny: the server's own connect to 127.0.0.3 is denied" EPERM "$(in_cg "$WEB" "$NP" connect tcp 127.0.0.3 8080)"
serve tcp 127.0.0.2 5432
check "egress deny: the allowed address is reachable" ok "$(in_cg "$WEB" "$NP" connect tcp 127.0.0.2 5432)"

# -- ingress: {default: deny}: what the cgroup asks for comes back, nothing else
mkcg IN in
NI=$(pname in); track_policy "$NI"
PI=$(policy_file in <<EOF
version: 1
name: $NI
network:
  ingress:
    default: deny
EOF
)
"$CGF" apply "$PI" --cgroup "$IN" >/dev/null
check "ingress deny: apply" 0 $?
http_server - 127.0.0.7 8081
http_server - ::1 8082
check "ingress deny: curl from the cgroup (TCP)" 200 "$(in_cg "$IN" curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.7:8081/)"
check "ingress deny: curl from the cgroup (IPv6)" 200 "$(in_cg "$IN" curl -s -o /dev/null -g -m 2 -w '%{http_code}' 'http://[::1]:8082/')"
check "ingress deny: unconnected UDP, the answer from the peer" ok "$(python3 "$FLOWS" "$IN" udp-reply)"
check "ingress deny: connected UDP, the answer from the peer" ok "$(python3 "$FLOWS" "$IN" udp-reply-conn)"
check "ingress deny: IPv6 UDP, the answer from the peer" ok "$(python3 "$FLOWS" "$IN" udp-reply --v6)"
check "ingress deny: an answer from the peer's address, another port, is dropped" timeout "$(python3 "$FLOWS" "$IN" udp-other-port)"
check "ingress deny: an answer from another address is dropped" timeout "$(python3 "$FLOWS" "$IN" udp-other-addr)"
check "ingress deny: a datagram the socket did not ask for is dropped" timeout "$(python3 "$FLOWS" "$IN" udp-unasked)"
check "ingress deny: an unsolicited TCP connection is dropped" timeout "$(python3 "$FLOWS" "$IN" tcp-unasked)"
check "ingress deny: IPv6 unsolicited TCP connection is dropped" timeout "$(python3 "$FLOWS" "$IN" tcp-unasked --v6)"
check "ingress deny: ping (IPv4)" 0 "$(in_cg "$IN" ping -n -c 1 -W 1 127.0.0.9 >/dev/null 2>&1; echo $?)"
check "ingress deny: ping (IPv6)" 0 "$(in_cg "$IN" ping -6 -n -c 1 -W 1 ::1 >/dev/null 2>&1; echo $?)"
# DNS over UDP: dig in the cgroup asks dnsmasq outside
dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
	--listen-address=127.0.0.53 --bind-interfaces --port=5353 \
	--address=/svc.cgfence.test/127.0.0.99 --pid-file="$TMPD/dnsmasq.pid" 2>"$TMPD/dnsmasq.log" &
T_PIDS+=($!)
dig_ok() { dig @127.0.0.53 -p 5353 +time=1 +tries=1 +short svc.cgfence.test | grep -q 127.0.0.99; }
wait_for 5 dig_ok
check "ingress deny: dig in the cgroup gets its answer (unconnected UDP)" 127.0.0.99 \
	"$(in_cg "$IN" dig @127.0.0.53 -p 5353 +time=1 +tries=1 +short svc.cgfence.test)"
check "control: the same dig outside any policy" 127.0.0.99 "$(dig @127.0.0.53 -p 5353 +time=1 +tries=1 +short svc.cgfence.test)"

# a raw socket of protocol TCP is no connection: each packet judged by its address
mkcg RAW raw
NR=$(pname raw); track_policy "$NR"
PR=$(policy_file raw <<EOF
version: 1
name: $NR
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.66]}
EOF
)
"$CGF" apply "$PR" --cgroup "$RAW" >/dev/null
check "raw TCP socket: after an allowed packet, one to a denied address is dropped" "ok EPERM" \
	"$(python3 "$FLOWS" "$RAW" raw-tcp)"

# -- state: off: every packet judged alone (the behaviour before network.state)
mkcg OFF off
NO=$(pname off); track_policy "$NO"
PO=$(policy_file off <<EOF
version: 1
name: $NO
network:
  state: off
  ingress:
    default: deny
EOF
)
"$CGF" apply "$PO" --cgroup "$OFF" >/dev/null
check "state off: apply" 0 $?
check "state off: the TCP reply is dropped" 000 "$(in_cg "$OFF" curl -s -o /dev/null -m 1 -w '%{http_code}' http://127.0.0.7:8081/)"
check "state off: the UDP answer is dropped" timeout "$(python3 "$FLOWS" "$OFF" udp-reply)"
check "state off: ping's reply is dropped" 1 "$(in_cg "$OFF" ping -n -c 1 -W 1 127.0.0.9 >/dev/null 2>&1; echo $?)"

# -- UDP servers: answers to a client that asked pass egress: {default: deny}
check "egress deny: a UDP server in the cgroup answers its client" ok "$(python3 "$FLOWS" "$WEB" udp-serve)"
check "state off: its datagram to a server in the cgroup is dropped" timeout "$(python3 "$FLOWS" "$OFF" udp-serve)"

# -- long-lived connections: tickers both ways, so that a cut shows on each side
mkcg WORLD world	# outside every policy: the tests' servers and clients, killed at the end
# ticker_server CG ADDR PORT FILE: a TCP server that sends a tick every 50 ms and
# writes what it receives to FILE
ticker_server() {
	in_cg_bg "$1" socat TCP-LISTEN:"$3",bind="$2",reuseaddr,fork \
		SYSTEM:"(while :; do echo tick; sleep 0.05; done) & exec cat >$4"
	disown	# cgroup.kill ends it at exit
	listening() { ss -Htln "sport = :$1" | grep -q .; }
	wait_for 5 listening "$3"
}
# ticker_client CG ADDR PORT FILE [FROM]: the client side, from address FROM
ticker_client() {
	in_cg_bg "$1" sh -c "(while :; do echo tock; sleep 0.05; done) |
		socat - TCP:$2:$3${5:+,bind=$5} >$4"
	disown
}
# flowing FILE...: "yes" if every FILE grows within half a second, else "no"
flowing() {
	local f s
	declare -A before
	for f in "$@"; do before[$f]=$(stat -c %s "$f" 2>/dev/null || echo 0); done
	sleep 0.5
	for f in "$@"; do
		s=$(stat -c %s "$f" 2>/dev/null || echo 0)
		[ "$s" -gt "${before[$f]}" ] || { echo no; return; }
	done
	echo yes
}

mkcg LONG long
NL=$(pname long); track_policy "$NL"
long_policy() {	# long_policy DENIED: egress allows all but DENIED
	policy_file long <<EOF
version: 1
name: $NL
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [$1]}
EOF
}
ticker_server "$WORLD" 127.0.0.11 9000 "$TMPD/srv1"
ticker_client "$LONG" 127.0.0.11 9000 "$TMPD/cli1"
wait_for 5 test -s "$TMPD/cli1"
"$CGF" apply "$(long_policy 127.0.0.12)" --cgroup "$LONG" >/dev/null
check "long: apply" 0 $?
survived=0
for i in $(seq 50); do
	"$CGF" apply "$(long_policy 127.0.0.$((12 + i % 2)))" --cgroup "$LONG" >/dev/null || break
	survived=$i
done
check "long: 50 re-applies that keep its peer allowed" 50 "$survived"
check "long: the stream still flows both ways" yes "$(flowing "$TMPD/srv1" "$TMPD/cli1")"
"$CGF" events --json "$NL" >/dev/null	# what was there before
LP=$(long_policy 127.0.0.11)
"$CGF" apply "$LP" --cgroup "$LONG" >/dev/null
check "long: the re-apply that denies its peer" 0 $?
sleep 0.3
check "long: cut: nothing more reaches the server" no "$(flowing "$TMPD/srv1")"
check "long: cut: nothing more reaches the client" no "$(flowing "$TMPD/cli1")"
"$CGF" events --json "$NL" >"$TMPD/ev-long"
RULE_LINE=$(grep -n 'action: deny, to: \[127.0.0.11\]' "$LP" | cut -d: -f1)
check "long: a denial event names the peer and the rule (line $RULE_LINE)" yes "$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = any(e.get("type") == "deny" and "127.0.0.11" in (str(e.get("dst")) + str(e.get("src"))) and
         (e.get("rule") or {}).get("line") == int(sys.argv[2]) for e in ev)
print("yes" if ok else "no: %s" % ev[:3])' "$TMPD/ev-long" "$RULE_LINE")"

# -- connections made before the policy: judged on their next packet
mkcg PRE pre
NPRE=$(pname pre); track_policy "$NPRE"
ticker_server "$WORLD" 127.0.0.15 9001 "$TMPD/srv2"
ticker_server "$WORLD" 127.0.0.16 9002 "$TMPD/srv3"
ticker_client "$PRE" 127.0.0.15 9001 "$TMPD/cli2"
ticker_client "$PRE" 127.0.0.16 9002 "$TMPD/cli3"
ticker_server "$PRE" 127.0.0.1 9003 "$TMPD/srv4"	# a server in the cgroup ...
ticker_client "$WORLD" 127.0.0.1 9003 "$TMPD/cli4" 127.0.0.17	# ... and its client
ticker_server "$PRE" 127.0.0.1 9004 "$TMPD/srv5"
ticker_client "$WORLD" 127.0.0.1 9004 "$TMPD/cli5" 127.0.0.18
wait_for 5 test -s "$TMPD/cli2" -a -s "$TMPD/cli3" -a -s "$TMPD/cli4" -a -s "$TMPD/cli5"
PP=$(policy_file pre <<EOF
version: 1
name: $NPRE
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.16]}
  ingress:
    default: allow
    rules:
      - {action: deny, from: [127.0.0.17]}
EOF
)
"$CGF" apply "$PP" --cgroup "$PRE" >/dev/null
check "before: apply" 0 $?
sleep 0.3
check "before: an outgoing connection to a denied peer is cut" "no no" "$(flowing "$TMPD/srv2") $(flowing "$TMPD/cli2")"
check "before: an outgoing connection to an allowed peer goes on" yes "$(flowing "$TMPD/srv3" "$TMPD/cli3")"
check "before: an accepted connection from a denied client is cut" "no no" "$(flowing "$TMPD/srv4") $(flowing "$TMPD/cli4")"
check "before: an accepted connection from an allowed client goes on (egress: {default: deny})" yes "$(flowing "$TMPD/srv5" "$TMPD/cli5")"

# -- an accepted connection is cut by the re-apply whose ingress denies its client
NACC=$(pname acc); track_policy "$NACC"
mkcg ACC acc
acc_policy() {
	policy_file acc <<EOF
version: 1
name: $NACC
network:
  egress: {default: deny}
  ingress:
    default: allow
    rules:
      - {action: deny, from: [$1]}
EOF
}
"$CGF" apply "$(acc_policy 127.0.0.30)" --cgroup "$ACC" >/dev/null
ticker_server "$ACC" 127.0.0.1 9005 "$TMPD/srv6"
ticker_client "$WORLD" 127.0.0.1 9005 "$TMPD/cli6" 127.0.0.19
wait_for 5 test -s "$TMPD/cli6"
check "accepted: flows both ways under egress: {default: deny}" yes "$(flowing "$TMPD/srv6" "$TMPD/cli6")"
"$CGF" apply "$(acc_policy 127.0.0.19)" --cgroup "$ACC" >/dev/null
sleep 0.3
check "accepted: cut both ways by the re-apply that denies its client" "no no" "$(flowing "$TMPD/srv6") $(flowing "$TMPD/cli6")"
t_done
