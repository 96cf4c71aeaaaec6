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
track_policy deny3-oci	# the policy's one instance, shared by its containers
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
check_match "applied as the policy's one instance, POLICY-oci" "deny3-oci " "$("$CGF" list)"
inst() {	# inst: "generation cgroups containers" of deny3-oci ("none" without it)
	"$CGF" --json list | python3 -c 'import json,sys
p = [p for p in json.load(sys.stdin) if p["name"] == "deny3-oci"]
print("none" if not p else "%d %d %s" % (p[0]["generation"], len(p[0]["cgroups"]),
      ",".join(sorted(c["container"] or "?" for c in p[0]["cgroups"]))))'
}
check "list names the container of each cgroup" "1 1 $ID1" "$(inst)"
check_match "managed by the oci hook" '"managed_by":"oci-hook"' "$("$CGF" --json list)"
# a staged version of the instance: promote is refused (the next container's
# hook would put the policy directory's file back)
sed 's/^name: .*/name: deny3-oci/' "$POLDIR/deny3.yaml" >"$TMPD/staged.yaml"
"$CGF" apply --stage "$TMPD/staged.yaml" >/dev/null
check "a staged version of the instance" 0 $?
out=$("$CGF" promote deny3-oci 2>&1)
check "promote of an oci-hook instance: exit 1" 1 $?
check_match "... saying where the file goes" "follows $POLDIR/deny3.yaml \\(oci-hook\\)" "$out"
"$CGF" unstage deny3-oci >/dev/null
check "unstaged" 0 $?

bundle "$TMPD/b2" "$SLICE:docker:$ID2" "$ANN"
state "$ID2" "$TMPD/b2" created | hook --stage prestart
check "hook (systemd layout, annotation in the bundle) exits 0" 0 $?
check "enforced in the systemd-layout cgroup" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"
check "a second container joins the same instance: nothing loaded (generation 1)" \
	"1 2 $ID1,$ID2" "$(inst)"

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

# a changed policy file: the next container brings a new version to all of them
sed -i 's/127.0.0.3/127.0.0.4/' "$POLDIR/deny3.yaml"
bundle "$TMPD/b6" "/cgfence-$TID-oci/$ID3" "$ANN"
state "$ID3" "$TMPD/b6" creating | hook --stage createRuntime
check "a changed file: the hook exits 0" 0 $?
check "...one new version for every container" "2 3 $ID1,$ID3,$ID2" "$(inst)"
check "...in force in the first container" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.4 80)"
check "...and in the second" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.4 80)"
check "...the old deny gone from both" ok "$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"
sed -i 's/127.0.0.4/127.0.0.3/' "$POLDIR/deny3.yaml"
state "$ID3" "$TMPD/b6" stopped "$ANN" | hook --stage poststop
check "poststop of the third container" "2 2 $ID1,$ID2" "$(inst)"

state "$ID1" "$TMPD/b1" stopped "$ANN" | hook --stage poststop
check "poststop exits 0" 0 $?
check "poststop: that container left the instance" "2 1 $ID2" "$(inst)"
check "not enforced after poststop" ok "$(in_cg "$C1" "$NP" connect tcp 127.0.0.4 80)"
check "the other container still confined" EPERM "$(in_cg "$C2" "$NP" connect tcp 127.0.0.4 80)"
state "$ID1" "$TMPD/b1" stopped "$ANN" | hook --stage poststop
check "poststop again (nothing applied) exits 0" 0 $?
state "$ID2" "$TMPD/b2" stopped "$ANN" | hook --stage poststop
check "the last container's poststop takes the instance" none "$(inst)"

# the runc wrapper (Docker, containerd), with a stand-in for runc
printf '#!/bin/sh\nexit 0\n' >"$TMPD/runc"; chmod +x "$TMPD/runc"
WRAPPER=$PWD/contrib/oci/runc-cgfence
W() { CGFENCE="$CGF" CGFENCE_RUNC="$TMPD/runc" CGFENCE_POLICY_DIR="$POLDIR" "$WRAPPER" "$@"; }
bundle "$TMPD/b4" "/cgfence-$TID-oci/$ID1" "$ANN"
W --root /run/x create --bundle "$TMPD/b4" "$ID1"
check "runc wrapper: create exits 0" 0 $?
check "runc wrapper: the container is confined" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
(cd "$TMPD" && W delete "$ID1")
check "runc wrapper: delete (no bundle, no annotation) still detaches" none "$(inst)"
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
G0=$("$CGF" list --json | python3 -c 'import json,sys; print([p["generation"] for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0])' "$N")
out=$("$CGF" apply "$TMPD/ctr.yaml" --container "$ID1")
check "apply --container with a full id" EPERM "$(in_cg "$C1" "$NP" connect tcp 127.0.0.3 80)"
check "apply --container: the containers of one policy file share it (the first stays)" EPERM \
	"$(in_cg "$C2" "$NP" connect tcp 127.0.0.3 80)"
check_match "apply --container: the same file attaches the version in force, nothing loaded" \
	"^attached $N to .*$ID1 and 1 more containers \(its version in force, generation $G0, enforce" "$out"
check "apply --container: one instance, two containers" "$G0 2" "$("$CGF" list --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0]
print(p["generation"], len([c for c in p["cgroups"] if c["container"]]))' "$N")"
echo "# changed" >>"$TMPD/ctr.yaml"
"$CGF" apply "$TMPD/ctr.yaml" --container "$ID1" >/dev/null
check "apply --container: a changed file is a new version for all of them" "$((G0 + 1)) 2" \
	"$("$CGF" list --json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0]
print(p["generation"], len([c for c in p["cgroups"] if c["container"]]))' "$N")"
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
