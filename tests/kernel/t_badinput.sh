#!/usr/bin/env bash
# Bad policies and bad arguments: clear errors with FILE:LINE:COL, exit 1 or
# 2, and the policy already in force stays in force, with no half-made pins.
. "$(dirname "$0")/lib.sh"

mkcg CG bad
NAME=$(pname bad); track_policy "$NAME"
GOOD=$(deny_one_policy good "$NAME" 127.0.0.3)
serve tcp 127.0.0.3 80
"$CGF" apply "$GOOD" --cgroup "$CG" >/dev/null
check "apply the good policy" 0 $?
gen() { "$CGF" --json list | grep -o "\"name\":\"$NAME\",\"mode\":\"[a-z]*\",\"generation\":[0-9]*" | grep -o '[0-9]*$'; }
g0=$(gen)

# try FILE EXPECTED_MESSAGE_REGEX: must fail with status 1 and leave GOOD in force
try() {
	local err
	"$CGF" apply "$1" --cgroup "$CG" >/dev/null 2>"$TMPD/err"
	check "$2: exit 1" 1 $?
	err=$(cat "$TMPD/err")
	check_match "$2: message" "$3" "$err"
	check "$2: old policy still enforced" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
}
f=$(policy_file syntax <<EOF
version: 1
name: $NAME
network: [
EOF
)
try "$f" "YAML syntax error" "^cgfence: $f:[0-9]+:[0-9]+: YAML"
f=$(policy_file prefix <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
    rules:
      - {action: allow, to: [127.0.0.300]}
EOF
)
try "$f" "bad prefix" "^cgfence: $f:7:30: to: '127.0.0.300'"
f=$(policy_file port <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
    rules:
      - action: allow
        ports: ["9000-80"]
EOF
)
try "$f" "bad port range" "^cgfence: $f:8:17: ports: '9000-80': a port range must go from low to high"
f=$(policy_file key <<EOF
version: 1
name: $NAME
network:
  egres:
    default: allow
EOF
)
try "$f" "unknown key" "^cgfence: $f:4:3: unknown key 'egres'"

# a failure after the new links were attached: everything is rolled back
f=$(policy_file late <<EOF
version: 1
name: $NAME
network:
  egress:
    default: allow
  ingress:
    default: deny
  bind:
    default: allow
EOF
)
CGF_TEST_FAIL_AFTER_ATTACH=1 "$CGF_FAULTS" apply "$f" --cgroup "$CG" >/dev/null 2>&1
check "late failure: exit 1" 1 $?
check "late failure: old policy still enforced" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
check "late failure: no bind4 link left" no "$([ -e /sys/fs/bpf/cgfence/$NAME/cg-*/bind4 ] && echo yes || echo no)"
check "late failure: generation unchanged" "$g0" "$(gen)"
# a late failure of a re-apply that adds redirect: its new map pins go too
sed 's/^  ingress:/  redirect:\n    - {match: {to: [127.0.0.9]}, to: 127.0.0.1:9}\n  ingress:/' "$f" >"$TMPD/late2.yaml"
pins() { ls /sys/fs/bpf/cgfence/$NAME | grep -v '^cg-' | sort | tr '\n' ' ' | sed 's/ $//'; }
before=$(pins)
CGF_TEST_FAIL_AFTER_ATTACH=1 "$CGF_FAULTS" apply "$TMPD/late2.yaml" --cgroup "$CG" >/dev/null 2>&1
check "late failure adding redirect: exit 1" 1 $?
check_match "late failure adding redirect: pins as before" "^acct active cgroups events handoff hits-[01] learnt listen meta peers pstats ratelimit rules-[01] slot-.* state stats$" "$before"
check "late failure adding redirect: no new map pins" "$before" "$(pins)"
NEW=$(pname fresh)
sed "s/name: $NAME/name: $NEW/" "$f" >"$TMPD/fresh.yaml"
CGF_TEST_FAIL_AFTER_ATTACH=1 "$CGF_FAULTS" apply "$TMPD/fresh.yaml" --cgroup "$CG" >/dev/null 2>&1
check "late failure of a new policy: exit 1" 1 $?
check "late failure of a new policy: no pins" no "$([ -e /sys/fs/bpf/cgfence/$NEW ] && echo yes || echo no)"

# bad arguments
"$CGF" apply "$GOOD" --cgroup "cgfence-$TID-nonexistent" 2>"$TMPD/err"
check "missing cgroup: exit 1" 1 $?
check_match "missing cgroup: message" "no such cgroup" "$(cat "$TMPD/err")"
"$CGF" apply "$GOOD" --cgroup "../etc" 2>/dev/null; check "cgroup with ..: exit 1" 1 $?
"$CGF" apply 2>/dev/null; check "apply without file: exit 2" 2 $?
"$CGF" apply "$TMPD/missing.yaml" 2>"$TMPD/err"; check "missing file: exit 1" 1 $?
check_match "missing file: message" "missing.yaml: cannot read" "$(cat "$TMPD/err")"
"$CGF" frobnicate 2>/dev/null; check "unknown command: exit 2" 2 $?
"$CGF" >"$TMPD/out" 2>"$TMPD/err"; check "no command: exit 2" 2 $?
check_match "no command: said on stderr" "^cgfence: no command given" "$(cat "$TMPD/err")"
check "no command: nothing on stdout" "" "$(cat "$TMPD/out")"
"$CGF" d x 2>"$TMPD/err"; check "ambiguous prefix: exit 2" 2 $?
check_match "ambiguous prefix: names both" "ambiguous: detach daemon" "$(cat "$TMPD/err")"
"$CGF" detach 2>/dev/null; check "detach without name: exit 2" 2 $?
"$CGF" detach 'Bad Name' 2>/dev/null; check "detach bad name: exit 2" 2 $?
"$CGF" explain "$GOOD" connect 127.0.0.1 2>/dev/null; check "explain without port: exit 2" 2 $?
"$CGF" explain "$GOOD" accept 127.0.0.1:80 2>/dev/null; check "explain unknown hook: exit 2" 2 $?
"$CGF" doctor --frobnicate 2>"$TMPD/err"; check "doctor unknown option: exit 2" 2 $?
check_match "doctor unknown option: named" "doctor: unexpected argument '--frobnicate'" "$(cat "$TMPD/err")"
"$CGF" daemon --policy-dir "$TMPD" --runtime-root 2>"$TMPD/err"; check "daemon --runtime-root without a value: exit 2" 2 $?
"$CGF" outside 2>/dev/null; check "unknown command outside: exit 2" 2 $?
check_match "--json error is a JSON object" '^\{"error":' "$("$CGF" --json detach "$(pname nope)" 2>/dev/null)"
check "old policy survived all of it" EPERM "$(in_cg "$CG" "$NP" connect tcp 127.0.0.3 80)"
t_done
