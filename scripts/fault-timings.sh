#!/usr/bin/env bash
# Times gorun's reaction to the faults of issue 18, items 1-5: for each,
# TRIALS runs (default 20) of an np NP job (default 4) of
# cmd/gorun/testdata/jobprog, the fault injected once every rank is
# running, and the time from the fault to gorun's exit (item 4: to the
# last process of the job gone). Prints the median and worst time and the
# exit codes seen.
#
#   bash scripts/fault-timings.sh [TRIALS] [NP]
set -u
cd "$(dirname "$0")/.."
TRIALS=${1:-20}
NP=${2:-4}
LAST=$((NP - 1))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/gorun" ./cmd/gorun && go build -o "$dir/jobprog" ./cmd/gorun/testdata/jobprog || exit 1
G=$dir/gorun J=$dir/jobprog

now() { date +%s%N; }
# waitfor FILE PATTERN COUNT: until COUNT lines of FILE match (at most 30 s).
waitfor() {
	local end=$(($(date +%s) + 30))
	until [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
		[ "$(date +%s)" -gt "$end" ] && { echo "fault-timings: timed out waiting for '$2' in:" >&2; cat "$1" >&2; return 1; }
		sleep 0.01
	done
}
pidof_rank() { sed -n "s/^rank $2 pid \([0-9]*\): blocking.*/\1/p" "$1" | head -1; }

# trial ITEM: one run; prints "MS CODE".
trial() {
	local out=$dir/out pid t0 t1 code victim
	: >"$out"
	case $1 in
	1) setsid "$G" -np "$NP" "$J" -mode block >"$out" 2>&1 & ;;
	2) setsid "$G" -np "$NP" "$J" -mode block -usr1-exit >"$out" 2>&1 & ;;
	2b) setsid "$G" -np "$NP" "$J" -mode block -wait-before-init >"$out" 2>&1 & ;;
	3) setsid "$G" -np "$NP" sh -c 'sleep 29.71 & exec "$0" -mode block' "$J" >"$out" 2>&1 & ;;
	4) setsid "$G" -np "$NP" sh -c 'sleep 29.72 & exec "$0" -mode block' "$J" >"$out" 2>&1 & ;;
	5) setsid "$G" -np "$NP" "$J" -mode block -wait-before-init >"$out" 2>&1 & ;;
	esac
	pid=$!
	case $1 in
	2b | 5) waitfor "$out" "blocking before Init" 1 || return 1 ;;
	*) waitfor "$out" ": blocking" "$NP" || return 1 ;;
	esac
	victim=$(pidof_rank "$out" "$LAST")
	t0=$(now)
	case $1 in
	1) kill -STOP "$victim" ;;
	2 | 2b) kill -USR1 "$victim" ;;
	3 | 5) kill -KILL "$victim" ;;
	4) kill -KILL "$pid" ;;
	esac
	wait "$pid"
	code=$?
	t1=$(now)
	if [ "$1" = 4 ]; then
		while pgrep -f "sleep 29.72|$J" >/dev/null; do sleep 0.005; done
		t1=$(now)
	fi
	echo "$(((t1 - t0) / 1000000)) $code"
}

printf '%-4s %-44s %8s %8s  %s\n' item fault "median" "worst" "exit codes"
for item in 1 2 2b 3 4 5; do
	case $item in
	1) what="SIGSTOP of a rank (heartbeat timeout 6 s)" ;;
	2) what="exit 0 after Init without Close" ;;
	2b) what="exit 0 before Init, others in Init" ;;
	3) what="SIGKILL of a rank whose child holds stdout" ;;
	4) what="SIGKILL of gorun (until no process is left)" ;;
	5) what="SIGKILL of a rank before Init" ;;
	esac
	ms=() codes=()
	for ((i = 0; i < TRIALS; i++)); do
		r=$(trial "$item") || exit 1
		ms+=("${r% *}") codes+=("${r#* }")
	done
	sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
	median=$(echo "$sorted" | sed -n "$(((TRIALS + 1) / 2))p")
	worst=$(echo "$sorted" | tail -1)
	printf '%-4s %-44s %6s ms %6s ms  %s\n' "$item" "$what" "$median" "$worst" "$(printf '%s\n' "${codes[@]}" | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')"
done
