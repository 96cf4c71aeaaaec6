#!/usr/bin/env bash
# Real container runtimes (issue 16): Debian's podman with runc, a busybox
# image built here (no registry), --network none (the container's own
# network namespace, loopback only). With the hooks of contrib/oci
# installed (podman --hooks-dir), an annotated container is confined from
# its first instruction, `podman exec` too, list shows it while it runs and
# not after rm, and a missing or invalid policy stops it. With no hook
# installed and the daemon running, it is confined by the daemon (the second
# line) and the event says how. Podman keeps its storage and state in this
# test's directory and its containers under this test's cgroup.
. "$(dirname "$0")/lib.sh"

skip() { echo "ok - # SKIP $*"; N_OK=$((N_OK + 1)); t_done; exit 0; }
command -v podman >/dev/null && command -v runc >/dev/null || skip "podman or runc not installed"
BB=$(command -v busybox) || skip "busybox not installed"
ldd "$BB" 2>&1 | grep -q "not a dynamic" || skip "$BB is not static (install busybox-static)"
mkcg CGP podman
P=$(pname pm)
INST="$P-oci"
track_policy "$INST"
PD="$TMPD/oci-policies" HOOKS="$TMPD/hooks" NOHOOKS="$TMPD/no-hooks"
mkdir -p "$PD" "$HOOKS" "$NOHOOKS" "$TMPD/rootfs/bin"
# the hooks as contrib ships them, with this cgfence and this policy dir
for f in contrib/oci/cgfence-create.json contrib/oci/cgfence-poststop.json; do
	sed -e "s|/usr/local/bin/cgfence|$CGF|" -e "s|/etc/cgfence/policies|$PD|" "$f" \
		>"$HOOKS/$(basename "$f")"
done
cat >"$PD/$P.yaml" <<EOF
version: 1
name: $P
network:
  egress:
    default: allow
    rules:
      - {action: deny, to: [127.0.0.2], ports: [8080], protocol: tcp}
EOF
printf 'version: 1\nname: %s\nnetwork:\n  egress: {default: maybe}\n' "$P" >"$PD/bad.yaml"

# podman with this test's storage, state, runc state, cgroup parent
# the runtime through a wrapper that gives it this test's state root: conmon
# runs podman's cleanup with --runtime alone, so a --runtime-flag would not
# reach the runtime's delete, which then leaves state and cgroup behind
RUNC_ROOT="$TMPD/runc" RUNTIME=runc
for rt in runc crun; do
	printf '#!/bin/sh\nexec %s --root "%s" "$@"\n' "$rt" "$RUNC_ROOT" >"$TMPD/$rt-here"
	chmod +x "$TMPD/$rt-here"
done
pm() {
	podman --root "$TMPD/storage" --runroot "$TMPD/run" --storage-driver vfs \
		--runtime "$TMPD/$RUNTIME-here" --cgroup-manager cgroupfs \
		--tmpdir "$TMPD/libpod" --events-backend none "$@"
}
# run options: no network, rlimits this sandbox allows, our cgroup parent
RUNOPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
	--cgroup-parent "${CGP#"$CG2"}")
cleanup_podman() {
	pm rm -f -a -t 0 >/dev/null 2>&1
	pm rmi -a -f >/dev/null 2>&1
	# podman's conmon cgroups of the v1 hierarchies, under our parent's name
	for d in /sys/fs/cgroup/*/"$(basename "$CGP")"; do
		[ "$d" = "$CGP" ] && continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	t_cleanup
}
trap cleanup_podman EXIT

cp "$BB" "$TMPD/rootfs/bin/busybox"
for c in sh nc sleep cat echo true; do ln -s busybox "$TMPD/rootfs/bin/$c"; done
tar -C "$TMPD/rootfs" -cf "$TMPD/bb.tar" . &&
	pm import "$TMPD/bb.tar" localhost/cgfence-test:bb >/dev/null 2>"$TMPD/import.err" ||
	skip "podman cannot import an image here: $(tail -1 "$TMPD/import.err")"
IMG=localhost/cgfence-test:bb
pm run --rm "${RUNOPTS[@]}" "$IMG" true 2>"$TMPD/probe.err" ||
	skip "podman cannot run a container here: $(tail -1 "$TMPD/probe.err")"

# the container's first instruction: connect to the denied address; then an
# allowed one (nobody listens there: refused, not denied)
FIRST='nc 127.0.0.2 8080 </dev/null; nc 127.0.0.3 8080 </dev/null; true'
out=$(pm --hooks-dir "$HOOKS" run --rm "${RUNOPTS[@]}" --annotation "cgfence.io/policy=$P" \
	"$IMG" sh -c "$FIRST" 2>&1)
check_match "hook: the first instruction of the container is denied" \
	"127\.0\.0\.2\): Operation not permitted" "$out"
check_match "hook: what the policy allows is not denied" "127\.0\.0\.3\): Connection refused" "$out"
out=$(pm --hooks-dir "$HOOKS" run --rm "${RUNOPTS[@]}" "$IMG" sh -c "$FIRST" 2>&1)
check_match "hook: a container without the annotation is not confined" \
	"127\.0\.0\.2\): Connection refused" "$out"

# crun, where it runs: the same; on a hybrid cgroup layout it refuses to
if ! command -v crun >/dev/null; then
	echo "ok - # SKIP crun is not installed"
elif ! RUNTIME=crun pm run --rm "${RUNOPTS[@]}" "$IMG" true >/dev/null 2>"$TMPD/crun.err"; then
	echo "ok - # SKIP crun cannot run containers here: $(tail -1 "$TMPD/crun.err")"
else
	out=$(RUNTIME=crun pm --hooks-dir "$HOOKS" run --rm "${RUNOPTS[@]}" \
		--annotation "cgfence.io/policy=$P" "$IMG" sh -c "$FIRST" 2>&1)
	check_match "hook (crun): the first instruction of the container is denied" \
		"127\.0\.0\.2\): Operation not permitted" "$out"
fi

# a running container: exec is confined; list shows it; rm takes it away
ID=$(pm --hooks-dir "$HOOKS" run -d "${RUNOPTS[@]}" --annotation "cgfence.io/policy=$P" \
	"$IMG" sleep 600)
check_match "hook: a detached container starts" "^[0-9a-f]{64}$" "$ID"
out=$(pm exec "$ID" nc 127.0.0.2 8080 </dev/null 2>&1)
check_match "hook: podman exec in the container is denied too" "Operation not permitted" "$out"
check "hook: list shows the container in the policy's instance" "$ID" \
	"$("$CGF" list --json | python3 -c '
import json, sys
p = [x for x in json.load(sys.stdin) if x["name"] == sys.argv[1]]
print(*[c["container"] for c in p[0]["cgroups"]] if p else [])' "$INST")"
pm --hooks-dir "$HOOKS" rm -f -t 0 "$ID" >/dev/null 2>&1
check "hook: after rm, list shows it no more (the instance went with it)" "" \
	"$("$CGF" list --json | python3 -c '
import json, sys
print(*[x["name"] for x in json.load(sys.stdin) if x["name"] == sys.argv[1]])' "$INST")"

# fail closed: a policy that is missing, one that is invalid
out=$(pm --hooks-dir "$HOOKS" run --rm "${RUNOPTS[@]}" --annotation "cgfence.io/policy=$P-missing" \
	"$IMG" echo started 2>&1)
rc=$?
check "hook: a missing policy stops the container" "1 no" \
	"$([ $rc -ne 0 ] && echo 1) $(echo "$out" | grep -q '^started' && echo yes || echo no)"
check_match "hook: and podman says why, naming the policy" \
	"names a policy that .* does not hold \($P-missing\.yaml\)" "$out"
out=$(pm --hooks-dir "$HOOKS" run --rm "${RUNOPTS[@]}" --annotation "cgfence.io/policy=bad" \
	"$IMG" echo started 2>&1)
rc=$?
check "hook: an invalid policy stops the container" "1 no" \
	"$([ $rc -ne 0 ] && echo 1) $(echo "$out" | grep -q '^started' && echo yes || echo no)"
check_match "hook: and podman says where it is wrong" "bad\.yaml:4:.*default" "$out"

# the second line: no hook installed, the daemon running
POLD="$TMPD/daemon-policies" RUN="$TMPD/drun" LOG="$TMPD/daemon.log"
mkdir -p "$POLD" "$RUNC_ROOT"
: >"$LOG"
PD_SAVE=$PD
PD=$POLD
logpos
daemon_start "$CGF" --oci-policy-dir "$PD_SAVE" --runtime-root "$RUNC_ROOT" ||
	not_ok "daemon did not start"
PD=$PD_SAVE
ID=$(pm --hooks-dir "$NOHOOKS" run -d "${RUNOPTS[@]}" --annotation "cgfence.io/policy=$P" \
	"$IMG" sleep 600)
wait_for 10 logged "event=oci-confined container=${ID:0:12}"
check_match "second line: the daemon confines an annotated container no hook ran for" \
	"event=oci-confined container=${ID:0:12} policy=$INST cgroup=.*libpod-$ID how=daemon" \
	"$(grep "event=oci-confined" "$LOG")"
out=$(pm exec "$ID" nc 127.0.0.2 8080 </dev/null 2>&1)
check_match "second line: the container is confined" "Operation not permitted" "$out"
check_match "second line: the event says how" \
	"\"type\":\"confined\".*\"by\":\"daemon\".*no oci-hook ran.*\"container\":\"$ID\"" \
	"$(grep '"type":"confined"' "$RUN/events/$INST.jsonl" 2>/dev/null)"
logpos
pm rm -f -t 0 "$ID" >/dev/null 2>&1
wait_for 10 logged "event=oci-left container=${ID:0:12}"
check "second line: after rm, the instance is gone" "" "$("$CGF" list --json | python3 -c '
import json, sys
print(*[x["name"] for x in json.load(sys.stdin) if x["name"] == sys.argv[1]])' "$INST")"
# no hook, and a policy that cannot be had: the daemon kills the container
logpos
pm --hooks-dir "$NOHOOKS" run -d --cidfile "$TMPD/cid" "${RUNOPTS[@]}" \
	--annotation "cgfence.io/policy=$P-missing" "$IMG" sleep 600 >/dev/null 2>&1
ID=$(cat "$TMPD/cid" 2>/dev/null)
wait_for 10 logged "event=oci-confine-failed container=${ID:0:12}"
check_match "second line: a container whose policy is missing is killed, and the log says why" \
	"event=oci-confine-failed container=${ID:0:12} policy=$P-missing error=.*does not hold.* killed=yes" \
	"$(grep "event=oci-confine-failed container=${ID:0:12}" "$LOG")"
for _ in $(seq 50); do
	[ "$(pm inspect -f '{{.State.Running}}' "$ID" 2>/dev/null)" = false ] && break
	sleep 0.2
done
check "second line: ... and it is no longer running" false \
	"$(pm inspect -f '{{.State.Running}}' "$ID" 2>/dev/null)"
pm rm -f -t 0 "$ID" >/dev/null 2>&1
# with the hook installed, the daemon leaves the container to it
logpos
ID=$(pm --hooks-dir "$HOOKS" run -d "${RUNOPTS[@]}" --annotation "cgfence.io/policy=$P" \
	"$IMG" sleep 600)
sleep 1
check "second line: a container the hook confined is left to the hook" "" \
	"$(tail -n +"$LOGPOS" "$LOG" | grep "event=oci-confined")"
pm --hooks-dir "$HOOKS" rm -f -t 0 "$ID" >/dev/null 2>&1
kill "$DPID"
wait "$DPID" 2>/dev/null

# doctor: reads podman's hooks_dir as podman does (CONTAINERS_CONF here) and
# says what to fix; podman, given the same file, agrees
PDOK="$TMPD/ok-policies" HOOKS2="$TMPD/hooks2"
mkdir -p "$PDOK" "$HOOKS2"
cp "$PD/$P.yaml" "$PDOK/"
for f in "$HOOKS"/*.json; do sed "s|$PD|$PDOK|" "$f" >"$HOOKS2/$(basename "$f")"; done
printf '[engine]\nhooks_dir = [\n  "%s",\n]\n' "$HOOKS2" >"$TMPD/good.conf"
printf '[engine]\nhooks_dir = ["%s"]\n' "$NOHOOKS" >"$TMPD/none.conf"
out=$(CONTAINERS_CONF="$TMPD/good.conf" "$CGF" doctor --policy-dir "$PDOK")
check "doctor: a good installation has nothing about podman or policies to fix" "" \
	"$(echo "$out" | grep -E '^fix +(podman|policies)')"
check_match "doctor: it names the hooks directory podman reads and the hooks in it" \
	"ok +podman [0-9.]+: $HOOKS2/cgfence-create.json runs $CGF at create" "$out"
out=$(CONTAINERS_CONF="$TMPD/good.conf" pm run --rm "${RUNOPTS[@]}" \
	--annotation "cgfence.io/policy=$P" "$IMG" sh -c "$FIRST" 2>&1)
check_match "doctor: podman with that configuration runs the hook (confined)" \
	"127\.0\.0\.2\): Operation not permitted" "$out"
out=$(CONTAINERS_CONF="$TMPD/none.conf" "$CGF" doctor --policy-dir "$PDOK")
check "doctor: no hook where podman looks is to fix (exit 1)" 1 $?
check_match "doctor: and says what to do" \
	"fix +podman [0-9.]+: no cgfence hook for the create stage in $NOHOOKS: annotated containers run unconfined; copy contrib/oci/cgfence-create.json there" \
	"$out"
sed -i "s|\"path\": \"$CGF\"|\"path\": \"$TMPD/nowhere/cgfence\"|" "$HOOKS2/cgfence-create.json"
chmod g+w "$HOOKS2/cgfence-poststop.json"
out=$(CONTAINERS_CONF="$TMPD/good.conf" "$CGF" --json doctor --policy-dir "$PD")
check "doctor --json: a hook that runs nothing, a writable hook file and an invalid policy" \
	"fix fix fix" "$(echo "$out" | python3 -c '
import json, sys
f = json.load(sys.stdin)["findings"]
def has(level, *words):
    return any(x["level"] == level and all(w in x["message"] for w in words) for x in f)
print("fix" if has("fix", "nowhere/cgfence", "is not an executable file") else "-",
      "fix" if has("fix", "cgfence-poststop.json is writable by others than root") else "-",
      "fix" if has("fix", "bad.yaml:4:") else "-")')"

t_done
