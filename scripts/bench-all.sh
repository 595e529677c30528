#!/usr/bin/env bash
# Regenerates the results and plots of every benchmark, in turn, printing
# progress: bench/p2p and bench/coll against Open MPI (installed with
# apt-get when missing), the selector's crossover tables, bench/kernels,
# bench/scaling and bench/granularity. Takes about an hour on 2 cores;
# run it on an otherwise idle machine.
#
#   scripts/bench-all.sh                 # everything
#   ONLY="kernels scaling" scripts/bench-all.sh
#   ROUNDS=3 scripts/bench-all.sh        # fewer rounds (default 5; the goal table uses 15)
#
# Writes:
#   bench/p2p/results/compare.txt                 scripts/compare-openmpi.sh
#   bench/coll/results/ompi-compare-goal.txt      Allreduce and Bcast at 8 B, 64 KiB, 1 MiB, three ways
#   bench/coll/results/ompi-compare.txt           the six default collectives, 4 B to 4 MiB
#   bench/coll/results/crossovers.txt             scripts/crossovers.sh, np 2 3 4 5 8
#   bench/kernels/results/{kernels.csv,triad,gemm}.{png,svg}, kernels.txt
#   bench/scaling/results/{scaling.csv,strong,weak}.{png,svg}, scaling.txt
#   bench/granularity/{results.csv,granularity.png,granularity.svg}
# Plots are drawn by the bench/plot module (go -C bench/plot run .).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ROUNDS=${ROUNDS:-5}
GOAL_ROUNDS=${GOAL_ROUNDS:-15}
ONLY=${ONLY:-p2p coll crossovers kernels scaling granularity}
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s, load $(cut -d' ' -f1-3 /proc/loadavg))"; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
stamp() { echo "# $(date -u +%FT%TZ) at $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) CPUs: $*"; }
plot() { go -C bench/plot run . "$@"; }

if want p2p; then
  step "p2p: gorun against Open MPI, $ROUNDS rounds"
  mkdir -p bench/p2p/results
  { stamp "scripts/compare-openmpi.sh $ROUNDS 3"; bash scripts/compare-openmpi.sh "$ROUNDS" 3; } | tee bench/p2p/results/compare.txt
fi

if want coll; then
  out=bench/coll/results/ompi-compare-goal.txt
  step "coll: Allreduce and Bcast against Open MPI, $GOAL_ROUNDS rounds, three ways -> $out"
  {
    stamp "COLLS=allreduce,bcast SIZES=8,64K,1M BUDGET=0.5 scripts/compare-openmpi-coll.sh $GOAL_ROUNDS (then OSU=1, then the timeline)"
    COLLS=allreduce,bcast SIZES=8,64K,1M BUDGET=0.5 bash scripts/compare-openmpi-coll.sh "$GOAL_ROUNDS"
    OSU=1 COLLS=allreduce,bcast SIZES=8,64K,1M BUDGET=0.5 bash scripts/compare-openmpi-coll.sh "$GOAL_ROUNDS"
    COLLS=bcast,allreduce SIZES=8,64K,1M bash scripts/compare-openmpi-timeline.sh "$GOAL_ROUNDS"
  } | tee "$out"
  out=bench/coll/results/ompi-compare.txt
  step "coll: the six default collectives against Open MPI, 3 rounds -> $out"
  { stamp "scripts/compare-openmpi-coll.sh 3"; bash scripts/compare-openmpi-coll.sh 3; } | tee "$out"
fi

if want crossovers; then
  out=bench/coll/results/crossovers.txt
  step "crossovers: every algorithm forced, np 2 3 4 5 8, $ROUNDS rounds -> $out"
  { stamp "NPS=\"2 3 4 5 8\" scripts/crossovers.sh $ROUNDS"; NPS="2 3 4 5 8" bash scripts/crossovers.sh "$ROUNDS"; } | tee "$out"
fi

if want kernels; then
  dir=bench/kernels/results
  step "kernels: triad and GEMM, 1..ncpu workers -> $dir"
  mkdir -p "$dir"
  { stamp "go run ./bench/kernels -runs 5 -out $dir"; go run ./bench/kernels -runs 5 -out "$dir"; } | tee "$dir/kernels.txt"
  plot kernels -in "$root/$dir/kernels.csv" -out "$root/$dir"
fi

if want scaling; then
  dir=bench/scaling/results
  step "scaling: pi, heat2d, nbody, ddp at np 1, 2, 4, 8 -> $dir"
  mkdir -p "$dir"
  { stamp "go run ./bench/scaling -reps 3 -out $dir"; go run ./bench/scaling -reps 3 -out "$dir"; } | tee "$dir/scaling.txt"
  plot scaling -in "$root/$dir/scaling.csv" -out "$root/$dir"
fi

if want granularity; then
  step "granularity: task farm speedup against task size, np 1, 2, 4"
  sh bench/granularity/run.sh
fi

step "done"
