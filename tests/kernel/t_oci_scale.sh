#!/usr/bin/env bash
# Node scale through the OCI hook: 200 containers (fake bundles, real
# cgroups, one policy file, this test acting as the runtime) share one
# instance; each is enforced and accounted on its own; removing one leaves the
# others enforced; a changed file re-applies to all of them with no wrong
# verdict under a connect loop; the last poststop removes the instance and its
# pins. A policy without accounting makes no accounting state.
. "$(dirname "$0")/lib.sh"

N=${OCI_SCALE:-200}
mkcg ROOT ociscale
POLDIR="$TMPD/policies"; mkdir "$POLDIR"
P=scale$TID; PI="$P-oci"
track_policy "$PI"; track_policy "plain$TID-oci"
write_policy() {	# write_policy EXTRA_DENIED
	cat >"$POLDIR/$P.yaml" <<EOF
version: 1
name: $P
accounting: true
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.3$1]}
EOF
}
write_policy ""
serve tcp 127.0.0.3 80; serve tcp 127.0.0.4 80; serve tcp 127.0.0.5 80

hook() { "$CGF" oci-hook --policy-dir "$POLDIR" "$@"; }
cid() { printf 'cs%08x%054d' $$ "$1"; }
# run STAGE I [POLICY]: the hook for container I at STAGE, as the runtime runs it
run_hook() {
	local id dir st=creating
	id=$(cid "$2") dir="$TMPD/b$2"
	mkdir -p "$dir"
	printf '{"ociVersion":"1.0.2","linux":{"cgroupsPath":"/cgfence-%s-ociscale/%s"}}\n' "$TID" "$id" \
		>"$dir/config.json"
	[ "$1" = poststop ] && st=stopped
	printf '{"ociVersion":"1.0.2","id":"%s","status":"%s","pid":0,"bundle":"%s","annotations":{"cgfence.io/policy":"%s"}}\n' \
		"$id" "$st" "$dir" "${3:-$P}" | hook --stage "$1"
}
inst() {	# inst NAME: "generation cgroups" of an instance, or "none"
	"$CGF" --json list | python3 -c 'import json,sys
p = [p for p in json.load(sys.stdin) if p["name"] == sys.argv[1]]
print("none" if not p else "%d %d" % (p[0]["generation"], len(p[0]["cgroups"])))' "$1"
}

fails=0
for i in $(seq "$N"); do
	mkdir "$ROOT/$(cid "$i")" && T_CGS+=("$ROOT/$(cid "$i")")
	run_hook createRuntime "$i" || fails=$((fails + 1))
done
check "$N containers: every hook exits 0" 0 "$fails"
check "$N containers share one instance (generation 1, $N cgroups)" "1 $N" "$(inst "$PI")"

bad=0
for i in $(seq "$N"); do
	r=$(in_cg "$ROOT/$(cid "$i")" "$NP" connect tcp 127.0.0.3 80)
	[ "$r" = EPERM ] || bad=$((bad + 1))
done
check "each of the $N containers is enforced" 0 "$bad"
check "each of them is accounted on its own (an entry with one denial each)" "$N" \
	"$("$CGF" --json stats "$PI" | python3 -c 'import json,sys
a = json.load(sys.stdin)[0]["accounting"]
print(sum(1 for c in a if c["denied"] == 1))')"

# one container goes: the others stay enforced, it is no longer
run_hook poststop 1
check "poststop of one: the instance keeps the others" "1 $((N - 1))" "$(inst "$PI")"
check "its cgroup is no longer enforced" ok "$(in_cg "$ROOT/$(cid 1)" "$NP" connect tcp 127.0.0.3 80)"
check "the next one still is" EPERM "$(in_cg "$ROOT/$(cid 2)" "$NP" connect tcp 127.0.0.3 80)"

# the file changes: the next container's hook re-applies it to all, atomically
in_cg_bg "$ROOT/$(cid 2)" "$NP" loop 127.0.0.4 80 127.0.0.3 80 4000 >"$TMPD/loop"
LP=$!; T_PIDS+=("$LP")
sleep 0.3
write_policy ", 127.0.0.5"
mkdir "$ROOT/$(cid 0)" && T_CGS+=("$ROOT/$(cid 0)")
run_hook createRuntime 0
check "a changed file: the next hook re-applies it (generation 2, $N cgroups)" "2 $N" "$(inst "$PI")"
wait "$LP"
check_match "under a connect loop across it: no wrong verdict" \
	'^A:ok=[1-9][0-9]*,eperm=0,other=0 B:ok=0,eperm=[1-9][0-9]*,other=0$' "$(tail -1 "$TMPD/loop")"
bad=0
for i in 0 2 $((N / 2)) "$N"; do
	[ "$(in_cg "$ROOT/$(cid "$i")" "$NP" connect tcp 127.0.0.5 80)" = EPERM ] || bad=$((bad + 1))
done
check "the new version is in force in old and new containers" 0 "$bad"

# every container goes: the last poststop takes the instance and its pins
for i in 0 $(seq 2 "$N"); do run_hook poststop "$i"; done
check "the last poststop removes the instance" none "$(inst "$PI")"
check "... and its pins" no "$([ -e "/sys/fs/bpf/cgfence/$PI" ] && echo yes || echo no)"

# a policy without accounting makes no accounting state
printf 'version: 1\nname: plain%s\nnetwork:\n  egress:\n    default: allow\n    rules:\n      - {action: deny, to: [127.0.0.3]}\n' \
	"$TID" >"$POLDIR/plain$TID.yaml"
run_hook createRuntime 1 "plain$TID"
in_cg "$ROOT/$(cid 1)" "$NP" connect tcp 127.0.0.3 80 >/dev/null
in_cg "$ROOT/$(cid 1)" "$NP" connect tcp 127.0.0.4 80 >/dev/null
check "without accounting: no accounting entry" 0 \
	"$(bpftool map dump pinned "/sys/fs/bpf/cgfence/plain$TID-oci/acct" -j | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
run_hook poststop 1 "plain$TID"
t_done
