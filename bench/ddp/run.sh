#!/bin/sh
# Blocking, overlapped, and overlapped with asynchronous progress gradient
# reduction in examples/ddp -compare, at np 2 and 4 with the launcher's
# GOMAXPROCS (1 per rank on a 2-core host), for two models: eight hidden
# layers of 64 units (small, latency-bound reductions) and four of 256
# (wide ones). Each line of output is one -compare run: the modes
# alternate inside it.
# Usage: bench/ddp/run.sh [reps] (default 7).
set -eu
reps=${1:-7}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/gorun" ./cmd/gorun
go build -o "$dir/ddp" ./examples/ddp
small="-layers 8 -hidden 64 -batch 128 -m 8192 -epochs 1 -lr 0.05 -target-loss 0.69"
wide="-layers 4 -hidden 256 -batch 64 -m 4096 -epochs 1 -lr 0.02 -target-loss 0.69"
for model in small wide; do
	eval "args=\$$model"
	for np in 2 4; do
		echo "## $model, np $np, load $(cut -d' ' -f1 /proc/loadavg)"
		# shellcheck disable=SC2086
		"$dir/gorun" -np "$np" "$dir/ddp" $args -compare "$reps" | grep -E 'µs/step|VERDICT'
	done
done
