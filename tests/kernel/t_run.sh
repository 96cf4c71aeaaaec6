#!/usr/bin/env bash
# cgfence run: CMD under a transient policy in a fresh cgroup; CMD's exit
# status (128+N for a signal); the cgroup and pins are gone afterwards, also
# when cgfence itself is terminated.
. "$(dirname "$0")/lib.sh"

NAME=$(pname run)
POL=$(deny_one_policy run "$NAME" 127.0.0.3)
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80
leftovers() { ls -d "$CG2"/cgfence-"$NAME"-run-* /sys/fs/bpf/cgfence/"$NAME"-run-* 2>/dev/null | wc -l; }

check "run: policy enforced"     EPERM "$("$CGF" run -p "$POL" -- "$NP" connect tcp 127.0.0.3 80)"
check "run: other hosts allowed" ok    "$("$CGF" run -p "$POL" -- "$NP" connect tcp 127.0.0.4 80)"
"$CGF" run -p "$POL" -- sh -c 'exit 7'
check "run: exit status passed on" 7 $?
"$CGF" run -p "$POL" -- sh -c 'kill -TERM $$'
check "run: killed by SIGTERM -> 143" 143 $?
"$CGF" run -p "$POL" -- /nonexistent/cmd 2>/dev/null
check "run: missing command -> 127" 127 $?
check_match "run: CMD sees its transient cgroup" "cgfence-$NAME-run-[0-9]+\$" "$("$CGF" run -p "$POL" -- cat /proc/self/cgroup)"
check_match "run: list shows NAME-run-PID while it runs" "\"name\":\"$NAME-run-[0-9]+\"" "$("$CGF" run -p "$POL" -- "$CGF" --json list)"
check "run: nothing left behind" 0 "$(leftovers)"
mkcg PARENT parent
check_match "run --cgroup-parent: CMD runs below it" "^0::${PARENT#$CG2}/cgfence-$NAME-run-[0-9]+\$" \
	"$("$CGF" run -p "$POL" --cgroup-parent "$PARENT" -- grep "^0::" /proc/self/cgroup)"
check "run --cgroup-parent: its child cgroup is gone" 0 "$(find "$PARENT" -mindepth 1 -type d | wc -l)"

# cgfence terminated: CMD is terminated too and the cgroup removed
"$CGF" run -p "$POL" -- sh -c 'sleep 30 & wait' &
RP=$!
for _ in $(seq 50); do [ "$(leftovers)" -ge 2 ] && break; sleep 0.1; done
check "run: transient cgroup exists while running" 2 "$(leftovers)"
kill -TERM "$RP"; wait "$RP"
check "run: SIGTERM to cgfence -> CMD's status 143" 143 $?
check "run: terminated run left nothing behind" 0 "$(leftovers)"
check "run: no sleep survived" 0 "$(pgrep -fc '^sleep 30$' || true)"

# a signal that arrives while cgfence is still setting up is not lost
"$CGF" run -p "$POL" -- sleep 30 &
RP=$!
for _ in $(seq 1000); do [ "$(readlink /proc/$RP/exe)" = "$CGF" ] && break; done
kill -TERM "$RP"; wait "$RP"
check_match "run: early SIGTERM -> exits (143 or 1 before CMD)" '^(143|1)$' "$?"
check "run: early SIGTERM left nothing behind" 0 "$(leftovers)"

# two runs of one file at once
"$CGF" run -p "$POL" -- sleep 0.5 & A=$!
"$CGF" run -p "$POL" -- sleep 0.5 & B=$!
wait "$A"; ra=$?; wait "$B"; rb=$?
check "run: two at once" "0 0" "$ra $rb"
"$CGF" run 2>/dev/null
check "run: usage error exits 2" 2 $?
"$CGF" run -p "$POL" 2>/dev/null
check "run: no command exits 2" 2 $?
# network.sockets.families, fully: run adds a seccomp filter, so families the
# cgroup hook cannot see (packet, unix, netlink) are refused too
cat >"$TMPD/socks.py" <<'EOF'
import socket, errno
out = []
for name, fam, typ in (("inet", socket.AF_INET, socket.SOCK_DGRAM), ("inet6", socket.AF_INET6, socket.SOCK_DGRAM),
                       ("unix", socket.AF_UNIX, socket.SOCK_DGRAM), ("packet", socket.AF_PACKET, socket.SOCK_DGRAM),
                       ("netlink", socket.AF_NETLINK, socket.SOCK_DGRAM)):
    try:
        socket.socket(fam, typ).close(); out.append(name + "=ok")
    except OSError as e:
        out.append(name + "=" + errno.errorcode.get(e.errno, str(e.errno)))
try:
    socket.socketpair(socket.AF_UNIX); out.append("socketpair=ok")
except OSError as e:
    out.append("socketpair=" + errno.errorcode.get(e.errno, str(e.errno)))
print(" ".join(out))
EOF
fam_policy() {	# fam_policy NAME FAMILIES
	policy_file "$1" <<EOF
version: 1
name: $1
network:
  sockets:
    families: [$2]
EOF
}
check "run families [inet]: every other family refused, AF_PACKET and socketpair too" \
	"inet=ok inet6=EAFNOSUPPORT unix=EAFNOSUPPORT packet=EAFNOSUPPORT netlink=EAFNOSUPPORT socketpair=EAFNOSUPPORT" \
	"$("$CGF" run -p "$(fam_policy "$TID-fam1" inet)" -- python3 "$TMPD/socks.py" 2>/dev/null)"
check "run families [inet, unix]: unix allowed, packet still refused" \
	"inet=ok inet6=EAFNOSUPPORT unix=ok packet=EAFNOSUPPORT netlink=EAFNOSUPPORT socketpair=ok" \
	"$("$CGF" run -p "$(fam_policy "$TID-fam2" "inet, unix")" -- python3 "$TMPD/socks.py" 2>/dev/null)"
check "control: run without families: AF_PACKET opens (root, CAP_NET_RAW)" \
	"inet=ok inet6=ok unix=ok packet=ok netlink=ok socketpair=ok" \
	"$("$CGF" run -p "$(policy_file "$TID-fam3" <<EOF
version: 1
name: $TID-fam3
network:
  sockets:
    deny_types: [sctp]
EOF
)" -- python3 "$TMPD/socks.py" 2>/dev/null)"
t_done
