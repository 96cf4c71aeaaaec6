#!/bin/bash
# From observation to enforcement: `run --learn` and `learn NAME` write a
# policy from what a real workload did (curl against two loopback HTTP
# servers, one by name through dnsmasq, dig, a python http.server it starts
# and that is queried from outside, /dev/urandom, a sysctl read and written
# in its own network namespace); applied in enforce mode, the same workload
# runs with no denial, and a changed one is denied, with events naming the
# default. Own mount namespace too, for /etc/resolv.conf.
[ -n "${T_LEARN_MNTNS:-}" ] || exec unshare -m env T_LEARN_MNTNS=1 bash "$0" "$@"
source "$(dirname "$0")/lib.sh"

own_resolv_conf
cat >"$TMPD/dnsmasq.conf" <<EOF
no-resolv
no-hosts
bind-interfaces
port=53
local-ttl=60
host-record=one.example.test,127.1.0.1
host-record=three.example.test,127.1.0.3
EOF
start_dnsmasq 127.0.0.53 "$TMPD/dnsmasq.conf" one.example.test || not_ok "dnsmasq"
python3 -m http.server --bind :: 8080 >/dev/null 2>&1 &
T_PIDS+=($!)
wait_for 10 curl -s -o /dev/null http://127.1.0.2:8080/ || not_ok "http server did not start"

# the workload; $1: "changed" adds a third server and another device
cat >"$TMPD/work.sh" <<EOF
set -e
curl -s -o /dev/null --max-time 3 http://one.example.test:8080/
curl -s -o /dev/null --max-time 3 http://127.1.0.2:8080/
dig +time=1 +tries=1 +short @127.0.0.53 one.example.test >/dev/null
python3 -m http.server --bind 127.0.0.7 8099 >/dev/null 2>&1 &
S=\$!
for i in \$(seq 100); do [ -e "$TMPD/queried" ] && break; [ \$i = 5 ] && touch "$TMPD/ready"; sleep 0.1; done
kill \$S
head -c 16 /dev/urandom >/dev/null
unshare -n sh -c 'cat /proc/sys/net/ipv4/ip_forward >/dev/null; echo 1 >/proc/sys/net/ipv4/ip_forward'
if [ "\${1:-}" = changed ]; then
	curl -s -o /dev/null --max-time 3 http://three.example.test:8080/ || echo "third server: \$?"
	head -c 16 /dev/zero >/dev/null || echo "zero: denied"
fi
EOF
# query the workload's own server from outside while it runs
query_it() {
	rm -f "$TMPD/ready" "$TMPD/queried"
	wait_for 10 test -e "$TMPD/ready" && curl -s -o /dev/null --max-time 3 http://127.0.0.7:8099/
	touch "$TMPD/queried"
}

# run --learn
query_it &
QP=$!
"$CGF" run --learn "$TMPD/learnt.yaml" -- sh "$TMPD/work.sh" >"$TMPD/run.out" 2>&1
check "run --learn: the workload ran" 0 $?
wait "$QP"
check_match "run --learn: it says what it wrote" "wrote $TMPD/learnt.yaml from [0-9]+ events" \
	"$(cat "$TMPD/run.out")"
L=$(cat "$TMPD/learnt.yaml")
check_match "check: the learnt policy is valid" "policy learn is valid" "$("$CGF" check "$TMPD/learnt.yaml" 2>&1)"
check_match "egress by name: the answer dnsmasq gave" \
	'to_names: \["one.example.test"\]
        ports: \[8080\]
        protocol: tcp' "$L"
check_match "egress by address: the second server" '"127.1.0.2"' "$L"
check_match "egress: the resolver, udp 53" 'to: \["127.0.0.53"\]
        ports: \[53\]
        protocol: udp' "$L"
check_match "ingress: the peer that queried its server, on its port" 'from: \["127.0.0.[0-9]+"\]
        ports: \[8099\]
        protocol: tcp' "$L"
check_match "bind: its server's port" "ports: \[8099\], protocol: tcp" "$L"
check_match "devices: /dev/urandom read" "type: c, major: 1, minor: 9, access: r" "$L"
check_match "sysctl: ip_forward written" '- action: allow
      names:
        # seen [0-9]+ times?, by [^
]*
        - "net/ipv4/ip_forward"' "$L"
check_match "comments: counts, processes, first and last" "# seen [0-9]+ times?, by [a-z0-9, ]+; first 20[0-9-]+T[0-9:]+Z, last" "$L"
check_match "raw sockets stay denied" "deny_types: \[[a-z, ]*raw" "$L"

# enforce what was learnt: the same workload, no denial
P=$(pname learnt)
track_policy "$P"
mkcg CG learnt
sed "s/^name: learn$/name: $P/" "$TMPD/learnt.yaml" >"$TMPD/enforce.yaml"
"$CGF" apply --cgroup "$CG" "$TMPD/enforce.yaml" >/dev/null 2>&1 || not_ok "apply of the learnt policy"
query_it &
QP=$!
out=$(in_cg "$CG" sh "$TMPD/work.sh" 2>&1)
check "the same workload under the learnt policy (enforce)" "0 ''" "$? '$out'"
wait "$QP"
check "... with no denial" 0 "$("$CGF" --json events "$P" | grep -c '"type":"deny"')"
# a changed workload: a third server by name and /dev/zero are denied
query_it &
QP=$!
out=$(in_cg "$CG" sh "$TMPD/work.sh" changed 2>&1)
wait "$QP"
check_match "a changed workload: the third server is denied" "third server: 7" "$out"
check_match "... and /dev/zero" "zero: denied" "$out"
ev=$("$CGF" --json events "$P")
check_match "events: the third server's connect, the default, no name allowed it" \
	'"dst":"127.1.0.3".*"rule":"default".*"names":"no-name"' "$(grep '"deny"' <<<"$ev" | grep 127.1.0.3 | head -1)"
check_match "events: the device, the default" '"hook":"dev".*"rule":"default".*"device":\{"type":"c","major":1,"minor":5' \
	"$(grep '"deny"' <<<"$ev" | grep '"dev"' | head -1)"

# learn NAME: the same from a daemon-managed audit policy
RUN="$TMPD/run" PD="$TMPD/policies" LOG="$TMPD/daemon.log"
mkdir -p "$PD"
: >"$LOG"
mkcg OB observed
O=$(pname observed)
track_policy "$O"
cat >"$PD/observed.yaml" <<EOF
version: 1
name: $O
mode: audit
target: {cgroup: "${OB#"$CG2"/}"}
network:
  dns: {servers: [127.0.0.53, 127.0.0.1, "::1"]}
  sockets: {deny_types: [stream, dgram, raw, seqpacket]}
  egress: {default: deny}
  ingress: {default: deny}
  bind: {default: deny}
devices: {default: deny}
sysctl: {default: deny}
log: {denials: true, denials_per_second: 0, dns: true}
EOF
cp "$PD/observed.yaml" "$TMPD/observed.yaml"
export CGFENCE_RUN_DIR="$RUN"
logpos
daemon_start "$CGF" || not_ok "the daemon did not start"
wait_for 10 logged "event=applied" || not_ok "the daemon did not apply the observing policy"
query_it &
QP=$!
in_cg "$OB" sh "$TMPD/work.sh" >/dev/null 2>&1
wait "$QP"
sleep 1.2	# the daemon moves the events to the log
"$CGF" learn "$O" -o "$TMPD/learnt2.yaml" 2>"$TMPD/learn.err"
check "learn NAME: written" 0 $?
strip() { grep -v '^ *#' "$1" | grep -v '^name:'; }
check "learn NAME gives what run --learn gave" "" "$(diff <(strip "$TMPD/learnt.yaml") <(strip "$TMPD/learnt2.yaml"))"
kill "$DPID"; wait "$DPID" 2>/dev/null
unset CGFENCE_RUN_DIR

# what the workload says is untrusted: a DNS question whose labels carry YAML
# (a recursive resolver relays it byte for byte; here one answers it directly)
# and an interface named "*" must not widen what the learnt policy allows
NAMES="python3 $PWD/tests/helpers/names.py"
fifo="$TMPD/resolver.fifo"
mkfifo "$fifo"
$NAMES resolver 127.0.0.1 127.0.0.9 >"$fifo" 2>/dev/null &
T_PIDS+=($!)
read -r line <"$fifo"
check "a resolver for any name on 127.0.0.1" ready "$line"
# (labels: 'x"]', a new line, a rule, '#'; then a new line, an allow rule's
# head, '["x'; the dot between them lands in the comment)
POISON='x\"]\n      - {action: allow, to: [any]} #.\n      - action: allow\n        to_names: [\"x.poison.test'
cat >"$TMPD/poison.sh" <<EOF
$NAMES ask '$POISON' 127.0.0.1
curl -s -o /dev/null --max-time 3 http://127.0.0.9:8080/ && echo fetched
unshare -n sh -c 'ip tuntap add dev "*" mode tun && cat "/proc/sys/net/ipv4/conf/*/forwarding" >/dev/null && echo read'
EOF
out=$("$CGF" run --learn "$TMPD/poison.yaml" -- sh "$TMPD/poison.sh" 2>&1)
check_match "poison: the workload asked, fetched and read" "127.0.0.9
fetched
read" "$out"
PL=$(cat "$TMPD/poison.yaml")
check_match "poison: the learnt policy is valid" "is valid" "$("$CGF" check "$TMPD/poison.yaml" 2>&1)"
check "poison: no rule allows any address" 0 "$(grep -v '^ *#' <<<"$PL" | grep -c any)"
check "poison: no name is learnt from a question that is no host name" 0 "$(grep -c to_names <<<"$PL")"
check_match "poison: its address is learnt by number" 'to: \["127.0.0.9"\]' "$PL"
check_match "poison: ... and the file says why" "taught no name" "$PL"
check "poison: no ingress rule for the resolver's reply (state: on lets it in)" 0 \
	"$(grep -c '^ *from:' <<<"$PL")"
check "poison: no sysctl rule from the interface named '*'" 0 "$(grep -c 'conf/' <<<"$PL")"
check_match "poison: ... and the file says so" "glob character" "$PL"
# enforced: what the job never touched stays denied
mkcg CGP poison
PP=$(pname poison)
track_policy "$PP"
sed "s/^name: .*/name: $PP/" "$TMPD/poison.yaml" >"$TMPD/poison-enforce.yaml"
"$CGF" apply --cgroup "$CGP" "$TMPD/poison-enforce.yaml" >/dev/null 2>&1 || not_ok "poison: apply"
check "poison, enforced: the address the job fetched from" ok "$(in_cg "$CGP" "$NP" connect tcp 127.0.0.9 8080)"
check "poison, enforced: an address it never touched" EPERM "$(in_cg "$CGP" "$NP" connect tcp 127.0.0.10 8080)"
check "poison, enforced: forwarding of all interfaces" 1 \
	"$(in_cg "$CGP" unshare -n sh -c 'cat /proc/sys/net/ipv4/conf/all/forwarding' >/dev/null 2>&1; echo $?)"

# bad input
"$CGF" run --learn 2>/dev/null
check "run --learn without OUT: usage error" 2 $?
"$CGF" learn no-such-policy-here -o "$TMPD/x.yaml" 2>"$TMPD/err"
check "learn of a policy not applied: exit 1" 1 $?
check_match "... naming it" "no-such-policy-here" "$(cat "$TMPD/err")"
"$CGF" run --learn "$TMPD/fail.yaml" -- sh -c 'head -c 1 /dev/urandom >/dev/null; exit 3' 2>"$TMPD/err"
check "learning a command that fails: its status" 3 $?
check_match "... still writes what was seen, and says so" "exited with status 3" "$(cat "$TMPD/err")"
check_match "... the device it read" "major: 1, minor: 9" "$(cat "$TMPD/fail.yaml")"
t_done
