#!/usr/bin/env bash
# The daemon's second line with runc itself (no hook installed), where its
# runtime root comes and goes: a root made after the daemon started is
# watched through its parent (confined at once, not at the next repair,
# which is set to 600 s here); a container id that starts with a dot (runc
# accepts it) is confined; a root removed and made again is watched again;
# the container is frozen while it joins its instance (held_ms in the log).
. "$(dirname "$0")/lib.sh"

command -v runc >/dev/null || { not_ok "runc is not installed (make deps)"; t_done; exit; }
BUSYBOX=$(command -v busybox) || { not_ok "busybox is not installed (make deps)"; t_done; exit; }

RUN="$TMPD/run" PD="$TMPD/policies" LOG="$TMPD/daemon.log" OPD="$TMPD/oci"
ROOT="$TMPD/runc-root/state"	# neither exists yet
mkdir -p "$RUN" "$PD" "$OPD"
: >"$LOG"
P=$(pname web)
cp "$(deny_one_policy web "$P" 127.0.0.2)" "$OPD/$P.yaml"
INST=$P-oci	# the instance of the policy for annotated containers
# a busybox bundle per container (its own network namespace, lo down)
bundle() {	# bundle ID: $TMPD/b-ID, annotated with the policy, cgroup cgfence-TID-oci-ID
	local b="$TMPD/b-$1"
	mkdir -p "$b/rootfs/bin"
	cp "$BUSYBOX" "$b/rootfs/bin/busybox"
	for t in sh sleep nc; do ln -sf busybox "$b/rootfs/bin/$t"; done
	(cd "$b" && runc spec)
	python3 - "$b/config.json" "$P" "/cgfence-$TID-oci-$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "600"]
c["annotations"] = {"cgfence.io/policy": sys.argv[2]}
c["linux"]["cgroupsPath"] = sys.argv[3]
json.dump(c, open(sys.argv[1], "w"))
PY
	T_CGS+=("$CG2/cgfence-$TID-oci-$1")
}
RC=()
rc() { timeout 20 runc --root "$ROOT" "$@" </dev/null >/dev/null 2>>"$TMPD/runc.err"; }
run_ctr() {	# run_ctr ID: create and start it
	bundle "$1"
	RC+=("$1")
	rc create --bundle "$TMPD/b-$1" "$1" && rc start "$1"
}
cleanup_ctrs() { for c in "${RC[@]}"; do rc delete --force "$c"; done; RC=(); }
trap 'cleanup_ctrs; t_cleanup' EXIT
denied() {	# denied ID: what a connect to 127.0.0.2 says in the container
	timeout 10 runc --root "$ROOT" exec "$1" nc 127.0.0.2 80 </dev/null 2>&1 | grep -o "Operation not permitted\|Network is unreachable" | head -1
}

logpos
daemon_start "$CGF" --oci-policy-dir "$OPD" --runtime-root "$ROOT" --repair-interval 600 ||
	not_ok "the daemon did not start"
run_ctr first
check "a root made after the daemon started: runc made it" yes "$([ -d "$ROOT" ] && echo yes)"
wait_for 5 logged "event=oci-confined container=first"
check_match "... the container is confined at once (through the parent's watch)" \
	"event=oci-confined container=first policy=$INST .*how=daemon held_ms=[0-9]+" \
	"$(grep "event=oci-confined container=first" "$LOG")"
check "... and its connect to the denied address fails" "Operation not permitted" "$(denied first)"
check "... it was thawed" 0 "$(cat "$CG2/cgfence-$TID-oci-first/cgroup.freeze")"

run_ctr .hidden
wait_for 5 logged "event=oci-confined container=.hidden"
check "a container id that starts with a dot is confined" "Operation not permitted" "$(denied .hidden)"

logpos
cleanup_ctrs
rm -rf "$ROOT"
wait_for 5 logged "event=runtime-root-gone"
check "the root removed: logged" 1 "$(tail -n +"$LOGPOS" "$LOG" | grep -c "event=runtime-root-gone root=$ROOT")"
run_ctr again
wait_for 5 logged "event=oci-confined container=again"
check "the root made again: its containers are confined" "Operation not permitted" "$(denied again)"
cleanup_ctrs
kill "$DPID"; wait "$DPID" 2>/dev/null
t_done
