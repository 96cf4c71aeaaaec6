#!/usr/bin/env bash
# The CLI under valgrind: no invalid access, no use of uninitialised memory,
# no leak, on the paths that parse, compile, load, attach, replace, list and
# detach (syscall-parameter reports from inside libbpf are suppressed, see
# tests/valgrind.supp).
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { echo "ok - valgrind # SKIP not installed"; exit 0; }
[ -z "${CGF_SANITIZED:-}" ] || { echo "ok - valgrind # SKIP built with sanitizers (make check-sanitize)"; exit 0; }
mkcg CG vg
NAME=$(pname vg); track_policy "$NAME"
sed "s/^name: .*/name: $NAME/" examples/web-egress.yaml | sed '/^target:/,+1d' >"$TMPD/p.yaml"
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp "$CGF" "$@" >/dev/null 2>"$TMPD/vg"
	local rc=$?
	[ $rc -eq 99 ] && sed 's/^/# /' "$TMPD/vg" | head -20
	return $rc
}
vg check "$TMPD/p.yaml";                               check "valgrind: check" 0 $?
vg --json explain "$TMPD/p.yaml" connect 10.20.3.4:5432; check "valgrind: explain" 0 $?
vg apply "$TMPD/p.yaml" --cgroup "$CG";                check "valgrind: apply" 0 $?
vg --json apply "$TMPD/p.yaml" --cgroup "$CG";         check "valgrind: re-apply" 0 $?
vg --json list;                                        check "valgrind: list" 0 $?
vg stats "$NAME";                                      check "valgrind: stats" 0 $?
vg detach "$NAME";                                     check "valgrind: detach" 0 $?
printf 'version: 1\nname: x\nnetwork:\n  egress: {default: deny, rules: [{action: allow, to: [10.0.0.1/8]}]}\n' >"$TMPD/bad.yaml"
vg check "$TMPD/bad.yaml";                             check "valgrind: invalid policy exits 1" 1 $?
vg run -p "$TMPD/p.yaml" -- true;                      check "valgrind: run" 0 $?
for f in examples/*.yaml; do
	vg check "$f" 2>/dev/null;                      check "valgrind: check $(basename "$f")" 0 $?
done
vg explain examples/dns-and-service.yaml connect 10.96.0.10:80/tcp; check "valgrind: explain redirect" 0 $?
vg explain examples/web-service.yaml socket inet/raw;  check "valgrind: explain socket" 0 $?
vg explain examples/web-service.yaml bind 0.0.0.0:22;  check "valgrind: explain bind" 0 $?
sed "s/^name: .*/name: $NAME/" examples/build-sandbox.yaml >"$TMPD/sb.yaml"
vg apply "$TMPD/sb.yaml" --cgroup "$CG";               check "valgrind: apply every kind of section" 0 $?
vg --json stats "$NAME";                               check "valgrind: stats of it" 0 $?
# the visibility paths: events (collecting), stats with accounting
export CGFENCE_RUN_DIR="$TMPD/run"
printf 'version: 1\nname: %s\naccounting: true\nlog: {connections: true}\nnetwork:\n  egress: {default: allow, rules: [{action: deny, to: [127.0.0.3]}]}\n  rate_limit: {connections_per_second: 10}\n' "$NAME" >"$TMPD/obs.yaml"
vg apply "$TMPD/obs.yaml" --cgroup "$CG";              check "valgrind: apply with accounting and log" 0 $?
check "a denial to report" EPERM "$(in_cg "$CG" "$NP" connect udp 127.0.0.3 53)"
vg events "$NAME";                                     check "valgrind: events" 0 $?
vg --json events "$NAME";                              check "valgrind: events --json" 0 $?
vg stats "$NAME";                                      check "valgrind: stats with accounting" 0 $?
# staging: a version beside it, its differences, promote, unstage
sed 's/127.0.0.3/127.0.0.4/' "$TMPD/obs.yaml" >"$TMPD/obs2.yaml"
vg apply --stage "$TMPD/obs2.yaml";                    check "valgrind: apply --stage" 0 $?
check "a difference to report" EPERM "$(in_cg "$CG" "$NP" connect udp 127.0.0.3 53)"
vg --json events "$NAME";                              check "valgrind: events with a staged version" 0 $?
vg stats "$NAME";                                      check "valgrind: stats with a staged version" 0 $?
vg promote "$NAME";                                    check "valgrind: promote" 0 $?
vg apply --stage "$TMPD/obs.yaml";                     check "valgrind: stage again" 0 $?
vg unstage "$NAME";                                    check "valgrind: unstage" 0 $?
vg promote "$NAME";                                    check "valgrind: promote with none staged exits 1" 1 $?
vg detach "$NAME";                                     check "valgrind: detach it" 0 $?
t_done
