#!/usr/bin/env bash
# Collective latency, gorun against Open MPI on this machine, in one run:
# bench/coll (the selector's choice, column "auto") and bench/coll/ompi/
# osu_coll.c (the same method written in C for MPI: warm-up, agreed
# iteration count, timed back-to-back calls, average µs per call, maximum
# over ranks), over the transport MODE names (default tcp):
#   tcp    Open MPI --mca pml ob1 --mca btl tcp,self; gorun's ranks with
#          GORUN_TRANSPORT=tcp
#   shm    Open MPI's default on one host (no --mca: shared memory);
#          gorun's ranks with GORUN_TRANSPORT=shm
#   vader  Open MPI --mca pml ob1 --mca btl self,vader; gorun's ranks with
#          GORUN_TRANSPORT=shm
# With more ranks than cores (np 4 and 8 on 2) both oversubscribe: the
# header says so. For each round and each np the two run one after the other, the first of the
# pair alternating between rounds; the tables give the median over rounds
# and the ratio gorun/Open MPI (lower is better, < 1 means gorun is faster).
#
#   scripts/compare-openmpi-coll.sh [MODE] [ROUNDS]          # default tcp 5 (or MODE=... in the environment)
#
# Environment: COLLS (comma list, default
# allreduce,bcast,reduce,allgather,alltoall,barrier; "all" for every
# collective both sides know), NPS (default "2 4 8"), MIN/MAX (bytes, K/M
# suffixes; default 4 and 4M) or SIZES (a comma list, e.g. 8,64K,1M), BUDGET (timed seconds per point, default
# 0.05), MIN_ITERS (default 5), GORUN_X (extra "-x NAME=value" arguments
# for gorun, e.g. GORUN_X="-x GORUN_COLL_ALLREDUCE=ring"), OSU (1: OSU's
# own method on both sides, each call timed alone with an untimed barrier
# after it, average over ranks: one call's latency instead of the rate of
# back-to-back calls), ITERS (most timed calls per point, default 1000), KEEP (a
# directory to keep the raw outputs in).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-tcp}
case "${1:-}" in tcp | shm | vader) MODE=$1; shift ;; esac
ROUNDS=${1:-5}
case $ROUNDS in "" | *[!0-9]*) echo "usage: $0 [tcp|shm|vader] [ROUNDS]${REPS+ [REPS]}: ROUNDS $ROUNDS is not a number" >&2; exit 2 ;; esac
COLLS=${COLLS:-allreduce,bcast,reduce,allgather,alltoall,barrier}
NPS=${NPS:-2 4 8}
MIN=${MIN:-4}
MAX=${MAX:-4M}
BUDGET=${BUDGET:-0.05}
MIN_ITERS=${MIN_ITERS:-5}
GORUN_X=${GORUN_X:-}
OSU=${OSU:-}
ITERS=${ITERS:-1000}
. scripts/openmpi.sh
compare_mode "$MODE"
need_openmpi
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
go build -o "$work/gorun" ./cmd/gorun
go build -o "$work/collbench" ./bench/coll
mpicc -O2 -o "$work/osu_coll" bench/coll/ompi/osu_coll.c
if [ "$COLLS" = all ]; then
  COLLS=allgather,allgatherv,allreduce,alltoall,alltoallv,barrier,bcast,exscan,gather,gatherv,reduce,reducescatter,scan,scatter,scatterv
fi
# bench/coll takes -budget as a Go duration, osu_coll in seconds
gobudget=$(awk -v b="$BUDGET" 'BEGIN { printf "%dms", b * 1000 }')
range=(-min "$MIN" -max "$MAX")
[ -z "${SIZES:-}" ] || range=(-sizes "$SIZES")
GARGS=(-alg auto -coll "$COLLS" "${range[@]}" -budget "$gobudget" -min-iters "$MIN_ITERS" -iters "$ITERS")
OARGS=(-coll "$COLLS" "${range[@]}" -budget "$BUDGET" -min-iters "$MIN_ITERS" -iters "$ITERS")
if [ "$OSU" = 1 ]; then
  GARGS+=(-osu)
  OARGS+=(-osu 1)
fi
load_before=$(load)
: > "$work/gorun.txt"
: > "$work/ompi.txt"

# flatten "## coll (np N)" tables into "coll np size value" lines
flatten() { awk '/^## / { c = $2; np = $4 + 0; next } c != "" && NF == 2 && $1 != "bytes" { print c, np, $1, $2 }'; }
run_gorun() {
  # shellcheck disable=SC2086
  "$work/gorun" -np "$1" -x GORUN_TRANSPORT="$GORUN_TR" $GORUN_X "$work/collbench" "${GARGS[@]}" \
    | tee -a "$work/gorun.raw" | flatten >> "$work/gorun.txt"
}
run_ompi() {
  mpirun --allow-run-as-root --oversubscribe "${OMPI_MCA[@]}" -np "$1" \
    "$work/osu_coll" "${OARGS[@]}" 2>/dev/null | tee -a "$work/ompi.raw" | flatten >> "$work/ompi.txt"
}
for r in $(seq "$ROUNDS"); do
  for np in $NPS; do
    echo "round $r/$ROUNDS np $np (load $(load))" >&2
    if [ $((r % 2)) -eq 1 ]; then
      run_gorun "$np"; run_ompi "$np"
    else
      run_ompi "$np"; run_gorun "$np"
    fi
  done
done

echo "# gorun vs Open MPI $(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}'), $MODE_DESC"
over=""
for np in $NPS; do [ "$np" -le "$(nproc)" ] || over="$over $np"; done
echo "# $(nproc) cores${over:+; np$over oversubscribed (more ranks than cores)}"
echo "# $ROUNDS rounds, median over rounds of the average µs per call (max over ranks); ratio = gorun/Open MPI (lower is better)"
[ "$OSU" != 1 ] || echo "# OSU=1: OSU's method, each call timed alone with a barrier after it, average over ranks"
echo "# load average before: $load_before, after: $(load)"
awk -v nps="$NPS" -v colls="$COLLS" '
  function median(list,   n, a, i, j, x) {
    n = split(list, a, " ")
    if (n == 0) return -1
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
    return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  FNR == 1 { impl = (FILENAME ~ /gorun/) ? "g" : "o" }
  { v[impl, $1, $2, $3] = v[impl, $1, $2, $3] " " $4; if (!(($1, $3) in seen)) { seen[$1, $3] = 1; sizes[$1] = sizes[$1] " " $3 } }
  END {
    nn = split(nps, np, " "); nc = split(colls, cl, ",")
    for (k = 1; k <= nc; k++) {
      c = cl[k]; if (!(c in sizes)) continue
      printf "\n## %s\n%10s", c, "bytes"
      for (i = 1; i <= nn; i++) printf " %10s %10s %6s", "gorun np" np[i], "ompi np" np[i], "ratio"
      printf "\n"
      ns = split(sizes[c], sz, " ")
      for (s = 1; s <= ns; s++) {
        printf "%10s", sz[s]
        for (i = 1; i <= nn; i++) {
          g = median(v["g", c, np[i], sz[s]]); o = median(v["o", c, np[i], sz[s]])
          if (g < 0 || o < 0) printf " %10s %10s %6s", "-", "-", "-"
          else printf " %10.1f %10.1f %6.2f", g, o, (o > 0 ? g / o : 0)
        }
        printf "\n"
      }
    }
  }' "$work/gorun.txt" "$work/ompi.txt"
