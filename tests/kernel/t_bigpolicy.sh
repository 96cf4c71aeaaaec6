#!/usr/bin/env bash
# A policy of 1,000,000 prefixes (every one inside 127.16.0.0/12, so the
# probes stay on loopback) applies and is enforced; a re-apply replaces it.
. "$(dirname "$0")/lib.sh"

mkcg CG big
NAME=$(pname big); track_policy "$NAME"
POL="$TMPD/big.yaml"
{
	printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: deny\n    rules:\n' "$NAME"
	printf '      - action: deny\n        to: [127.16.0.0/16]\n        ports: [443]\n'
	printf '      - action: allow\n        ports: [80, 443, "8000-9000"]\n        protocol: tcp\n        to:\n'
	awk 'BEGIN { for (i = 0; i < 1000000; i++) { a = 16 * 65536 + i;
		printf "          - 127.%d.%d.%d\n", int(a / 65536), int(a / 256) % 256, a % 256 } }'
} >"$POL"
start=$(date +%s%N)
out=$("$CGF" apply "$POL" --cgroup "$CG")
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "1,000,000 prefixes apply" 0 $rc
echo "# apply took ${ms} ms: $out"
check_match "apply reports the prefixes" "1000001 prefixes" "$out"
inc() { in_cg "$CG" "$NP" connect tcp "$@" --timeout-ms 500; }
check "first prefix allowed on 80"          ECONNREFUSED "$(inc 127.16.0.0 80)"
check "a middle prefix allowed in a range"  ECONNREFUSED "$(inc 127.23.200.17 8500)"
check "last prefix allowed"                 ECONNREFUSED "$(inc 127.31.66.63 443)"
check "past the last prefix: default deny"  EPERM        "$(inc 127.31.66.64 80)"
check "listed prefix, other port: deny"     EPERM        "$(inc 127.16.1.1 81)"
check "/32 allow beats the /16 deny on 443" ECONNREFUSED "$(inc 127.16.1.1 443)"
check_match "explain agrees" "^allow" "$("$CGF" explain "$POL" connect 127.23.200.17:8500/tcp)"
# replace the million-prefix policy by a small one, atomically
printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: allow\n' "$NAME" >"$TMPD/small.yaml"
"$CGF" apply "$TMPD/small.yaml" --cgroup "$CG" >/dev/null
check "replaced by a small policy" ECONNREFUSED "$(inc 127.31.66.64 80)"
# the replaced version's million prefixes are emptied by cgfence-drain in the
# background, paced, and then freed: nothing of it is left after it exits
check_match "the replaced version is drained by a process of its own" "^cgfence-drain$" \
	"$(ps -o comm= -p "$(pgrep -x cgfence-drain | head -1)")"
wait_for 120 sh -c '! pgrep -x cgfence-drain >/dev/null'
check "the drainer exits when its maps are empty" "" "$(pgrep -x cgfence-drain)"
check "no trie of a million entries is left" "" \
	"$(bpftool map list | grep -A1 'lpm_trie  name cgf_egress' | grep 'max_entries 1000001')"
t_done
