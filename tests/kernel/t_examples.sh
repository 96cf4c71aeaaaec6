#!/usr/bin/env bash
# The shipped examples: every policy passes `check`, the verdicts the README
# and docs quote are what `explain` says, and the demo shows them enforced.
. "$(dirname "$0")/lib.sh"

for f in examples/*.yaml; do
	out=$("$CGF" check "$f" 2>&1)
	check "example $(basename "$f") is valid" 0 $?
done
ex() { "$CGF" explain "$@" | head -1; }
check "README: web-egress denies the metadata address" deny "$(ex examples/web-egress.yaml connect 169.254.169.254:80/tcp)"
check_match "README: explain names the deciding rule" "^rule: examples/web-egress.yaml:[0-9]+: \{action: deny, to: \[169.254.169.254" \
	"$("$CGF" explain examples/web-egress.yaml connect 169.254.169.254:80/tcp | sed -n 2p)"
check "web-egress: https anywhere public"     allow "$(ex examples/web-egress.yaml connect 192.0.2.10:443/tcp)"
check "web-egress: https to private denied"   deny  "$(ex examples/web-egress.yaml connect 10.1.1.1:443/tcp)"
check "web-egress: database (longer prefix)"  allow "$(ex examples/web-egress.yaml connect 10.20.3.4:5432/tcp)"
check "web-egress: DNS to the resolver"       allow "$(ex examples/web-egress.yaml sendmsg 127.0.0.53:53/udp)"
check "web-egress: other DNS denied"          deny  "$(ex examples/web-egress.yaml sendmsg 192.0.2.53:53/udp)"
check "ingress example: private allowed"      allow "$(ex examples/ingress-private-only.yaml ingress 10.1.1.1:8080/tcp)"
check "ingress example: metrics port denied"  deny  "$(ex examples/ingress-private-only.yaml ingress 10.1.1.1:9100/tcp)"
check "ingress example: metrics from monitoring" allow "$(ex examples/ingress-private-only.yaml ingress 10.99.0.7:9100/tcp)"
check "ingress example: public denied"        deny  "$(ex examples/ingress-private-only.yaml ingress 192.0.2.1:443/tcp)"
check "audit example: would deny public"      deny  "$(ex examples/audit-first.yaml connect 192.0.2.1:443/tcp)"
check "containers example: metadata denied"   deny  "$(ex examples/containers-observed.yaml connect 169.254.169.254:80/tcp)"
check "README: ci-egress allows the mirror by name" allow "$(ex examples/ci-egress.yaml connect deb.debian.org:443)"
check_match "README: ci-egress names the pattern" "through name deb.debian.org" \
	"$("$CGF" explain examples/ci-egress.yaml connect deb.debian.org:443 | sed -n 2p)"
check "README: ci-egress denies another name" deny "$(ex examples/ci-egress.yaml connect pypi.org:443)"
check "ci-egress: *.githubusercontent.com" allow "$(ex examples/ci-egress.yaml connect objects.githubusercontent.com:443)"
check "containers example: the rest allowed"  allow "$(ex examples/containers-observed.yaml connect 192.0.2.1:443/tcp)"

# the README's tour policy, taken from the README itself
awk '/^Write a policy:/ { f = 1; next } f && /^```yaml/ { y = 1; next } y && /^```/ { exit } y' README.md >"$TMPD/api.yaml"
check_match "README tour policy is valid" "policy api is valid" "$("$CGF" check "$TMPD/api.yaml" 2>&1)"
check "README tour: database port allowed"   allow "$(ex "$TMPD/api.yaml" connect 10.20.1.5:5432/tcp)"
check "README tour: IPv6 DNS denied"          deny  "$(ex "$TMPD/api.yaml" sendmsg [2001:db8::1]:53/udp)"
check "README tour: bind 22 denied"           deny  "$(ex "$TMPD/api.yaml" bind 0.0.0.0:22/tcp)"
check "README tour: raw socket denied"        deny  "$(ex "$TMPD/api.yaml" socket inet/raw)"
check "README tour: a reply follows its connection" allow "$(ex "$TMPD/api.yaml" reply 10.20.1.5:5432/tcp)"

# no-inbound: what arrives unasked is denied, the answers to what it asks are not
check "no-inbound: nothing arrives unasked"   deny  "$(ex examples/no-inbound.yaml ingress 192.0.2.1:443/tcp)"
check "no-inbound: an HTTPS reply comes back" allow "$(ex examples/no-inbound.yaml reply 192.0.2.1:443/tcp)"
check "no-inbound: a DNS answer comes back"   allow "$(ex examples/no-inbound.yaml reply 127.0.0.53:53/udp)"
check "no-inbound: a reply from a private host does not" deny "$(ex examples/no-inbound.yaml reply 10.1.1.1:443/tcp)"
mkcg NOIN noin
NNI=$(pname noin); track_policy "$NNI"
sed "s/^name: no-inbound/name: $NNI/" examples/no-inbound.yaml >"$TMPD/noin.yaml"
"$CGF" apply "$TMPD/noin.yaml" --cgroup "$NOIN" >/dev/null
check "no-inbound: applied to a test cgroup" 0 $?
"$NP" listen udp 127.0.0.53 53 --say resolver >/dev/null &
T_PIDS+=($!)
sleep 0.2
check_match "no-inbound: the resolver's answer comes back (UDP)" "^resolver peer=127.0.0.53:53" "$(in_cg "$NOIN" "$NP" hello udp 127.0.0.53 53)"
check "no-inbound: a datagram that arrives unasked is dropped" timeout "$(python3 tests/helpers/flows.py "$NOIN" udp-unasked)"

# dns-and-service: the rewrites explain shows, and that egress allows them
check "dns-and-service: DNS to the local resolver" "redirect 127.0.0.53:5353" "$(ex examples/dns-and-service.yaml sendmsg 192.0.2.1:53/udp)"
check "dns-and-service: service spread over backends" "redirect 127.0.0.1:8081|127.0.0.1:8082|127.0.0.1:8083 select round-robin" "$(ex examples/dns-and-service.yaml connect 10.96.0.10:80/tcp)"
check "dns-and-service: anything else denied" deny "$(ex examples/dns-and-service.yaml connect 10.96.0.10:443/tcp)"

# web-service: applied to a test cgroup (its target is a real service)
mkcg WEB web
WN=$(pname web); track_policy "$WN"
sed "s/^name: .*/name: $WN/" examples/web-service.yaml >"$TMPD/web.yaml"
"$CGF" apply "$TMPD/web.yaml" --cgroup "$WEB" >/dev/null
check "web-service applies" 0 $?
w() { in_cg "$WEB" "$NP" "$@"; }
check "web-service: bind 80 allowed"                ok    "$(w bind tcp 0.0.0.0 80)"
check "web-service: bind 443 on ::"                 ok    "$(w bind tcp :: 443)"
check "web-service: bind 22 denied"                 EPERM "$(w bind tcp 0.0.0.0 22)"
check "web-service: admin port on loopback"         ok    "$(w bind tcp 127.0.0.1 8081)"
check "web-service: admin port on all addresses"    EPERM "$(w bind tcp 0.0.0.0 8081)"
check "web-service: ephemeral bind"                 ok    "$(w bind udp 0.0.0.0 0)"
check "web-service: raw socket denied"              EPERM "$(w socket inet raw)"
check "web-service: SO_REUSEPORT denied"            EPERM "$(w setsockopt SO_REUSEPORT)"

# build-sandbox: a real command under cgfence run
serve tcp 127.0.0.1 8000
out=$("$CGF" run -p examples/build-sandbox.yaml -- sh -c "
	echo data >/dev/null && echo devnull=ok
	echo loopback=\$($NP connect tcp 127.0.0.1 8000)
	echo kmsg=\$($NP open /dev/kmsg r)
	echo raw=\$($NP socket inet raw)
	echo sysread=\$($NP sysctl-read net/ipv4/ip_forward)
	echo syswrite=\$($NP sysctl-write net/ipv4/ip_forward 0)
" 2>&1)
check "build-sandbox: run exits 0" 0 $?
for want in devnull=ok loopback=ok kmsg=EPERM raw=EPERM sysread=ok syswrite=EPERM; do
	check_match "build-sandbox: $want" "(^|[[:space:]])$want([[:space:]]|\$)" "$out"
done

# gpu-job: applies without GPUs (a warning), standard devices only
mkcg GPU gpu
GN=$(pname gpu); track_policy "$GN"
sed "s/^name: .*/name: $GN/" examples/gpu-job.yaml >"$TMPD/gpu.yaml"
"$CGF" apply "$TMPD/gpu.yaml" --cgroup "$GPU" >/dev/null 2>"$TMPD/gpu.err"
check "gpu-job applies" 0 $?
check "gpu-job: /dev/zero allowed"  ok    "$(in_cg "$GPU" "$NP" open /dev/zero r)"
check "gpu-job: /dev/full denied"   EPERM "$(in_cg "$GPU" "$NP" open /dev/full r)"
check "gpu-job: NVIDIA major allowed to open, not to mknod" EPERM "$(in_cg "$GPU" "$NP" mknod "$TMPD/nv" c 195 0)"

# the docs and the CLI agree: every command of `cgfence help` is in
# cgfence(8)'s synopsis, every hook cgfence attaches is named there, and every
# policy section is described in cgfence-policy(5)
for cmd in $("$CGF" help | awk '$1 == "cgfence" { print $2 }' | sort -u); do
	grep -q "^cgfence $cmd" docs/cgfence.8.md && ok "cgfence(8) synopsis has '$cmd'" ||
		not_ok "cgfence(8) synopsis lacks '$cmd'"
	for opt in $("$CGF" help | awk -v c="$cmd" '$1 == "cgfence" { k = ($2 == c) } k' |
		grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "^cgfence $cmd .*$opt" docs/cgfence.8.md &&
			ok "cgfence(8) synopsis has '$cmd $opt'" ||
			not_ok "cgfence(8) synopsis lacks '$cmd $opt'"
	done
done
all=$("$CGF" --json version)	# its "hooks": the hook registry
check_match "version --json lists the registry's hooks" '"hooks":\["connect4",.*"getpeername6","post_bind4","post_bind6"\]' "$all"
for h in $(grep -o '"hooks":\[[^]]*\]' <<<"$all" | grep -o '"[a-z0-9_]*"' | tr -d '"' | grep -v hooks | sort -u); do
	grep -qw "$h" docs/cgfence.8.md && ok "cgfence(8) names hook '$h'" || not_ok "cgfence(8) does not name hook '$h'"
done
for k in version name mode target network egress ingress bind sockets redirect sockopt devices tcp sysctl; do
	grep -q "\*\*$k\*\*\|### $k\|### network.$k\|^  $k:\|^$k:" docs/cgfence-policy.5.md &&
		ok "cgfence-policy(5) describes '$k'" || not_ok "cgfence-policy(5) does not describe '$k'"
done

# the demo, as `make demo` runs it (it makes its own network namespace)
out=$(CGF="$CGF" NP="$NP" examples/demo.sh 2>&1)
check "demo exits 0" 0 $?
check_match "demo: allowed port reached"     "connect 127.0.0.1:80 +-> ok" "$out"
check_match "demo: range port reached"       "connect 127.0.0.2:8080 +-> ok" "$out"
check_match "demo: excepted host refused"    "connect 127.0.0.3:80 +-> EPERM" "$out"
check_match "demo: other port refused"       "connect 127.0.0.1:22 +-> EPERM" "$out"
check_match "demo: reachable outside cgfence" "connect 127.0.0.3:80 +-> ok" "$out"
check_match "demo: run's policy was listed"  "loopback-only-run-[0-9]+ +enforce" "$out"
t_done
