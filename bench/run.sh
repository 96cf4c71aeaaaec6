#!/usr/bin/env bash
# Runs the benchmarks in a network namespace of their own and prints a
# Markdown report with the command that produced it. Not part of `make check`.
#   bench/run.sh [bench_egress options, e.g. --sizes 1,1000 --rounds 5]
set -eu
cd "$(dirname "$0")/.."
echo "# cgfence benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs)"
echo "# command: make bench BENCH_ARGS='$*'   (bench/run.sh $*)"
exec unshare -n sh -c '
	ip link set lo up &&
	./.output/bench_egress --cgfence "$PWD/cgfence" "$@" &&
	echo && echo "## socket() and bind()" && echo &&
	./.output/bench_sock --cgfence "$PWD/cgfence" &&
	echo && echo "## connect() through a redirect" && echo &&
	./.output/bench_redirect --cgfence "$PWD/cgfence" &&
	echo && echo "## egress by domain name (to_names)" && echo &&
	./.output/bench_names --cgfence "$PWD/cgfence" &&
	echo && echo "## accounting and the connection log" && echo &&
	./.output/bench_acct --cgfence "$PWD/cgfence" &&
	echo && echo "## cgfence daemon: a new cgroup to the policy attached" && echo &&
	./.output/bench_daemon --cgfence "$PWD/cgfence" &&
	echo && echo "## a big version applied, replaced and detached: does a CPU stall?" && echo &&
	./.output/bench_stall --cgfence "$PWD/cgfence" &&
	echo && echo "## kernel memory of policies" && echo &&
	bench/footprint.sh "$PWD/cgfence" 100' sh "$@"
