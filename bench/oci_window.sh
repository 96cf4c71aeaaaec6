#!/usr/bin/env bash
# The daemon's second line (no OCI hook installed): how long the first
# container of a policy runs unconfined. Each run starts a busybox container
# with runc under a policy name no instance has yet (so the daemon must load
# it), whose process connects to a denied address in a loop and writes what
# each try got; the tries that were not refused are the window, in tries
# (a try, fork and exec of busybox nc, takes about 1 ms here).
#   bench/oci_window.sh [CGFENCE] [RUNS]     (run as root; loopback only)
set -eu
cd "$(dirname "$0")/.."
CGF=$(realpath "${1:-./cgfence}") RUNS=${2:-5}
[ -n "${OCI_WINDOW_NS:-}" ] || exec unshare -n env OCI_WINDOW_NS=1 bash "$0" "$@"
ip link set lo up
T=$(mktemp -d /tmp/cgfence-ociwin.XXXXXX) CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
ROOT="$T/root" OPD="$T/oci" PD="$T/pd"
mkdir -p "$OPD" "$PD"
"$CGF" daemon --policy-dir "$PD" --run-dir "$T/run" --oci-policy-dir "$OPD" --runtime-root "$ROOT" \
	>"$T/log" 2>&1 &
D=$!
trap 'kill $D 2>/dev/null; wait $D 2>/dev/null; for i in $(seq "$RUNS"); do
	timeout 10 runc --root "$ROOT" delete --force "w$i" >/dev/null 2>&1; "$CGF" detach "ociwin-$$-$i-oci" >/dev/null 2>&1
	rmdir "$CG2/cgfence-ociwin-$$-$i" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q event=ready "$T/log" && break; sleep 0.1; done
echo "| run | tries not refused (unconfined) | refused | daemon: held_ms |"
echo "|---|---:|---:|---:|"
for i in $(seq "$RUNS"); do
	p="ociwin-$$-$i" b="$T/b$i"
	printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.2]}\n' "$p" >"$OPD/$p.yaml"
	mkdir -p "$b/rootfs/bin"
	cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
	for t in sh nc; do ln -sf busybox "$b/rootfs/bin/$t"; done
	(cd "$b" && runc spec)
	python3 - "$b/config.json" "$p" "/cgfence-$p" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "i=0; while [ $i -lt 1500 ]; do nc 127.0.0.2 80 2>&1 | "
                        "grep -o 'not permitted\\|unreachable' >>/out; i=$((i+1)); done"]
c["annotations"] = {"cgfence.io/policy": sys.argv[2]}
c["linux"]["cgroupsPath"] = sys.argv[3]
c["root"]["readonly"] = False
json.dump(c, open(sys.argv[1], "w"))
PY
	timeout 20 runc --root "$ROOT" run -d --bundle "$b" "w$i" </dev/null >/dev/null 2>&1
	for _ in $(seq 200); do [ "$(wc -l <"$b/rootfs/out" 2>/dev/null || echo 0)" -ge 400 ] && break; sleep 0.05; done
	timeout 10 runc --root "$ROOT" delete --force "w$i" >/dev/null 2>&1
	held=$(grep -o "container=w$i policy=$p-oci .*held_ms=[0-9none:]*" "$T/log" | sed 's/.*held_ms=//')
	echo "| $i | $(grep -c unreachable "$b/rootfs/out") | $(grep -c 'not permitted' "$b/rootfs/out") | ${held:-?} |"
done
