# Shared helpers for the real-kernel tests. Source it first thing.
#
# Every script runs in a network namespace of its own (tests/run-all.sh
# starts it with `unshare -n`; this file refuses to run otherwise) and talks
# only to loopback addresses in it. Whatever a test creates (cgroups,
# policies, background processes, temp files) is registered here and removed
# by an EXIT trap, also when the test fails.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CGF=${CGF:-$PWD/cgfence}
# the same cgfence with fault injection (src/fault.h), for crash and failure tests
CGF_FAULTS=${CGF_FAULTS:-$PWD/${OUTPUT:-.output}/cgfence-faults}
NP=${NP:-$PWD/${OUTPUT:-.output}/netprobe}
TID="k$$"			# unique per run: names of cgroups and policies
TMPD=$(mktemp -d /tmp/cgfence-test.XXXXXX)
T_CGS=() T_POLICIES=() T_PIDS=()
N_OK=0 N_FAIL=0

if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
	echo "not ok - $(basename "$0"): must run in its own network namespace (unshare -n)"
	exit 1
fi
ip link set lo up
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)

t_cleanup() {
	local i cg
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${T_POLICIES[@]}"; do "$CGF" detach "$n" >/dev/null 2>&1; done
	for ((i = ${#T_CGS[@]} - 1; i >= 0; i--)); do
		[ -d "${T_CGS[$i]}" ] || continue
		echo 1 >"${T_CGS[$i]}/cgroup.kill" 2>/dev/null
		# the cgroup and whatever the test made below it, deepest first
		while read -r cg; do
			for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
		done < <(find "${T_CGS[$i]}" -depth -type d)
	done
	rm -rf "$TMPD"
}
trap t_cleanup EXIT

ok() { N_OK=$((N_OK + 1)); echo "ok - $*"; }
not_ok() { N_FAIL=$((N_FAIL + 1)); echo "not ok - $*"; }

# wait_for SECONDS CMD...: until CMD succeeds (CMD runs anew each time: put what
# must be looked at again inside it, not in a $(...) of the call)
wait_for() {
	local t=$(($1 * 20)); shift
	while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.05; t=$((t - 1)); done
	return 1
}

# daemon_start BINARY [ARG...]: a cgfence daemon following $PD with run dir
# $RUN, logging to $LOG, until it says it is ready; its pid in DPID. logged
# PATTERN: the log has PATTERN since logpos was last called.
daemon_start() {
	local bin=$1; shift
	"$bin" daemon --policy-dir "$PD" --run-dir "$RUN" --repair-interval 1 "$@" >>"$LOG" 2>&1 &
	DPID=$!
	T_PIDS+=("$DPID")
	wait_for 10 logged "event=ready"
}
logpos() { LOGPOS=$(($(wc -l <"$LOG" 2>/dev/null || echo 0) + 1)); }
logged() { tail -n +"$LOGPOS" "$LOG" | grep -q -- "$1"; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# check_match NAME REGEX ACTUAL
check_match() {
	if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1: '$3' does not match /$2/"; fi
}

# mkcg VAR NAME [PARENT_DIR]: create a cgroup, set VAR to its absolute path
# (not a command substitution: the cleanup list must be this shell's)
mkcg() {
	local parent=${3:-$CG2} dir
	dir="$parent/cgfence-$TID-$2"
	mkdir "$dir" || { not_ok "cannot create cgroup $dir"; exit 1; }
	T_CGS+=("$dir")
	printf -v "$1" '%s' "$dir"
}

# policy NAME: a unique policy name, detached at exit
pname() { echo "$TID-$1"; }
track_policy() { T_POLICIES+=("$1"); }

# in_cg CGROUP CMD...: run CMD inside CGROUP
in_cg() {
	local cg=$1; shift
	sh -c 'echo 0 > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# in_cg_bg CGROUP CMD...: the same in the background; $! is CMD's pid
in_cg_bg() {
	local cg=$1; shift
	sh -c 'echo 0 > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" &
}

# serve tcp|udp ADDR PORT [NAME]: a server in the background (outside any
# test cgroup); with NAME it answers every connection or datagram with NAME
serve() {
	local fifo="$TMPD/serve.$RANDOM" line
	mkfifo "$fifo"
	"$NP" listen "$1" "$2" "$3" ${4:+--say "$4"} >"$fifo" &
	T_PIDS+=($!)
	read -r line <"$fifo"
	rm -f "$fifo"
	[ "$line" = ready ] || { not_ok "server $1 $2:$3 did not start ($line)"; return 1; }
}

# staged_stat NAME KEY: the counter KEY of policy NAME's staged version
# (stats --json NAME shows both instances), "none" without one
staged_stat() {
	"$CGF" --json stats "$1" | python3 -c '
import json, sys
d = [p for p in json.load(sys.stdin) if p.get("staged_for")]
print(d[0]["staged"][sys.argv[1]] if d else "none")' "$2"
}

# listening NAME: policy NAME's pinned flag "listen" (1: its version in force
# hands its verdicts over to a staged version), "absent" without the pin
listening() {
	local pin=/sys/fs/bpf/cgfence/$1/listen
	[ -e "$pin" ] || { echo absent; return; }
	bpftool -j map lookup pinned "$pin" key 0 0 0 0 | python3 -c '
import json, sys; print(list(json.load(sys.stdin)["formatted"]["value"].values())[0][0]["cgf_listen"])'
}

# write a policy file from stdin, print its path
policy_file() {
	local f="$TMPD/$1.yaml"
	cat >"$f"
	echo "$f"
}

# deny_one_policy TAG NAME ADDR: a policy file that allows everything but ADDR
deny_one_policy() {
	policy_file "$1" <<EOF
version: 1
name: $2
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [$3]}
EOF
}

# own_resolv_conf: in this test's mount namespace (start the script again
# under `unshare -m` first), /etc/resolv.conf names 127.0.0.53 only and
# /etc/hosts knows localhost only
own_resolv_conf() {
	mount --make-rprivate /
	printf 'nameserver 127.0.0.53\noptions timeout:1 attempts:1\n' >"$TMPD/resolv.conf"
	mount --bind "$TMPD/resolv.conf" /etc/resolv.conf
	printf '127.0.0.1 localhost\n' >"$TMPD/hosts"
	mount --bind "$TMPD/hosts" /etc/hosts
}

# start_dnsmasq ADDR CONF NAME [PID]: dnsmasq on ADDR port 53 serving CONF (in
# the network namespace of PID if given), until it answers for NAME
start_dnsmasq() {
	local ns=()
	[ -n "${4:-}" ] && ns=(nsenter -t "$4" -n)
	"${ns[@]}" dnsmasq --keep-in-foreground --conf-file="$2" --listen-address="$1" \
		--pid-file="$TMPD/dnsmasq.$1.$RANDOM.pid" --log-facility=- 2>>"$TMPD/dnsmasq.log" &
	T_PIDS+=($!)
	wait_for 5 "${ns[@]}" dig +time=1 +tries=1 +short @"$1" "$3" >/dev/null
}

# scrape_metrics FILE: /metrics of a `cgfence metrics` this test started on a
# loopback port (the first call starts it) into FILE
scrape_metrics() {
	if [ -z "${METRICS_PORT:-}" ]; then
		METRICS_PORT=$((20000 + $$ % 20000))
		"$CGF" metrics --listen 127.0.0.1:$METRICS_PORT 2>/dev/null &
		T_PIDS+=($!)
	fi
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$1" && return 0
		sleep 0.1
	done
	return 1
}

t_done() {
	[ $((N_OK + N_FAIL)) -gt 0 ] || { echo "not ok - $(basename "$0") checked nothing"; exit 1; }
	[ "$N_FAIL" -eq 0 ]
}
