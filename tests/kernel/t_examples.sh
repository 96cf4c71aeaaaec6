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

# the demo, as `make demo` runs it (it makes its own network namespace)
out=$(examples/demo.sh 2>&1)
check "demo exits 0" 0 $?
check_match "demo: allowed port reached"     "connect 127.0.0.1:80 +-> ok" "$out"
check_match "demo: range port reached"       "connect 127.0.0.2:8080 +-> ok" "$out"
check_match "demo: excepted host refused"    "connect 127.0.0.3:80 +-> EPERM" "$out"
check_match "demo: other port refused"       "connect 127.0.0.1:22 +-> EPERM" "$out"
check_match "demo: reachable outside cgfence" "connect 127.0.0.3:80 +-> ok" "$out"
check_match "demo: run's policy was listed"  "loopback-only-run-[0-9]+ +enforce" "$out"
t_done
