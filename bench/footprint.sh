#!/usr/bin/env bash
# Kernel memory of policies: one instance of a one-rule policy (without and
# with accounting), and what each more cgroup under one policy adds. Map
# memory is the kernel's own figure (bpftool map show: bytes_memlock, which
# follows what a map holds), summed over the maps a policy adds; the per-CPU
# maps' part is also computed for 64 and 128 CPUs from their definitions.
#   bench/footprint.sh [CGFENCE] [CGROUPS]
set -eu
cd "$(dirname "$0")/.."
# sockets only in a network namespace of our own, to loopback
[ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
	exec unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
CGF=${1:-$PWD/cgfence}
N=${2:-100}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
TAG=fp$$
TOP="$CG2/cgfence-$TAG"
T=$(mktemp -d)
cleanup() {
	"$CGF" detach "$TAG-one" >/dev/null 2>&1 || true
	"$CGF" detach "$TAG-acct" >/dev/null 2>&1 || true
	"$CGF" detach "$TAG-many" >/dev/null 2>&1 || true
	for d in "$TOP"/*/; do [ -d "$d" ] && rmdir "$d"; done 2>/dev/null
	rmdir "$TOP" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$TOP/one" "$TOP/acct"

# maps: "id bytes_memlock percpu_bytes_per_cpu" for every map on the host
maps() {
	bpftool map show -j | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    pc = m["type"].startswith("percpu") or m["type"].startswith("lru_percpu")
    per = (m["bytes_value"] + 7) // 8 * 8 * m["max_entries"] if pc and not (m.get("flags", 0) & 1) else 0
    print(m["id"], m.get("bytes_memlock", 0), per)'
}
# added BEFORE AFTER: bytes of the maps in AFTER not in BEFORE, and their per-CPU part per CPU
added() {
	python3 - "$1" "$2" <<'EOF'
import sys
def load(f):
    return {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(f) if l.strip()}
a, b = load(sys.argv[1]), load(sys.argv[2])
new = [v for k, v in b.items() if k not in a]
print(sum(v[0] for v in new), sum(v[1] for v in new))
EOF
}
policy() {	# policy NAME [extra]
	printf 'version: 1\nname: %s\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.2]}\n%s' "$1" "${2:-}"
}
kib() { echo $(( ($1 + 1023) / 1024 )); }
ncpu=$(nproc)

echo "# footprint ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $ncpu CPUs): $CGF"
echo
echo "| what | kernel map memory here | of it per-CPU, per CPU | at 64 CPUs | at 128 CPUs |"
echo "|---|---:|---:|---:|---:|"
row() {	# row WHAT BYTES PERCPU_PER_CPU
	local fixed=$(($2 - $3 * ncpu))
	echo "| $1 | $(kib "$2") KiB | $(kib "$3") KiB | $(kib $((fixed + $3 * 64))) KiB | $(kib $((fixed + $3 * 128))) KiB |"
}
maps >"$T/m0"
policy "$TAG-one" >"$T/one.yaml"
"$CGF" apply "$T/one.yaml" --cgroup "$TOP/one" >/dev/null
maps >"$T/m1"
read -r b p < <(added "$T/m0" "$T/m1")
row "one-rule policy, first instance" "$b" "$p"
policy "$TAG-acct" $'accounting: true\n' >"$T/acct.yaml"
"$CGF" apply "$T/acct.yaml" --cgroup "$TOP/acct" >/dev/null
maps >"$T/m2"
read -r b p < <(added "$T/m1" "$T/m2")
row "the same with accounting: true" "$b" "$p"

# many cgroups under one policy (a glob target): what each more one adds
for i in $(seq "$N"); do mkdir "$TOP/c$i"; done
cat >"$T/many.yaml" <<EOF
version: 1
name: $TAG-many
target:
  cgroup: "${TOP#"$CG2"/}/c*"
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.2]}
accounting: true
EOF
maps >"$T/m3"
"$CGF" apply "$T/many.yaml" >/dev/null
# traffic from each cgroup makes its accounting entry (loopback, this namespace)
for i in $(seq "$N"); do
	sh -c 'echo 0 >"$0/cgroup.procs"; exec python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect((\"127.0.0.1\", 9))"' "$TOP/c$i"
done
maps >"$T/m4"
read -r bn pn < <(added "$T/m3" "$T/m4")
row "one policy on $N cgroups (accounting: true), each with traffic" "$bn" "$pn"
read -r ba _ < <(added "$T/m1" "$T/m2")
echo
echo "each additional cgroup: $(( (bn - ba) / (N - 1) )) bytes of kernel map memory here (its link pins and"
echo "bpf_links are not maps and are not counted)"
