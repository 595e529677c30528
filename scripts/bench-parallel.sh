#!/bin/sh
# Package parallel against its Python peers on this machine: the three
# workloads of bench/parallel (map of x*x+2x+1 over 10^6 ints; tiny tasks
# through an executor, 1024 in flight per worker run as batches, and one
# task's round trip; group-by mean over a 10^7-row table with a skewed
# year, the same rows on both sides), at np 2 and np 4, the Go program and
# the peers alternating within every repetition; medians over REPS. Every
# program warms up once untimed and times only the workload (not the
# table's generation or its placing on the ranks or Dask's workers, not
# the pools' start-up; Dask computes a fresh graph every repetition).
#
#   sh scripts/bench-parallel.sh                 (from the repository root)
#   REPS=5 TASKS=100000 PYTASKS=20000 sh scripts/bench-parallel.sh
#   PARTS=groupby REPS=5 sh scripts/bench-parallel.sh   (one part alone)
#
# PARTS selects workloads (any of map tasks latency groupby; all by
# default), NPS the rank counts ("2 4"). Progress (each run as it starts)
# goes to standard error, the RESULT lines and the table to standard
# output.
#
# Needs: apt-get install -y python3-mpi4py python3-dask python3-distributed
# python3-pandas openmpi-bin. Writes bench/parallel/results.csv (the rows of
# parts not run are kept from the previous file), prints the
# table of medians (markdown) and draws bench/parallel/parallel.png/.svg.
# np 4 runs oversubscribed on a 2-CPU host (gorun -np 4, mpiexec -n 4
# --oversubscribe, Pool(4), 4 Dask workers). The Python peers run
# PYTASKS tasks (their rate is per second, so it compares; 10^5 through
# mpi4py.futures takes minutes).
set -eu
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
TASKS=${TASKS:-100000}
PYTASKS=${PYTASKS:-20000}
PY=${PY:-/usr/bin/python3}
NPS=${NPS:-"2 4"}
PARTS=${PARTS:-"map tasks latency groupby"}
for p in $PARTS; do
	case $p in map | tasks | latency | groupby) ;; *) echo "bench-parallel.sh: unknown part $p (PARTS: map tasks latency groupby)" >&2; exit 2 ;; esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/gorun" ./cmd/gorun
go build -o "$dir/parallel" ./bench/parallel
out=bench/parallel/results.csv
raw="$dir/raw"
: >"$raw"
peers="$PY scripts/python/peers.py"
mpi() { np=$1; shift; mpiexec -n "$np" --oversubscribe "$PY" -m mpi4py.futures scripts/python/peers.py "$@"; }
gorun() { np=$1; shift; "$dir/gorun" -np "$np" --timeout 10m "$dir/parallel" "$@" | sed 's/^RESULT workload=\([a-z]*\) /RESULT workload=\1 peer=gorun /'; }
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# np above $(nproc) runs oversubscribed"
dask() { $peers dask-groupby --np "$1" 2>/dev/null; }  # the cluster's log
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
run() { echo "#   np $np repetition $rep/$REPS: $*" >&2; "$@" | grep '^RESULT' | tee -a "$raw"; }
for np in $NPS; do
	for rep in $(seq "$REPS"); do
		if has map; then
			run gorun "$np" -workload map
			run $peers pool-map --np "$np"
			run mpi "$np" mpi-map
		fi
		if has tasks; then
			run gorun "$np" -workload tasks -tasks "$TASKS"
			run $peers ppe-tasks --np "$np" --tasks "$PYTASKS"
			run mpi "$np" mpi-tasks --tasks "$PYTASKS"
		fi
		if has latency; then
			run gorun "$np" -workload latency -reps 2000
			run $peers ppe-latency --np "$np" --reps 500
			run mpi "$np" mpi-latency --reps 500
		fi
		if has groupby; then
			run gorun "$np" -workload groupby
			run dask "$np"
			run $peers pandas-groupby
		fi
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Parts not run keep their rows of the previous results.csv.
kept="$dir/kept"
: >"$kept"
if [ -f "$out" ]; then
	tail -n +2 "$out" | while IFS= read -r line; do has "${line%%,*}" || echo "$line"; done >"$kept"
fi
{
	echo "workload,peer,np,seconds,items,rate"
	cat "$kept"
	sed -n 's/^RESULT workload=\([^ ]*\) peer=\([^ ]*\) np=\([^ ]*\) seconds=\([^ ]*\) items=\([^ ]*\) rate=\([^ ]*\).*/\1,\2,\3,\4,\5,\6/p' "$raw"
} >"$out"
"$PY" - "$out" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rates = {}
for r in rows:
    rates.setdefault((r["workload"], int(r["np"]), r["peer"]), []).append(float(r["rate"]))
med = {k: statistics.median(v) for k, v in rates.items()}
unit = {"map": "elements/s", "tasks": "tasks/s", "latency": "round trips/s", "groupby": "rows/s"}
print("| workload | np | gorun | peer | peer's rate | gorun / peer |")
print("|---|---|---|---|---|---|")
for w in ["map", "tasks", "latency", "groupby"]:
    for np_ in sorted({k[1] for k in med if k[0] == w and k[2] == "gorun"}):
        go = med[(w, np_, "gorun")]
        show = lambda v: f"{v:.3g} {unit[w]}" + (f" ({1e6 / v:.1f} µs)" if w == "latency" else "")
        for peer in sorted({k[2] for k in med if k[0] == w and k[2] != "gorun"}):
            v = med.get((w, np_, peer)) or med.get((w, 1, peer))  # pandas runs on one core
            if v:
                print(f"| {w} | {np_} | {show(go)} | {peer} | {show(v)} | {go / v:.1f}× |")
PYEOF
go -C bench/plot run . parallel -in "$PWD/$out" -out "$PWD/bench/parallel/parallel"
echo "wrote $out, bench/parallel/parallel.png and .svg"
