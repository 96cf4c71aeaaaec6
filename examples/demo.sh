#!/usr/bin/env bash
# The demo behind `make demo`: in a network namespace of its own, start three
# local "hosts" (127.0.0.1, 127.0.0.2, 127.0.0.3), then let cgfence confine a
# client with examples/loopback-only.yaml and show what the kernel allows.
# Everything runs on loopback addresses; nothing leaves the machine.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (loads BPF programs); run: sudo make demo" >&2
	exit 1
fi
# CGF and NP name the cgfence and netprobe to use (the tests pass theirs)
export CGF=${CGF:-./cgfence} NP=${NP:-./.output/netprobe}
exec unshare -n bash -c '
set -eu
ip link set lo up
pids=()
trap "kill \${pids[*]} 2>/dev/null; wait 2>/dev/null" EXIT
for h in 127.0.0.1:80 127.0.0.2:8080 127.0.0.3:80 127.0.0.1:22; do
	$NP listen tcp "${h%:*}" "${h#*:}" >/dev/null & pids+=($!)
done
sleep 0.3
P=examples/loopback-only.yaml
echo "\$ cgfence check $P"
$CGF check "$P"
echo
echo "\$ cgfence explain $P connect 127.0.0.3:80/tcp"
$CGF explain "$P" connect 127.0.0.3:80/tcp
echo
echo "\$ cgfence run -p $P -- <client trying four servers>"
$CGF run -p "$P" -- sh -c "
	for h in 127.0.0.1:80 127.0.0.2:8080 127.0.0.3:80 127.0.0.1:22; do
		printf \"  connect %-16s -> %s\n\" \$h \$($NP connect tcp \${h%:*} \${h#*:})
	done
	echo \"  (and, inside the run, cgfence list shows the transient policy:)\"
	$CGF list | sed \"s/^/    /\"
" || true
echo
echo "The same client outside cgfence reaches every server:"
for h in 127.0.0.3:80 127.0.0.1:22; do
	printf "  connect %-16s -> %s\n" $h $($NP connect tcp ${h%:*} ${h#*:})
done
echo
echo "After the run, nothing is left applied:"
$CGF list
'
