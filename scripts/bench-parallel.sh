#!/bin/sh
# Package parallel against its Python peers on this machine: the three
# workloads of bench/parallel (map of x*x+2x+1 over 10^6 ints; tiny tasks
# through an executor, 1024 in flight per worker run as batches, and one
# task's round trip; group-by mean over a 10^7-row table with a skewed
# year, the same rows on both sides), at np 2 and np 4, the Go program and
# the peers alternating within every repetition; medians over REPS. Every
# program warms up once untimed and times only the workload (not the
# table's generation, not the pools' start-up).
#
#   sh scripts/bench-parallel.sh                 (from the repository root)
#   REPS=5 TASKS=100000 PYTASKS=20000 sh scripts/bench-parallel.sh
#
# Needs: apt-get install -y python3-mpi4py python3-dask python3-distributed
# python3-pandas openmpi-bin. Writes bench/parallel/results.csv, prints the
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
for np in $NPS; do
	for rep in $(seq "$REPS"); do
		echo "# np $np repetition $rep" >&2
		{
			gorun "$np" -workload map
			$peers pool-map --np "$np"
			mpi "$np" mpi-map
			gorun "$np" -workload tasks -tasks "$TASKS"
			$peers ppe-tasks --np "$np" --tasks "$PYTASKS"
			mpi "$np" mpi-tasks --tasks "$PYTASKS"
			gorun "$np" -workload latency -reps 2000
			$peers ppe-latency --np "$np" --reps 500
			mpi "$np" mpi-latency --reps 500
			gorun "$np" -workload groupby
			$peers dask-groupby --np "$np" 2>/dev/null
			$peers pandas-groupby
		} | grep '^RESULT' | tee -a "$raw"
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
{
	echo "workload,peer,np,seconds,items,rate"
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
