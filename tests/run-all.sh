#!/usr/bin/env bash
# Runs every test: the cmocka unit tests, then each real-kernel test script
# in a network namespace of its own. Every line "ok ..." or "not ok ..." is a
# test case; the last line is "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
pass=0 fail=0 skip=0
failed_names=()

# count_from NAME CMD...: run CMD, echo its output, count its ok/not ok lines
count_from() {
	local name=$1; shift
	local log rc p f s
	log=$(mktemp)
	"$@" >"$log" 2>&1
	rc=$?
	sed 's/^/  /' "$log"
	p=$(grep -E '^ok ' "$log" | grep -vc '# SKIP' || true)
	s=$(grep -E '^ok ' "$log" | grep -c '# SKIP' || true)
	f=$(grep -cE '^not ok ' "$log" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		echo "not ok - $name ran no test"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_names+=("$name")
	rm -f "$log"
}

echo "== unit tests"
for t in "$OUT"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "-- $(basename "$t")"
	count_from "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done

echo "== structure (file and function sizes, layers, include circles)"
count_from structure tests/structure.sh

echo "== fuzzing (short; make fuzz runs longer)"
if [ -x "$OUT/fuzz/fuzz_policy" ]; then
	fz() {
		local c r
		c=$(mktemp -d)
		cp examples/*.yaml "$c"/
		"$OUT/fuzz/fuzz_policy" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 \
			-rss_limit_mb=2048 -dict=tests/fuzz/policy.dict -artifact_prefix="$c/" "$c" \
			>"$c/log" 2>&1
		r=$?
		if [ $r -eq 0 ]; then
			echo "ok - fuzz_policy: $(grep -o 'Done [0-9]* runs in [0-9]* second' "$c/log"), no finding"
			rm -rf "$c"
		else
			# keep the input that failed: re-run it with $OUT/fuzz/fuzz_policy FILE
			mkdir -p "$OUT/fuzz/findings" && cp "$c"/crash-* "$c"/leak-* "$c"/timeout-* \
				"$OUT/fuzz/findings/" 2>/dev/null
			tail -40 "$c/log"
			echo "not ok - fuzz_policy found a problem (exit $r); inputs kept in $OUT/fuzz/findings"
			rm -rf "$c"
		fi
	}
	count_from fuzz fz
fi
if [ -x "$OUT/fuzz/fuzz_dns" ]; then
	fzd() {
		local c r
		c=$(mktemp -d)
		"$OUT/fuzz/fuzz_dns" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 \
			-artifact_prefix="$c/" "$c" >"$c/log" 2>&1
		r=$?
		if [ $r -eq 0 ]; then
			echo "ok - fuzz_dns: $(grep -o 'Done [0-9]* runs in [0-9]* second' "$c/log"), no finding"
		else
			mkdir -p "$OUT/fuzz/findings" && cp "$c"/crash-* "$c"/timeout-* \
				"$OUT/fuzz/findings/" 2>/dev/null
			tail -40 "$c/log"
			echo "not ok - fuzz_dns found a problem (exit $r); inputs kept in $OUT/fuzz/findings"
		fi
		rm -rf "$c"
	}
	count_from fuzz fzd
fi

echo "== kernel tests"
if [ "$(id -u)" -ne 0 ]; then
	echo "ok - kernel tests # SKIP not root"
	skip=$((skip + 1))
else
	for t in tests/kernel/t_*.sh; do
		case "${TESTS:-}" in ""|*"$(basename "$t" .sh)"*) ;; *) continue ;; esac
		echo "-- $(basename "$t")"
		count_from "$(basename "$t")" unshare -n bash "$t"
	done
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed in: ${failed_names[*]}"
fi
if [ "$skip" -gt 0 ]; then
	echo "${CGF_SUMMARY_PREFIX:-}$pass passed, $fail failed, $skip skipped"
else
	echo "${CGF_SUMMARY_PREFIX:-}$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
