#!/usr/bin/env bash
# compare-portable.sh [ROUNDS]: what the portable TCP link (net.Conn and
# Go's poller: macOS, FreeBSD, and Linux under -tags gorun_portable) costs
# against Linux's fast path, on this Linux machine. It builds gorun once
# and bench/p2p and bench/coll twice (with and without the tag), runs the
# two builds alternately ROUNDS times (default 5), and prints per
# benchmark and size the median over rounds of each, and their ratio
# (portable / fast: above 1 the portable link is slower, for bandwidth
# faster). Both run over TCP (--transport tcp): the portable build has no
# shared memory, and the Linux build would otherwise link the ranks of one
# host by it.
#
#   scripts/compare-portable.sh 5
#   NPS="2 4" SIZES=8,64K,1M scripts/compare-portable.sh 3
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
nps=${NPS:-2 4}
sizes=${SIZES:-8,64K,1M}
case $rounds in ''|*[!0-9]*) echo "compare-portable.sh: ROUNDS must be a number, not $rounds" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building (gorun, bench/p2p and bench/coll, fast and -tags gorun_portable)" >&2
go build -o "$tmp/gorun" ./cmd/gorun
for v in fast portable; do
  tags=""; [ $v = portable ] && tags=gorun_portable
  go build -tags "$tags" -o "$tmp/p2p.$v" ./bench/p2p
  go build -tags "$tags" -o "$tmp/coll.$v" ./bench/coll
done
out="$tmp/points" # lines: bench size variant value
for r in $(seq "$rounds"); do
  echo "round $r of $rounds" >&2
  for v in fast portable; do
    "$tmp/gorun" --transport tcp -np 2 "$tmp/p2p.$v" -test latency -min 8 -max 1048576 -reps 3 |
      awk -v v=$v '!/^#/ && NF == 2 && ($1 == 8 || $1 == 65536 || $1 == 1048576) { print "latency_np2", $1, v, $2 }' >>"$out"
    "$tmp/gorun" --transport tcp -np 2 "$tmp/p2p.$v" -test bw -min 16384 -max 1048576 -reps 3 |
      awk -v v=$v '!/^#/ && NF == 2 && ($1 == 16384 || $1 == 1048576) { print "bandwidth_np2", $1, v, $2 }' >>"$out"
    for np in $nps; do
      "$tmp/gorun" --transport tcp -np "$np" "$tmp/coll.$v" -coll allreduce,bcast -alg auto -sizes "$sizes" -budget 20ms |
        awk -v v=$v -v np=$np '/^## / { c = $2 } $1 ~ /^[0-9]+$/ && NF == 2 { print c "_np" np, $1, v, $2 }' >>"$out"
    done
  done
done
echo
echo "# portable TCP link / Linux fast path, medians of $rounds alternating rounds; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# latency and collectives: µs (ratio above 1: portable slower); bandwidth: MB/s (ratio below 1: portable slower)"
printf '%-16s %10s %12s %12s %8s\n' bench bytes fast portable ratio
sort -k1,1 -k2,2n "$out" | awk '
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  { k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; order[++m] = k } vals[k, $3] = vals[k, $3] " " $4 }
  END {
    for (i = 1; i <= m; i++) {
      split(order[i], p, " ")
      f = median(vals[order[i], "fast"]); q = median(vals[order[i], "portable"])
      printf "%-16s %10s %12.2f %12.2f %8.2f\n", p[1], p[2], f, q, (f > 0 ? q / f : 0)
    }
  }'
