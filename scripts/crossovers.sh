#!/usr/bin/env bash
# Crossover points of the collective algorithms on this machine: bench/coll
# with every algorithm forced (and the selector's choice, "auto"), np 2, 4
# and 8 in turn for each round, then for each collective, rank count and
# size the median over rounds of every algorithm, the fastest one, and
# where the fastest changes. collectives/select.go's thresholds come from
# these tables.
#
#   scripts/crossovers.sh [ROUNDS]          # default 5
#
# Environment: COLLS (comma list, default every collective with more than
# one algorithm), NPS (default "2 4 8"), SIZES (comma list of bytes with
# K/M suffixes, default below: 8 B to 4 MiB, denser from 8 KiB), BUDGET (Go
# duration per point, default 30ms), OSU (1: bench/coll -osu, OSU's method
# of timing each call alone with a Barrier between, instead of back-to-back
# calls), KEEP (a directory to keep the raw outputs in).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
COLLS=${COLLS:-allreduce,bcast,reduce,allgather,alltoall,gather,scatter,reducescatter}
NPS=${NPS:-2 4 8}
SIZES=${SIZES:-8,64,512,2K,8K,16K,32K,64K,128K,256K,512K,1M,2M,4M}
BUDGET=${BUDGET:-30ms}
EXTRA=()
[ "${OSU:-}" != 1 ] || EXTRA=(-osu)
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
go build -o "$work/gorun" ./cmd/gorun
go build -o "$work/collbench" ./bench/coll
load_before=$(uptime)
: > "$work/all.txt"
for r in $(seq "$ROUNDS"); do
  for np in $NPS; do
    echo "round $r/$ROUNDS np $np ($(uptime | sed 's/.*load/load/'))" >&2
    "$work/gorun" -np "$np" "$work/collbench" -alg all -coll "$COLLS" -sizes "$SIZES" \
      -budget "$BUDGET" -min-iters 5 "${EXTRA[@]}" | tee -a "$work/raw.txt" |
      # "## coll (np N)", a header naming the columns, then rows:
      # flatten to "coll np size alg value"
      awk '/^## / { c = $2; np = $4 + 0; next }
           c != "" && $1 == "bytes" { n = NF; for (i = 2; i <= NF; i++) name[i] = $i; next }
           c != "" && NF == n && $1 ~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) print c, np, $1, name[i], $i }' >> "$work/all.txt"
  done
done

echo "# collective crossovers: bench/coll -alg all ${EXTRA[*]}, $ROUNDS rounds (np $NPS in turn), median µs per call (max over ranks)"
echo "# $(nproc) cores; load before: ${load_before#*load }; after: $(uptime | sed 's/.*load //')"
echo "# best: the fastest forced algorithm, and how much slower the next one is; auto: the selector's choice at the time of the run"
awk -v nps="$NPS" -v colls="$COLLS" '
  function median(list,   n, a, i, j, x) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
    return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  {
    k = $1 SUBSEP $2
    v[k, $3, $4] = v[k, $3, $4] " " $5
    if (!((k, $3) in seenSize)) { seenSize[k, $3] = 1; sizes[k] = sizes[k] " " $3 }
    if (!((k, $4) in seenAlg)) { seenAlg[k, $4] = 1; algs[k] = algs[k] " " $4 }
  }
  END {
    nn = split(nps, np, " "); nc = split(colls, cl, ",")
    for (ci = 1; ci <= nc; ci++) for (ni = 1; ni <= nn; ni++) {
      k = cl[ci] SUBSEP np[ni]
      if (!(k in sizes)) continue
      na = split(algs[k], al, " "); ns = split(sizes[k], sz, " ")
      printf "\n## %s np %s\n%9s", cl[ci], np[ni], "bytes"
      for (a = 1; a <= na; a++) printf " %17s", al[a]
      printf "  best\n"
      prev = ""; cross = ""
      for (s = 1; s <= ns; s++) {
        printf "%9s", sz[s]; best = ""; bv = 0; second = 0
        for (a = 1; a <= na; a++) {
          m = median(v[k, sz[s], al[a]]); printf " %17.1f", m
          if (al[a] == "auto") continue
          if (best == "" || m < bv) { second = bv; best = al[a]; bv = m }
          else if (second == 0 || m < second) second = m
        }
        if (second > 0 && bv > 0) printf "  %s (next +%d%%)\n", best, (second / bv - 1) * 100 + 0.5
        else printf "  %s\n", best
        if (best != prev) { cross = cross (prev == "" ? "" : " | ") best " from " sz[s]; prev = best }
      }
      printf "# fastest: %s\n", cross
    }
  }' "$work/all.txt"
