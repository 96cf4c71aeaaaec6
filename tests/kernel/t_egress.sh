#!/usr/bin/env bash
# Egress on the real kernel: TCP connect, UDP sendmsg (unconnected and
# connected), ports and ranges, except, most-specific rule, IPv6, v4-mapped.
. "$(dirname "$0")/lib.sh"

mkcg CG egress
NAME=$(pname egress); track_policy "$NAME"
POL=$(policy_file egress <<EOF
version: 1
name: $NAME
network:
  egress:
    default: deny
    rules:
      - action: allow
        to: [127.0.0.0/24]
        except: [127.0.0.3]
        ports: [80, "8000-8010"]
        protocol: tcp
      - action: allow            # a longer prefix beats the /24 rule
        to: [127.0.0.2]
      - action: deny             # same prefix, names a port: beats the rule above
        to: [127.0.0.2]
        ports: [8080]
      - action: allow
        to: ["::1"]
        ports: [80]
      - action: allow
        to: [127.0.1.0/24]
        protocol: udp
      - action: allow            # 30 port segments: a class filled nearly
        to: [127.0.2.2]          # to capacity, searched in the kernel
        protocol: tcp
        ports: [$(seq -s, 3000 2 3026),65535]
      - action: allow            # 40 separate ports: too many segments for
        to: [127.0.2.1]          # a class entry, kept in the ports trie
        protocol: tcp
        ports: [$(seq -s, 2000 2 2078)]
EOF
)

serve tcp 127.0.0.1 80; serve tcp 127.0.0.1 8005; serve tcp 127.0.0.1 8011
serve tcp 127.0.0.3 80; serve tcp 127.0.0.2 8080; serve tcp 127.0.0.2 9000
serve tcp ::1 80; serve tcp ::1 81
serve udp 127.0.1.5 5000; serve udp 127.0.0.1 5000
serve tcp 127.0.2.1 2040; serve tcp 127.0.2.1 2041
for p in 2999 3000 3001 3026 3027 65534 65535; do serve tcp 127.0.2.2 $p; done

out=$("$CGF" apply "$POL" --cgroup "$CG")
check "apply exits 0" 0 $?
check_match "apply says what it did" "^applied $NAME to $CG" "$out"

inc() { in_cg "$CG" "$NP" "$@"; }
check "allow tcp port"                    ok     "$(inc connect tcp 127.0.0.1 80)"
check "allow tcp port in range"           ok     "$(inc connect tcp 127.0.0.1 8005)"
check "deny tcp port past the range"      EPERM  "$(inc connect tcp 127.0.0.1 8011)"
check "deny excepted address"             EPERM  "$(inc connect tcp 127.0.0.3 80)"
check "longer prefix wins (/32 allow)"    ok     "$(inc connect tcp 127.0.0.2 9000)"
check "port-specific deny wins over /32"  EPERM  "$(inc connect tcp 127.0.0.2 8080)"
check "default deny"                      EPERM  "$(inc connect tcp 127.0.9.9 80)"
check "udp-only rule refuses tcp"         EPERM  "$(inc connect tcp 127.0.1.5 5000)"
check "udp sendto allowed"                ok     "$(inc sendto udp 127.0.1.5 5000)"
check "udp sendto denied"                 EPERM  "$(inc sendto udp 127.0.0.1 5000)"
check "udp connected send allowed"        ok     "$(inc sendto udp 127.0.1.5 5000 --connected)"
check "udp connect denied"                EPERM  "$(inc sendto udp 127.0.0.1 5000 --connected)"
check "many-port rule: listed port allowed"   ok    "$(inc connect tcp 127.0.2.1 2040)"
check "many-port rule: port between denied"  EPERM "$(inc connect tcp 127.0.2.1 2041)"
for p in 3000 3026 65535; do check "full class: port $p allowed" ok "$(inc connect tcp 127.0.2.2 $p)"; done
for p in 2999 3001 3027 65534; do check "full class: port $p denied" EPERM "$(inc connect tcp 127.0.2.2 $p)"; done
check "ipv6 allowed port"                 ok     "$(inc connect tcp ::1 80)"
check "ipv6 other port denied"            EPERM  "$(inc connect tcp ::1 81)"
check "v4-mapped judged as IPv4 (allow)"  ok     "$(inc connect tcp ::ffff:127.0.0.1 80)"
check "v4-mapped judged as IPv4 (except)" EPERM  "$(inc connect tcp ::ffff:127.0.0.3 80)"
check "v4-mapped udp sendto denied"       EPERM  "$(inc sendto udp ::ffff:127.0.0.1 5000)"

# negative controls: the same destinations from outside the cgroup
check "control: excepted address reachable outside" ok "$("$NP" connect tcp 127.0.0.3 80)"
check "control: port 8080 reachable outside"        ok "$("$NP" connect tcp 127.0.0.2 8080)"
check "control: ::1:81 reachable outside"           ok "$("$NP" connect tcp ::1 81)"

# a child cgroup is covered by its parent's policy
mkcg CHILD child "$CG"
check "child cgroup inherits deny" EPERM "$(in_cg "$CHILD" "$NP" connect tcp 127.0.0.3 80)"
check "child cgroup inherits allow" ok "$(in_cg "$CHILD" "$NP" connect tcp 127.0.0.1 80)"

denied=$("$CGF" --json stats "$NAME" | grep -o '"denied":[0-9]*' | head -1 | cut -d: -f2)
check_match "denials are counted" '^[1-9][0-9]*$' "$denied"

# A class's node in the IPv4 trie holds its first 4 allowed port ranges
# (abi.h: cgf_addr_val4), which decide an allowed connect or sendmsg without
# the class; the ranges past them, the other protocol's and the ports
# between are the class's.
mkcg CF fast
NF=$(pname fast); track_policy "$NF"
POLF=$(policy_file fast <<EOF
version: 1
name: $NF
network:
  egress:
    default: deny
    rules:
      - action: allow
        to: [127.0.3.1]
        protocol: tcp
        ports: [22, 80, 443, "1000-1010", 2000, 3000]
      - action: allow
        to: [127.0.3.1]
        protocol: udp
        ports: [53]
EOF
)
for p in 21 22 23 53 80 443 444 999 1000 1010 1011 2000 2001 3000; do serve tcp 127.0.3.1 $p; done
serve udp 127.0.3.1 53; serve udp 127.0.3.1 22
"$CGF" apply "$POLF" --cgroup "$CF" >/dev/null
check "node's ranges: apply exits 0" 0 $?
inf() { in_cg "$CF" "$NP" "$@"; }
for p in 22 80 443 1000 1010 2000 3000; do
	check "node's ranges: tcp $p allowed" ok "$(inf connect tcp 127.0.3.1 $p)"
done
for p in 21 23 53 999 1011 2001; do
	check "node's ranges: tcp $p denied" EPERM "$(inf connect tcp 127.0.3.1 $p)"
done
check "node's ranges: udp 53 allowed"         ok    "$(inf sendto udp 127.0.3.1 53)"
check "node's ranges: udp 22 (tcp's) denied"  EPERM "$(inf sendto udp 127.0.3.1 22)"
check "node's ranges: udp connect 53 allowed" ok    "$(inf sendto udp 127.0.3.1 53 --connected)"
check "node's ranges: v4-mapped tcp 443"      ok    "$(inf connect tcp ::ffff:127.0.3.1 443)"
check "node's ranges: v4-mapped tcp 444"      EPERM "$(inf connect tcp ::ffff:127.0.3.1 444)"
# a connected UDP socket's datagram with a control message (IP_TOS, as QUIC
# stacks send ECN marks) passes the sendmsg hook with no destination: it goes
# to the connected peer, which connect() judged (was: judged as a call to
# 0.0.0.0, EPERM)
mkcg CGM cmsg
PM=$(pname cmsg); track_policy "$PM"
printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: deny\n    rules:\n      - {action: allow, to: [127.0.0.1, "::1"], ports: [9999], protocol: udp}\n' \
	"$PM" >"$TMPD/cmsg.yaml"
"$CGF" apply --cgroup "$CGM" "$TMPD/cmsg.yaml" >/dev/null
cmsg_send() { in_cg "$CGM" /usr/bin/python3 -c '
import errno, socket, sys
v6 = sys.argv[1] == "6"
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect((sys.argv[2], 9999))
    tos = (41, 67) if v6 else (socket.SOL_IP, socket.IP_TOS)
    s.sendmsg([b"x"], [(tos[0], tos[1], (16).to_bytes(4 if v6 else 1, "little"))])
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"; }
check "connected UDP, IP_TOS control message, to an allowed peer" ok "$(cmsg_send 4 127.0.0.1)"
check "connected UDP, IPV6_TCLASS control message, to an allowed peer" ok "$(cmsg_send 6 ::1)"
check "... to a denied peer: connect() is refused" EPERM "$(cmsg_send 4 127.0.0.2)"
t_done
