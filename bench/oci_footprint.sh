#!/usr/bin/env bash
# N containers started through the OCI hook under one policy file (fake
# bundles, real cgroups, the hook run as a runtime runs it): kernel map
# memory, programs and links the policy holds, and the hook's wall time per
# container. Then the same through `cgfence apply POLICY --container ID`
# (cgroups named as podman's cgroupfs driver names them, libpod-ID), and
# the same N containers each with a policy of its own (N distinct policy
# files), for comparison. Links, their pins and the
# cgroups' program arrays are not maps: their cost is read as the growth of
# the kernel's own memory (/proc/meminfo: Slab, Percpu, KernelStack) from
# the N cgroups made to the N containers hooked, per container (a rough
# figure on a shared machine; meaningful from N = 100).
#   bench/oci_footprint.sh [CGFENCE] [N...]
set -eu
cd "$(dirname "$0")/.."
CGF=${1:-$PWD/cgfence}
shift || true
SIZES=${*:-1 10 100 1000}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
TAG=ocifp$$
TOP="$CG2/cgfence-$TAG"
T=$(mktemp -d)
cleanup() {
	set +e	# a detach of what poststop already took fails: go on
	for f in "$T"/pol/*.yaml; do [ -e "$f" ] && "$CGF" detach "$(basename "$f" .yaml)-oci" >/dev/null 2>&1; done
	"$CGF" detach shared >/dev/null 2>&1
	for d in "$TOP"/*/; do [ -d "$d" ] && rmdir "$d"; done 2>/dev/null
	for _ in $(seq 50); do rmdir "$TOP" 2>/dev/null && break; sleep 0.1; done	# busy while children die
	[ ! -d "$TOP" ] || echo "oci_footprint: could not remove $TOP" >&2
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/pol" "$TOP"

policy() {	# policy NAME
	printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.2]}\n' "$1" >"$T/pol/$1.yaml"
}
mem() {	# kernel map memory (bytes), programs and links on the host
	echo "$(bpftool map show -j | python3 -c 'import json,sys; print(sum(m.get("bytes_memlock", 0) for m in json.load(sys.stdin)))') $(bpftool prog show -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') $(bpftool link show -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
}
kmem() {	# the kernel's own memory, KiB
	awk '/^(Slab|Percpu|KernelStack):/ { s += $2 } END { print s }' /proc/meminfo
}
# run N containers with policy naming function $2; prints the table row
run() {	# run N MODE(shared|apply|distinct)
	local n=$1 mode=$2 i id b0 p0 l0 b1 p1 l1 k0 k1
	for i in $(seq "$n"); do
		id=$(printf '%08x%056d' "$i" 0)
		mkdir -p "$TOP/$mode-$id" "$T/b/$mode-$id"
		[ "$mode" = apply ] && mkdir -p "$TOP/libpod-$id"
	done
	sync; echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || true
	k0=$(kmem)
	read -r b0 p0 l0 < <(mem)
	: >"$T/times"
	for i in $(seq "$n"); do
		id=$(printf '%08x%056d' "$i" 0)
		local pol=shared
		[ "$mode" = distinct ] && pol="d$i" && policy "$pol"
		printf '{"ociVersion":"1.0.2","linux":{"cgroupsPath":"/%s/%s-%s"},"annotations":{"cgfence.io/policy":"%s"}}\n' \
			"${TOP#"$CG2"/}" "$mode" "$id" "$pol" >"$T/b/$mode-$id/config.json"
		local s e
		s=$(date +%s%N)
		if [ "$mode" = apply ]; then
			"$CGF" apply "$T/pol/shared.yaml" --container "$id" >/dev/null
		else
			printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":0,"bundle":"%s"}\n' \
				"$id" "$T/b/$mode-$id" | "$CGF" oci-hook --policy-dir "$T/pol" --stage createRuntime
		fi
		e=$(date +%s%N)
		echo $(( (e - s) / 1000 )) >>"$T/times"
	done
	read -r b1 p1 l1 < <(mem)
	sync; echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || true
	k1=$(kmem)
	python3 - "$T/times" "$n" "$mode" "$(( b1 - b0 ))" "$(( p1 - p0 ))" "$(( l1 - l0 ))" "$(( k1 - k0 ))" <<'EOF'
import sys, statistics
t = sorted(int(x) for x in open(sys.argv[1]))
n, mode, b, p, l, k = (int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                       int(sys.argv[6]), int(sys.argv[7]))
p99 = t[min(len(t) - 1, int(len(t) * 0.99))]
print("| %d | %s | %d KiB | %.1f KiB | %d | %d | %.1f KiB | %.1f ms | %.1f ms |" % (
    n, mode, b // 1024, b / 1024 / n, p, l, k / n, statistics.median(t) / 1000, p99 / 1000))
EOF
	# the containers go: poststop each
	if [ "$mode" = apply ]; then
		"$CGF" detach shared >/dev/null
		for i in $(seq "$n"); do
			id=$(printf '%08x%056d' "$i" 0)
			rmdir "$TOP/libpod-$id" "$TOP/$mode-$id"
		done
		sleep 2
		return
	fi
	for i in $(seq "$n"); do
		id=$(printf '%08x%056d' "$i" 0)
		printf '{"ociVersion":"1.0.2","id":"%s","status":"stopped","pid":0,"bundle":"%s"}\n' \
			"$id" "$T/b/$mode-$id" | "$CGF" oci-hook --policy-dir "$T/pol" --stage poststop
		rmdir "$TOP/$mode-$id"
	done
	sleep 2	# the kernel frees maps after their last reference, from a workqueue
}
policy shared
sleep 2
echo "# oci_footprint ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs): $CGF"
echo
echo "| containers | policies | kernel map memory | per container | programs | links | other kernel memory per container | hook median | hook p99 |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
	run "$n" shared
done
for n in $SIZES; do
	run "$n" apply
done
for n in $SIZES; do
	[ "$n" -le 100 ] && run "$n" distinct
done
