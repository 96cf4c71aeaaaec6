#!/bin/bash
# Egress by domain name (to_names): addresses learnt from a trusted resolver's
# answers in the cgroup's ingress program, before the application reads
# them. dnsmasq on loopback is the resolver; its names map to other loopback
# addresses; curl, dig and getaddrinfo are the clients. The test runs in a
# mount namespace of its own too, so that /etc/resolv.conf can name dnsmasq.
[ -n "${T_NAMES_MNTNS:-}" ] || exec unshare -m env T_NAMES_MNTNS=1 bash "$0" "$@"
source "$(dirname "$0")/lib.sh"

own_resolv_conf
NAMES="python3 $PWD/tests/helpers/names.py"

for b in dnsmasq dig curl; do
	command -v $b >/dev/null || { not_ok "$b is not installed (make deps)"; t_done; exit; }
done

# dnsmasq: the trusted resolver on 127.0.0.53, another on 127.0.0.54 nobody trusts
zone() {
	cat <<EOF
no-resolv
no-hosts
bind-interfaces
port=53
local-ttl=2
host-record=api.example.test,127.1.0.1
host-record=other.example.test,127.1.0.9
address=/cdn.example.test/127.1.1.1
cname=www.example.test,c1.example.test
cname=c1.example.test,c2.example.test
cname=c2.example.test,target.example.test
host-record=target.example.test,127.1.0.3
host-record=multi.example.test,127.1.0.4,::1
host-record=multi.example.test,127.1.0.5
host-record=tcp.example.test,127.1.0.10
host-record=doh.example.test,127.1.0.6
EOF
	for i in $(seq 1 40); do echo "host-record=h$i.many.example.test,127.1.3.$i"; done
	# examples/ci-egress.yaml's names, on loopback here
	echo "host-record=deb.debian.org,127.1.4.1"
	echo "host-record=security.debian.org,127.1.4.2"
	echo "host-record=github.com,127.1.4.3"
	echo "host-record=codeload.github.com,127.1.4.4"
	echo "host-record=objects.githubusercontent.com,127.1.4.5"
	echo "host-record=pypi.org,127.1.4.9"
}
zone >"$TMPD/dnsmasq.conf"
start_dnsmasq 127.0.0.53 "$TMPD/dnsmasq.conf" api.example.test || not_ok "dnsmasq did not start"
sed 's/127.1.0.1/127.1.0.8/' "$TMPD/dnsmasq.conf" >"$TMPD/untrusted.conf"
start_dnsmasq 127.0.0.54 "$TMPD/untrusted.conf" api.example.test || not_ok "the second dnsmasq did not start"

# one HTTP server for every 127.1.x.y and ::1, and an echo server for held connections
python3 -m http.server --bind :: 8080 >/dev/null 2>&1 &
T_PIDS+=($!)
wait_for 10 curl -s -o /dev/null http://127.1.0.1:8080/ || not_ok "http server did not start"
"$NP" listen tcp 127.1.0.1 9001 --stream >/dev/null &
T_PIDS+=($!)

P=$(pname names)
track_policy "$P"
mkcg CG names
POL=$(policy_file names <<EOF
version: 1
name: $P
network:
  dns: {servers: [127.0.0.53], min_ttl: 1, max_addresses: 16}
  sockets: {deny_types: [raw]}
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.53, 127.0.0.54], ports: [53]}
      - action: allow
        to_names: [api.example.test, "*.cdn.example.test", www.example.test, multi.example.test,
                   "*.many.example.test", tcp.example.test, doh.example.test]
        ports: [8080, 9000, 9001]
        protocol: tcp
log:
  connections: true
EOF
)
out=$("$CGF" check "$POL" 2>&1)
check "check: no warning for a policy that denies raw and reaches its resolver" 0 \
	"$(grep -c warning <<<"$out")"
"$CGF" apply --cgroup "$CG" "$POL" >/dev/null 2>&1 || not_ok "apply failed"

# before any lookup: denied, and the event says no allowed name resolved to it
check "connect before any lookup" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.1 8080)"
# the first connect after a lookup works, every time: 200 fresh lookups (TTL 2 s)
fails=0
for i in $(seq 200); do
	in_cg "$CG" curl -s -o /dev/null --max-time 3 http://api.example.test:8080/ || fails=$((fails + 1))
done
check "200 lookups + connects by name with curl, first try each" 0 "$fails"
check "a name no rule allows (another loopback address)" "127.1.0.9=EPERM" \
	"$(in_cg "$CG" $NAMES connect other.example.test 8080)"
check "a wildcard does not match its apex" "127.1.1.1=EPERM" \
	"$(in_cg "$CG" $NAMES connect cdn.example.test 8080)"
check "a wildcard zone: one or more leading labels" "127.1.1.1=ok" \
	"$(in_cg "$CG" $NAMES connect a.b.cdn.example.test 8080)"
check "shared addresses: the apex's address, now learnt through the zone" "127.1.1.1=ok" \
	"$(in_cg "$CG" $NAMES connect cdn.example.test 8080)"
check "a 3-step CNAME chain: the question decides" "127.1.0.3=ok" \
	"$(in_cg "$CG" $NAMES connect www.example.test 8080)"
check_match "every A and AAAA record of an answer" \
	"127.1.0.4=ok.*127.1.0.5=ok|127.1.0.5=ok.*127.1.0.4=ok" \
	"$(in_cg "$CG" $NAMES connect multi.example.test 8080)"
check_match "... the AAAA one too" "::1=ok" "$(in_cg "$CG" $NAMES connect multi.example.test 8080)"
check "a port the name's rule does not list" "127.1.0.1=EPERM" \
	"$(in_cg "$CG" $NAMES connect api.example.test 22)"
check "the same address by its number, right after the lookup" ok \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.1 8080)"

# the lifetime: max(TTL 2 s, min_ttl 1 s); an open connection outlives it
rm -f "$TMPD/held"
in_cg "$CG" $NAMES hold api.example.test 9001 "$TMPD/held" >"$TMPD/hold.out" &
HOLD=$!
wait_for 5 test -e "$TMPD/held" || not_ok "the held connection did not start"
sleep 3.2
check "after TTL + min_ttl, a new connect is denied" EPERM \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.1 8080)"
rm -f "$TMPD/held"
wait "$HOLD"
check "... while the connection made before goes on" ok "$(cat "$TMPD/hold.out")"

# answers the kernel does not see as DNS from a trusted resolver teach nothing
dig_a() { in_cg "$CG" dig +time=1 +tries=1 +short "$@"; }
check "dig +tcp gets its answer" 127.1.0.10 "$(dig_a +tcp tcp.example.test)"
check "... but DNS over TCP is not read: the address stays denied" EPERM \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.10 8080)"
check "an untrusted resolver answers" 127.1.0.8 "$(dig_a @127.0.0.54 api.example.test)"
check "... and teaches nothing" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.8 8080)"
check "resolved another way (curl --resolve, as DoH would)" 7 \
	"$(in_cg "$CG" curl -s -o /dev/null --max-time 2 --resolve doh.example.test:8080:127.1.0.6 \
		http://doh.example.test:8080/; echo $?)"

# forging answers from inside the cgroup
check "bind the trusted resolver's port 53" EPERM "$(in_cg "$CG" "$NP" bind udp 127.0.0.53 53)"
check "bind port 53 on the wildcard address" EPERM "$(in_cg "$CG" "$NP" bind udp 0.0.0.0 53)"
check "bind port 53 on another address is allowed" ok "$(in_cg "$CG" "$NP" bind udp 127.0.0.2 53)"
check "a forged answer with the resolver's source (IP_PKTINFO) is dropped" \
	"sent=EPERM received=no" "$(in_cg "$CG" $NAMES forge api.example.test 127.1.0.7 127.0.0.53)"
check "... and teaches nothing" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.7 8080)"
# the same to a destination egress allows (the other dnsmasq, 127.0.0.54:53,
# which ignores it), where only the guard of the resolver's port stands
check "... also to a destination egress allows: dropped by the resolver's guard" \
	"sent=EPERM received=no" "$(in_cg "$CG" $NAMES forge api.example.test 127.1.0.13 127.0.0.53 127.0.0.54)"
check "the same forgery from outside the cgroup reaches its socket (the control)" \
	"sent=ok received=yes from 127.0.0.53:53" "$($NAMES forge api.example.test 127.1.0.7 127.0.0.53)"
check "raw sockets, which could forge any source, are denied (the pairing)" EPERM \
	"$(in_cg "$CG" "$NP" socket inet raw)"

# an answer from a trusted resolver's address teaches only from its port 53:
# a process outside the cgroup that can send from that address on another
# port (here with IP_PKTINFO) is no resolver. A socket of the cgroup receives
# each "answer"; the first (from port 5353) teaches nothing, the control
# (from port 53) does.
# teach_from SPORT ADDR: receive in the cgroup one forged answer from
# 127.0.0.53:SPORT saying teach.cdn.example.test is ADDR; "got sent=RESULT"
teach_from() {
	local port=$((30000 + $1)) got
	in_cg "$CG" "$NP" recv udp 127.0.0.1 $port --timeout-ms 2000 >"$TMPD/teach.$1" &
	local r=$!
	wait_for 5 sh -c "ss -lun | grep -q 127.0.0.1:$port"
	got=$($NAMES teach teach.cdn.example.test "$2" "$1" $port)
	wait "$r"
	echo "$(tail -1 "$TMPD/teach.$1" | cut -d' ' -f1) $got"
}
check "an answer from the resolver's address, port 5353, reaches the cgroup's socket" \
	"got sent=ok" "$(teach_from 5353 127.1.0.11)"
check "... and teaches nothing" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.11 8080)"
check "the same answer from its port 53 reaches the socket" "got sent=ok" "$(teach_from 53 127.1.0.12)"
check "... and teaches the address (the control)" ok "$(in_cg "$CG" "$NP" connect tcp 127.1.0.12 8080)"

# events: the name an address was allowed through; why one was denied
sleep 0.3
ev=$("$CGF" --json events "$P")
check_match "a connection event names the domain it was allowed through" \
	'"type":"connection-open".*"dst":"127.1.0.1".*"name":"api.example.test"' \
	"$(grep connection-open <<<"$ev" | grep '127.1.0.1"' | head -1)"
check_match "the denial before any lookup: no allowed name resolved to it" \
	'"dst":"127.1.0.1".*"names":"no-name"' "$(grep '"deny"' <<<"$ev" | head -1)"
check_match "the denial after the lifetime: expired" '"dst":"127.1.0.1".*"names":"name-expired"' \
	"$(grep '"deny"' <<<"$ev" | grep name-expired | head -1)"
check_match "DNS over TCP: no allowed name resolved to it" '"dst":"127.1.0.10".*"names":"no-name"' \
	"$(grep '"127.1.0.10"' <<<"$ev" | head -1)"
check_match "resolved another way: no allowed name resolved to it" \
	'"dst":"127.1.0.6".*"names":"no-name"' "$(grep '"127.1.0.6"' <<<"$ev" | head -1)"
check_match "the resolver's port: refused by the guard" '"rule":"dns_guard"' \
	"$(grep dns_guard <<<"$ev" | head -1)"
txt=$("$CGF" events "$P")
check_match "events in text say why" "no allowed name resolved to this address" "$txt"

in_cg "$CG" dig +short api.example.test >/dev/null
check_match "stats --json: each pattern's learnt addresses with their expiry" \
	'"pattern":"api.example.test","line":[0-9]+,"addresses":\[\{"address":"127.1.0.1","expires_in_s":1\.[0-9]+,"expired":false' \
	"$("$CGF" --json stats "$P")"
# bounded: 40 names into 16 places, the least recently used go, counted
for i in $(seq 1 40); do dig_a "h$i.many.example.test" >/dev/null; done
st=$("$CGF" --json stats "$P")
n=$(python3 -c 'import json,sys; d=json.load(sys.stdin)[0]["names"]; print(d["addresses"] <= d["limit"] == 16 and d["evicted"] >= 24, d["answers"] > 200)' <<<"$st")
check "40 learnt into 16: at most 16 kept, the others evicted and counted" "True True" "$n"
scrape_metrics "$TMPD/metrics" || not_ok "cgfence metrics did not answer"
check_match "metrics: learnt addresses held" "cgfence_names_addresses\{policy=\"$P\"\} ([0-9]|1[0-6])
" "$(cat "$TMPD/metrics")"
check_match "metrics: evictions counted" "cgfence_names_evicted_total\{policy=\"$P\"\} ([3-9][0-9]|2[4-9])
" "$(cat "$TMPD/metrics")"
check_match "metrics: answers read" "cgfence_dns_answers_total\{policy=\"$P\"\} [0-9]{3}" "$(cat "$TMPD/metrics")"
check_match "list --json shows the names too" '"names":\{"patterns":' "$("$CGF" --json list)"
check_match "list shows them as text" "names: [0-9]+ addresses learnt \(limit 16" "$("$CGF" list)"
check_match "explain a name" "^allow
rule: .*through name \*.cdn.example.test" "$("$CGF" explain "$POL" connect x.cdn.example.test:8080)"
check_match "explain shows that addresses are shared" "shared addresses" \
	"$("$CGF" explain "$POL" connect api.example.test:8080)"

# a process in its own network namespace inside the cgroup, with its own resolver
in_cg_bg "$CG" unshare -n sleep 60
NSP=$!
T_PIDS+=("$NSP")
wait_for 5 test "$(readlink /proc/$NSP/ns/net)" != "$(readlink /proc/self/ns/net)"
nsenter -t "$NSP" -n ip link set lo up
start_dnsmasq 127.0.0.53 "$TMPD/dnsmasq.conf" api.example.test "$NSP" || not_ok "the inner dnsmasq did not start"
nsenter -t "$NSP" -n python3 -m http.server --bind 127.1.0.1 8080 >/dev/null 2>&1 &
T_PIDS+=($!)
wait_for 10 nsenter -t "$NSP" -n curl -s -o /dev/null http://127.1.0.1:8080/
check "own netns in the cgroup: before a lookup" EPERM \
	"$(in_cg "$CG" nsenter -t "$NSP" -n "$NP" connect tcp 127.1.0.1 8080)"
check "own netns in the cgroup: curl by name, its own resolver" 0 \
	"$(in_cg "$CG" nsenter -t "$NSP" -n curl -s -o /dev/null --max-time 3 \
		http://api.example.test:8080/; echo $?)"

# examples/ci-egress.yaml, applied: the mirror and GitHub by name, nothing else
for port in 80 443; do
	python3 -m http.server --bind :: $port >/dev/null 2>&1 &
	T_PIDS+=($!)
done
wait_for 10 curl -s -o /dev/null http://127.1.4.1:80/
wait_for 10 curl -s -o /dev/null http://127.1.4.1:443/
mkcg CI ci
CIP=$(pname ci)
track_policy "$CIP"
sed "s/^name: ci-egress/name: $CIP/" examples/ci-egress.yaml >"$TMPD/ci.yaml"
check "ci-egress: check has no warning" 0 "$("$CGF" check "$TMPD/ci.yaml" 2>&1 | grep -c warning)"
"$CGF" apply --cgroup "$CI" "$TMPD/ci.yaml" >/dev/null 2>&1 || not_ok "ci-egress: apply failed"
ci_get() { in_cg "$CI" curl -s -o /dev/null --max-time 3 "$1"; echo $?; }
check "ci-egress: the mirror" 0 "$(ci_get http://deb.debian.org:80/debian/)"
check "ci-egress: the security mirror" 0 "$(ci_get http://security.debian.org:443/)"
check "ci-egress: github.com" 0 "$(ci_get http://github.com:443/)"
check "ci-egress: codeload.github.com (*.github.com)" 0 "$(ci_get http://codeload.github.com:443/)"
check "ci-egress: objects.githubusercontent.com" 0 "$(ci_get http://objects.githubusercontent.com:443/)"
check "ci-egress: github.com on port 80 is not listed" 7 "$(ci_get http://github.com:80/)"
check "ci-egress: another host is denied" 7 "$(ci_get http://pypi.org:443/)"

# the daemon is not in the path of DNS: none runs here, and a re-apply keeps what was learnt
# (learnt for min_ttl 30 s, not the TTL of 2 s: an apply under ASan on a busy machine
# can take longer than 2 s, and the address would expire, not be lost)
sed 's/min_ttl: 1,/min_ttl: 30,/' "$POL" >"$TMPD/names2.yaml"
"$CGF" apply --cgroup "$CG" "$TMPD/names2.yaml" >/dev/null 2>&1 || not_ok "apply with min_ttl 30 failed"
in_cg "$CG" dig +short api.example.test >/dev/null
echo "# a changed file: a new version" >>"$TMPD/names2.yaml"
"$CGF" apply --cgroup "$CG" "$TMPD/names2.yaml" >/dev/null 2>&1 || not_ok "re-apply failed"
check "after a re-apply the learnt address is still allowed" ok \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.1 8080)"

# the version's copy (learnt addresses in the egress trie, one lookup) never
# overrides a rule, and what it does not allow is judged by the learnt table:
# multi.example.test (127.1.0.4, 127.1.0.5, ::1) under two patterns, the first
# for port 8080, the second for 9001; 127.1.0.4 denied by a rule, 127.1.0.5
# denied on 8080 by a rule that names the port
"$NP" listen tcp 127.1.0.5 9001 --stream >/dev/null &
T_PIDS+=($!)
wait_for 10 sh -c "ss -ltn | grep -q 127.1.0.5:9001" || not_ok "listener on 127.1.0.5:9001"
cat >"$TMPD/names3.yaml" <<EOF
version: 1
name: $P
network:
  dns: {servers: [127.0.0.53], min_ttl: 1}
  sockets: {deny_types: [raw]}
  egress:
    default: deny
    rules:
      - {action: allow, to: [127.0.0.53], ports: [53]}
      - {action: deny, to: [127.1.0.4]}
      - {action: deny, to: [127.1.0.5], ports: [8080], protocol: tcp}
      - {action: allow, to_names: [multi.example.test], ports: [8080], protocol: tcp}
      - {action: allow, to_names: ["*.example.test"], ports: [9001], protocol: tcp}
EOF
"$CGF" apply --cgroup "$CG" "$TMPD/names3.yaml" >/dev/null 2>&1 || not_ok "apply names3"
out=$(in_cg "$CG" $NAMES connect multi.example.test 8080)
check_match "copy: a rule that denies the address still does" "127.1.0.4=EPERM" "$out"
check_match "copy: a rule that denies the address's port still does" "127.1.0.5=EPERM" "$out"
check_match "copy: the first pattern's port, IPv6" "::1=ok" "$out"
check_match "copy: the second pattern's port (the learnt table decides)" "127.1.0.5=ok" \
	"$(in_cg "$CG" $NAMES connect multi.example.test 9001)"
check_match "copy: a port neither pattern lists" "127.1.0.5=EPERM" \
	"$(in_cg "$CG" $NAMES connect multi.example.test 22)"
copy() { "$CGF" --json stats "$P" | python3 -c 'import json,sys; n=json.load(sys.stdin)[0]["names"]; print(n["copy"], n["addresses"] > 0)'; }
check "copy: only ::1 is copied (127.1.0.4 and 127.1.0.5 have rules of their own)" "1 True" "$(copy)"
sleep 3.2	# past TTL 2 s; list (and stats) settle every policy first
"$CGF" list >/dev/null 2>&1
check "copy: settling drops an expired address's copy; the learnt table keeps the address" \
	"0 True" "$(copy)"
check_match "copy: a new answer copies it again" "::1=ok" \
	"$(in_cg "$CG" $NAMES connect multi.example.test 8080)"
check "copy: ... as stats shows" "1 True" "$(copy)"
t_done
