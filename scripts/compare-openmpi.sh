#!/usr/bin/env bash
# Point-to-point comparison with Open MPI on this machine, in one run:
# OSU-style ping-pong latency (µs, 1 B to 4 MiB) and windowed bandwidth
# (MB/s, 1 KiB to 4 MiB), gorun's bench/p2p against the same method
# written in C for MPI (bench/p2p/ompi), np 2, over the transport MODE
# names (default tcp):
#   tcp    Open MPI --mca pml ob1 --mca btl tcp,self; gorun's ranks with
#          GORUN_TRANSPORT=tcp
#   shm    Open MPI's default on one host (no --mca: shared memory);
#          gorun's ranks with GORUN_TRANSPORT=shm
#   vader  Open MPI --mca pml ob1 --mca btl self,vader (its shared-memory
#          BTL named); gorun's ranks with GORUN_TRANSPORT=shm
# Runs alternate between the two (the first of the pair alternating between
# rounds), ROUNDS times; each run reports per-size medians of REPS
# measurements; the table shows the median over rounds and the ratio.
#
#   scripts/compare-openmpi.sh [MODE] [ROUNDS] [REPS]     # default tcp 5 5 (or MODE=... in the environment)
#
# Environment: BASE (a commit: its gorun and bench/p2p, built from `git
# archive`, run in every round too, in the same MODE; the tables add its
# column and the ratio gorun/BASE: is this tree slower than that one?),
# KEEP (a directory to keep the builds and raw outputs in).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-tcp}
case "${1:-}" in tcp | shm | vader) MODE=$1; shift ;; esac
ROUNDS=${1:-5}
case $ROUNDS in "" | *[!0-9]*) echo "usage: $0 [tcp|shm|vader] [ROUNDS]${REPS+ [REPS]}: ROUNDS $ROUNDS is not a number" >&2; exit 2 ;; esac
REPS=${2:-5}
BASE=${BASE:-}
NP=2
. scripts/openmpi.sh
compare_mode "$MODE"
need_openmpi
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
go build -o "$work/gorun" ./cmd/gorun
go build -o "$work/p2p" ./bench/p2p
mpicc -O2 -o "$work/osu_p2p" bench/p2p/ompi/osu_p2p.c
impls="gorun ompi"
if [ -n "$BASE" ]; then
  BASE=$(git rev-parse --short "$BASE")
  mkdir -p "$work/base"
  git archive "$BASE" | tar -x -C "$work/base"
  (cd "$work/base" && go build -o "$work/base.gorun" ./cmd/gorun && go build -o "$work/base.p2p" ./bench/p2p)
  impls="gorun ompi base"
fi
OMPI=(mpirun --allow-run-as-root --oversubscribe "${OMPI_MCA[@]}" -np $NP)
load_before=$(load)

one() { # impl test min max -> appends "size value" lines to $work/<impl>.<test>
  local impl=$1 t=$2 lo=$3 hi=$4
  case $impl in
    gorun) "$work/gorun" -np $NP -x GORUN_TRANSPORT="$GORUN_TR" "$work/p2p" -test "$t" -min "$lo" -max "$hi" -reps "$REPS" ;;
    base) "$work/base.gorun" -np $NP -x GORUN_TRANSPORT="$GORUN_TR" "$work/base.p2p" -test "$t" -min "$lo" -max "$hi" -reps "$REPS" ;;
    ompi) "${OMPI[@]}" "$work/osu_p2p" "$t" "$lo" "$hi" "$REPS" 2>/dev/null ;;
  esac | grep -v '^#' >> "$work/$impl.$t"
}
run() { # round test min max: every implementation, the first rotating between rounds
  local r=$1; shift
  local order=($impls) n i
  n=${#order[@]}
  for i in $(seq 0 $((n - 1))); do one "${order[$(((i + r) % n))]}" "$@"; done
}
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS (load $(load))" >&2
  run "$r" latency 1 4194304
  run "$r" bw 1024 4194304
done

table() { # test unit better
  local t=$1 unit=$2 better=$3
  local files=("$work/gorun.$t" "$work/ompi.$t")
  echo
  echo "# $t ($unit), np $NP, $MODE_DESC"
  echo "# medians of $ROUNDS rounds x $REPS measurements; ratio = gorun/Open MPI${BASE:+, base = gorun/gorun@$BASE} ($better is better)"
  if [ -n "$BASE" ]; then
    files+=("$work/base.$t")
    printf "%-10s %12s %12s %8s %12s %8s\n" size gorun "Open MPI" ratio "gorun@$BASE" base
  else
    printf "%-10s %12s %12s %8s\n" size gorun "Open MPI" ratio
  fi
  awk '
    function median(list,   n, a, i, j, x) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
      return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
    }
    FNR == 1 { impl = (FILENAME ~ /\/gorun\./) ? "g" : (FILENAME ~ /\/base\./) ? "b" : "o"; if (impl == "b") hasbase = 1 }
    NF == 2 { v[impl, $1] = v[impl, $1] " " $2; sizes[$1] = 1 }
    END {
      n = 0; for (s in sizes) order[++n] = s + 0
      for (i = 2; i <= n; i++) { x = order[i]; for (j = i - 1; j >= 1 && order[j] > x; j--) order[j+1] = order[j]; order[j+1] = x }
      for (i = 1; i <= n; i++) {
        s = order[i]; g = median(v["g", s]); o = median(v["o", s])
        printf "%-10d %12.2f %12.2f %8.2f", s, g, o, (o > 0 ? g / o : 0)
        if (hasbase) { b = median(v["b", s]); printf " %12.2f %8.2f", b, (b > 0 ? g / b : 0) }
        printf "\n"
      }
    }' "${files[@]}"
}
echo "# gorun vs Open MPI $(mpirun --version 2>/dev/null | head -1 | awk '{print $NF}'), $(nproc) cores; load before: $load_before, after: $(load)"
table latency "us" lower
table bw "MB/s" higher
