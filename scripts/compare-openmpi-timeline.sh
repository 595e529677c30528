#!/usr/bin/env bash
# Collective completion times, gorun against Open MPI on this host, from
# the ranks' shared clock: bench/coll -osu -timeline and osu_coll -osu 1
# -timeline 1 record when every rank entered and left each call (OSU's
# method: one call at a time, a Barrier between) and report, as medians
# over calls, when the last rank left, counted from rank 0's entry ("from
# root": for a Bcast from rank 0, the time until every rank has the data)
# and from the last rank's entry ("from last entry": for an Allreduce, no
# rank can finish before the last one enters). Unlike OSU's average over
# ranks, neither charges a call for the time a rank that left the
# Barrier early waits in it. A second table gives the loop's period, rank
# 0's entry into one call after its entry into the one before ("call and
# barrier"): what a program that alternates the two pays per iteration,
# whichever of the two calls the waiting is charged to. Rounds alternate
# gorun and Open MPI; the tables give the median over rounds. One host
# only.
#
#   scripts/compare-openmpi-timeline.sh [ROUNDS]          # default 5
#
# Environment: COLLS (default bcast,allreduce), NPS (default "2 4 8"),
# SIZES (default 8,64K,1M), BUDGET (seconds per point, default 0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
COLLS=${COLLS:-bcast,allreduce}
NPS=${NPS:-2 4 8}
SIZES=${SIZES:-8,64K,1M}
BUDGET=${BUDGET:-0.5}
. scripts/openmpi.sh
need_openmpi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/gorun" ./cmd/gorun
go build -o "$work/collbench" ./bench/coll
mpicc -O2 -o "$work/osu_coll" bench/coll/ompi/osu_coll.c
gobudget=$(awk -v b="$BUDGET" 'BEGIN { printf "%dms", b * 1000 }')
# one "impl coll np size fromroot fromlast cycle" line per point, from the
# timeline lines on standard error (which name the collective and size)
collect() {
  awk -v impl="$1" -v np="$2" '
    /^timeline / {
      for (i = 1; i <= NF; i++) {
        if ($i == "left" && $(i+2) == "after" && $(i+4) == "0") r = $(i+1)
        if ($(i+2) == "after" && $(i+4) == "last") l = $(i+1)
        if ($i == "and" && $(i+1) == "barrier") cy = $(i+2)
      }
      print impl, $2, np, $3, r, l, cy
    }'
}
load_before=$(uptime)
: > "$work/all.txt"
for r in $(seq "$ROUNDS"); do
  for np in $NPS; do
    echo "round $r/$ROUNDS np $np ($(uptime | sed 's/.*load/load/'))" >&2
    g() { "$work/gorun" -np "$np" "$work/collbench" -alg auto -coll "$COLLS" -sizes "$SIZES" -budget "$gobudget" -osu -timeline 2>&1 | collect g "$np" >> "$work/all.txt"; }
    o() { mpirun --allow-run-as-root --oversubscribe --mca pml ob1 --mca btl tcp,self -np "$np" "$work/osu_coll" -coll "$COLLS" -sizes "$SIZES" -budget "$BUDGET" -osu 1 -timeline 1 2>&1 | collect o "$np" >> "$work/all.txt"; }
    if [ $((r % 2)) -eq 1 ]; then g; o; else o; g; fi
  done
done
echo "# gorun vs Open MPI $(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}') (TCP: --mca pml ob1 --mca btl tcp,self), $(nproc) cores, $ROUNDS rounds"
echo "# µs until the last rank left the call: from rank 0's entry (root) and from the last rank's entry (last); medians of per-round medians; ratio gorun/Open MPI"
echo "# load before: ${load_before#*load }"
echo "# load after:  $(uptime | sed 's/.*load //')"
awk -v nps="$NPS" '
  function median(list,   n, a, i, j, x) {
    n = split(list, a, " ")
    if (n == 0) return -1
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
    return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  { root[$1, $2, $3, $4] = root[$1, $2, $3, $4] " " $5; last[$1, $2, $3, $4] = last[$1, $2, $3, $4] " " $6
    cyc[$1, $2, $3, $4] = cyc[$1, $2, $3, $4] " " $7
    if (!(($2, $4) in seen)) { seen[$2, $4] = 1; rows[++nr] = $2 " " $4 } }
  END {
    nn = split(nps, np, " ")
    printf "%-10s %8s", "", ""
    for (i = 1; i <= nn; i++) printf " | %-23s  %-23s", "np " np[i] ", from root", "from last entry"
    printf "\n%-10s %8s", "coll", "bytes"
    for (i = 1; i <= nn; i++) printf " | %8s %8s %5s  %8s %8s %5s", "gorun", "ompi", "ratio", "gorun", "ompi", "ratio"
    printf "\n"
    for (k = 1; k <= nr; k++) {
      split(rows[k], cs, " "); printf "%-10s %8s", cs[1], cs[2]
      for (i = 1; i <= nn; i++) {
        gR = median(root["g", cs[1], np[i], cs[2]]); oR = median(root["o", cs[1], np[i], cs[2]])
        gL = median(last["g", cs[1], np[i], cs[2]]); oL = median(last["o", cs[1], np[i], cs[2]])
        printf " | %8.2f %8.2f %5.2f  %8.2f %8.2f %5.2f", gR, oR, (oR > 0 ? gR / oR : 0), gL, oL, (oL > 0 ? gL / oL : 0)
      }
      printf "\n"
    }
    printf "\n# µs per iteration of the loop (one call and the barrier after it; rank 0, medians of per-round medians)\n"
    printf "%-10s %8s", "coll", "bytes"
    for (i = 1; i <= nn; i++) printf " | %-23s", "np " np[i] ": gorun ompi ratio"
    printf "\n"
    for (k = 1; k <= nr; k++) {
      split(rows[k], cs, " "); printf "%-10s %8s", cs[1], cs[2]
      for (i = 1; i <= nn; i++) {
        gC = median(cyc["g", cs[1], np[i], cs[2]]); oC = median(cyc["o", cs[1], np[i], cs[2]])
        printf " | %8.2f %8.2f %5.2f", gC, oC, (oC > 0 ? gC / oC : 0)
      }
      printf "\n"
    }
  }' "$work/all.txt"
