#!/usr/bin/env bash
# Holes an outside tester found, closed: IPv6 extension headers no longer
# hide the transport header from port rules (egress from a socket connected
# before the policy, with a hop-by-hop or a segment routing header; ingress
# from a sender outside with a hop-by-hop or destination-options header),
# and NAT64 (64:ff9b::/96) and IPv4-compatible addresses are judged as the
# IPv4 address they carry.
. "$(dirname "$0")/lib.sh"

mkcg CGE ext-egress
mkcg CGI ext-ingress
EN=$(pname ext-egress) IN=$(pname ext-ingress) NN=$(pname nat64)
track_policy "$EN"; track_policy "$IN"; track_policy "$NN"

# send6 OPT PORT: a UDP datagram to [::1]:PORT with the IPv6 header option OPT
# (none, hbh, dstopts, srh) on the socket's ancillary data
py_send='
import socket, sys
opt, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
hbh = bytes([0, 0, 1, 4, 0, 0, 0, 0])		# a PadN option: an 8-byte header
srh = bytes([0, 2, 4, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, "::1")
name = {"hbh": socket.IPV6_HOPOPTS, "dstopts": socket.IPV6_DSTOPTS, "srh": socket.IPV6_RTHDR}
if opt != "none":
    s.setsockopt(socket.IPPROTO_IPV6, name[opt], srh if opt == "srh" else hbh)
s.sendto(b"x", ("::1", port))
'
# recv6 PORT: "got ::1" when a datagram arrives on [::1]:PORT within a second, else "timeout"
recv6() { "$NP" recv udp ::1 "$1" --timeout-ms 1000 | tail -1; }

# egress: the port rule holds for a socket connected before the policy
E=$(policy_file egress <<EOF
version: 1
name: $EN
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: ["::1"], ports: [5353], protocol: udp}
EOF
)
# a process in the cgroup connects first, then waits for the policy, then
# sends with each header (a fresh connected socket per option)
cat >"$TMPD/pre.py" <<'EOF'
import socket, sys, os, time
opts = ["none", "hbh", "srh"]
hbh = bytes([0, 0, 1, 4, 0, 0, 0, 0])
srh = bytes([0, 2, 4, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, "::1")
socks = {}
for o in opts:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect(("::1", 5353))
    if o == "hbh":
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, hbh)
    if o == "srh":
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, srh)
    socks[o] = s
open(sys.argv[1] + "/connected", "w").close()
for o in opts:
    while not os.path.exists(sys.argv[1] + "/go-" + o):
        time.sleep(0.02)
    try:
        socks[o].send(b"x")
        r = "sent"
    except OSError as e:	# a dropped packet fails the send: EPERM
        r = "EPERM" if e.errno == 1 else str(e)
    open(sys.argv[1] + "/sent-" + o, "w").write(r)
EOF
in_cg_bg "$CGE" python3 "$TMPD/pre.py" "$TMPD"
PRE=$!; T_PIDS+=("$PRE")
for _ in $(seq 100); do [ -e "$TMPD/connected" ] && break; sleep 0.05; done
"$CGF" apply "$E" --cgroup "$CGE" >/dev/null
check "egress policy applied after the sockets connected" 0 $?
for o in none hbh srh; do
	recv6 5353 >"$TMPD/got-$o" &
	R=$!
	sleep 0.2
	touch "$TMPD/go-$o"
	wait "$R"
	check "egress, pre-connected socket, $o header: the send fails" EPERM "$(cat "$TMPD/sent-$o")"
	check "egress, pre-connected socket, $o header: the denied port gets nothing" \
		timeout "$(cat "$TMPD/got-$o")"
done
wait "$PRE" 2>/dev/null
recv6 5354 >"$TMPD/ctl" &
R=$!; sleep 0.2
in_cg "$CGE" python3 -c "$py_send" hbh 5354
wait "$R"
check "egress control: another port with a hop-by-hop header goes through" "got ::1" "$(cat "$TMPD/ctl")"

# ingress: a sender outside the cgroup, to a denied port of a socket in it
I=$(policy_file ingress <<EOF
version: 1
name: $IN
network:
  ingress:
    default: allow
    rules:
      - {action: deny, from: ["::1"], ports: [6363], protocol: udp}
EOF
)
"$CGF" apply "$I" --cgroup "$CGI" >/dev/null
check "ingress policy applied" 0 $?
for o in none hbh dstopts; do
	in_cg "$CGI" "$NP" recv udp ::1 6363 --timeout-ms 1000 | tail -1 >"$TMPD/in-$o" &
	R=$!
	sleep 0.2
	python3 -c "$py_send" "$o" 6363
	wait "$R"
	check "ingress, $o header from outside: the denied port gets nothing" timeout "$(cat "$TMPD/in-$o")"
done
in_cg "$CGI" "$NP" recv udp ::1 6364 --timeout-ms 1000 | tail -1 >"$TMPD/in-ctl" &
R=$!; sleep 0.2
python3 -c "$py_send" hbh 6364
wait "$R"
check "ingress control: another port with a hop-by-hop header arrives" "got ::1" "$(cat "$TMPD/in-ctl")"

# NAT64 and IPv4-compatible forms are judged as their IPv4 address
N=$(policy_file nat64 <<EOF
version: 1
name: $NN
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [10.1.2.3]}
      - {action: deny, to: ["64:ff9b::192.0.2.0/120"]}
EOF
)
ex() { "$CGF" explain "$N" connect "$1" | head -1; }
check "explain: NAT64 form of a denied IPv4 address" deny "$(ex '[64:ff9b::10.1.2.3]:80/tcp')"
check "explain: IPv4-compatible form of it" deny "$(ex '[::10.1.2.3]:80/tcp')"
check "explain: a rule written in the NAT64 form is an IPv4 rule" deny "$(ex 192.0.2.7:80/tcp)"
check "explain: ::1 stays IPv6" allow "$(ex '[::1]:80/tcp')"
mkcg CGN nat64
"$CGF" apply "$N" --cgroup "$CGN" >/dev/null
check "nat64 policy applied" 0 $?
check "connect to the NAT64 form of a denied address: EPERM" EPERM \
	"$(in_cg "$CGN" "$NP" connect udp 64:ff9b::10.1.2.3 80)"
check "connect to its IPv4-compatible form: EPERM" EPERM \
	"$(in_cg "$CGN" "$NP" connect udp ::10.1.2.3 80)"
check "control: ::1 is not taken for 0.0.0.1" ok "$(in_cg "$CGN" "$NP" connect udp ::1 80)"

# ICMP errors are no packets to a socket: the kernel turns them into the
# socket's error (ECONNREFUSED) without running cgroup_skb/ingress, so an
# error from a denied address still reaches a connected UDP socket. Not
# enforced, and said so (docs/design.md, SECURITY); this shows it exactly.
mkcg CGI icmperr
NI=$(pname icmperr); track_policy "$NI"
PI=$(policy_file icmperr <<EOF
version: 1
name: $NI
network:
  ingress:
    default: allow
    rules:
      - {action: deny, from: [127.0.0.5, 127.0.0.21]}   # .21: flows.py's peer
EOF
)
"$CGF" apply "$PI" --cgroup "$CGI" >/dev/null
check "icmp errors: policy applied" 0 $?
check "icmp errors: a datagram from the denied address is dropped" timeout \
	"$(python3 "$(dirname "$0")/../helpers/flows.py" "$CGI" udp-unasked)"
check "icmp errors: its port-unreachable still reaches the socket (not enforced)" ECONNREFUSED \
	"$(in_cg "$CGI" python3 -c '
import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.5", 9)); s.send(b"x"); s.settimeout(1)
try:
    s.recv(10); print("data")
except OSError as e:
    print(errno.errorcode.get(e.errno, e))')"
t_done
