#!/usr/bin/env bash
# A mutation pass over the verdict code in bpf/: each mutant changes one
# branch (a comparison turned, a check dropped, a verdict flipped), is built
# in a worktree of HEAD and run against the tests that should see it, first
# the one named for it, then the others, stopping at the first failure
# (killed). A mutant no test fails survives: a hole in the tests. Prints a
# row per mutant and the score. Not part of `make check` (a full pass takes
# about an hour here); run as root: tests/mutation.sh [ID...]. The mutants
# are in tests/mutation.txt, one a line, tab-separated: id, file, the test
# that should kill it, the text (once in the file) and what it becomes.
set -u
cd "$(dirname "$0")/.."
W=${MUTATION_DIR:-/tmp/cgfence-mutation}
MUTANTS=tests/mutation.txt
FAST=(test_skb t_egress t_ingress t_bind t_state t_holes t_names t_names_netns t_spoof t_accounting t_redirect)

git worktree remove --force "$W" >/dev/null 2>&1
git worktree add --detach "$W" HEAD >/dev/null 2>&1 || { echo "cannot make a worktree at $W"; exit 1; }
trap 'git worktree remove --force "$W" >/dev/null 2>&1' EXIT
make -C "$W" -s cgfence .output/netprobe $(ls tests/unit/test_*.c | sed 's|tests/unit/|.output/tests/|;s|\.c$||') \
	.output/difftest .output/statetest >/dev/null 2>&1 || { echo "the unmutated build fails"; exit 1; }

# run_one TEST: 0 when it passes against the worktree's build
run_one() {
	if [[ $1 == test_* ]]; then
		(cd "$W" && CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 ".output/tests/$1" >/dev/null 2>&1)
	else
		(cd "$W" && timeout 600 unshare -n bash "tests/kernel/$1.sh" </dev/null 2>&1 | grep -q '^not ok' && exit 1
		 exit "${PIPESTATUS[0]}")
	fi
}

killed=0 total=0 tried=
echo "| id | file | mutant | killed by |"
echo "|---|---|---|---|"
while IFS=$'\t' read -r id file test from to; do
	[[ -z $id || $id == \#* ]] && continue
	[ $# -gt 0 ] && [[ " $* " != *" $id "* ]] && continue
	git -C "$W" checkout -q -- .
	python3 - "$W/$file" "$from" "$to" <<'PY' || { echo "| $id | $file | (does not apply) | - |"; continue; }
import sys
def unesc(x):
    return x.replace("\\t", "\t").replace("\\n", "\n")
p, a, b = sys.argv[1], unesc(sys.argv[2]), unesc(sys.argv[3])
s = open(p).read()
if s.count(a) != 1:
    sys.exit(1)
open(p, "w").write(s.replace(a, b))
PY
	total=$((total + 1))
	if ! make -C "$W" -s cgfence $(ls tests/unit/test_*.c | sed 's|tests/unit/|.output/tests/|;s|\.c$||') \
		>/dev/null 2>&1; then
		echo "| $id | $file | \`$from\` -> \`$to\` | (does not build: not counted) |"
		total=$((total - 1))
		continue
	fi
	by=""
	for t in "$test" "${FAST[@]}"; do
		[ "$t" = "$test" ] && [ -n "$by$tried" ] && continue	# the named one runs first, once
		tried=1
		if ! run_one "$t"; then by=$t; break; fi
	done
	tried=
	[ -n "$by" ] && killed=$((killed + 1))
	echo "| $id | $file | \`$from\` -> \`$to\` | ${by:-**survived**} |"
done <"$MUTANTS"
git -C "$W" checkout -q -- .
echo
echo "score: $killed of $total mutants killed"
