#!/usr/bin/env bash
# Packaging: make install honours PREFIX, DESTDIR and SYSCONFDIR; the man
# pages render; the systemd unit verifies; bash completion completes; the
# Kubernetes manifest is well-formed and its policies check.
. "$(dirname "$0")/lib.sh"

P="$TMPD/prefix"
env -u OUTPUT -u MAKEFLAGS -u MAKELEVEL make --no-print-directory install PREFIX="$P" SYSCONFDIR="$TMPD/etc" >"$TMPD/install.log" 2>&1
check "make install PREFIX=...: exit 0" 0 $?
for f in sbin/cgfence share/man/man8/cgfence.8 share/man/man5/cgfence-policy.5 \
	share/bash-completion/completions/cgfence lib/systemd/system/cgfence.service; do
	check "installed: $f" yes "$([ -f "$P/$f" ] && echo yes || echo no)"
done
check "installed: policy directory" yes "$([ -d "$TMPD/etc/cgfence/policies" ] && echo yes || echo no)"
check_match "installed binary runs" "^cgfence 0\\." "$("$P/sbin/cgfence" version)"
check_match "man page cgfence(8) renders" "cgfence - per-cgroup" "$(MANWIDTH=80 man -l "$P/share/man/man8/cgfence.8" 2>&1 | head -5)"
check_match "man page cgfence-policy(5) renders" "NAME" "$(MANWIDTH=80 man -l "$P/share/man/man5/cgfence-policy.5" 2>&1 | head -5)"
U="$P/lib/systemd/system/cgfence.service"
check_match "unit: ExecStart is the installed binary" "^ExecStart=$P/sbin/cgfence daemon --policy-dir $TMPD/etc/cgfence/policies$" "$(grep ^ExecStart= "$U")"
if command -v systemd-analyze >/dev/null; then
	MANPATH="$P/share/man" systemd-analyze verify "$U" >"$TMPD/verify" 2>&1
	check "unit: systemd-analyze verify" 0 $?
	[ -s "$TMPD/verify" ] && sed 's/^/# /' "$TMPD/verify"
fi

# DESTDIR: everything below it, paths inside as if at PREFIX
env -u OUTPUT -u MAKEFLAGS -u MAKELEVEL make --no-print-directory install DESTDIR="$TMPD/dest" PREFIX=/usr >/dev/null 2>&1
check "make install DESTDIR=...: exit 0" 0 $?
check "DESTDIR: binary staged" yes "$([ -x "$TMPD/dest/usr/sbin/cgfence" ] && echo yes || echo no)"
check "DESTDIR: unit names the final path" "ExecStart=/usr/sbin/cgfence daemon --policy-dir /etc/cgfence/policies" \
	"$(grep ^ExecStart= "$TMPD/dest/usr/lib/systemd/system/cgfence.service")"
env -u OUTPUT -u MAKEFLAGS -u MAKELEVEL make --no-print-directory uninstall DESTDIR="$TMPD/dest" PREFIX=/usr >/dev/null 2>&1
check "make uninstall: files gone" 0 "$(find "$TMPD/dest" -type f | wc -l)"

# bash completion (without the bash-completion package's helpers)
comp() {	# comp WORD...: what completing the last word offers
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cgfence; echo "${COMPREPLY[*]}"' \
		_ "$P/share/bash-completion/completions/cgfence" "$@" 2>/dev/null
}
check "completion: commands" "apply" "$(comp cgfence ap)"
check "completion: daemon options" "--detach-on-exit" "$(comp cgfence daemon --det)"
check_match "completion: apply options" "--cgroup" "$(comp cgfence apply --c)"
check "completion: explain verbs" "sendmsg socket" "$(comp cgfence explain x.yaml s)"
# completion and help agree: every command of `cgfence help`, and every
# option its usage line names for a command, is offered
for cmd in $("$CGF" help | awk '$1 == "cgfence" { print $2 }' | sort -u); do
	check_match "completion offers the command '$cmd'" "(^| )$cmd( |$)" "$(comp cgfence "${cmd:0:3}")"
	for opt in $("$CGF" help | awk -v c="$cmd" '$1 == "cgfence" { k = ($2 == c) } k' |
		grep -o -- '--[a-z][a-z-]*' | grep -vx -- '--json' | sort -u); do
		check_match "completion offers '$cmd $opt'" "(^| )$opt( |$)" "$(comp cgfence "$cmd" "${opt:0:4}")"
	done
done

# the Kubernetes manifest
python3 - "$PWD/contrib/k8s/cgfence-daemonset.yaml" "$TMPD" >"$TMPD/k8s" 2>&1 <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = [d["kind"] for d in docs]
print("kinds", " ".join(kinds))
ds = next(d for d in docs if d["kind"] == "DaemonSet")
spec = ds["spec"]["template"]["spec"]
paths = sorted(v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v)
print("hostPaths", " ".join(paths))
c = spec["containers"][0]
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
assert all(v["name"] in mounts for v in spec["volumes"]), "every volume is mounted"
assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
cm = next(d for d in docs if d["kind"] == "ConfigMap")
assert any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in spec["volumes"])
for k, v in cm["data"].items():
    open(f"{sys.argv[2]}/{k}", "w").write(v)
    print("policy", k)
EOF
check "k8s manifest: parses" 0 $?
check "k8s manifest: kinds" "kinds Namespace ConfigMap DaemonSet" "$(grep ^kinds "$TMPD/k8s")"
check "k8s manifest: host mounts" "hostPaths /run/cgfence /sys/fs/bpf /sys/fs/cgroup" "$(grep ^hostPaths "$TMPD/k8s")"
for f in $(grep ^policy "$TMPD/k8s" | cut -d' ' -f2); do
	"$CGF" check "$TMPD/$f" >/dev/null 2>&1
	check "k8s manifest: policy $f checks" 0 $?
done

t_done
