#!/usr/bin/env bash
# network.redirect on the real kernel: TCP and UDP destinations rewritten to
# loopback backends, replies and getpeername translated back, backend
# selection (round-robin, hash, random), IPv6, composition with egress, and
# a re-apply that changes the backend set under load.
. "$(dirname "$0")/lib.sh"

mkcg CG redirect
NAME=$(pname redirect); track_policy "$NAME"
POL=$(policy_file redirect <<EOF
version: 1
name: $NAME
network:
  redirect:
    - match: {to: [127.0.0.99], ports: [80], protocol: tcp}
      to: 127.0.0.1:8081
    - match: {to: [127.0.0.53], ports: [53], protocol: udp}
      to: 127.0.0.1:5353
    - match: {to: [127.0.0.100], ports: [80], protocol: tcp}
      backends: [127.0.0.1:8091, 127.0.0.1:8092, 127.0.0.1:8093]
      select: round-robin
    - match: {to: [127.0.0.101], ports: [80]}
      backends: [127.0.0.1:8091, 127.0.0.1:8092, 127.0.0.1:8093]
      select: hash
    - match: {to: [127.0.0.102], ports: [80], protocol: tcp}
      backends: [127.0.0.1:8091, 127.0.0.1:8092, 127.0.0.1:8093]
      select: random
    - match: {to: ["::1"], ports: [80], protocol: tcp}
      backends: ["[::1]:8081", "[::1]:8082"]
      select: round-robin
    - match: {to: ["::1"], ports: [53], protocol: udp}
      to: "[::1]:5353"
EOF
)
serve tcp 127.0.0.1 8081 A; serve udp 127.0.0.1 5353 DNS
for i in 1 2 3; do serve tcp 127.0.0.1 809$i B$i; serve udp 127.0.0.1 809$i U$i; done
serve tcp ::1 8081 V1; serve tcp ::1 8082 V2; serve udp ::1 5353 DNS6
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply redirect policy" 0 $?
h() { in_cg "$CG" "$NP" hello "$@"; }
check "control: nothing listens on 127.0.0.99:80" ECONNREFUSED "$("$NP" connect tcp 127.0.0.99 80)"
check "tcp to 127.0.0.99:80 reaches the backend; getpeername shows the original" \
	"A peer=127.0.0.99:80" "$(h tcp 127.0.0.99 80)"
check "v4-mapped through an IPv6 socket too" "A peer=[::ffff:127.0.0.99]:80" "$(h tcp ::ffff:127.0.0.99 80)"
check "dns-style udp: the reply comes from the address asked" "DNS peer=127.0.0.53:53" "$(h udp 127.0.0.53 53)"
check "round-robin spreads 99 connections evenly" "B1=33 B2=33 B3=33" \
	"$(h tcp 127.0.0.100 80 --count 99 | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
same=$(h udp 127.0.0.101 80 --count 20 --same-socket)
check_match "hash keeps one socket on one backend" '^U[123]=20$' "$same"
spread=$(for i in $(seq 30); do h udp 127.0.0.101 80; done | cut -d' ' -f1 | sort -u | wc -l)
check_match "hash spreads different sockets" '^[23]$' "$spread"
rnd=$(h tcp 127.0.0.102 80 --count 300)
ok_rnd=1
for b in B1 B2 B3; do
	n=$(grep -o "$b=[0-9]*" <<<"$rnd" | cut -d= -f2)
	# 300 draws of 1 in 3: mean 100, sd 8.2; 60..140 is about 5 sd
	[ -n "$n" ] && [ "$n" -ge 60 ] && [ "$n" -le 140 ] || ok_rnd=0
done
check "random: each backend within 60..140 of 300 ($rnd)" 1 "$ok_rnd"
check "ipv6 round-robin, getpeername shows ::1:80" "V1 peer=[::1]:80" "$(h tcp ::1 80)"
check "ipv6 round-robin, next backend" "V2 peer=[::1]:80" "$(h tcp ::1 80)"
check "ipv6 dns-style udp: the reply comes from [::1]:53" "DNS6 peer=[::1]:53" "$(h udp ::1 53)"
check "no match: untouched" ECONNREFUSED "$(in_cg "$CG" "$NP" connect tcp 127.0.0.99 81)"
check_match "list shows the redirect hooks" '"connect4","connect6","sendmsg4","sendmsg6","recvmsg4","recvmsg6","getpeername4","getpeername6"' "$("$CGF" --json list)"
check_match "explain shows the rewrite" "^redirect 127.0.0.1:8081" "$("$CGF" explain "$POL" connect 127.0.0.99:80/tcp)"

# composition: egress judges the rewritten destination
mkcg ECG egress
EN=$(pname redeg); track_policy "$EN"
cat >"$TMPD/eg.yaml" <<EOF
version: 1
name: $EN
network:
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.1], ports: [8081]}
  redirect:
    - match: {to: [127.0.0.99], ports: [80]}
      to: 127.0.0.1:8081
    - match: {to: [127.0.0.98], ports: [80]}
      to: 127.0.0.1:8082
EOF
"$CGF" apply "$TMPD/eg.yaml" --cgroup "$ECG" >/dev/null
check "egress allows the rewritten destination" "A peer=127.0.0.99:80" "$(in_cg "$ECG" "$NP" hello tcp 127.0.0.99 80)"
check "egress denies a rewrite to a denied backend" EPERM "$(in_cg "$ECG" "$NP" connect tcp 127.0.0.98 80)"
check "explain: deny when the rewritten destination is denied" deny "$("$CGF" explain "$TMPD/eg.yaml" connect 127.0.0.98:80 | head -1)"

# a re-apply that changes the backend set: no new connection finds no
# backend, and a reply on a socket redirected before still translates
res="$TMPD/loop"
( for i in $(seq 200); do in_cg "$CG" "$NP" hello tcp 127.0.0.100 80 | cut -d' ' -f1; done >"$res" ) &
LOOP=$!
for i in $(seq 20); do
	if [ $((i % 2)) -eq 1 ]; then sed 's/8093\]/8091]/' "$POL" >"$TMPD/p2.yaml"; else cp "$POL" "$TMPD/p2.yaml"; fi
	"$CGF" apply "$TMPD/p2.yaml" --cgroup "$CG" >/dev/null
done
wait $LOOP
check "200 connections during 20 re-applies all reached a backend" 200 "$(grep -c '^B[123]$' "$res")"
# a connection redirected before a re-apply: getpeername still translates
in_cg_bg "$CG" "$NP" hello tcp 127.0.0.99 80 --wait-file "$TMPD/go" >"$TMPD/held"
HELD=$!
sleep 0.3
sed 's/to: 127.0.0.1:8081/to: 127.0.0.1:8091/' "$POL" >"$TMPD/p3.yaml"
"$CGF" apply "$TMPD/p3.yaml" --cgroup "$CG" >/dev/null
touch "$TMPD/go"; wait $HELD
check "after a re-apply, an older connection still shows the original peer" "A peer=127.0.0.99:80" "$(cat "$TMPD/held")"
check "…and new connections use the new target" "B1 peer=127.0.0.99:80" "$(h tcp 127.0.0.99 80)"
st=$("$CGF" --json stats "$NAME")
check_match "stats counts the round-robin backends" '"redirect":2,"backend":0,"connections":[0-9]+' "$st"
rr=$(grep -o '"redirect":2,"backend":[0-9],"connections":[0-9]*' <<<"$st" | grep -o '[0-9]*$' | awk '{ s += $1 } END { print s }')
check_match "…at least the 99 + 200 connections made ($rr)" '^(299|[3-9][0-9][0-9])$' "$rr"
t_done
