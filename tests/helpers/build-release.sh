#!/usr/bin/env bash
# build-release.sh REV DIR: build cgfence as it was at git revision REV into
# DIR/cgfence (for tests/kernel/t_upgrade.sh). Without the git history (a
# tarball, a shallow clone) it says so and builds nothing; the test skips.
set -u
rev=$1 dir=$2
cd "$(dirname "$0")/../.."
if ! git rev-parse -q --verify "$rev^{commit}" >/dev/null 2>&1; then
	echo "  (no git history with $rev here: the upgrade test will skip)"
	exit 0
fi
full=$(git rev-parse "$rev^{commit}")
[ -x "$dir/cgfence" ] && [ "$(cat "$dir/REV" 2>/dev/null)" = "$full" ] && exit 0
printf '  %-8s %s\n' RELEASE "$dir/cgfence ($rev)"
rm -rf "$dir" && mkdir -p "$dir/src"
git archive "$full" | tar -x -C "$dir/src" || exit 1
# a clean make: none of this build's variables (OUTPUT, SANITIZE, ...) reach it
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$dir/src" --no-print-directory -s cgfence \
	>"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
mv "$dir/src/cgfence" "$dir/cgfence"
rm -rf "$dir/src"
echo "$full" >"$dir/REV"
