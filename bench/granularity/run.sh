#!/bin/sh
# Runs the granularity benchmark at np 1, 2 and 4 and plots the result.
#   sh bench/granularity/run.sh            (from the repository root)
# Writes bench/granularity/results.csv, granularity.png and granularity.svg.
set -eu
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/gorun" ./cmd/gorun
go build -o "$dir/granularity" ./bench/granularity
out=bench/granularity/results.csv
rm -f "$out"
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for np in 1 2 4; do
	"$dir/gorun" -np "$np" --timeout 10m "$dir/granularity" -out "$out" "$@"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
go -C bench/plot run . granularity -in "$PWD/$out" -out "$PWD/bench/granularity/granularity"
echo "wrote $out, bench/granularity/granularity.png and .svg"
