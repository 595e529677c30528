#!/usr/bin/env bash
# timings.sh: median of 3 runs of the timed region ("Time in seconds") of
# the NPB ports at classes W and A, on 1 and 2 ranks, next to the
# NPB3.4-MPI reference timings of shared/NPB.md. Run from the repository
# root: bash examples/internal/npb/timings.sh
# (KERNELS="cg mg", CLASSES=A, NPS=2 and RUNS=5 narrow or widen the set.)
set -euo pipefail
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/gorun" ./cmd/gorun
for k in ep cg is mg; do go build -o "$bin/npb-$k" ./examples/npb-$k; done

declare -A ref=(
	[ep.W.1]=1.84 [ep.W.2]=0.96 [ep.A.1]=14.8 [ep.A.2]=7.35
	[cg.W.1]=0.146 [cg.W.2]=0.107 [cg.A.1]=0.817 [cg.A.2]=0.438
	[is.A.1]=0.228 [is.A.2]=0.195 [mg.A.1]=0.757 [mg.A.2]=0.551
)
runs=${RUNS:-3}
echo "# $(date -u +%FT%TZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| kernel | class | np | Go port (s, median of %d) | runs | reference (s) | ratio |\n|---|---|---|---|---|---|---|\n' "$runs"
for k in ${KERNELS:-ep cg is mg}; do
	for class in ${CLASSES:-W A}; do
		for np in ${NPS:-1 2}; do
			ts=()
			for _ in $(seq "$runs"); do
				if [ "$np" = 1 ]; then
					out=$("$bin/npb-$k" -class "$class")
				else
					out=$("$bin/gorun" -np "$np" "$bin/npb-$k" -class "$class")
				fi
				grep -q 'Verification *= *SUCCESSFUL' <<<"$out" || { echo "npb-$k class $class np $np: not verified" >&2; exit 1; }
				ts+=("$(awk '/Time in seconds/ {print $NF}' <<<"$out")")
			done
			med=$(printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
			r=${ref[$k.$class.$np]:-}
			ratio=-
			[ -n "$r" ] && ratio=$(awk -v a="$med" -v b="$r" 'BEGIN {printf "%.2f", a/b}')
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${k^^}" "$class" "$np" "$med" "${ts[*]}" "${r:--}" "$ratio"
		done
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
