# The cases every policy section shares, run over a section's own table.
# Source it after lib.sh. Each section's test says what its policy denies
# and what a child may write; these functions check, from real processes:
#   - control: the same call outside any test cgroup succeeds;
#   - audit: the policy in audit mode denies nothing and counts a would-deny;
#   - hierarchy: a child policy that allows the call cannot undo the parent;
#   - bad input: a malformed section is an error naming FILE:LINE:COL.

# audit_version TAG POL KEY: POL in audit mode (mode: audit before KEY:), applied
# to a fresh cgroup; sets ACG and AN
audit_version() {
	local tag=$1 pol=$2 key=$3
	mkcg ACG "$tag-audit"
	AN=$(pname "$tag-audit"); track_policy "$AN"
	sed -e "s/^name: .*/name: $AN/" -e "s/^$key:/mode: audit\n$key:/" "$pol" >"$TMPD/$tag-audit.yaml"
	"$CGF" apply "$TMPD/$tag-audit.yaml" --cgroup "$ACG" >/dev/null
	check "$tag: audit version applied" 0 $?
}

# section_cases TAG POL KEY CG CHILD_SECTION MIN_AUDIT -- CASE...
#   POL is applied to CG already; KEY is its top-level key (devices, sysctl,
#   network); CHILD_SECTION the body of a child policy that allows every CASE;
#   MIN_AUDIT the least would-deny count the audit cases give. Each CASE is a
#   netprobe command line (one string) that POL denies with EPERM.
section_cases() {
	local tag=$1 pol=$2 key=$3 cg=$4 child=$5 min=$6 c
	shift 7
	for c in "$@"; do
		# shellcheck disable=SC2086
		check "$tag: denied in the cgroup: $c" EPERM "$(in_cg "$cg" "$NP" $c)"
		# shellcheck disable=SC2086
		check "$tag: control outside the cgroup: $c" ok "$("$NP" $c)"
	done
	audit_version "$tag" "$pol" "$key"
	for c in "$@"; do
		# shellcheck disable=SC2086
		check "$tag: audit lets it through: $c" ok "$(in_cg "$ACG" "$NP" $c)"
	done
	local n
	n=$("$CGF" --json stats "$AN" | python3 -c 'import json,sys
print(sum(json.load(sys.stdin)[0]["by_hook"]["audit_would_deny"].values()))')
	[ "$n" -ge "$min" ] && ok "$tag: audit counted $n would-deny (at least $min)" ||
		not_ok "$tag: audit counted $n would-deny, expected at least $min"
	mkcg CHILD "$tag-child" "$cg"
	local cn
	cn=$(pname "$tag-child"); track_policy "$cn"
	printf 'version: 1\nname: %s\n%s\n' "$cn" "$child" >"$TMPD/$tag-child.yaml"
	"$CGF" apply "$TMPD/$tag-child.yaml" --cgroup "$CHILD" >/dev/null
	check "$tag: child policy applied" 0 $?
	for c in "$@"; do
		# shellcheck disable=SC2086
		check "$tag: a child cannot undo the parent's deny: $c" EPERM "$(in_cg "$CHILD" "$NP" $c)"
	done
}

# bad_input TAG YAML REGEX: `check` of YAML (a file's text) fails with exit 1
# and a message matching REGEX (which should name FILE:LINE:COL)
bad_input() {
	local f="$TMPD/$1-bad.yaml" out rc
	printf '%s' "$2" >"$f"
	out=$("$CGF" check "$f" 2>&1)
	rc=$?
	check "$1: bad input exits 1" 1 "$rc"
	check_match "$1: bad input says where and why" "$3" "$out"
}
