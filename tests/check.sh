#!/usr/bin/env bash
# make check: every test on the plain build, then again on the ASan+UBSan
# build (unless CHECK_SANITIZE=0); the last line is the total,
# "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
total_p=0 total_f=0 total_s=0 rc=0

# pass LABEL ENV...: run every test with ENV, add its summary to the total
pass() {
	local label=$1 log line p f s
	shift
	log=$(mktemp)
	echo "=== $label"
	env CGF_SUMMARY_PREFIX="$label: " "$@" tests/run-all.sh | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	line=$(tail -n 1 "$log")
	rm -f "$log"
	p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line")
	[ -n "$p" ] && [ -n "$f" ] || { echo "not ok - $label: no summary line"; f=1; p=0; rc=1; }
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + ${s:-0}))
}

pass "plain build"
if [ "${CHECK_SANITIZE:-1}" != 0 ]; then
	san=${SAN_OUT:-.output-san}
	pass "ASan+UBSan build" OUTPUT="$san" CGF="$PWD/$san/cgfence" CGF_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
fi
if [ "$total_s" -gt 0 ]; then
	echo "$total_p passed, $total_f failed, $total_s skipped"
else
	echo "$total_p passed, $total_f failed"
fi
[ "$rc" -eq 0 ] && [ "$total_f" -eq 0 ]
