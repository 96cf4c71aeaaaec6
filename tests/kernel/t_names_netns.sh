#!/bin/bash
# to_names: an answer teaches only the network namespace it arrived in. A
# process of the cgroup with no privilege (nobody) makes a user and network
# namespace of its own, where it has CAP_NET_RAW, and forges an answer from a
# listed resolver to its own socket there: with an AF_PACKET frame on its lo
# (IPv4 and IPv6), and, as root in a namespace of its own, through a tun
# device. Each answer reaches the socket in the cgroup, whose ingress program
# reads it; none may allow a connection in the namespace the policy was
# applied from. The same frame written there (root, the control) teaches.
. "$(dirname "$0")/lib.sh"

FORGE="$PWD/tests/helpers/nsforge.py"
mkcg CG netns
P=$(pname netns)
track_policy "$P"
POL=$(policy_file netns <<POLICY
version: 1
name: $P
network:
  dns: {servers: [127.0.0.53, "::1"], min_ttl: 60}
  egress:
    default: deny
    rules:
      - {action: allow, to_names: [api.example.test], ports: [8080], protocol: tcp}
POLICY
)
"$CGF" apply --cgroup "$CG" "$POL" >/dev/null
check "policy applied" 0 $?
python3 -m http.server --bind 0.0.0.0 8080 >/dev/null 2>&1 &
T_PIDS+=($!)
wait_for 10 curl -s -o /dev/null http://127.1.0.20:8080/ || not_ok "http server did not start"
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)

check "control: the address is denied before any answer" EPERM \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.20 8080)"
check "control: a frame forged in the policy's own namespace (root) reaches the socket" \
	"received connect=ok" "$(in_cg "$CG" python3 "$FORGE" packet4 api.example.test 127.1.0.20 | xargs)"
check "control: ... and teaches there" ok "$(in_cg "$CG" "$NP" connect tcp 127.1.0.20 8080)"
check "an address learnt in the policy's namespace allows nothing in another (lo down: EPERM, not unreachable)" \
	EPERM "$(in_cg "$CG" unshare -n "$NP" connect tcp 127.1.0.20 8080)"

check "nobody, own user+net namespace, AF_PACKET on its lo (IPv4): arrives, allows there" \
	"received connect=ECONNREFUSED" \
	"$(in_cg "$CG" "${NOBODY[@]}" unshare -Urn /usr/bin/python3 "$FORGE" packet4 api.example.test 127.1.0.21 | xargs)"
check "... but not in the namespace the policy was applied from" EPERM \
	"$(in_cg "$CG" "$NP" connect tcp 127.1.0.21 8080)"
check "nobody, own user+net namespace, AF_PACKET (IPv6, from [::1]:53): arrives, allows there" \
	"received connect=ECONNREFUSED" \
	"$(in_cg "$CG" "${NOBODY[@]}" unshare -Urn /usr/bin/python3 "$FORGE" packet6 api.example.test 127.1.0.22 | xargs)"
check "... but allows nothing here" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.22 8080)"
check "own net namespace, a tun device: arrives, allows there" "received connect=ECONNREFUSED" \
	"$(in_cg "$CG" unshare -n python3 "$FORGE" tun4 api.example.test 127.1.0.23 | xargs)"
check "... but allows nothing here" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.1.0.23 8080)"
check "stats: the four answers, learnt each for its own namespace" "4 4" \
	"$("$CGF" --json stats "$P" | python3 -c 'import json,sys
d = json.load(sys.stdin)[0]["names"]["patterns"][0]["addresses"]
print(len(d), len({a["netns"] for a in d if a["netns"]}))')"
t_done
