#!/usr/bin/env bash
# Differential tests: on random policies and random loopback destinations the
# kernel's verdict (UDP connect and sendto, TCP connect, ICMP ping sockets;
# IPv4, IPv6, v4-mapped) equals what `cgfence explain` says; and under
# network.state, random flows both ways (outgoing, incoming, answers) pass
# or not as the evaluator says.
. "$(dirname "$0")/lib.sh"

# ping sockets for everyone, in this test's own network namespace only
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
mkcg CG diff
NAME=$(pname diff); track_policy "$NAME"
"$PWD/${OUTPUT:-.output}/difftest" "$CGF" "$CG" "$NAME" "${DIFF_POLICIES:-60}" "${DIFF_DESTS:-120}" "${DIFF_SEED:-$RANDOM}"
[ $? -eq 0 ] && N_OK=$((N_OK + 1)) || N_FAIL=$((N_FAIL + 1))

# network.state: random egress and ingress sections, random flows both ways
mkcg CS state
NS=$(pname state); track_policy "$NS"
"$PWD/${OUTPUT:-.output}/statetest" "$CGF" "$CS" "$NS" "${STATE_POLICIES:-40}" "${STATE_FLOWS:-60}" "${DIFF_SEED:-$RANDOM}"
[ $? -eq 0 ] && N_OK=$((N_OK + 1)) || N_FAIL=$((N_FAIL + 1))
t_done
