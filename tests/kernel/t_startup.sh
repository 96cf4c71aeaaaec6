#!/usr/bin/env bash
# Start-up checks: not root, no cgroup2 mount, bpffs not mounted (cgfence
# mounts it). The mount changes happen in a private mount namespace.
. "$(dirname "$0")/lib.sh"

POL=$(deny_one_policy startup "$(pname startup)" 127.0.0.3)
chmod o+rx "$TMPD"; chmod o+r "$POL"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CGF" list 2>&1)
check "not root: exit 1" 1 $?
check_match "not root: says what is needed" "needs root \(CAP_BPF" "$out"
check "not root: check still works (no privilege needed)" 0 \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CGF" check "$POL" >/dev/null 2>&1; echo $?)"

out=$(unshare -m --propagation private sh -c "umount -l '$CG2' && '$CGF' apply '$POL' --cgroup x" 2>&1)
check "no cgroup2 mount: exit 1" 1 $?
check_match "no cgroup2 mount: says so" "no cgroup2 file system is mounted" "$out"

out=$(unshare -m --propagation private sh -c "umount -l /sys/fs/bpf 2>/dev/null; '$CGF' list >/dev/null && stat -f -c %T /sys/fs/bpf" 2>&1)
check "bpffs not mounted: cgfence mounts it" "bpf_fs" "$out"
t_done
