#!/usr/bin/env bash
# The OCI hook and container targets, with this test acting as the runtime:
# fake bundles (cgroupfs and systemd driver layouts), the state on stdin, a
# process in the container's cgroup; --container, --pid, target.container.
. "$(dirname "$0")/lib.sh"

ID1=$(printf 'cf%08x1%053d' $$ 0)	# three container ids; 1 and 3 share a prefix
ID2=$(printf 'cf%08x2%053d' $$ 0)
ID3=$(printf 'cf%08x1%053d' $$ 7)
mkcg ROOT oci
mkdir "$ROOT/$ID1" "$ROOT/$ID3" && T_CGS+=("$ROOT/$ID1" "$ROOT/$ID3")
SLICE="cgfenceoci$TID.slice"		# systemd driver: SLICE/docker-ID.scope
mkdir -p "$CG2/$SLICE/docker-$ID2.scope" && T_CGS+=("$CG2/$SLICE" "$CG2/$SLICE/docker-$ID2.scope")
C1="$ROOT/$ID1" C2="$CG2/$SLICE/docker-$ID2.scope"

POLDIR="$TMPD/policies"; mkdir "$POLDIR"
deny_one_policy x deny3 127.0.0.3 >/dev/null; mv "$TMPD/x.yaml" "$POLDIR/deny3.yaml"
printf 'version: 1\nname: broken\nnetwork:\n  egress: {default: maybe}\n' >"$POLDIR/broken.yaml"
for n in "deny3-${ID1:0:12}" "deny3-${ID2:0:12}"; do track_policy "$n"; done
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80

bundle() {	# bundle DIR CGROUPSPATH [ANNOTATION_JSON]
	mkdir -p "$1"
	printf '{"ociVersion":"1.0.2","linux":{"cgroupsPath":"%s"}%s}\n' "$2" "${3:+,\"annotations\":$3}" >"$1/config.json"
}
state() {	# state ID BUNDLE STATUS [ANNOTATION_JSON]
	printf '{"ociVersion":"1.0.2","id":"%s","status":"%s","pid":0,"bundle":"%s"%s}\n' \
		"$1" "$3" "$2" "${4:+,\"annotations\":$4}"
}
hook() { "$CGF" oci-hook --policy-dir "$POLDIR" "$@"; }
ANN='{"cgfence.io/policy":"deny3"}'

bundle "$TMPD/b1" "/cgfence-$TID-oci/$ID1"
state "$ID1" "$TMPD/b1" creating "$ANN" | hook --stage createRuntime
check "hook (cgroupfs layout, annotation in the state) exits 0" 0 $?
check "policy enforced in the container's cgroup" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
check "other destinations allowed"                ok    "$(in_cg "$C1" "$NP" connect tcp 127.0.0.4 80)"
check_match "applied as POLICY-<id>" "deny3-${ID1:0:12} " "$("$CGF" list)"

bundle "$TMPD/b2" "$SLICE:docker:$ID2" "$ANN"
state "$ID2" "$TMPD/b2" created | hook --stage prestart
check "hook (systemd layout, annotation in the bundle) exits 0" 0 $?
check "enforced in the systemd-layout cgroup" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"

before=$(ls /sys/fs/bpf/cgfence | wc -l)
state "$ID3" "$TMPD/b1" creating | hook --stage createRuntime
check "no annotation: exit 0" 0 $?
check "no annotation: nothing applied" "$before" "$(ls /sys/fs/bpf/cgfence | wc -l)"

state "$ID3" "$TMPD/b1" creating '{"cgfence.io/policy":"nosuch"}' | hook 2>"$TMPD/err"
check "unknown policy: the hook fails (the runtime refuses the container)" 1 $?
check_match "unknown policy: says why" "cgfence.io/policy=nosuch names a policy that .* does not hold \(nosuch.yaml\)" "$(cat "$TMPD/err")"
check "unknown policy: no 'No such file' for the runtime to misread" 0 "$(grep -c 'No such file' "$TMPD/err")"
check "unknown policy: no pins" no "$([ -e /sys/fs/bpf/cgfence/nosuch-${ID3:0:12} ] && echo yes || echo no)"
state "$ID3" "$TMPD/b1" creating '{"cgfence.io/policy":"broken"}' | hook 2>"$TMPD/err"
check "invalid policy: the hook fails" 1 $?
check_match "invalid policy: FILE:LINE:COL" "broken.yaml:4:21: default must be allow or deny" "$(cat "$TMPD/err")"
bundle "$TMPD/b3" "nosuch.slice:docker:$ID3" "$ANN"
state "$ID3" "$TMPD/b3" creating | hook 2>"$TMPD/err"
check "missing cgroup: the hook fails" 1 $?

state "$ID1" "$TMPD/b1" stopped "$ANN" | hook --stage poststop
check "poststop exits 0" 0 $?
check "poststop removed the pins" no "$([ -e "/sys/fs/bpf/cgfence/deny3-${ID1:0:12}" ] && echo yes || echo no)"
check "not enforced after poststop" ok "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
state "$ID1" "$TMPD/b1" stopped "$ANN" | hook --stage poststop
check "poststop again (nothing applied) exits 0" 0 $?

# the runc wrapper (Docker, containerd), with a stand-in for runc
printf '#!/bin/sh\nexit 0\n' >"$TMPD/runc"; chmod +x "$TMPD/runc"
WRAPPER=$PWD/contrib/oci/runc-cgfence
W() { CGFENCE="$CGF" CGFENCE_RUNC="$TMPD/runc" CGFENCE_POLICY_DIR="$POLDIR" "$WRAPPER" "$@"; }
bundle "$TMPD/b4" "/cgfence-$TID-oci/$ID1" "$ANN"
W --root /run/x create --bundle "$TMPD/b4" "$ID1"
check "runc wrapper: create exits 0" 0 $?
check "runc wrapper: the container is confined" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
(cd "$TMPD" && W delete "$ID1")
check "runc wrapper: delete (no bundle, no annotation) still detaches" no \
	"$([ -e "/sys/fs/bpf/cgfence/deny3-${ID1:0:12}" ] && echo yes || echo no)"
bundle "$TMPD/b5" "/cgfence-$TID-oci/$ID1" '{"cgfence.io/policy":"nosuch"}'
W create --bundle "$TMPD/b5" "$ID1" 2>/dev/null
check "runc wrapper: a failing hook fails the create" 1 $?

# apply --container / target.container / --pid
N=$(pname ctr); track_policy "$N"
deny_one_policy ctr "$N" 127.0.0.3 >/dev/null
"$CGF" apply "$TMPD/ctr.yaml" --container "${ID2:0:11}" >/dev/null
check "apply --container with a unique prefix" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"
"$CGF" apply "$TMPD/ctr.yaml" --container "${ID1:0:11}" 2>"$TMPD/err"
check "apply --container with an ambiguous prefix fails" 1 $?
check_match "…and names both" "is ambiguous: ${ID1:0:12}\.\.\. and ${ID3:0:12}\.\.\.|is ambiguous: ${ID3:0:12}\.\.\. and ${ID1:0:12}\.\.\." "$(cat "$TMPD/err")"
"$CGF" apply "$TMPD/ctr.yaml" --container "$ID1" >/dev/null
check "apply --container with a full id (moves the policy)" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
"$CGF" apply "$TMPD/ctr.yaml" --container cf0000ffff 2>"$TMPD/err"
check "apply --container with no match fails" 1 $?
check_match "…and says where it looked" "no cgroup for it" "$(cat "$TMPD/err")"
sed "s/^network:/target: {container: ${ID2:0:11}}\nnetwork:/" "$TMPD/ctr.yaml" >"$TMPD/tctr.yaml"
"$CGF" apply "$TMPD/tctr.yaml" >/dev/null
check "target.container in the policy" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"
mkcg PCG bypid
in_cg_bg "$PCG" sleep 30; SP=$!; T_PIDS+=("$SP"); sleep 0.2
"$CGF" apply "$TMPD/ctr.yaml" --pid "$SP" >/dev/null
check "apply --pid finds the process's cgroup" EPERM "$(in_cg "$PCG" "$NP" connect tcp 127.0.0.3 80)"
"$CGF" apply "$TMPD/ctr.yaml" --pid 1 --cgroup x 2>/dev/null
check "--pid with --cgroup is a usage error" 2 $?
t_done
