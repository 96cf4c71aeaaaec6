#!/usr/bin/env bash
# tcp (sockops) on the real kernel: the congestion control and initial window
# of a new connection from the cgroup, read back with TCP_CONGESTION and
# TCP_INFO; the SYN retransmission timeout of a connect whose SYN is dropped.
. "$(dirname "$0")/lib.sh"

mkcg CG tcp
NAME=$(pname tcp); track_policy "$NAME"
POL=$(policy_file tcp <<EOF
version: 1
name: $NAME
tcp:
  congestion: reno
  initial_cwnd: 20
  syn_rto_ms: 300
EOF
)
serve tcp 127.0.0.1 7000
# SYNs to port 7999 vanish (this test's own namespace only)
nft add table inet cgftest
nft add chain inet cgftest in '{ type filter hook input priority 0; }'
nft add rule inet cgftest in tcp dport 7999 drop
DEFCC=$(cat /proc/sys/net/ipv4/tcp_congestion_control)
check "control: default congestion and window outside" "cc=$DEFCC cwnd=10" "$("$NP" tcpinfo 127.0.0.1 7000)"
check "control: default SYN RTO outside" "rto_ms=1000" "$("$NP" synrto 127.0.0.1 7999)"
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "apply tcp policy" 0 $?
check "congestion and initial window inside" "cc=reno cwnd=20" "$(in_cg "$CG" "$NP" tcpinfo 127.0.0.1 7000)"
check "SYN RTO inside" "rto_ms=300" "$(in_cg "$CG" "$NP" synrto 127.0.0.1 7999)"
check_match "list shows the sockops hook" '"hooks":\["sockops"\]' "$("$CGF" --json list)"

# re-apply with other values: new connections follow at once
OTHER=cubic; [ "$DEFCC" = cubic ] && OTHER=bbr
grep -qw "$OTHER" /proc/sys/net/ipv4/tcp_available_congestion_control || OTHER=reno
sed -i -e "s/congestion: reno/congestion: $OTHER/" -e 's/initial_cwnd: 20/initial_cwnd: 32/' "$POL"
"$CGF" apply "$POL" --cgroup "$CG" >/dev/null
check "re-applied: new values" "cc=$OTHER cwnd=32" "$(in_cg "$CG" "$NP" tcpinfo 127.0.0.1 7000)"

printf 'version: 1\nname: x\ntcp:\n  congestion: nosuchcc\n' >"$TMPD/bad.yaml"
check_match "an unavailable algorithm is refused" "bad.yaml:4:15: congestion: 'nosuchcc' is not available" "$("$CGF" check "$TMPD/bad.yaml" 2>&1)"
t_done
