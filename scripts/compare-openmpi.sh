#!/usr/bin/env bash
# Point-to-point comparison with Open MPI on this machine, in one run:
# OSU-style ping-pong latency (µs) and windowed bandwidth (MB/s), gorun's
# bench/p2p against the same method written in C for MPI (bench/p2p/ompi),
# in one of three modes (MODE): tcp (default): gorun --transport tcp
# against Open MPI over TCP (--mca pml ob1 --mca btl tcp,self); shm:
# gorun --transport shm against Open MPI's default (mpirun with no --mca:
# shared memory); vader: gorun --transport shm against --mca pml ob1
# --mca btl self,vader. Runs alternate between the two, ROUNDS times; each
# run reports per-size medians of REPS measurements; the table shows the
# median over rounds and the ratio.
#
#   MODE=tcp|shm|vader scripts/compare-openmpi.sh [ROUNDS] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
REPS=${2:-5}
NP=2
. scripts/openmpi.sh
need_openmpi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/gorun" ./cmd/gorun
go build -o "$work/p2p" ./bench/p2p
mpicc -O2 -o "$work/osu_p2p" bench/p2p/ompi/osu_p2p.c
MODE=${MODE:-tcp}
case $MODE in
tcp) OMPI=(mpirun --allow-run-as-root --oversubscribe --mca pml ob1 --mca btl tcp,self -np $NP); GT=tcp; LABEL="TCP" ;;
shm) OMPI=(mpirun --allow-run-as-root --oversubscribe -np $NP); GT=shm; LABEL="shared memory (Open MPI's default)" ;;
vader) OMPI=(mpirun --allow-run-as-root --oversubscribe --mca pml ob1 --mca btl self,vader -np $NP); GT=shm; LABEL="shared memory (--mca btl self,vader)" ;;
*) echo "MODE=$MODE: expected tcp, shm or vader" >&2; exit 2 ;;
esac

run() { # test min max -> appends "size value" lines to $work/<impl>.<test>
  local t=$1 lo=$2 hi=$3
  "$work/gorun" --transport "$GT" -np $NP "$work/p2p" -test "$t" -min "$lo" -max "$hi" -reps "$REPS" | grep -v '^#' >> "$work/gorun.$t"
  "${OMPI[@]}" "$work/osu_p2p" "$t" "$lo" "$hi" "$REPS" 2>/dev/null | grep -v '^#' >> "$work/ompi.$t"
}
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  run latency 1 4194304
  run bw 1024 4194304
done

table() { # test unit better
  local t=$1 unit=$2 better=$3
  echo
  echo "# $t ($unit), np $NP, $LABEL; medians of $ROUNDS rounds x $REPS measurements; ratio = gorun/Open MPI ($better is better)"
  printf "%-10s %12s %12s %8s\n" size gorun "Open MPI" ratio
  awk -v t="$t" '
    function median(list,   n, a, i, j, x) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
      return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
    }
    FNR == 1 { impl = (FILENAME ~ /gorun/) ? "g" : "o" }
    NF == 2 { v[impl, $1] = v[impl, $1] " " $2; sizes[$1] = 1 }
    END {
      n = 0; for (s in sizes) order[++n] = s + 0
      for (i = 2; i <= n; i++) { x = order[i]; for (j = i - 1; j >= 1 && order[j] > x; j--) order[j+1] = order[j]; order[j+1] = x }
      for (i = 1; i <= n; i++) {
        s = order[i]; g = median(v["g", s]); o = median(v["o", s])
        printf "%-10d %12.2f %12.2f %8.2f\n", s, g, o, (o > 0 ? g / o : 0)
      }
    }' "$work/gorun.$t" "$work/ompi.$t"
}
table latency "us" lower
table bw "MB/s" higher
